"""Peak memory and time of the mart refresh (marts and analyst tier) on one warehouse, for one or
several checkouts of the project, and whether they write the same rows.

    .venv/bin/python bench/bench_mart_refresh.py --registrations 1000000
    .venv/bin/python bench/bench_mart_refresh.py --program before=/path/to/other/checkout --program after=.

Builds once, in `--workdir` (made private), a SQLite warehouse of N synthetic registrations over
2017-2026 (`synthetic_registrations(N, range(2017, 2027), seed=5, persons=0.7 N)`) with its
analyst tier secret. Then, per program, copies it and runs `refresh_marts` for every year in a
process of its own that imports that checkout's code, and prints the process's resident memory
before the refresh, its peak (VmHWM) and the difference, wall and CPU seconds; last, per program,
the number of rows of every mart and analyst table and a SHA-256 of its sorted rows, and whether
they are all equal.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import multiprocessing
import os
import shutil
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

_TABLES = (
    "mart_person_years",
    "mart_yearly_counts",
    "mart_yearly_crossings",
    "mart_stale_years",
    "analyst_registrations",
    "analyst_yearly_counts",
    "analyst_yearly_crossings",
    "analyst_tier_levels",
)
_ROOT = Path(__file__).resolve().parent.parent


def _status_kib(field: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise KeyError(field)


def build(url: str, registrations: int) -> None:
    """A new SQLite warehouse at `url` holding `registrations` synthetic registrations (the analyst
    tier benchmark's warehouse) and a tier secret."""
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from bench_analyst_tier import synthetic_warehouse

    from store.engines import make_engine
    from warehouse.analyst_tier import tier_secret

    synthetic_warehouse(url, registrations)
    engine = make_engine(url)
    with engine.begin() as connection:
        tier_secret(connection)
    engine.dispose()


def child(url: str) -> None:
    """Refresh every year's marts and the tier, and print the figures as JSON."""
    from store.engines import make_engine
    from warehouse import marts

    engine = make_engine(url)
    with engine.connect() as connection:
        years = list(marts.national_counts(connection))
    baseline = _status_kib("VmRSS")
    started, cpu = time.perf_counter(), time.process_time()
    with engine.begin() as connection:
        marts.refresh_marts(connection, years)
    seconds, cpu = time.perf_counter() - started, time.process_time() - cpu
    engine.dispose()
    print(json.dumps({"baseline": baseline, "peak": _status_kib("VmHWM"), "seconds": seconds, "cpu": cpu, "module": marts.__file__}))


def digests(path: Path) -> dict[str, str]:
    """Each table's number of rows and the SHA-256 of its rows, sorted on every column."""
    found = {}
    with sqlite3.connect(path) as connection:
        for table in _TABLES:
            width = len(connection.execute(f"SELECT * FROM {table} LIMIT 0").description)
            digest = hashlib.sha256()
            order = ", ".join(str(position) for position in range(1, width + 1))
            rows = 0
            for row in connection.execute(f"SELECT * FROM {table} ORDER BY {order}"):
                digest.update(repr(row).encode() + b"\n")
                rows += 1
            found[table] = f"{rows} rows, {digest.hexdigest()[:12]}"
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--registrations", type=int, default=1_000_000)
    parser.add_argument("--workdir", type=Path, default=Path("/tmp/marts-mem"))
    parser.add_argument("--program", action="append", default=[], help="NAME=CHECKOUT (default: this checkout)")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    arguments = parser.parse_args()
    if arguments.child:
        child(arguments.child)
        return
    work = arguments.workdir
    work.mkdir(mode=0o700, exist_ok=True)
    work.chmod(0o700)
    source = work / f"warehouse-{arguments.registrations}.sqlite"
    if not source.exists():
        started = time.perf_counter()
        # In a process of its own, so that the build leaves nothing in this one.
        builder = multiprocessing.get_context("spawn").Process(target=build, args=(f"sqlite:///{source}", arguments.registrations))
        builder.start()
        builder.join()
        if builder.exitcode:
            sys.exit("the warehouse could not be built")
        print(f"built {source} in {time.perf_counter() - started:.0f} s")
    programs = [entry.split("=", 1) for entry in arguments.program] or [["this", str(_ROOT)]]
    results = {}
    for name, checkout in programs:
        target = work / f"refreshed-{name}.sqlite"
        shutil.copyfile(source, target)
        environment = {**os.environ, "PYTHONPATH": str(Path(checkout).resolve()), "VICTIM_INTAKE_HOME": str(work / f"home-{name}")}
        completed = subprocess.run(
            [sys.executable, str(Path(__file__).resolve()), "--child", f"sqlite:///{target}"],
            cwd=checkout, env=environment, capture_output=True, text=True, check=True,
        )
        figures = json.loads(completed.stdout.strip().splitlines()[-1])
        mib = {key: figures[key] / 1024 for key in ("baseline", "peak")}
        print(
            f"{name}: baseline {mib['baseline']:.0f} MiB, peak {mib['peak']:.0f} MiB, above baseline {mib['peak'] - mib['baseline']:.0f} MiB; "
            f"{figures['seconds']:.1f} s wall, {figures['cpu']:.1f} s CPU ({figures['module']})"
        )
        results[name] = digests(target)
        target.unlink()
    for table in _TABLES:
        print(f"{table}: " + ", ".join(f"{name} {found[table]}" for name, found in results.items()))
    print("identical rows: " + ("yes" if len({json.dumps(found, sort_keys=True) for found in results.values()}) == 1 else "NO"))


if __name__ == "__main__":
    main()
