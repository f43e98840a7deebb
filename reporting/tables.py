"""The report's tables for one year, read from the marts and protected together with what went out before.

A cell's key is (measure, year, ((dimension, category), ...)): the same number gets the same key
in every table and every release it appears in (the persons with labour exploitation are a row of
the form table and the row total of the form by gender table), so suppression treats them as one
unknown and no table or release gives away what another hides. The "other" row of nationality
and country of exploitation is keyed by how many countries are named before it (`other>10`):
the named countries of a year follow one ranking in every release (`reporting.releases`), so
`other>10` is the same set of countries in every release of the year.
"""

from __future__ import annotations

from collections.abc import Hashable
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import Connection, text

from disclosure import Line, show_percentage, table_lines
from schemas.vocabulary import AGE_GROUPS, EXPLOITATION_TYPES, GENDERS, UNKNOWN_AGE_GROUP
from warehouse.marts import CROSSINGS, DIMENSION_NAMES, MEASURES

TREND_YEARS = 5
TOP_COUNTRIES = 10
# Dimensions whose long tail is folded into "other" (the N largest by persons stay).
FOLDED = ("nationality", "exploitation_country")
FOLD_PREFIX = "other>"
UNKNOWN_COUNTRY = "UNK"
_FIXED_ORDER = {
    "gender": GENDERS,
    "age_group": tuple(name for name, _ in AGE_GROUPS) + (UNKNOWN_AGE_GROUP,),
    "minor": ("minor", "adult", "unknown"),
    "dutch": ("dutch", "non_dutch", "unknown"),
}

Key = tuple[str, int, tuple[tuple[str, str], ...]]


def key(measure: str, year: int, *pairs: tuple[str, str]) -> Key:
    return (measure, year, tuple(sorted(pairs)))


def fold_code(named: int) -> str:
    """The category of everything after the first `named` countries of the year's ranking."""
    return f"{FOLD_PREFIX}{named}"


def fold_size(code: str) -> int | None:
    return int(code.removeprefix(FOLD_PREFIX)) if code.startswith(FOLD_PREFIX) else None


def with_category(cell: Key, dimension: str, code: str) -> Key:
    """The same cell with another category of `dimension`."""
    measure, year, pairs = cell
    return key(measure, year, *((name, code if name == dimension else old) for name, old in pairs))


class NoRegistrations(LookupError):
    """The warehouse holds no registration of the year asked for."""


@dataclass
class ReportTable:
    """A table as published: row and column codes, cell keys and the margins it prints."""

    name: str
    kind: str  # one_way | crossing | overview | trend
    row_dimension: str
    column_dimension: str  # a dimension, or "measure"
    rows: list[str]
    columns: list[str]
    cells: list[list[Key]]
    row_totals: list[Key] | None = None
    column_totals: list[Key] | None = None
    grand_total: Key | None = None

    def lines(self) -> list[Line]:
        return table_lines(self.cells, self.row_totals, self.column_totals, self.grand_total)

    def keys(self) -> list[Key]:
        found = [cell for row in self.cells for cell in row]
        found += (self.row_totals or []) + (self.column_totals or [])
        return found + ([self.grand_total] if self.grand_total is not None else [])

    def positions(self) -> list[tuple[int, int, Key]]:
        """Every cell with its row and column; -1 stands for the margin (totals)."""
        found = [(row, column, cell) for row, cells in enumerate(self.cells) for column, cell in enumerate(cells)]
        found += [(row, -1, cell) for row, cell in enumerate(self.row_totals or [])]
        found += [(-1, column, cell) for column, cell in enumerate(self.column_totals or [])]
        return found + ([(-1, -1, self.grand_total)] if self.grand_total is not None else [])


@dataclass(frozen=True)
class History:
    """What earlier releases of the report's year say about this one."""

    releases: int = 0  # earlier publications of the year, all variants
    revised: datetime | None = None  # when the latest earlier release made from other data went out
    revised_years: tuple[int, ...] = ()  # trend years whose data changed since they were released


@dataclass
class Report:
    """Every table of the year with its values, what is suppressed, and the suppression level."""

    year: int
    years: list[int]
    tables: list[ReportTable]
    values: dict[Hashable, int]
    hidden: frozenset
    min_cell: int
    fingerprints: dict[int, str] = field(default_factory=dict)
    history: History = field(default_factory=History)
    last_publication: int = 0

    def published(self, cell: Key) -> int | None:
        """The value to print, or None when the cell is suppressed."""
        return None if cell in self.hidden else self.values[cell]

    def share(self, cell: Key, total: Key) -> float | None:
        """The cell as a percentage of the total, when both are published and the total is large enough."""
        value, base = self.published(cell), self.published(total)
        if value is None or base is None or not show_percentage(base, self.min_cell):
            return None
        return 100 * value / base


def read_counts(connection: Connection, first: int, last: int) -> dict[Key, int]:
    """Every count and crossing of the years as the marts hold them, with each year's totals."""
    values: dict[Key, int] = {}
    rows = connection.execute(
        text(
            "SELECT registration_year, measure, dimension, category, count FROM mart_yearly_counts "
            "WHERE registration_year BETWEEN :first AND :last"
        ),
        {"first": first, "last": last},
    )
    for year, measure, dimension, category, count in rows:
        values[key(measure, year, (dimension, category))] = int(count)
        # Every dimension adds up to the year's total; take it from one of them.
        if dimension == DIMENSION_NAMES[0]:
            total = key(measure, year)
            values[total] = values.get(total, 0) + int(count)
    rows = connection.execute(
        text(
            "SELECT registration_year, measure, row_dimension, row_category, column_dimension, column_category, count "
            "FROM mart_yearly_crossings WHERE registration_year BETWEEN :first AND :last AND measure = 'persons'"
        ),
        {"first": first, "last": last},
    )
    for year, measure, row_dim, row_cat, col_dim, col_cat, count in rows:
        values[key(measure, year, (row_dim, row_cat), (col_dim, col_cat))] = int(count)
    return values


class YearCounts:
    """The counts of one year: as the marts hold them, and folded into "other" rows on demand.

    `rankings` orders the countries of each folded dimension: those an earlier release of the
    year named first, in their order, then the others by persons, largest first.
    """

    def __init__(self, counts: dict[Key, int], year: int, earlier_rankings: dict[str, list[str]]) -> None:
        self.year = year
        self.raw = {cell: value for cell, value in counts.items() if cell[1] == year}
        self.rankings = {}
        for dimension in FOLDED:
            earlier = earlier_rankings.get(dimension, [])
            persons = self.persons(dimension)
            rest = sorted(
                (code for code in self.present(dimension) if code != UNKNOWN_COUNTRY and code not in earlier),
                key=lambda code, persons=persons: (-persons.get(code, 0), code),
            )
            self.rankings[dimension] = [*earlier, *rest]
        self._folds: dict[tuple[str, int], dict[Key, int]] = {}

    def persons(self, dimension: str) -> dict[str, int]:
        """Persons per category of one dimension, as the marts hold them."""
        return {
            pairs[0][1]: count
            for (measure, _, pairs), count in self.raw.items()
            if measure == "persons" and len(pairs) == 1 and pairs[0][0] == dimension
        }

    def present(self, dimension: str) -> set[str]:
        """Categories of one dimension with any registration: a person is counted under their first
        registration's category only, so a category may hold registrations and no person."""
        return {
            pairs[0][1]
            for (_, _, pairs), count in self.raw.items()
            if count and len(pairs) == 1 and pairs[0][0] == dimension
        }

    def value(self, cell: Key) -> int:
        """The count of any cell of the year, an "other" row of any size included (0 when none)."""
        for dimension, code in cell[2]:
            named = fold_size(code)
            if named is not None:
                if (dimension, named) not in self._folds:
                    self._folds[dimension, named] = self._folded(dimension, named)
                return self._folds[dimension, named].get(cell, 0)
        return self.raw.get(cell, 0)

    def _folded(self, dimension: str, named: int) -> dict[Key, int]:
        kept = set(self.rankings[dimension][:named]) | {UNKNOWN_COUNTRY}
        found: dict[Key, int] = {}
        for cell, count in self.raw.items():
            codes = dict(cell[2])
            if dimension in codes and codes[dimension] not in kept:
                folded = with_category(cell, dimension, fold_code(named))
                found[folded] = found.get(folded, 0) + count
        return found


def categories(counts: YearCounts, dimension: str, top: int, earlier_rows: set[str]) -> list[str]:
    """The rows of a dimension: every category the year holds or an earlier release showed, in a
    stable order (a row once published never disappears: its absence would say it fell to zero)."""
    present = counts.present(dimension) | earlier_rows
    if dimension == "exploitation_type":
        return list(EXPLOITATION_TYPES)
    if dimension in FOLDED:
        order = counts.rankings[dimension]
        rows = order[:top]
        if len(order) > top or fold_code(top) in earlier_rows:
            rows.append(fold_code(top))
        return rows + ([UNKNOWN_COUNTRY] if UNKNOWN_COUNTRY in present else [])
    if dimension in _FIXED_ORDER:
        return [code for code in _FIXED_ORDER[dimension] if code in present]
    # By code, "other" and the unknowns last: an order by size would tell the reader how suppressed
    # cells compare (a row printed between two others lies between their counts), and with the
    # margins that can pin them. The ranked countries carry their order into the attacker's program.
    return sorted(present, key=lambda code: (code == "other", code in ("unknown", UNKNOWN_COUNTRY), code))


def _one_way(dimension: str, year: int, rows: list[str]) -> ReportTable:
    return ReportTable(
        name=f"{dimension}",
        kind="one_way",
        row_dimension=dimension,
        column_dimension="measure",
        rows=rows,
        columns=list(MEASURES),
        cells=[[key(measure, year, (dimension, code)) for measure in MEASURES] for code in rows],
        column_totals=[key(measure, year) for measure in MEASURES],
    )


def _crossing(row: str, column: str, year: int, rows: list[str], columns: list[str]) -> ReportTable:
    return ReportTable(
        name=f"{row}_by_{column}",
        kind="crossing",
        row_dimension=row,
        column_dimension=column,
        rows=rows,
        columns=columns,
        cells=[[key("persons", year, (row, r), (column, c)) for c in columns] for r in rows],
        row_totals=[key("persons", year, (row, r)) for r in rows],
        column_totals=[key("persons", year, (column, c)) for c in columns],
        grand_total=key("persons", year),
    )


def year_tables(counts: YearCounts, top: int, earlier_rows: dict[str, set[str]]) -> list[ReportTable]:
    """The one-way tables and crossings of one year."""
    rows = {dimension: categories(counts, dimension, top, earlier_rows.get(dimension, set())) for dimension in DIMENSION_NAMES}
    tables = [_one_way(dimension, counts.year, rows[dimension]) for dimension in DIMENSION_NAMES]
    return tables + [_crossing(row, column, counts.year, rows[row], rows[column]) for row, column in CROSSINGS]


def trend_tables(years: list[int]) -> list[ReportTable]:
    """The overview and the trend of the forms of exploitation over the years."""
    overview = ReportTable(
        name="overview",
        kind="overview",
        row_dimension="year",
        column_dimension="measure",
        rows=[str(y) for y in years],
        columns=list(MEASURES),
        cells=[[key(measure, y) for measure in MEASURES] for y in years],
    )
    trend = ReportTable(
        name="trend_exploitation_type",
        kind="trend",
        row_dimension="year",
        column_dimension="exploitation_type",
        rows=[str(y) for y in years],
        columns=list(EXPLOITATION_TYPES),
        cells=[[key("persons", y, ("exploitation_type", f)) for f in EXPLOITATION_TYPES] for y in years],
        row_totals=[key("persons", y) for y in years],
    )
    return [overview, trend]
