"""Vectorised canonicalisation of identifying fields, so spelling variants of one identity agree.

Applied before hashing: Unicode compatibility decomposition, diacritics and letters that do not
decompose (ł, ø, ß, ı ...), case folding, punctuation, Dutch and other name particles, and the
order of given names.
"""

from __future__ import annotations

import pandas as pd

# Letters that NFKD leaves intact but that sources routinely write without their mark.
_LATIN_FOLDS = str.maketrans(
    {"ł": "l", "Ł": "l", "ø": "o", "Ø": "o", "ß": "ss", "æ": "ae", "Æ": "ae", "œ": "oe", "Œ": "oe",
     "đ": "d", "Đ": "d", "ð": "d", "þ": "th", "ı": "i", "ĸ": "k"}
)
# Particles are dropped, not kept: "van der Berg", "Berg" with particle "van der" and "Van Der Berg"
# must all agree, and sources disagree on where (and whether) they write them.
NAME_PARTICLES: tuple[str, ...] = (
    "van", "der", "den", "de", "het", "ten", "ter", "te", "op", "in", "t", "von", "vom", "zu",
    "da", "das", "do", "dos", "di", "du", "del", "della", "la", "le", "el", "al", "bin", "ibn", "ben",
)
_PARTICLE_PATTERN = r"\b(?:" + "|".join(NAME_PARTICLES) + r")\b"


def fold_text(values: pd.Series) -> pd.Series:
    """Lower-case ASCII letters and single spaces; everything else becomes a word break."""
    folded = (
        values.astype("str")
        .str.translate(_LATIN_FOLDS)
        .str.normalize("NFKD")
        .str.replace(r"[\u0300-\u036f]", "", regex=True)
        .str.casefold()
        .str.replace(r"[^a-z]+", " ", regex=True)
        .str.strip()
    )
    return folded.where(values.notna())


def canonical_surname(values: pd.Series) -> pd.Series:
    """Surname without particles, spaces or punctuation; a surname made only of particles is kept."""
    folded = fold_text(values)
    core = folded.str.replace(_PARTICLE_PATTERN, " ", regex=True).str.replace(" ", "", regex=False)
    whole = folded.str.replace(" ", "", regex=False)
    result = core.where(core.str.len() > 0, whole)
    return result.where(result.str.len() > 0)


def canonical_given_names(values: pd.Series) -> pd.Series:
    """Given names in alphabetical order, joined by one space."""
    folded = fold_text(values)
    ordered = folded.str.split(" ").map(lambda names: " ".join(sorted(names)), na_action="ignore").astype("str")
    return ordered.where(ordered.str.len() > 0)


def digits_only(values: pd.Series) -> pd.Series:
    """Only the digits of an identifier number (spaces, dots and dashes vary between sources)."""
    digits = values.astype("str").str.replace(r"\D+", "", regex=True)
    return digits.where(values.notna() & (digits.str.len() > 0))
