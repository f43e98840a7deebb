"""The analyst tier on a warehouse: uniqueness of persons before and after, shares generalised and
suppressed, and the time of a rebuild.

    VICTIM_INTAKE_HOME=<home of a warehouse> .venv/bin/python bench/bench_analyst_tier.py

Reads the configured warehouse (`victim-intake demo` and `victim-intake run` make one), rebuilds
the tier in a transaction that is rolled back, and prints counts only.
"""

from __future__ import annotations

import time

import pandas as pd
import sqlalchemy as sa

from config.settings import current
from warehouse.analyst_tier import refresh_tier
from warehouse.database import make_engine
from warehouse.hierarchies import QUASI_IDENTIFIERS

_BEFORE = ("age_group", "gender", "nationality", "exploitation_country", "exploitation_municipality", "exploitation_sector", "reporting_unit", "reported_on")
_FIRSTS = f"""
SELECT registration_year, {", ".join(_BEFORE)} FROM (
    SELECT *, ROW_NUMBER() OVER (
        PARTITION BY registration_year, COALESCE(person_id, 'registration:' || registration_id)
        ORDER BY reported_on IS NULL, reported_on, registration_id) AS position
    FROM registrations WHERE scope = 'national') AS ranked
WHERE position = 1
"""


def unique_share(persons: pd.DataFrame, columns: list[str]) -> float:
    """Share of persons alone in their class (year and `columns`)."""
    sizes = persons.groupby(["registration_year", *columns], dropna=False)["registration_year"].transform("size")
    return float((sizes == 1).mean())


def main() -> None:
    engine = make_engine(current().warehouse_url)
    with engine.connect() as connection:
        before = pd.read_sql(sa.text(_FIRSTS), connection)
        connection.rollback()
        transaction = connection.begin()
        started = time.perf_counter()
        tier = refresh_tier(connection)
        seconds = time.perf_counter() - started
        transaction.rollback()
    persons = tier.persons
    levels = tier.levels
    print(f"persons (person-years): {len(before)}; registrations: {len(tier.registrations)}; k = {int(levels['k'].iloc[0])}")
    print(f"unique on the stored quasi-identifiers (exact report date): {unique_share(before, list(_BEFORE)):.1%}")
    print(f"unique in the analyst tier: {unique_share(persons, list(QUASI_IDENTIFIERS)):.1%}")
    print(f"suppressed persons: {persons['suppressed'].mean():.2%}")
    coarser = sum(persons[f"{name}__coarser"].sum() for name in QUASI_IDENTIFIERS) / (len(persons) * len(QUASI_IDENTIFIERS))
    print(f"values generalised (coarser than level 0, suppressed not counted): {coarser:.1%}")
    print("levels: " + ", ".join(f"{row.quasi_identifier} {row.level_name}" for row in levels.drop_duplicates("quasi_identifier").itertuples()))
    print(levels.groupby("registration_year")[["persons", "suppressed"]].first().to_string())
    print(f"rebuild of the tier and its marts: {seconds:.1f} s")


if __name__ == "__main__":
    main()
