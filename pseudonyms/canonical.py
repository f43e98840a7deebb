"""Vectorised canonicalisation of identifying fields, so spelling variants of one identity agree.

Applied before hashing: Unicode compatibility decomposition, diacritics and letters that do not
decompose (ł, ø, ß, ı ...), case folding, punctuation, Dutch and other name particles, and the
order of given names. Runs on Arrow compute kernels: a million names take well under a second.
"""

from __future__ import annotations

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

# Lower-case letters that NFKD leaves intact but that sources routinely write without their mark.
_LATIN_FOLDS: dict[str, str] = {
    "ł": "l", "ø": "o", "ß": "ss", "æ": "ae", "œ": "oe", "đ": "d", "ð": "d", "þ": "th", "ı": "i", "ĸ": "k",
}
# Particles are dropped, not kept: "van der Berg", "Berg" with particle "van der" and "Van Der Berg"
# must all agree, and sources disagree on where (and whether) they write them.
NAME_PARTICLES: tuple[str, ...] = (
    "van", "der", "den", "de", "het", "ten", "ter", "te", "op", "in", "t", "von", "vom", "zu",
    "da", "das", "do", "dos", "di", "du", "del", "della", "la", "le", "el", "al", "bin", "ibn", "ben",
)
_PARTICLE_PATTERN = r"\b(?:" + "|".join(NAME_PARTICLES) + r")\b"


def _arrow(values: pd.Series) -> pa.Array:
    array = pa.array(values.astype("str").array)
    return array.combine_chunks() if isinstance(array, pa.ChunkedArray) else array


def _series(values: pa.Array, index: pd.Index) -> pd.Series:
    return pd.Series(pd.array(values, dtype="str"), index=index)


def _nonempty(values: pa.Array) -> pa.Array:
    """Empty strings become null: a name made only of punctuation identifies nobody."""
    return pc.if_else(pc.greater(pc.utf8_length(values), 0), values, pa.scalar(None, values.type))


def _fold(values: pa.Array) -> pa.Array:
    folded = pc.utf8_lower(pc.replace_substring_regex(pc.utf8_normalize(values, "NFKD"), r"\p{Mn}+", ""))
    for letter, plain in _LATIN_FOLDS.items():
        folded = pc.replace_substring(folded, letter, plain)
    return pc.utf8_trim_whitespace(pc.replace_substring_regex(folded, r"[^a-z]+", " "))


def canonical_surname(values: pd.Series) -> pd.Series:
    """Surname without particles, spaces or punctuation; a surname made only of particles is kept."""
    folded = _fold(_arrow(values))
    core = pc.replace_substring(pc.replace_substring_regex(folded, _PARTICLE_PATTERN, " "), " ", "")
    whole = pc.replace_substring(folded, " ", "")
    return _series(_nonempty(pc.if_else(pc.greater(pc.utf8_length(core), 0), core, whole)), values.index)


def canonical_given_names(values: pd.Series) -> pd.Series:
    """Given names in alphabetical order, joined by one space."""
    folded = _nonempty(_fold(_arrow(values)))
    names = pc.split_pattern(folded, " ")
    tokens = pc.list_flatten(names)
    order = pc.sort_indices(
        pa.table({"row": pc.list_parent_indices(names), "name": tokens}),
        sort_keys=[("row", "ascending"), ("name", "ascending")],
    )
    # Sorting by row first keeps every row's names within its own offsets.
    ordered = type(names).from_arrays(names.offsets, pc.take(tokens, order), mask=pc.is_null(folded))
    return _series(pc.binary_join(ordered, pa.scalar(" ", tokens.type)), values.index)


def digits_only(values: pd.Series) -> pd.Series:
    """Only the digits of an identifier number (spaces, dots and dashes vary between sources)."""
    return _series(_nonempty(pc.replace_substring_regex(_arrow(values), r"\D+", "")), values.index)
