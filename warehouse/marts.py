"""Marts: aggregate tables over `registrations` that analysts and the scale-and-nature report read.

Tables refreshed after each load, not views: distinct persons need each person's first
registration of the year, which on a million rows takes seconds, while the marts are read far more
often than loaded. A load (`warehouse.load`) marks every year stale in the same transaction as
the batch itself (cheap; every year because linking may merge persons whose registrations lie in
other years); the nightly flow refreshes the stale years once at the end of its run, and every
reader (`victim-intake report`, `create_tables`) refreshes whatever is still stale before reading,
so nobody reads a stale mart. A year whose registration count disagrees with the marts counts as
stale too. Erasure removes the person's pseudonym from the marts in its own transaction; retention
and key rotation recompute the marts in theirs.
Each mart states its grain and documents its columns; the data dictionary is generated from these
declarations.

The marts count national registrations only (`scope = 'national'`): rows a source delivers about
victims elsewhere (`reference`, such as the CTDC global dataset) stay in `registrations` for
comparison and are counted nowhere.

How persons are counted: a person is counted once per registration year however many sources
reported them. Their characteristics in that year are those of their first registration of the
year (earliest report date, then the registration id), so every breakdown of persons adds up to
the number of persons. A registration without a person pseudonym (a source without identifying
fields, such as CTDC exchange rows) cannot be linked, so it counts as a person of its own: person
counts are then an upper bound, and `linked` says which rows are exact.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass

import pandas as pd
import pyarrow as pa
from sqlalchemy import Boolean, Column, Connection, Integer, Table, Text, delete, func, select, text

from store.bulk import Read, bulk_insert, read_columns
from store.locks import lock_tier
from store.tables import metadata, registrations
from warehouse.analyst_tier import gathered, national_sources, refresh_tier, tier_behind, tier_columns, year_part
from warehouse.mart_counts import PersonYears, dimension_frame, person_years, yearly_counts, yearly_crossings

MEASURES = ("registrations", "persons")


@dataclass(frozen=True)
class Dimension:
    """A characteristic a mart breaks counts down by, as an SQL expression over registrations.

    The expression is the only definition: the refresh reads it, writes `mart_person_years` with
    it, and the data dictionary prints it. `quoted` columns are read quoted, so that any character
    survives: the pipeline writes codes there, but the column is text that rows written outside it
    may fill with anything.
    """

    name: str
    expression: str
    description: str
    quoted: bool = False


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
    Dimension(
        "reporting_unit",
        "reporting_unit",
        "code of the reporting unit (police unit `PE-..` or a unit a partner declares), `unknown`",
        quoted=True,
    ),
    Dimension("exploitation_country", "exploitation_country", "country of exploitation, ISO alpha-3"),
)
DIMENSION_NAMES = tuple(dimension.name for dimension in DIMENSIONS)

# The combinations the annual reports use: (row dimension, column dimension).
CROSSINGS: tuple[tuple[str, str], ...] = (
    ("exploitation_type", "gender"),
    ("exploitation_type", "minor"),
    ("nationality", "exploitation_type"),
)


# How a registration's person is keyed in the marts.
_PERSON_KEY = "COALESCE(person_id, 'registration:' || registration_id)"


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


def national_counts(connection: Connection) -> dict[int, int]:
    """National registrations per year, counted in the index on (scope, registration_year)."""
    return dict(
        connection.execute(
            select(registrations.c.registration_year, func.count())
            .where(registrations.c.scope == "national")
            .group_by(registrations.c.registration_year)
        ).all()
    )


# A dimension no registration lacks (the expression has an ELSE): its registration counts add up
# to the year's registrations, a few rows to read where `mart_person_years` has one per person.
_EVERY_REGISTRATION = "minor"


def stale_years(connection: Connection, held: dict[int, int] | None = None) -> set[int]:
    """Years marked stale, and years whose registration count in the marts differs from the
    national registrations (`held`, when the caller has counted them already)."""
    marked = set(connection.execute(select(mart_stale_years.c.registration_year)).scalars())
    if held is None:
        held = national_counts(connection)
    counted = dict(
        connection.execute(
            select(mart_yearly_counts.c.registration_year, func.sum(mart_yearly_counts.c.count))
            .where(mart_yearly_counts.c.measure == "registrations", mart_yearly_counts.c.dimension == _EVERY_REGISTRATION)
            .group_by(mart_yearly_counts.c.registration_year)
        ).all()
    )
    return marked | {year for year in held.keys() | counted.keys() if held.get(year) != counted.get(year)}


def _columns(connection: Connection) -> dict[str, Read]:
    """What the marts read of a registration: dimensions as dictionary columns."""
    category = pa.dictionary(pa.int32(), pa.string())
    columns = {
        "registration_year": Read("registration_year", pa.int32()),
        "person_key": Read(_PERSON_KEY),
        "linked": Read("person_id IS NOT NULL", pa.bool_()),
        "reported_on": Read("reported_on", quoted=True),
        "registration_id": Read("registration_id"),
        **{d.name: Read(d.expression, category, quoted=d.quoted) for d in DIMENSIONS},
    }
    if connection.dialect.name == "postgresql":
        # Dates as ISO text whatever the session's DateStyle: the order SQLite's text dates have.
        columns["reported_on"] = Read("to_char(reported_on, 'YYYY-MM-DD')")
    return columns


_TIER_PREFIX = "tier__"


def _shared_columns(connection: Connection) -> tuple[dict[str, Read], dict[str, str]]:
    """The marts' columns and the tier's (`tier_columns`) in one read: a column both read alike once,
    one they read differently (the tier quotes some the marts read plain) under a name of its own.
    Returns the columns, and the tier's names -> the read's."""
    columns = _columns(connection)
    tier_names = {}
    for name, read in tier_columns(connection).items():
        tier_names[name] = name if columns.get(name, read) == read else _TIER_PREFIX + name
        columns[tier_names[name]] = read
    return columns, tier_names


def _person_years(registrations_read: pa.Table, split: PersonYears) -> pd.DataFrame:
    """`mart_person_years` rows: each person-year's first registration, in primary-key order."""
    firsts = registrations_read.take(split.positions)
    frame = firsts.select(["registration_year", "person_key", "linked"]).to_pandas()
    frame["registrations"] = split.sizes
    for name in DIMENSION_NAMES:
        frame[name] = firsts[name].combine_chunks().to_pandas()
    return frame[[column.name for column in mart_person_years.columns]]


def _refresh_year(connection: Connection, registrations_read: pa.Table, split: PersonYears) -> None:
    """Write one year's marts (emptied by the caller) from its registrations split into person-years.
    Every mart row lies within one registration year, a person-year included, so a year at a time
    gives the rows all years at once would give, holding one year's registrations in memory instead
    of all of them."""
    every = dimension_frame(registrations_read, DIMENSION_NAMES)
    frames = {"registrations": every, "persons": every.take(split.positions)}
    bulk_insert(connection, mart_person_years.name, _person_years(registrations_read, split))
    bulk_insert(connection, mart_yearly_counts.name, yearly_counts(frames, DIMENSION_NAMES))
    bulk_insert(connection, mart_yearly_crossings.name, yearly_crossings(frames, CROSSINGS))


def refresh_marts(connection: Connection, years: Iterable[int] = ()) -> set[int]:
    """Recompute the marts for `years` and every stale year, and then the analyst tier and its marts
    (`warehouse.analyst_tier`), in the caller's transaction.

    Reads each year's registrations into Arrow once for both; persons and counts are computed there
    (`warehouse.mart_counts`) and written back in bulk. The analyst tier is rebuilt from every
    year whenever any year changed (one generalisation scheme serves all years), or when it holds
    another number of registrations than `registrations` (a warehouse just upgraded). Returns the
    years refreshed (empty when nothing was stale).
    """
    held = national_counts(connection)
    todo = {int(year) for year in years} | stale_years(connection, held)
    if not todo:
        if tier_behind(connection, sum(held.values())):
            refresh_tier(connection)
        return todo
    # Before the read, as the tier takes it: a second refresh reads what the first one committed.
    lock_tier(connection)
    listed = sorted(todo)
    for mart in reversed(MARTS):
        connection.execute(delete(mart).where(mart.c.registration_year.in_(listed)))
    columns, tier_names = _shared_columns(connection)
    parts = []
    for year, source in national_sources(connection):
        registrations_read = read_columns(connection, columns, source)
        split = person_years(registrations_read)
        if year in todo:
            _refresh_year(connection, registrations_read, split)
        tier_read = registrations_read.select(list(tier_names.values())).rename_columns(list(tier_names))
        parts.append(year_part(tier_read, split))
    connection.execute(delete(mart_stale_years).where(mart_stale_years.c.registration_year.in_(listed)))
    refresh_tier(connection, gathered(parts))
    return todo


_SEPARATOR = "\x1f"


def year_fingerprints(connection: Connection, years: Iterable[int]) -> dict[int, str]:
    """SHA-256 of each year's counts and crossings as the marts hold them now.

    Two reports of a year with the same fingerprint were made from the same numbers; a different
    fingerprint means the data changed in between (a late delivery, a correction, an erasure).
    """
    listed = sorted({int(year) for year in years})
    digests = {year: hashlib.sha256() for year in listed}
    if not listed:
        return {}
    queries = (
        select(
            mart_yearly_counts.c.registration_year,
            mart_yearly_counts.c.measure,
            mart_yearly_counts.c.dimension,
            mart_yearly_counts.c.category,
            mart_yearly_counts.c.count,
        )
        .where(mart_yearly_counts.c.registration_year.in_(listed)),
        select(
            mart_yearly_crossings.c.registration_year,
            mart_yearly_crossings.c.measure,
            mart_yearly_crossings.c.row_dimension,
            mart_yearly_crossings.c.row_category,
            mart_yearly_crossings.c.column_dimension,
            mart_yearly_crossings.c.column_category,
            mart_yearly_crossings.c.count,
        )
        .where(mart_yearly_crossings.c.registration_year.in_(listed)),
    )
    # Sorted here, not in SQL: the order must not depend on the database's collation.
    lines = sorted(
        (row[0], f"{number}{_SEPARATOR}{_SEPARATOR.join(map(str, row[1:]))}")
        for number, query in enumerate(queries)
        for row in connection.execute(query)
    )
    for year, line in lines:
        digests[year].update(line.encode() + b"\n")
    return {year: digest.hexdigest() for year, digest in digests.items()}
