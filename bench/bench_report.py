"""Benchmark `victim-intake report` on a warehouse of synthetic registrations.

Builds a SQLite warehouse (or uses the PostgreSQL URL given) with N synthetic registrations over
five years, all of them inside the report's trend window, times the mart refresh the nightly flow
would run, then times the report command in every format and with two other --top (each recorded,
so each later one is protected jointly with the earlier ones) and the estimate command (without
and with its default bootstrap) as separate processes.

    .venv/bin/python bench/bench_report.py --rows 1000000
    .venv/bin/python bench/bench_report.py --rows 1000000 --url postgresql+psycopg://postgres@127.0.0.1/bench
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from store.bulk import bulk_insert
from store.engines import make_engine
from victim_intake.synthetic.registrations import synthetic_registrations
from warehouse.database import create_tables
from warehouse.marts import mark_stale, refresh_marts

YEARS = range(2020, 2025)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--url", help="an empty warehouse to fill (default: a temporary SQLite file)")
    arguments = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="victim-intake-bench-report-"))
    url = arguments.url or f"sqlite:///{work / 'warehouse.sqlite'}"
    engine = make_engine(url)
    create_tables(engine)

    started = time.perf_counter()
    frame = synthetic_registrations(arguments.rows, YEARS)
    with engine.begin() as connection:
        bulk_insert(connection, "registrations", frame)
        mark_stale(connection, YEARS)
    print(f"inserted {arguments.rows:,} registrations in {time.perf_counter() - started:.1f} s")

    started = time.perf_counter()
    with engine.begin() as connection:
        refresh_marts(connection)
    print(f"mart refresh (once per nightly run, all {len(YEARS)} years): {time.perf_counter() - started:.1f} s")
    engine.dispose()

    environment = {**os.environ, "VICTIM_INTAKE_DATABASE_URL": url, "VICTIM_INTAKE_HOME": str(work)}
    command = Path(sys.executable).parent / "victim-intake"
    # Every report is recorded: the first solves the suppression, another format of the same data
    # takes its suppressions, another --top is protected jointly with both.
    variants = [("--format", "html"), ("--format", "md"), ("--format", "csv"), ("--top", "3"), ("--top", "15")]
    for number, (option, value) in enumerate(variants):
        started = time.perf_counter()
        subprocess.run(
            [str(command), "report", "--year", str(YEARS[-1]), option, value, "--out", str(work / f"report-{number}.{value}")],
            check=True, env=environment, capture_output=True,
        )
        print(f"victim-intake report {option} {value}: {time.perf_counter() - started:.1f} s (whole process)")
    # The estimate reads distinct persons per source kind over the years; by default it also runs the
    # bootstrap (1000 replicates, each repeating the model selection).
    for replicates in ("0", "1000"):
        started = time.perf_counter()
        subprocess.run(
            [str(command), "estimate", "--from", str(YEARS[0]), "--to", str(YEARS[-1]), "--bootstrap", replicates],
            check=True, env=environment, capture_output=True,
        )
        print(f"victim-intake estimate --bootstrap {replicates}: {time.perf_counter() - started:.1f} s (whole process)")
    print(f"outputs under {work}")


if __name__ == "__main__":
    main()
