"""Marts: aggregate tables over `registrations` that analysts and the scale-and-nature report read.

Tables refreshed after each load, not views: distinct persons need a window over every
registration of a year, which on a million rows takes seconds on SQLite, while the marts are read
far more often than loaded. `load_batch` refreshes the years a batch touches in the same
transaction as the batch itself, so the marts are never out of step with `registrations`; any
other year whose registration count disagrees with the marts (a registration moved to another
year, an erasure) is refreshed too. Each mart states its grain and documents its columns; the
data dictionary is generated from these declarations.

How persons are counted: a person is counted once per registration year however many sources
reported them. Their characteristics in that year are those of their first registration of the
year (earliest report date, then the registration id), so every breakdown of persons adds up to
the number of persons. A registration without a person pseudonym (a source without identifying
fields, such as CTDC exchange rows) cannot be linked, so it counts as a person of its own: person
counts are then an upper bound, and `linked` says which rows are exact.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import Boolean, Column, Connection, Integer, Table, Text, bindparam, func, select, text

from warehouse.tables import metadata, registrations

MEASURES = ("registrations", "persons")


@dataclass(frozen=True)
class Dimension:
    """A characteristic a mart breaks counts down by, as an SQL expression over registrations."""

    name: str
    expression: str
    description: str


DIMENSIONS: tuple[Dimension, ...] = (
    Dimension("exploitation_type", "exploitation_type", "form of exploitation"),
    Dimension("gender", "gender", "gender"),
    Dimension("age_group", "age_group", "age group at the report"),
    Dimension(
        "minor",
        "CASE WHEN is_minor THEN 'minor' WHEN NOT is_minor THEN 'adult' ELSE 'unknown' END",
        "`minor` (under 18 at the report), `adult` or `unknown`",
    ),
    Dimension("nationality", "nationality", "nationality, ISO 3166-1 alpha-3 (`UNK` unknown)"),
    Dimension(
        "dutch",
        "CASE nationality WHEN 'NLD' THEN 'dutch' WHEN 'UNK' THEN 'unknown' ELSE 'non_dutch' END",
        "`dutch`, `non_dutch` or `unknown` nationality",
    ),
    Dimension("source_kind", "source_kind", "category of the reporting source"),
    Dimension("reporting_unit", "COALESCE(reporting_unit, 'unknown')", "police unit or region of the reporter"),
    Dimension("exploitation_country", "exploitation_country", "country of exploitation, ISO alpha-3"),
)
DIMENSION_NAMES = tuple(dimension.name for dimension in DIMENSIONS)

# The combinations the annual reports use: (row dimension, column dimension).
CROSSINGS: tuple[tuple[str, str], ...] = (
    ("exploitation_type", "gender"),
    ("exploitation_type", "minor"),
    ("nationality", "exploitation_type"),
)


def _person_years_sql() -> str:
    person_key = "COALESCE(person_id, 'registration:' || registration_id)"
    characteristics = ",\n           ".join(f"{d.expression} AS {d.name}" for d in DIMENSIONS)
    return f"""
SELECT registration_year, person_key, linked, registrations, {", ".join(DIMENSION_NAMES)}
FROM (
    SELECT registration_year,
           {person_key} AS person_key,
           CASE WHEN person_id IS NULL THEN 0 ELSE 1 END AS linked,
           COUNT(*) OVER person_year AS registrations,
           {characteristics},
           ROW_NUMBER() OVER (
               PARTITION BY registration_year, {person_key}
               ORDER BY CASE WHEN reported_on IS NULL THEN 1 ELSE 0 END, reported_on, registration_id
           ) AS rank_in_year
    FROM registrations
    WINDOW person_year AS (PARTITION BY registration_year, {person_key})
) AS ranked
WHERE rank_in_year = 1"""


def _counts_sql() -> str:
    branches = []
    for dimension in DIMENSIONS:
        branches.append(
            f"SELECT registration_year, 'registrations' AS measure, '{dimension.name}' AS dimension, "
            f"{dimension.expression} AS category, COUNT(*) AS count "
            f"FROM registrations GROUP BY registration_year, {dimension.expression}"
        )
        branches.append(
            f"SELECT registration_year, 'persons', '{dimension.name}', {dimension.name}, COUNT(*) "
            f"FROM mart_person_years GROUP BY registration_year, {dimension.name}"
        )
    return "\nUNION ALL\n".join(branches)


def _crossings_sql() -> str:
    expression = {dimension.name: dimension.expression for dimension in DIMENSIONS}
    branches = []
    for row, column in CROSSINGS:
        branches.append(
            f"SELECT registration_year, 'registrations' AS measure, '{row}' AS row_dimension, "
            f"{expression[row]} AS row_category, '{column}' AS column_dimension, "
            f"{expression[column]} AS column_category, COUNT(*) AS count "
            f"FROM registrations GROUP BY registration_year, {expression[row]}, {expression[column]}"
        )
        branches.append(
            f"SELECT registration_year, 'persons', '{row}', {row}, '{column}', {column}, COUNT(*) "
            f"FROM mart_person_years GROUP BY registration_year, {row}, {column}"
        )
    return "\nUNION ALL\n".join(branches)


_YEARS = bindparam("years", expanding=True)


def _person_years_sql() -> str:
    person_key = "COALESCE(person_id, 'registration:' || registration_id)"
    characteristics = ",\n           ".join(f"{d.expression} AS {d.name}" for d in DIMENSIONS)
    return f"""
SELECT registration_year, person_key, linked, registrations, {", ".join(DIMENSION_NAMES)}
FROM (
    SELECT registration_year,
           {person_key} AS person_key,
           CASE WHEN person_id IS NULL THEN FALSE ELSE TRUE END AS linked,
           COUNT(*) OVER person_year AS registrations,
           {characteristics},
           ROW_NUMBER() OVER (
               PARTITION BY registration_year, {person_key}
               ORDER BY CASE WHEN reported_on IS NULL THEN 1 ELSE 0 END, reported_on, registration_id
           ) AS rank_in_year
    FROM registrations
    WHERE registration_year IN :years
    WINDOW person_year AS (PARTITION BY registration_year, {person_key})
) AS ranked
WHERE rank_in_year = 1"""


def _counts_sql() -> str:
    branches = []
    for dimension in DIMENSIONS:
        branches.append(
            f"SELECT registration_year, 'registrations', '{dimension.name}', {dimension.expression}, COUNT(*) "
            f"FROM registrations WHERE registration_year IN :years GROUP BY registration_year, {dimension.expression}"
        )
        branches.append(
            f"SELECT registration_year, 'persons', '{dimension.name}', {dimension.name}, COUNT(*) "
            f"FROM mart_person_years WHERE registration_year IN :years GROUP BY registration_year, {dimension.name}"
        )
    return "\nUNION ALL\n".join(branches)


def _crossings_sql() -> str:
    expression = {dimension.name: dimension.expression for dimension in DIMENSIONS}
    branches = []
    for row, column in CROSSINGS:
        branches.append(
            f"SELECT registration_year, 'registrations', '{row}', {expression[row]}, '{column}', "
            f"{expression[column]}, COUNT(*) FROM registrations WHERE registration_year IN :years "
            f"GROUP BY registration_year, {expression[row]}, {expression[column]}"
        )
        branches.append(
            f"SELECT registration_year, 'persons', '{row}', {row}, '{column}', {column}, COUNT(*) "
            f"FROM mart_person_years WHERE registration_year IN :years GROUP BY registration_year, {row}, {column}"
        )
    return "\nUNION ALL\n".join(branches)


_DIMENSIONS_LIST = ", ".join(f"`{name}`" for name in DIMENSION_NAMES)


def _year() -> Column:
    return Column("registration_year", Integer, primary_key=True, comment="year of the report")


def _measure() -> Column:
    return Column(
        "measure",
        Text,
        primary_key=True,
        comment="`registrations` (reports; one person may have several) or `persons` (distinct persons of the year)",
    )


mart_person_years = Table(
    "mart_person_years",
    metadata,
    _year(),
    Column(
        "person_key",
        Text,
        primary_key=True,
        comment="the person pseudonym, or `registration:` and the registration id when the source carries no identifiers",
    ),
    Column("linked", Boolean, nullable=False, comment="true for a pseudonymised person, false for an unlinkable registration"),
    Column("registrations", Integer, nullable=False, comment="registrations of this person in the year, from all sources"),
    *(
        Column(d.name, Text, nullable=False, comment=f"{d.description}, from the person's first registration of the year")
        for d in DIMENSIONS
    ),
    comment="One row per person per registration year; a registration without a person pseudonym is a person of its own.",
)

mart_yearly_counts = Table(
    "mart_yearly_counts",
    metadata,
    _year(),
    _measure(),
    Column("dimension", Text, primary_key=True, comment=f"what the count is broken down by: one of {_DIMENSIONS_LIST}"),
    Column("category", Text, primary_key=True, comment="value of the dimension (canonical code; `unknown` or `UNK` when unknown)"),
    Column("count", Integer, nullable=False, comment="registrations or distinct persons; persons add up to the year's persons over any dimension"),
    comment="One row per registration year, measure, dimension and category that occurs.",
)

mart_yearly_crossings = Table(
    "mart_yearly_crossings",
    metadata,
    _year(),
    _measure(),
    Column("row_dimension", Text, primary_key=True, comment="first dimension: " + ", ".join(sorted({r for r, _ in CROSSINGS}))),
    Column("row_category", Text, primary_key=True, comment="value of the first dimension"),
    Column("column_dimension", Text, primary_key=True, comment="second dimension: " + ", ".join(sorted({c for _, c in CROSSINGS}))),
    Column("column_category", Text, primary_key=True, comment="value of the second dimension"),
    Column("count", Integer, nullable=False, comment="registrations or distinct persons with both values"),
    comment="One row per registration year, measure, crossing of two dimensions and pair of categories that occurs.",
)

MARTS: tuple[Table, ...] = (mart_person_years, mart_yearly_counts, mart_yearly_crossings)
_DEFINITIONS = {
    mart_person_years.name: _person_years_sql(),
    mart_yearly_counts.name: _counts_sql(),
    mart_yearly_crossings.name: _crossings_sql(),
}


def stale_years(connection: Connection) -> set[int]:
    """Years whose registration count in the marts differs from `registrations` (or is missing)."""
    held = dict(
        connection.execute(
            select(registrations.c.registration_year, func.count()).group_by(registrations.c.registration_year)
        ).all()
    )
    counted = dict(
        connection.execute(
            text(
                "SELECT registration_year, SUM(registrations) FROM mart_person_years GROUP BY registration_year"
            )
        ).all()
    )
    return {year for year in held.keys() | counted.keys() if held.get(year) != counted.get(year)}


def refresh_marts(connection: Connection, years: Iterable[int] = ()) -> set[int]:
    """Recompute the marts for `years` and for every stale year, in the caller's transaction.

    Returns the years refreshed.
    """
    todo = {int(year) for year in years} | stale_years(connection)
    if not todo:
        return todo
    parameters = {"years": sorted(todo)}
    # Dependants first on delete; mart_person_years first on insert (the counts read it).
    for mart in reversed(MARTS):
        connection.execute(text(f"DELETE FROM {mart.name} WHERE registration_year IN :years").bindparams(_YEARS), parameters)
    for mart in MARTS:
        columns = ", ".join(column.name for column in mart.columns)
        statement = text(f"INSERT INTO {mart.name} ({columns}) {_DEFINITIONS[mart.name]}").bindparams(_YEARS)
        connection.execute(statement, parameters)
    return todo
