"""The analyst tier on a warehouse: uniqueness of persons before and after, shares generalised and
suppressed, and the time and peak memory of a rebuild.

    VICTIM_INTAKE_HOME=<home of a warehouse> .venv/bin/python bench/bench_analyst_tier.py
    .venv/bin/python bench/bench_analyst_tier.py --registrations 1000000

Reads the configured warehouse (`victim-intake demo` and `victim-intake run` make one), or with
`--registrations N` a new SQLite warehouse in a temporary folder holding N synthetic registrations
over 2017-2026 (`synthetic_registrations(N, range(2017, 2027), seed=5, persons=0.7 N)`); rebuilds
the tier in a transaction that is rolled back, and prints counts only.
"""

from __future__ import annotations

import argparse
import multiprocessing
import resource
import tempfile
import time
from pathlib import Path

import pandas as pd
import sqlalchemy as sa

from config.settings import current
from store.bulk import bulk_insert
from store.engines import make_engine
from victim_intake.synthetic.registrations import synthetic_registrations
from warehouse.analyst_tier import refresh_tier
from warehouse.database import create_tables
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


def synthetic_warehouse(url: str, registrations: int) -> None:
    """A new SQLite warehouse at `url` holding `registrations` synthetic registrations."""
    engine = make_engine(url)
    create_tables(engine)
    rows = synthetic_registrations(registrations, range(2017, 2027), seed=5, persons=max(1, registrations * 7 // 10))
    with engine.begin() as connection:
        bulk_insert(connection, "registrations", rows)
    engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--registrations", type=int, help="a new warehouse of this many synthetic registrations")
    arguments = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-analyst-tier-") as folder:
        if arguments.registrations:
            # Built in a process of its own, so the peak memory below is the rebuild's.
            url = f"sqlite:///{Path(folder) / 'warehouse.sqlite'}"
            builder = multiprocessing.get_context("spawn").Process(target=synthetic_warehouse, args=(url, arguments.registrations))
            builder.start()
            builder.join()
        else:
            url = current().warehouse_url
        engine = make_engine(url)
        with engine.connect() as connection:
            transaction = connection.begin()
            started, cpu = time.perf_counter(), time.process_time()
            tier = refresh_tier(connection)
            seconds, cpu = time.perf_counter() - started, time.process_time() - cpu
            transaction.rollback()
            peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20
            before = pd.read_sql(sa.text(_FIRSTS), connection)
        engine.dispose()
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
    print(f"rebuild of the tier and its marts: {seconds:.2f} s ({cpu:.2f} s of CPU)")
    print(f"peak memory of the process up to the end of the rebuild: {peak:.2f} GiB")


if __name__ == "__main__":
    main()
