"""Spelling variants a source writes for a known person.

Each variant is undone by one plain canonicalisation step: `case` by case folding, `diacritics` by
folding to ASCII (including the letters without a Unicode decomposition: ł, Ł, ı), `spacing` by
collapsing and trimming white space, `given_name_order` by sorting the given names, `hyphen` by
reading a hyphen as a space.
"""

from __future__ import annotations

import unicodedata
from functools import cache

import numpy as np

from victim_intake.synthetic.native_script import in_native_script

NO_VARIANT = "none"
# Weight of each variant among those that would change a name: names with a hyphen or diacritics
# are the minority, so those variants weigh more to show up often enough to test.
VARIANT_WEIGHTS: dict[str, float] = {
    "case": 1.0,
    "spacing": 1.0,
    "given_name_order": 1.5,
    "diacritics": 3.0,
    "hyphen": 10.0,
}

_WITHOUT_DECOMPOSITION = str.maketrans({"ł": "l", "Ł": "L", "ı": "i"})


@cache  # few distinct names, many records
def to_ascii(text: str) -> str:
    """`text` without diacritics: Wiśniewska -> Wisniewska, Şahin -> Sahin, Łukasz -> Lukasz."""
    decomposed = unicodedata.normalize("NFKD", text.translate(_WITHOUT_DECOMPOSITION))
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def applicable_variants(surname: str, given_names: str) -> list[str]:
    """The variants that change this name (spacing always can)."""
    kinds = ["spacing"]
    # Upper case only where lower-casing restores the name (not for the Turkish dotless ı).
    if surname.upper() != surname and surname.upper().lower() == surname.lower():
        kinds.append("case")
    if to_ascii(surname) != surname or to_ascii(given_names) != given_names:
        kinds.append("diacritics")
    if " " in given_names:
        kinds.append("given_name_order")
    if "-" in surname:
        kinds.append("hyphen")
    return kinds


def apply_variant(kind: str, surname: str, given_names: str) -> tuple[str, str]:
    """The name as a source writes it with spelling variant `kind`."""
    if kind == "case":
        return surname.upper(), given_names
    if kind == "diacritics":
        return to_ascii(surname), to_ascii(given_names)
    if kind == "spacing":
        if " " in surname:
            return surname.replace(" ", "  ", 1), given_names
        if " " in given_names:
            return surname, given_names.replace(" ", "  ", 1)
        return surname + " ", given_names
    if kind == "given_name_order":
        first, second, *rest = given_names.split(" ")
        return surname, " ".join([second, first, *rest])
    if kind == "hyphen":
        return surname.replace("-", " "), given_names
    raise ValueError(f"unknown spelling variant {kind!r}")


def misspell(
    rng: np.random.Generator, surnames: np.ndarray, given_names: np.ndarray, chosen: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Apply one applicable variant, picked by `VARIANT_WEIGHTS`, to the names where `chosen` is true.

    Returns the written surnames, given names and the variant of every name (`none` elsewhere).
    """
    surnames, given_names = surnames.copy(), given_names.copy()
    variants = np.full(len(surnames), NO_VARIANT, dtype=object)
    rows = np.flatnonzero(chosen)
    for row, pick in zip(rows.tolist(), rng.random(len(rows)).tolist(), strict=True):
        kinds = applicable_variants(surnames[row], given_names[row])
        cumulative = np.cumsum([VARIANT_WEIGHTS[k] for k in kinds])
        kind = kinds[int(np.searchsorted(cumulative, pick * cumulative[-1], side="right"))]
        surnames[row], given_names[row] = apply_variant(kind, surnames[row], given_names[row])
        variants[row] = kind
    return surnames, given_names, variants


# Hard variants: no canonicalisation step undoes them, so only approximate matching links them.
HARD_VARIANTS: tuple[str, ...] = ("typo", "transliteration", "day_month_swap", "script")
# Given names that sources write in another transliteration (both directions).
TRANSLITERATIONS: dict[str, str] = {
    "Olena": "Elena", "Oleksandr": "Aleksandr", "Mohamed": "Mohammed", "Mohammed": "Mohamed",
    "Nataliia": "Natalia", "Yuliia": "Yulia", "Serhii": "Sergei", "Andrii": "Andrei", "Dmytro": "Dmitri",
    "Tetiana": "Tatiana", "Iryna": "Irina", "Youssef": "Yusuf", "Mustapha": "Mustafa", "Svitlana": "Svetlana",
    "Elena": "Olena", "Ahmed": "Ahmad", "Yordanka": "Jordanka", "Mykola": "Nikolai", "Kateryna": "Ekaterina",
}


def transliterate(given_names: str) -> str | None:
    """The given names with the first transliterable name respelt, or None when none is."""
    names = given_names.split(" ")
    for position, name in enumerate(names):
        if name in TRANSLITERATIONS:
            return " ".join([*names[:position], TRANSLITERATIONS[name], *names[position + 1 :]])
    return None


def typo(rng: np.random.Generator, surname: str) -> str:
    """One slip of the keyboard inside the surname: a letter dropped, doubled or two swapped."""
    letters = [position for position, char in enumerate(surname) if char.isalpha()]
    if len(letters) < 4:
        return surname + surname[-1]
    # Not the first letter: people rarely misspell how a name starts.
    position = letters[int(rng.integers(1, len(letters) - 1))]
    kind = int(rng.integers(0, 3))
    if kind == 0:
        return surname[:position] + surname[position + 1 :]
    if kind == 1:
        return surname[:position] + surname[position] + surname[position:]
    return surname[:position] + surname[position + 1] + surname[position] + surname[position + 2 :]


def swap_day_and_month(birth_date: np.datetime64) -> np.datetime64 | None:
    """The date read the other way round (day as month), or None when that is no other valid date."""
    text = str(birth_date)
    year, month, day = text[:4], text[5:7], text[8:10]
    if day == month or int(day) > 12:
        return None
    return np.datetime64(f"{year}-{day}-{month}")


def hard_misspell(
    rng: np.random.Generator,
    surnames: np.ndarray,
    given_names: np.ndarray,
    birth_dates: np.ndarray,
    chosen: np.ndarray,
    variants: np.ndarray,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Apply one applicable hard variant where `chosen` is true.

    Returns the written surnames, given names, birth dates and every record's variant. `script`
    writes a Ukrainian or Bulgarian name in Cyrillic, a Chinese one in Chinese characters.
    """
    surnames, given_names, birth_dates, variants = surnames.copy(), given_names.copy(), birth_dates.copy(), variants.copy()
    for row in np.flatnonzero(chosen).tolist():
        respelt = transliterate(given_names[row])
        swapped = swap_day_and_month(birth_dates[row])
        native = in_native_script(surnames[row], given_names[row])
        weights = {
            "typo": 1.0, "transliteration": 3.0 if respelt else 0.0, "day_month_swap": 1.0 if swapped is not None else 0.0,
            "script": 3.0 if native else 0.0,
        }
        # Transliterations and scripts apply to few names, so they weigh more where they apply.
        cumulative = np.cumsum(list(weights.values()))
        kind = list(weights)[int(np.searchsorted(cumulative, rng.random() * cumulative[-1], side="right"))]
        if kind == "typo":
            surnames[row] = typo(rng, surnames[row])
        elif kind == "transliteration":
            given_names[row] = respelt
        elif kind == "script":
            surnames[row], given_names[row] = native
        else:
            birth_dates[row] = swapped
        variants[row] = kind
    return surnames, given_names, birth_dates, variants
