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
