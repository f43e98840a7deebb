"""The overlap table of the warehouse: which source kinds reported each distinct person.

Grain of the result: one row per combination of source kinds that occurs, with the number of
distinct persons reported by exactly that combination in the chosen years (national registrations). Person pseudonyms are
read to link registrations and never leave this function.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from sqlalchemy import Connection, TextClause, text

from estimation.table import COUNT_COLUMN

# Registrations without a person pseudonym (sources without identifying fields) cannot be linked
# across sources, so they cannot tell whether two lists share a person: they are left out. So are
# rows about victims elsewhere (`scope = 'reference'`, e.g. CTDC): the estimate is of Dutch victims.
_REPORTED = """
    FROM registrations
    WHERE person_id IS NOT NULL
      AND scope = 'national'
      AND source_kind IS NOT NULL
      AND registration_year BETWEEN :year_from AND :year_to"""


def _persons_by_lists(kinds: list[str]) -> TextClause:
    """Distinct persons per set of source kinds, the set as a bit mask (bit i: kinds[i]).

    Counted in the database: a person's bits are summed over their distinct (person, kind) pairs,
    so only one row per combination that occurs leaves it, never a pseudonym.
    """
    bits = " ".join(f"WHEN :kind_{index} THEN {1 << index}" for index in range(len(kinds)))
    return text(
        f"""
        SELECT lists, count(*) AS persons FROM (
            SELECT person_id, SUM(bit) AS lists FROM (
                SELECT DISTINCT person_id, CASE source_kind {bits} END AS bit {_REPORTED}
            ) AS person_kinds
            GROUP BY person_id
        ) AS person_lists
        GROUP BY lists
        """
    ).bindparams(**{f"kind_{index}": kind for index, kind in enumerate(kinds)})


def overlap_from_registrations(
    connection: Connection, year_from: int, year_to: int
) -> pd.DataFrame:
    """One 0/1 column per source kind that occurs (sorted by name) plus `count`.

    Each distinct person counts once, on every source kind that reported them in the years.
    """
    years = {"year_from": year_from, "year_to": year_to}
    kinds = sorted(str(kind) for kind in connection.execute(text(f"SELECT DISTINCT source_kind {_REPORTED}"), years).scalars())
    if not kinds:
        return pd.DataFrame({COUNT_COLUMN: pd.Series([], dtype="int64")})
    rows = connection.execute(_persons_by_lists(kinds), years).all()
    lists = np.array([int(row[0]) for row in rows], dtype=np.int64)
    table = pd.DataFrame({kind: (lists >> index) & 1 for index, kind in enumerate(kinds)})
    table[COUNT_COLUMN] = np.array([int(row[1]) for row in rows], dtype=np.int64)
    return table.astype("int64").sort_values(kinds, ascending=False, ignore_index=True)


# The covariates a warehouse estimate can take, as the marts define them (one definition).
COVARIATE_DIMENSIONS = {"gender": "gender", "minor": "minor", "dutch": "dutch", "form": "exploitation_type", "age_group": "age_group"}
YEAR_COLUMN = "registration_year"


def _covariate_expressions(covariates: tuple[str, ...]) -> list[str]:
    from warehouse.marts import DIMENSIONS

    expressions = {dimension.name: dimension.expression for dimension in DIMENSIONS}
    unknown = [name for name in covariates if name not in COVARIATE_DIMENSIONS]
    if unknown:
        raise ValueError(f"unknown covariate(s) {', '.join(unknown)}; choose from {', '.join(COVARIATE_DIMENSIONS)}")
    return [f"COALESCE({expressions[COVARIATE_DIMENSIONS[name]]}, 'unknown')" for name in covariates]


def stratified_overlap_from_registrations(
    connection: Connection, year_from: int, year_to: int, covariates: tuple[str, ...] = (), per_year: bool = False
) -> pd.DataFrame:
    """The overlap of source kinds broken down by `covariates` (and by registration year).

    One 0/1 column per source kind that occurs, one text column per covariate (with `per_year`,
    `registration_year` too) and `count`. A person counts once (once per year with `per_year`),
    with the covariates of their first registration (of the year): earliest report date, no date
    last, then the registration id, as the marts count persons. Only aggregate rows leave the
    database.
    """
    years = {"year_from": year_from, "year_to": year_to}
    kinds = sorted(str(kind) for kind in connection.execute(text(f"SELECT DISTINCT source_kind {_REPORTED}"), years).scalars())
    names = [*covariates, *([YEAR_COLUMN] if per_year else [])]
    if not kinds:
        return pd.DataFrame({**{name: pd.Series([], dtype="str") for name in names}, COUNT_COLUMN: pd.Series([], dtype="int64")})
    unit = "person_id" + (", registration_year" if per_year else "")
    values = [f"{expression} AS covariate_{index}" for index, expression in enumerate(_covariate_expressions(covariates))]
    selected = ", ".join(["person_id", "registration_year", *values]) if per_year else ", ".join(["person_id", *values])
    bits = " ".join(f"WHEN :kind_{index} THEN {1 << index}" for index in range(len(kinds)))
    join = " AND ".join(f"firsts.{column} = lists.{column}" for column in unit.split(", "))
    outputs = [f"firsts.covariate_{index}" for index in range(len(covariates))] + (["lists.registration_year"] if per_year else [])
    grouped = ", ".join(["lists.lists", *outputs])
    query = text(
        f"""
        WITH firsts AS (
            SELECT {selected}, ROW_NUMBER() OVER (
                PARTITION BY {unit}
                ORDER BY CASE WHEN reported_on IS NULL THEN 1 ELSE 0 END, reported_on, registration_id
            ) AS position {_REPORTED}
        ), lists AS (
            SELECT {unit}, SUM(bit) AS lists FROM (
                SELECT DISTINCT {unit}, CASE source_kind {bits} END AS bit {_REPORTED}
            ) AS person_kinds
            GROUP BY {unit}
        )
        SELECT {grouped}, count(*) AS persons
        FROM lists JOIN firsts ON {join} AND firsts.position = 1
        GROUP BY {grouped}
        """
    ).bindparams(**{f"kind_{index}": kind for index, kind in enumerate(kinds)})
    rows = connection.execute(query, years).all()
    lists = np.array([int(row[0]) for row in rows], dtype=np.int64)
    table = pd.DataFrame({kind: (lists >> index) & 1 for index, kind in enumerate(kinds)})
    for position, name in enumerate(names, start=1):
        column = [row[position] for row in rows]
        table[name] = np.array(column, dtype=np.int64) if name == YEAR_COLUMN else pd.Series(column, dtype="str").to_numpy()
    table[COUNT_COLUMN] = np.array([int(row[-1]) for row in rows], dtype=np.int64)
    return table.sort_values([*kinds, *names], ascending=False, ignore_index=True)
