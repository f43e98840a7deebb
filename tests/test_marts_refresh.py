"""The marts refreshed in Arrow equal the marts of a plain SQL refresh, row for row.

The reference below is that SQL (window functions and a temporary cube), kept here only as the
oracle. The warehouse holds the edge cases: reports without a date, ties on the report date, rows
without a pseudonym, persons reported by several sources in several years, unknown values, and
reporting units holding quotes, line breaks and control characters (the pipeline writes codes, but a
row written outside it may hold any text).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest
import sqlalchemy as sa
from scratch_db import scratch_url

from store.bulk import Read, bulk_insert, read_columns
from store.engines import make_engine
from victim_intake.synthetic.registrations import synthetic_registrations
from warehouse.analyst_tier import ANALYST_RELATIONS, refresh_tier
from warehouse.database import create_tables
from warehouse.marts import CROSSINGS, DIMENSION_NAMES, DIMENSIONS, MARTS, mart_person_years, refresh_marts

YEARS = range(2019, 2025)
_CUBE = "reference_cube"
_KEY = "COALESCE(person_id, 'registration:' || registration_id)"


def _reference_person_years() -> str:
    characteristics = ", ".join(f"{d.expression} AS {d.name}" for d in DIMENSIONS)
    return f"""
SELECT registration_year, person_key, linked, registrations, {", ".join(DIMENSION_NAMES)}
FROM (
    SELECT registration_year, {_KEY} AS person_key, person_id IS NOT NULL AS linked,
           COUNT(*) OVER person_year AS registrations, {characteristics},
           ROW_NUMBER() OVER (
               PARTITION BY registration_year, {_KEY}
               ORDER BY CASE WHEN reported_on IS NULL THEN 1 ELSE 0 END, reported_on, registration_id
           ) AS rank_in_year
    FROM registrations
    WINDOW person_year AS (PARTITION BY registration_year, {_KEY})
) AS ranked
WHERE rank_in_year = 1"""


def _reference_refresh(connection: sa.Connection) -> None:
    """`refresh_marts` written as plain SQL, for every year."""
    for mart in reversed(MARTS):
        connection.execute(sa.delete(mart))
    names = ", ".join(DIMENSION_NAMES)
    columns = ", ".join(column.name for column in mart_person_years.columns)
    connection.execute(sa.text(f"INSERT INTO mart_person_years ({columns}) {_reference_person_years()}"))
    expressions = ", ".join(f"{d.expression} AS {d.name}" for d in DIMENSIONS)
    connection.execute(
        sa.text(
            f"CREATE TEMPORARY TABLE {_CUBE} AS "
            f"SELECT 'registrations' AS measure, registration_year, {names}, COUNT(*) AS n FROM "
            f"(SELECT registration_year, {expressions} FROM registrations) AS r GROUP BY registration_year, {names} "
            f"UNION ALL SELECT 'persons', registration_year, {names}, COUNT(*) FROM mart_person_years "
            f"GROUP BY registration_year, {names}"
        )
    )
    counts = " UNION ALL ".join(
        f"SELECT registration_year, measure, '{name}', {name}, SUM(n) FROM {_CUBE} GROUP BY registration_year, measure, {name}"
        for name in DIMENSION_NAMES
    )
    crossings = " UNION ALL ".join(
        f"SELECT registration_year, measure, '{row}', {row}, '{column}', {column}, SUM(n) FROM {_CUBE} "
        f"GROUP BY registration_year, measure, {row}, {column}"
        for row, column in CROSSINGS
    )
    connection.execute(sa.text(f"INSERT INTO mart_yearly_counts {counts}"))
    connection.execute(sa.text(f"INSERT INTO mart_yearly_crossings {crossings}"))
    connection.execute(sa.text(f"DROP TABLE {_CUBE}"))


def _marts(connection: sa.Connection) -> dict[str, pd.DataFrame]:
    frames = {}
    for mart in MARTS:
        key = [column.name for column in mart.primary_key.columns]
        frame = pd.read_sql(sa.select(mart), connection).sort_values(key, ignore_index=True)
        frames[mart.name] = frame.astype({"linked": bool}) if "linked" in frame else frame
    return frames


@pytest.fixture
def edge_rows() -> pd.DataFrame:
    frame = synthetic_registrations(4000, YEARS, seed=11, persons=1800)
    rng = np.random.default_rng(3)
    rows = len(frame)
    # Ties: every registration of a person in a year on the same day for a third of the persons,
    # so the registration id decides (ids here are not in insertion order).
    frame["registration_id"] = [f"r{value:05x}" for value in rng.permutation(rows)]
    tied = frame["person_id"].notna() & (frame["person_id"].str[-1].isin(["1", "4", "7"]))
    frame.loc[tied, "reported_on"] = pd.to_datetime(frame.loc[tied, "registration_year"].astype(str) + "-06-01")
    # Reports without a date (they come last), some in persons that also have dated reports.
    frame.loc[rng.random(rows) < 0.15, "reported_on"] = pd.NaT
    unknown = rng.random(rows) < 0.1
    frame["is_minor"] = frame["is_minor"].astype("boolean")
    frame.loc[unknown, "is_minor"] = pd.NA
    frame.loc[unknown, "age_group"] = "unknown"
    frame.loc[rng.random(rows) < 0.05, "nationality"] = "UNK"
    units = frame["reporting_unit"].astype(object)
    units[rng.random(rows) < 0.1] = "unknown"
    # The pipeline writes unit codes; rows written outside it may hold any text, and still count.
    hostile = rng.random(rows) < 0.05
    units[hostile] = rng.choice(["it's \"here\"", "two\nlines", "unit\x1fseparator", "NULL", "", "comma, semicolon;"], hostile.sum())
    frame["reporting_unit"] = units
    return frame


@contextmanager
def _holding(rows: pd.DataFrame, backend: str, tmp_path) -> Iterator[sa.Connection]:
    """A transaction on a new warehouse of `backend` whose registrations are `rows`."""
    with scratch_url(backend, tmp_path) as url:
        engine = make_engine(url)
        create_tables(engine)
        try:
            with engine.begin() as connection:
                bulk_insert(connection, "registrations", rows)
                yield connection
        finally:
            engine.dispose()


@pytest.mark.parametrize("backend", ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def test_refresh_equals_the_reference_sql(tmp_path, edge_rows, backend) -> None:
    with _holding(edge_rows, backend, tmp_path) as connection:
        assert refresh_marts(connection) == set(YEARS)
        refreshed = _marts(connection)
        _reference_refresh(connection)
        reference = _marts(connection)
    for name, expected in reference.items():
        assert len(expected) > 0
        pd.testing.assert_frame_equal(refreshed[name], expected, check_dtype=False, obj=name)
    people = reference["mart_person_years"]
    # The edge cases are really there: unlinked rows, persons in several years, unknowns, hostile units.
    assert (~people["linked"]).any() and people["person_key"].duplicated().any()
    assert {"unknown"} <= set(people["minor"]) and "two\nlines" in set(people["reporting_unit"])
    assert (people["registrations"] > 1).any()


def _relations(connection: sa.Connection) -> dict[str, pd.DataFrame]:
    frames = {}
    for relation in ANALYST_RELATIONS:
        frame = pd.read_sql(sa.select(relation), connection)
        frames[relation.name] = frame.sort_values(list(frame.columns), ignore_index=True, na_position="last")
    return frames


@pytest.mark.parametrize("backend", ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def test_the_tier_from_the_marts_read_equals_the_tier_read_alone(tmp_path, edge_rows, backend) -> None:
    # The refresh reads every year once for the marts and the tier; the tier alone reads for itself.
    with _holding(edge_rows, backend, tmp_path) as connection:
        refresh_marts(connection)
        shared = _relations(connection)
        refresh_tier(connection)
        alone = _relations(connection)
    for name, expected in alone.items():
        assert len(expected) > 0
        pd.testing.assert_frame_equal(shared[name], expected, obj=name)


@pytest.mark.parametrize("backend", ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def test_read_columns_keeps_nulls_and_any_text_in_quoted_columns(tmp_path, backend) -> None:
    values = ["plain", "it's", "a\nb", "x\x1fy", "NULL", "", None, 'say "hi"', "a,b"]
    with scratch_url(backend, tmp_path) as url:
        engine = make_engine(url)
        with engine.begin() as connection:
            connection.execute(sa.text("CREATE TABLE sample (position INTEGER, value TEXT)"))
            connection.execute(
                sa.text("INSERT INTO sample VALUES (:position, :value)"),
                [{"position": index, "value": value} for index, value in enumerate(values)],
            )
            read = read_columns(
                connection, {"position": Read("position", pa.int64()), "value": Read("value", quoted=True)}, "FROM sample"
            )
            # No row: empty columns of the asked types (PostgreSQL's COPY then sends no byte at all).
            empty = read_columns(connection, {"position": Read("position", pa.int64())}, "FROM sample WHERE position < 0")
            assert empty.num_rows == 0 and empty.schema.field("position").type == pa.int64()
            if backend == "sqlite":
                with pytest.raises(ValueError, match="line break"):
                    read_columns(connection, {"value": Read("COALESCE(value, '-')")}, "FROM sample")
        engine.dispose()
    found = dict(zip(read["position"].to_pylist(), read["value"].to_pylist(), strict=True))
    assert [found[index] for index in range(len(values))] == values
