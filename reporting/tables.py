"""The report's tables for one year, read from the marts and protected together.

A cell's key is (measure, year, ((dimension, category), ...)): the same number gets the same key
in every table it appears in (the persons with labour exploitation are a row of the form table
and the row total of the form by gender table), so suppression treats them as one unknown and
no table gives away what another hides.
"""

from __future__ import annotations

from collections.abc import Hashable
from dataclasses import dataclass

from sqlalchemy import Connection, text

from disclosure import Line, protect, show_percentage, table_lines
from schemas.vocabulary import AGE_GROUPS, EXPLOITATION_TYPES, GENDERS, UNKNOWN_AGE_GROUP
from warehouse.marts import CROSSINGS, DIMENSION_NAMES, MEASURES

TREND_YEARS = 5
TOP_COUNTRIES = 10
# Dimensions whose long tail is folded into "other" (the N largest by persons stay).
_FOLDED = ("nationality", "exploitation_country")
_FIXED_ORDER = {
    "gender": GENDERS,
    "age_group": tuple(name for name, _ in AGE_GROUPS) + (UNKNOWN_AGE_GROUP,),
    "minor": ("minor", "adult", "unknown"),
    "dutch": ("dutch", "non_dutch", "unknown"),
}

Key = tuple[str, int, tuple[tuple[str, str], ...]]


def key(measure: str, year: int, *pairs: tuple[str, str]) -> Key:
    return (measure, year, tuple(sorted(pairs)))


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


@dataclass
class Report:
    """Every table of the year with its values, what is suppressed, and the suppression level."""

    year: int
    years: list[int]
    tables: list[ReportTable]
    values: dict[Hashable, int]
    hidden: frozenset
    min_cell: int

    def published(self, cell: Key) -> int | None:
        """The value to print, or None when the cell is suppressed."""
        return None if cell in self.hidden else self.values[cell]

    def share(self, cell: Key, total: Key) -> float | None:
        """The cell as a percentage of the total, when both are published and the total is large enough."""
        value, base = self.published(cell), self.published(total)
        if value is None or base is None or not show_percentage(base, self.min_cell):
            return None
        return 100 * value / base


def _read_counts(connection: Connection, first: int, last: int) -> dict[Key, int]:
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
    return values


def _read_crossings(connection: Connection, first: int, last: int) -> dict[Key, int]:
    rows = connection.execute(
        text(
            "SELECT registration_year, measure, row_dimension, row_category, column_dimension, column_category, count "
            "FROM mart_yearly_crossings WHERE registration_year BETWEEN :first AND :last AND measure = 'persons'"
        ),
        {"first": first, "last": last},
    )
    return {
        key(measure, year, (row_dim, row_cat), (col_dim, col_cat)): int(count)
        for year, measure, row_dim, row_cat, col_dim, col_cat, count in rows
    }


def _categories(values: dict[Key, int], year: int, dimension: str) -> list[str]:
    """Categories of the year in a stable order: the code list's, else by persons, largest first."""
    persons: dict[str, int] = {}
    for (measure, key_year, pairs), count in values.items():
        if key_year == year and len(pairs) == 1 and pairs[0][0] == dimension:
            code = pairs[0][1]
            persons[code] = persons.get(code, 0) + (count if measure == "persons" else 0)
    if dimension == "exploitation_type":
        return list(EXPLOITATION_TYPES)
    if dimension in _FIXED_ORDER:
        return [code for code in _FIXED_ORDER[dimension] if code in persons]
    # Largest first; "other" and the unknowns last.
    return sorted(persons, key=lambda code: (code == "other", code in ("unknown", "UNK"), -persons[code], code))


def _fold(values: dict[Key, int], year: int, dimension: str, keep: list[str]) -> None:
    """Replace the categories outside `keep` by one `other` category, in every key of the year naming them."""
    for old in list(values):
        measure, key_year, pairs = old
        if key_year == year and any(name == dimension and code not in keep for name, code in pairs):
            new_pairs = tuple((name, "other" if name == dimension and code not in keep else code) for name, code in pairs)
            new = (measure, year, tuple(sorted(new_pairs)))
            values[new] = values.get(new, 0) + values.pop(old)


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


def _year_tables(values: dict[Key, int], year: int, top: int) -> list[ReportTable]:
    """The one-way tables and crossings of one year (folding its long tails into `other`)."""
    for dimension in _FOLDED:
        ranked = [code for code in _categories(values, year, dimension) if code != "UNK"]
        _fold(values, year, dimension, ranked[:top] + ["UNK"])
    categories = {dimension: _categories(values, year, dimension) for dimension in DIMENSION_NAMES}
    tables = [_one_way(dimension, year, categories[dimension]) for dimension in DIMENSION_NAMES]
    return tables + [_crossing(row, column, year, categories[row], categories[column]) for row, column in CROSSINGS]


def _protect_tables(values: dict[Key, int], tables: list[ReportTable], min_cell: int) -> frozenset:
    # A combination that never occurs is a published zero.
    used = {cell for table in tables for cell in table.keys()}
    for cell in used:
        values.setdefault(cell, 0)
    lines = [line for table in tables for line in table.lines()]
    return protect({cell: values[cell] for cell in used}, lines, min_cell)


def build_report(connection: Connection, year: int, min_cell: int, top: int = TOP_COUNTRIES) -> Report:
    """All tables of `year` and the trend of the years before it, protected.

    Each year's cells are suppressed as that year's own report suppresses them (its tables
    protected together), and the trend shows earlier years with exactly that pattern: the reports
    of two years then publish the same cells of a shared year, so putting them side by side
    reveals nothing that either hides (as long as the data of that year did not change between them).
    """
    years = list(range(year - TREND_YEARS + 1, year + 1))
    values = _read_counts(connection, years[0], year)
    if key("registrations", year) not in values:
        raise NoRegistrations(f"the warehouse holds no registrations of {year}")
    values |= _read_crossings(connection, years[0], year)
    years = [y for y in years if key("registrations", y) in values]
    hidden: set = set()
    tables: list[ReportTable] = []
    for each in years:
        own = _year_tables(values, each, top)
        hidden |= _protect_tables(values, own, min_cell)
        if each == year:
            tables = own
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
    published = [overview, trend, *tables]
    shown = {cell for table in published for cell in table.keys()}
    return Report(year, years, published, values, frozenset(hidden & shown), min_cell)
