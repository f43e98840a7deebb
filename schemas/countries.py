"""Country names and codes as partners write them -> ISO 3166-1 alpha-3.

Built from pycountry (ISO codes, English names) and its gettext translations (Dutch names), so the
list is maintained upstream, not here. Lookups ignore case, diacritics and surrounding spaces.
"""

from __future__ import annotations

import gettext
import unicodedata
from functools import cache

import pandas as pd
import pycountry

# Languages whose country names are accepted besides English.
NAME_LANGUAGES = ("nl",)


def _fold(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text.strip().casefold())
    return " ".join("".join(c for c in decomposed if not unicodedata.combining(c)).split())


@cache
def country_lookup() -> dict[str, str]:
    """Folded alpha-2, alpha-3, English and translated names -> alpha-3 code."""
    translations = [
        gettext.translation("iso3166-1", pycountry.LOCALES_DIR, languages=[language])
        for language in NAME_LANGUAGES
    ]
    lookup: dict[str, str] = {}
    for country in pycountry.countries:
        names = [getattr(country, attribute, None) for attribute in ("name", "official_name", "common_name")]
        names = [name for name in names if name]
        spellings = [*names, *(t.gettext(name) for t in translations for name in names)]
        for spelling in spellings:
            lookup.setdefault(_fold(spelling), country.alpha_3)
        # Codes win over names where they collide.
        lookup[_fold(country.alpha_2)] = country.alpha_3
        lookup[_fold(country.alpha_3)] = country.alpha_3
    lookup[_fold("XK")] = lookup[_fold("XKX")] = "XKX"  # Kosovo: not in ISO 3166-1, used by Dutch registries
    lookup[_fold("Kosovo")] = "XKX"
    return lookup


def to_alpha3(values: pd.Series) -> pd.Series:
    """Alpha-3 code of each value; null where the value is null or not a known country.

    Each distinct spelling is folded once: a column holds few distinct countries.
    """
    lookup = country_lookup()
    distinct = values.dropna().unique()
    resolved = {value: lookup.get(_fold(str(value))) for value in distinct}
    return values.map(resolved).astype("str").where(values.map(resolved).notna(), None)
