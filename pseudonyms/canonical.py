"""Vectorised canonicalisation of identifying fields, so spelling variants of one identity agree.

Applied before hashing: Unicode compatibility decomposition, diacritics and letters that do not
decompose (ł, ø, ß, ı ...), case folding, punctuation, Dutch and other name particles, and the
order of given names. Runs on Arrow compute kernels: a million names take well under a second.

Names in other scripts are transliterated to Latin (`pseudonyms.scripts`), so `Шевченко` is
`shevchenko`; only the distinct values that hold such letters go through Python.

Every form is computed once per distinct value and taken back to the rows: names repeat a lot in
a bulk load, and the regular expressions cost far more than the take.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from pseudonyms.scripts import LOSSY_SCRIPT_LETTER, to_latin

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
# A letter the Latin folding below does not reduce to a-z: another script's, or a Latin letter
# such as ə or ŋ. Names holding one are transliterated first; all others fold exactly as they
# always did, so the pseudonyms of Latin names stay what they were.
_LETTER_OUTSIDE_A_Z = r"[^\P{L}a-z]"


def _arrow(values: pd.Series) -> pa.Array:
    array = pa.array(values.astype("str").array)
    return array.combine_chunks() if isinstance(array, pa.ChunkedArray) else array


def _per_value(values: pd.Series, convert: Callable[[pa.Array], pa.Array]) -> pd.Series:
    """`convert` (elementwise) of each value, applied to the distinct values only; null stays null."""
    encoded = pc.dictionary_encode(_arrow(values))
    return _series(pc.take(convert(encoded.dictionary), encoded.indices), values.index)


def _series(values: pa.Array, index: pd.Index) -> pd.Series:
    return pd.Series(pd.array(values, dtype="str"), index=index)


def _nonempty(values: pa.Array) -> pa.Array:
    """Empty strings become null: a name made only of punctuation identifies nobody."""
    return pc.if_else(pc.greater(pc.utf8_length(values), 0), values, pa.scalar(None, values.type))


def _fold_letters(values: pa.Array) -> pa.Array:
    folded = pc.utf8_lower(pc.replace_substring_regex(pc.utf8_normalize(values, "NFKD"), r"\p{Mn}+", ""))
    for letter, plain in _LATIN_FOLDS.items():
        folded = pc.replace_substring(folded, letter, plain)
    return folded


def _per_distinct(values: pa.Array, rows: pa.Array, convert) -> pa.Array:
    """`values` with the selected `rows` replaced by `convert` of their text, computed once per
    distinct value (names repeat: a bulk load holds far fewer distinct names than rows)."""
    distinct = pc.unique(pc.filter(values, rows))
    converted = pa.array([convert(value) for value in distinct.to_pylist()], type=values.type)
    return pc.if_else(rows, pc.take(converted, pc.index_in(values, value_set=distinct)), values)


def _fold(values: pa.Array) -> pa.Array:
    folded = _fold_letters(values)
    foreign = pc.fill_null(pc.match_substring_regex(folded, _LETTER_OUTSIDE_A_Z), False)
    if pc.any(foreign).as_py():
        folded = pc.if_else(foreign, _fold_letters(_per_distinct(values, foreign, to_latin)), folded)
    return pc.utf8_trim_whitespace(pc.replace_substring_regex(folded, r"[^a-z]+", " "))


def _sorted_words(values: pa.Array) -> pa.Array:
    """The space-separated words of each value in alphabetical order, joined by one space."""
    names = pc.split_pattern(values, " ")
    tokens = pc.list_flatten(names)
    order = pc.sort_indices(
        pa.table({"row": pc.list_parent_indices(names), "name": tokens}),
        sort_keys=[("row", "ascending"), ("name", "ascending")],
    )
    # Sorting by row first keeps every row's names within its own offsets.
    ordered = type(names).from_arrays(names.offsets, pc.take(tokens, order), mask=pc.is_null(values))
    return pc.binary_join(ordered, pa.scalar(" ", tokens.type))


def _surname(values: pa.Array) -> pa.Array:
    folded = _fold(values)
    core = pc.replace_substring(pc.replace_substring_regex(folded, _PARTICLE_PATTERN, " "), " ", "")
    whole = pc.replace_substring(folded, " ", "")
    return _nonempty(pc.if_else(pc.greater(pc.utf8_length(core), 0), core, whole))


def canonical_surname(values: pd.Series) -> pd.Series:
    """Surname without particles, spaces or punctuation; a surname made only of particles is kept."""
    return _per_value(values, _surname)


def canonical_given_names(values: pd.Series) -> pd.Series:
    """Given names in alphabetical order, joined by one space."""
    return _per_value(values, lambda distinct: _sorted_words(_nonempty(_fold(distinct))))


def lossy_script_forms(surnames: pd.Series, given_names: pd.Series) -> pd.Series:
    """The name as written in a script whose transliteration loses differences between names
    (`pseudonyms.scripts.LOSSY_SCRIPTS`): compatibility-normalised, case-folded, letters only,
    given names in order; null for names without such letters.

    `李伟` and `黎威` both transliterate to "Li Wei": this form is what tells them apart.
    """
    def lossy(values: pd.Series) -> np.ndarray:
        encoded = pc.dictionary_encode(_arrow(values))
        holds = pc.match_substring_regex(encoded.dictionary, LOSSY_SCRIPT_LETTER)
        return pc.fill_null(pc.take(holds, encoded.indices), False).to_numpy(zero_copy_only=False)

    rows = lossy(surnames) | lossy(given_names)
    forms = pd.Series(pd.NA, index=surnames.index, dtype="str")
    if not rows.any():
        return forms

    def letters(values: pd.Series) -> pa.Array:
        normalised = pc.utf8_lower(pc.utf8_normalize(_arrow(values[rows]), "NFKC"))
        return pc.utf8_trim_whitespace(pc.replace_substring_regex(normalised, r"[^\p{L}]+", " "))

    surname = pc.fill_null(pc.replace_substring(letters(surnames), " ", ""), "")
    given = pc.fill_null(_sorted_words(letters(given_names)), "")
    forms[rows] = pc.binary_join_element_wise(surname, given, pa.scalar("|", surname.type)).to_pylist()
    return forms


def digits_only(values: pd.Series) -> pd.Series:
    """Only the digits of an identifier number (spaces, dots and dashes vary between sources)."""
    return _per_value(values, lambda distinct: _nonempty(pc.replace_substring_regex(distinct, r"\D+", "")))
