"""Text a source wrote -> a code of a list, or `unknown` with the rule that says why.

Spellings are compared folded: accents, case, spaces and punctuation do not count (`Den  Haag`,
`den-haag` and `DEN HAAG` are one spelling). A municipality is found by its CBS code (`GM0518`,
`0518`), its official name, its name without CBS's disambiguating suffix (`Hengelo` for `Hengelo
(O.)`), another name in use (`Den Haag`), or the name or code of a former municipality that became
part of it. A spelling that names several municipalities (`Bergen`) is decided by the police unit
of the record where it can be, else it stays `unknown`. Every column is matched once per distinct
value (or distinct value and unit), never per row.
"""

from __future__ import annotations

import re
import unicodedata
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import cache
from typing import TYPE_CHECKING

from schemas.codelists.catalogue import former_municipalities, municipalities, police_units, sectors

if TYPE_CHECKING:
    import pandas as pd

UNKNOWN = "unknown"
UNKNOWN_MUNICIPALITY = "unknown_municipality"
AMBIGUOUS_MUNICIPALITY = "ambiguous_municipality"
UNKNOWN_SECTOR = "unknown_sector"
UNKNOWN_REPORTING_UNIT = "unknown_reporting_unit"
# Ways of writing "not known" or "not applicable": `unknown` without a warning, there is nothing to show.
NOT_STATED = frozenset({"", "onbekend", "unknown", "nietbekend", "notknown", "nb", "nvt", "na", "geen", "none", "buitenland", "abroad"})
_NOT_ASCII_ALNUM = re.compile(r"[^0-9a-z]+")
_SUFFIX = re.compile(r"\s*\([^()]*\)\s*$")  # CBS's disambiguating suffix: "Bergen (NH.)"
# What a reporting unit's code looks like (police units `PE-RT`, a partner's `ZC-NN`): upper-case
# letters and digits in up to four parts, never a name or free text.
UNIT_CODE = re.compile(r"[A-Z][A-Z0-9]{0,9}(?:-[A-Z0-9]{1,10}){0,3}")


def fold(text: str) -> str:
    """The spelling a text is compared by: no accents, lower case, letters and digits only."""
    lowered = text.casefold()
    if lowered.isascii():  # the common case, with one regular expression in C
        return _NOT_ASCII_ALNUM.sub("", lowered)
    decomposed = unicodedata.normalize("NFKD", lowered)
    return "".join(c for c in decomposed if c.isalnum() and not unicodedata.combining(c))


def base_name(name: str) -> str:
    """A municipality name without CBS's disambiguating suffix."""
    return _SUFFIX.sub("", name)


@dataclass(frozen=True)
class Matched:
    """Per row: the code (or `unknown`), and the warning rule where the text named nothing (else null)."""

    codes: pd.Series
    rules: pd.Series


def _stated(value: object) -> str | None:
    """The folded spelling of a value, or None when it says nothing (null, empty, "onbekend")."""
    import pandas as pd

    if value is None or value is pd.NA or (isinstance(value, float) and pd.isna(value)):
        return None
    folded = fold(str(value))
    return None if folded in NOT_STATED else folded


def _spread(values: pd.Series, keys: list[pd.Series], decide) -> Matched:
    """`decide(spelling, *keys)` -> (code, rule) for each distinct combination of a value's folded
    spelling (None when it states nothing) and the keys, spread back over the rows.

    Each column is factorised (nulls included) and each distinct value folded once; the codes are
    combined into one integer per row, and each distinct integer decided once."""
    # Imported where rows are matched: checking a partner definition's units (before a run's
    # Prefect server is started) needs the code lists, not pandas.
    import numpy as np
    import pandas as pd

    factorized = [pd.factorize(series, use_na_sentinel=False) for series in (values, *keys)]
    columns = [[_stated(value) for value in factorized[0][1].tolist()], *(distinct.tolist() for _, distinct in factorized[1:])]
    sizes = [max(len(column), 1) for column in columns]
    combined = factorized[0][0].astype(np.int64)
    for (codes, _), size in zip(factorized[1:], sizes[1:], strict=True):
        combined = combined * size + codes
    positions, combinations = pd.factorize(combined)
    decided = []
    for combination in combinations.tolist():
        parts = []
        for column, size in zip(reversed(columns), reversed(sizes), strict=True):
            combination, part = divmod(combination, size)
            parts.append(column[part])
        decided.append(decide(*reversed(parts)))
    codes = pd.array([code for code, _ in decided], dtype="str").take(positions)
    rules = np.array([rule for _, rule in decided], dtype=object)[positions]
    return Matched(pd.Series(codes, index=values.index), pd.Series(rules, index=values.index, dtype=object))


class CodeList:
    """A list of codes with the spellings that name them; a spelling may name several codes."""

    def __init__(self, spellings: Mapping[str, Iterable[str]], unknown_rule: str) -> None:
        self._spellings = {spelling: frozenset(codes) for spelling, codes in spellings.items()}
        self.unknown_rule = unknown_rule

    @property
    def codes(self) -> frozenset[str]:
        return frozenset().union(*self._spellings.values()) if self._spellings else frozenset()

    def candidates(self, text: str) -> frozenset[str] | None:
        """The codes a text may name (empty: known, but names no single code), None if unknown."""
        return self.named_by(fold(text))

    def named_by(self, spelling: str) -> frozenset[str] | None:
        """`candidates` of a spelling that is folded already."""
        return self._spellings.get(spelling)

    def ambiguous(self) -> dict[str, frozenset[str]]:
        """Spellings that name more than one code."""
        return {spelling: codes for spelling, codes in self._spellings.items() if len(codes) > 1}

    def match(self, values: pd.Series) -> Matched:
        def decide(folded: str | None) -> tuple[str, str | None]:
            if folded is None:
                return UNKNOWN, None
            codes = self._spellings.get(folded)
            if codes is None:
                return UNKNOWN, self.unknown_rule
            return (next(iter(codes)), None) if len(codes) == 1 else (UNKNOWN, self.unknown_rule)

        return _spread(values, [], decide)


def _spellings(named: Iterable[tuple[str, Iterable[str]]]) -> tuple[dict[str, set[str]], list[str]]:
    """Each folded spelling with the codes it names, from (code, texts naming it) pairs; and the
    spellings that name two codes."""
    spellings: dict[str, set[str]] = defaultdict(set)
    for code, texts in named:
        for text in texts:
            spellings[fold(text)].add(code)
    return spellings, sorted(spelling for spelling, codes in spellings.items() if len(codes) > 1)


def unit_list(units: Mapping[str, Iterable[str]]) -> CodeList:
    """Reporting units: each code is named by itself and by the names listed for it."""
    spellings, clashes = _spellings((code, (code, *names)) for code, names in units.items())
    if clashes:
        raise ValueError(f"{len(clashes)} unit name(s) name two units")
    return CodeList(spellings, UNKNOWN_REPORTING_UNIT)


@cache
def police_unit_list() -> CodeList:
    """The police units, named as the feed writes them, by other names in use and by their codes."""
    return unit_list({unit.code: (unit.name, *unit.other_names) for unit in police_units()})


@cache
def sector_list() -> CodeList:
    """Sectors by code, Dutch and English label and the synonyms sources use."""
    spellings, clashes = _spellings(
        (sector.code, (sector.code, sector.label_nl, sector.label_en, *sector.synonyms)) for sector in sectors()
    )
    if clashes:
        raise ValueError(f"sectors.csv: a spelling names two sectors ({', '.join(clashes)})")
    return CodeList(spellings, UNKNOWN_SECTOR)


@cache
def municipality_list() -> CodeList:
    """Municipalities by every spelling in the module docstring; a current name wins over a former one."""
    spellings: dict[str, set[str]] = defaultdict(set)
    for municipality in municipalities():
        number = municipality.code.removeprefix("GM")
        for text in (municipality.code, number, municipality.name, base_name(municipality.name), *municipality.other_names):
            spellings[fold(text)].add(municipality.code)
    current = set(spellings)
    for former in former_municipalities():
        for text in (former.code, former.code.removeprefix("GM"), former.name):
            if fold(text) not in current:
                # A divided municipality is known, but names no single successor: the empty set.
                spellings[fold(text)] |= {former.successor} if former.successor else set()
    return CodeList(spellings, UNKNOWN_MUNICIPALITY)


@cache
def _unit_of_municipality() -> dict[str, str]:
    return {municipality.code: municipality.police_unit for municipality in municipalities()}


def match_municipalities(values: pd.Series, units: pd.Series | None = None) -> Matched:
    """CBS code of each value; a spelling that names several municipalities is decided by the
    record's police unit (a unit code) where exactly one of them lies in that unit's area."""
    spellings = municipality_list()
    unit_of = _unit_of_municipality()

    def decide(folded: str | None, unit: object) -> tuple[str, str | None]:
        if folded is None:
            return UNKNOWN, None
        codes = spellings.named_by(folded)
        if codes is None:
            return UNKNOWN, UNKNOWN_MUNICIPALITY
        if len(codes) > 1:
            codes = frozenset(code for code in codes if unit_of[code] == unit)
        return (next(iter(codes)), None) if len(codes) == 1 else (UNKNOWN, AMBIGUOUS_MUNICIPALITY)

    import pandas as pd

    return _spread(values, [units if units is not None else pd.Series(None, index=values.index, dtype=object)], decide)


def match_sectors(values: pd.Series) -> Matched:
    return sector_list().match(values)
