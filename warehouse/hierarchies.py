"""The generalisation hierarchies of the analyst tier's quasi-identifiers, built from the code lists.

A hierarchy maps each stored value to one label per level, from the finest level the tier shows
(level 0) to `*` (not shown) at the top. Unknown values stay `unknown` (or `UNK`) up to the level
below the top: "unknown" is a category of its own, as in the marts. The documentation of the levels
is docs/analysts.md.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache

import pandas as pd

from schemas.codelists.catalogue import municipalities, nationality_regions, sectors
from schemas.codelists.matching import UNIT_CODE
from schemas.vocabulary import AGE_GROUPS, GENDERS, MAJORITY_AGE, UNKNOWN_AGE_GROUP, UNKNOWN_COUNTRY

TOP = "*"
UNKNOWN = "unknown"


@dataclass(frozen=True)
class Hierarchy:
    """One quasi-identifier: the tier's column, the registrations column it comes from, the names
    of its levels (the last is `*`, not shown) and the function giving a value's label per level."""

    column: str
    source: str
    levels: tuple[str, ...]
    ladder: Callable[[str], tuple[str, ...]]

    @property
    def top(self) -> int:
        return len(self.levels) - 1

    def labels(self, values: pd.Index) -> pd.DataFrame:
        """Labels of each distinct value per level (one column per level, top included)."""
        rows = [(*self.ladder(value), TOP) for value in values]
        return pd.DataFrame(rows, index=values, columns=range(len(self.levels)), dtype=object)


def _age(group: str) -> tuple[str, ...]:
    if group == UNKNOWN_AGE_GROUP:
        return (UNKNOWN, UNKNOWN)
    upper = dict(AGE_GROUPS).get(group)
    if upper is None:
        return (UNKNOWN, UNKNOWN)
    return (group, "minor" if upper < MAJORITY_AGE else "adult")


# Every label comes from a list or a pattern: a value stored outside the pipeline (free text in a
# coded column) is shown as `unknown`, never as written.
def _gender(value: str) -> tuple[str, ...]:
    return (value if value in GENDERS else UNKNOWN,)


def _unit(value: str) -> tuple[str, ...]:
    return (value if UNIT_CODE.fullmatch(value) else UNKNOWN,)


@cache
def _countries() -> dict[str, tuple[str, str]]:
    """Country code -> (region label, EU label): Dutch, another EU member, or a region of the world."""
    found = {}
    for country in nationality_regions():
        if country.code == "NLD":
            found[country.code] = ("NLD", "NLD")
        elif country.eu_member:
            found[country.code] = ("other_eu", "other_eu")
        else:
            region = "europe_non_eu" if country.region == "europe" else country.region
            found[country.code] = (region, "non_eu")
    return found


def _country(code: str) -> tuple[str, ...]:
    if code == UNKNOWN_COUNTRY or code not in _countries():
        return (UNKNOWN_COUNTRY, UNKNOWN_COUNTRY, UNKNOWN_COUNTRY)
    return (code, *_countries()[code])


@cache
def _places() -> dict[str, tuple[str, str]]:
    return {place.code: (place.safety_region_code, place.police_unit) for place in municipalities()}


def _place(code: str) -> tuple[str, ...]:
    if code not in _places():
        return (UNKNOWN, UNKNOWN, UNKNOWN)
    return (code, *_places()[code])


@cache
def _sector_groups() -> dict[str, str]:
    return {sector.code: sector.group for sector in sectors()}


def _sector(code: str) -> tuple[str, ...]:
    if code not in _sector_groups():
        return (UNKNOWN, UNKNOWN)
    return (code, _sector_groups()[code])


_MONTH = re.compile(r"(19|20)[0-9]{2}-(0[1-9]|1[0-2])")


def _period(month: str) -> tuple[str, ...]:
    """`YYYY-MM` (the report's month; the tier never shows the day) -> month, quarter."""
    if not _MONTH.fullmatch(month):
        return (UNKNOWN, UNKNOWN)
    return (month, f"{month[:4]}-Q{(int(month[5:7]) - 1) // 3 + 1}")


HIERARCHIES: tuple[Hierarchy, ...] = (
    Hierarchy("age", "age_group", ("age group", "minor or adult", TOP), _age),
    Hierarchy("gender", "gender", ("gender", TOP), _gender),
    Hierarchy("nationality", "nationality", ("country", "Dutch, other EU or region of the world", "Dutch, other EU or outside the EU", TOP), _country),
    Hierarchy(
        "exploitation_country",
        "exploitation_country",
        ("country", "Dutch, other EU or region of the world", "Dutch, other EU or outside the EU", TOP),
        _country,
    ),
    Hierarchy("exploitation_place", "exploitation_municipality", ("municipality", "safety region", "police unit", TOP), _place),
    Hierarchy("exploitation_sector", "exploitation_sector", ("sector", "sector group", TOP), _sector),
    Hierarchy("reporting_unit", "reporting_unit", ("reporting unit", TOP), _unit),
    Hierarchy("reported", "reported_month", ("month", "quarter", TOP), _period),
)
QUASI_IDENTIFIERS = tuple(hierarchy.column for hierarchy in HIERARCHIES)
