"""The overlap table of the warehouse: which source kinds reported each distinct person.

Grain of the result: one row per combination of source kinds that occurs, with the number of
distinct persons reported by exactly that combination in the chosen years. Person pseudonyms are
read to link registrations and never leave this function.
"""

from __future__ import annotations

import pandas as pd
from sqlalchemy import Connection, text

from estimation.table import COUNT_COLUMN

# Registrations without a person pseudonym (sources without identifying fields) cannot be linked
# across sources, so they cannot tell whether two lists share a person: they are left out.
_PERSONS_BY_KIND = text(
    """
    SELECT DISTINCT person_id, source_kind
    FROM registrations
    WHERE person_id IS NOT NULL
      AND source_kind IS NOT NULL
      AND registration_year BETWEEN :year_from AND :year_to
    """
)


def overlap_from_registrations(
    connection: Connection, year_from: int, year_to: int
) -> pd.DataFrame:
    """One 0/1 column per source kind that occurs (sorted by name) plus `count`.

    Each distinct person counts once, on every source kind that reported them in the years.
    """
    rows = connection.execute(_PERSONS_BY_KIND, {"year_from": year_from, "year_to": year_to})
    links = pd.DataFrame(rows.fetchall(), columns=["person_id", "source_kind"])
    if links.empty:
        return pd.DataFrame({COUNT_COLUMN: pd.Series([], dtype="int64")})
    # Rows are distinct (person, kind) pairs, so the crosstab holds 0/1 already.
    on_list = pd.crosstab(links["person_id"], links["source_kind"])
    kinds = [str(kind) for kind in on_list.columns]
    on_list.columns = kinds
    table = on_list.groupby(kinds).size().rename(COUNT_COLUMN).reset_index()
    return table.astype("int64").sort_values(kinds, ascending=False, ignore_index=True)
