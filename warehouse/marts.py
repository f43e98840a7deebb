"""Marts: aggregate tables over `registrations` that analysts and the scale-and-nature report read.

Tables refreshed after each load, not views: distinct persons need a window over every
registration of a year, which on a million rows takes many seconds on SQLite, while the marts are
read far more often than loaded. `load_batch` marks every year stale in the same transaction as
the batch itself (cheap; every year because linking may merge persons whose registrations lie in
other years); the nightly flow refreshes the stale years once at the end of its run, and every
reader (`victim-intake report`, `create_tables`) refreshes whatever is still stale before reading,
so nobody reads a stale mart. A year whose registration count disagrees with the marts counts as
stale too. Erasure removes the person's pseudonym from the marts in its own transaction; retention
and key rotation recompute the marts in theirs.
Each mart states its grain and documents its columns; the data dictionary is generated from these
declarations.

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

from sqlalchemy import Boolean, Column, Connection, Integer, Table, Text, bindparam, delete, func, select, text

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


_YEARS = bindparam("years", expanding=True)


def _person_years_sql() -> str:
    person_key = "COALESCE(person_id, 'registration:' || registration_id)"
    characteristics = ",\n           ".join(f"{d.expression} AS {d.name}" for d in DIMENSIONS)
    return f"""
SELECT registration_year, person_key, linked, registrations, {", ".join(DIMENSION_NAMES)}
FROM (
    SELECT registration_year,
           {person_key} AS person_key,
           person_id IS NOT NULL AS linked,
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


_CUBE = "mart_refresh_cube"


def _cube_sql() -> str:
    """Both measures by year and every dimension at once: one pass over each source table.

    The counts and crossings are then sums over this small cube instead of one pass over a million
    registrations per breakdown.
    """
    expressions = ", ".join(f"{d.expression} AS {d.name}" for d in DIMENSIONS)
    names = ", ".join(DIMENSION_NAMES)
    return (
        f"SELECT 'registrations' AS measure, registration_year, {names}, COUNT(*) AS n FROM "
        f"(SELECT registration_year, {expressions} FROM registrations WHERE registration_year IN :years) AS r "
        f"GROUP BY registration_year, {names} "
        f"UNION ALL "
        f"SELECT 'persons', registration_year, {names}, COUNT(*) FROM mart_person_years "
        f"WHERE registration_year IN :years GROUP BY registration_year, {names}"
    )


def _counts_sql() -> str:
    return "\nUNION ALL\n".join(
        f"SELECT registration_year, measure, '{name}', {name}, SUM(n) FROM {_CUBE} GROUP BY registration_year, measure, {name}"
        for name in DIMENSION_NAMES
    )


def _crossings_sql() -> str:
    return "\nUNION ALL\n".join(
        f"SELECT registration_year, measure, '{row}', {row}, '{column}', {column}, SUM(n) FROM {_CUBE} "
        f"GROUP BY registration_year, measure, {row}, {column}"
        for row, column in CROSSINGS
    )


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


mart_stale_years = Table(
    "mart_stale_years",
    metadata,
    Column("registration_year", Integer, primary_key=True, comment="a year whose marts must be recomputed"),
    comment="Years loaded since the marts were last refreshed; emptied by every refresh.",
)


def mark_stale(connection: Connection, years: Iterable[int]) -> None:
    """Note that these years changed (inside the load's transaction); cheap, refreshed later."""
    rows = [{"year": int(year)} for year in set(years)]
    if rows:
        connection.execute(
            text("INSERT INTO mart_stale_years (registration_year) VALUES (:year) ON CONFLICT (registration_year) DO NOTHING"),
            rows,
        )


def mark_all_stale(connection: Connection) -> None:
    """Mark every year that holds registrations stale (cheap: the year index).

    A load may merge persons and so change person counts and pseudonyms in years it did not deliver;
    erasure, retention and key rotation change pseudonyms everywhere.
    """
    connection.execute(
        text(
            "INSERT INTO mart_stale_years (registration_year) SELECT DISTINCT registration_year FROM registrations "
            "WHERE true ON CONFLICT (registration_year) DO NOTHING"
        )
    )


def forget_person(connection: Connection, person_id: str) -> None:
    """Erasure: the person's pseudonym leaves the marts now; their years are recomputed later."""
    connection.execute(delete(mart_person_years).where(mart_person_years.c.person_key == person_id))
    mark_all_stale(connection)


def stale_years(connection: Connection) -> set[int]:
    """Years marked stale, and years whose registration count in the marts differs from `registrations`."""
    marked = set(connection.execute(select(mart_stale_years.c.registration_year)).scalars())
    held = dict(
        connection.execute(
            select(registrations.c.registration_year, func.count()).group_by(registrations.c.registration_year)
        ).all()
    )
    counted = dict(
        connection.execute(
            select(mart_person_years.c.registration_year, func.sum(mart_person_years.c.registrations)).group_by(
                mart_person_years.c.registration_year
            )
        ).all()
    )
    return marked | {year for year in held.keys() | counted.keys() if held.get(year) != counted.get(year)}


def refresh_marts(connection: Connection, years: Iterable[int] = ()) -> set[int]:
    """Recompute the marts for `years` and every stale year, in the caller's transaction.

    Returns the years refreshed (empty when nothing was stale).
    """
    todo = {int(year) for year in years} | stale_years(connection)
    if not todo:
        return todo
    parameters = {"years": sorted(todo)}
    for mart in reversed(MARTS):
        connection.execute(text(f"DELETE FROM {mart.name} WHERE registration_year IN :years").bindparams(_YEARS), parameters)
    columns = ", ".join(column.name for column in mart_person_years.columns)
    connection.execute(
        text(f"INSERT INTO mart_person_years ({columns}) {_person_years_sql()}").bindparams(_YEARS), parameters
    )
    connection.execute(text(f"DROP TABLE IF EXISTS {_CUBE}"))
    connection.execute(text(f"CREATE TEMPORARY TABLE {_CUBE} AS {_cube_sql()}").bindparams(_YEARS), parameters)
    for mart, statement in ((mart_yearly_counts, _counts_sql()), (mart_yearly_crossings, _crossings_sql())):
        columns = ", ".join(column.name for column in mart.columns)
        connection.execute(text(f"INSERT INTO {mart.name} ({columns}) {statement}"))
    connection.execute(text(f"DROP TABLE {_CUBE}"))
    connection.execute(delete(mart_stale_years).where(mart_stale_years.c.registration_year.in_(sorted(todo))))
    return todo
