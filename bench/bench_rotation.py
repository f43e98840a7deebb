"""Benchmark `victim-intake keys rotate` over a large warehouse, on SQLite and PostgreSQL.

Builds the warehouse by loading a synthetic police feed of `--records` records (bench_run's
inbox, written by the demo generator) with the real `victim-intake run`, then times the real
`victim-intake keys rotate` (key files under the home, made by `victim-intake keys init`) as its
own process and prints wall time, registrations and persons per second and the peak resident
memory of its process tree. `--rotations N` rotates N times in a row, to see the spread. The
SQLite home is kept, so `VICTIM_INTAKE_HOME=<home> victim-intake keys rotate` can be run (or
profiled) again on the same warehouse.

    .venv/bin/python bench/bench_rotation.py --records 1000000
"""

from __future__ import annotations

import argparse
import os
import re
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_run import RECORDS_PER_PERSON, scratch_warehouse  # noqa: E402
from process_tree import Measured, measure  # noqa: E402

from victim_intake.synthetic import write_demo_inbox  # noqa: E402

VENV_BIN = Path(sys.executable).parent
_REKEYED = re.compile(r"Re-keyed ([\d,]+) registrations of ([\d,]+) persons")


def rekeyed(output: str) -> tuple[int, int]:
    """(registrations, persons) that the command says it re-keyed."""
    match = _REKEYED.search(output)
    if not match:
        raise SystemExit(f"keys rotate printed no re-keying summary:\n{output[-3000:]}")
    return int(match.group(1).replace(",", "")), int(match.group(2).replace(",", ""))


def checked(label: str, measured: Measured) -> Measured:
    if measured.returncode != 0:
        print(measured.output[-3000:])
        raise SystemExit(f"{label} exited {measured.returncode}")
    return measured


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--records", type=int, nargs="+", default=[1_000_000])
    parser.add_argument("--backends", nargs="+", choices=["sqlite", "postgres"], default=["sqlite", "postgres"])
    parser.add_argument("--rotations", type=int, default=1, help="rotations in a row on the same warehouse")
    parser.add_argument("--workdir", type=Path, default=Path("/tmp/victim-intake-bench"))
    parser.add_argument("--postgres-admin-url", default="postgresql+psycopg://postgres@127.0.0.1:5432/test")
    parser.add_argument("--files", type=int, default=4, help="feed files the records are spread over")
    arguments = parser.parse_args()

    arguments.workdir.mkdir(parents=True, exist_ok=True)
    base_env = {
        **os.environ,
        "PREFECT_HOME": str(arguments.workdir / "prefect"),
        "DO_NOT_TRACK": "1",
        "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
        "COLUMNS": "200",
    }
    for records in arguments.records:
        inbox = arguments.workdir / f"inbox-{records}"  # the same inbox bench_run writes
        if not inbox.exists():
            started = time.perf_counter()
            summary = write_demo_inbox(inbox, persons=max(1, round(records / RECORDS_PER_PERSON)), seed=1, files=arguments.files, partners=False)
            print(f"generated {summary.records:,} records in {time.perf_counter() - started:.1f} s")
        for backend in arguments.backends:
            home = arguments.workdir / f"rotation-home-{records}-{backend}"
            with scratch_warehouse(home, backend, arguments.postgres_admin_url) as url:
                env = {**base_env, "VICTIM_INTAKE_HOME": str(home), "VICTIM_INTAKE_DATABASE_URL": url}
                for variable in ("VICTIM_INTAKE_PSEUDONYM_KEY", "VICTIM_INTAKE_VAULT_KEY"):
                    env.pop(variable, None)  # key files, which `keys rotate` replaces itself
                checked("victim-intake keys init", measure([str(VENV_BIN / "victim-intake"), "keys", "init"], env))
                load = checked("victim-intake run", measure([str(VENV_BIN / "victim-intake"), "run", "--inbox", str(inbox)], env))
                print(f"\n== {backend}: warehouse of {records:,} police records loaded in {load.seconds:.1f} s")
                for version in range(2, arguments.rotations + 2):
                    rotation = checked("victim-intake keys rotate", measure([str(VENV_BIN / "victim-intake"), "keys", "rotate"], env))
                    registrations, persons = rekeyed(rotation.output)
                    print(f"rotate to v{version}: {rotation.seconds:7.1f} s  {registrations:,} registrations "
                          f"({registrations / rotation.seconds:,.0f}/s), {persons:,} persons ({persons / rotation.seconds:,.0f}/s)  "
                          f"peak {rotation.peak_rss_bytes / 2**30:.2f} GiB")

if __name__ == "__main__":
    main()
