"""Benchmark `victim-intake run` end to end on synthetic police feeds, against a hand-written baseline.

For each input size and warehouse backend it prints wall time, rows per second, peak memory of
the whole process tree (CLI plus Prefect's server), the per-stage seconds the flow logs, the same
for a minimal hand-written pipeline measured in the same run, their ratio, and the time of
a nightly run with nothing new to do.

    .venv/bin/python bench/bench_run.py --records 10000 100000 1000000
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import re
import secrets
import shutil
import sys
import time
import uuid
from collections import defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import sqlalchemy as sa

sys.path.insert(0, str(Path(__file__).resolve().parent))
from process_tree import Measured, measure  # noqa: E402

from victim_intake.synthetic import write_demo_inbox  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
VENV_BIN = Path(sys.executable).parent
RECORDS_PER_PERSON = 1.24  # what the generator writes on average (repeat reports, a few invalid rows)
# The flow logs "batch <id> (<source>): read 1.23 s, validate ..." per file (police feeds and
# partner files alike) and "marts refreshed for <years> in 4.2 s" once per run.
_STAGE_LINE = re.compile(r"batch \w+ \([^)]*\): ((?:\w+ [\d.]+ s(?:, )?)+)")
_MARTS_LINE = re.compile(r"marts refreshed for [\d, ]+ in ([\d.]+) s")


def stage_seconds(output: str) -> dict[str, float]:
    """Sum the per-file stage timings that the flow logs."""
    totals: dict[str, float] = defaultdict(float)
    for match in _STAGE_LINE.finditer(output):
        for stage, seconds in re.findall(r"(\w+) ([\d.]+) s", match.group(1)):
            totals[stage] += float(seconds)
    return dict(totals)


def mart_seconds(output: str) -> float | None:
    """The run's mart refresh, when the flow logged one."""
    match = _MARTS_LINE.search(output)
    return float(match.group(1)) if match else None


@contextmanager
def scratch_postgres(admin_url: str, prefix: str = "victim_intake_bench") -> Iterator[str]:
    """The URL of a new PostgreSQL database `<prefix>_<random>`, dropped afterwards (also on failure)."""
    name = f"{prefix}_{uuid.uuid4().hex[:8]}"
    admin = sa.create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(sa.text(f'CREATE DATABASE "{name}"'))
    try:
        yield admin_url.rsplit("/", 1)[0] + f"/{name}"
    finally:
        with admin.connect() as connection:
            connection.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@contextmanager
def scratch_warehouse(home: Path, backend: str, admin_url: str) -> Iterator[str]:
    """An empty home folder and the warehouse URL to measure on: a SQLite file in that home, or
    a scratch PostgreSQL database."""
    shutil.rmtree(home, ignore_errors=True)
    home.mkdir(parents=True)
    if backend == "postgres":
        with scratch_postgres(admin_url) as url:
            yield url
    else:
        yield f"sqlite:///{home / 'warehouse.sqlite'}"


def report(label: str, records: int, project: Measured, baseline: Measured, idle: Measured) -> None:
    if project.returncode not in (0, 1):
        print(project.output[-3000:])
        raise SystemExit(f"{label}: victim-intake run exited {project.returncode}")
    stages = stage_seconds(project.output)
    base_stages = json.loads(baseline.output.strip().splitlines()[-1])
    print(f"\n== {label}: {records:,} records")
    print(f"project : {project.seconds:7.1f} s  {records / project.seconds:10,.0f} rows/s  peak {project.peak_rss_bytes / 2**30:.2f} GiB")
    print("          stages: " + ", ".join(f"{stage} {seconds:.1f} s" for stage, seconds in stages.items()))
    if "wait" in stages:
        print("          (read, validate and pseudonymise ran ahead in a second process while the loads ran: they overlap;"
              " wait is the loads' wait for it)")
    print(f"baseline: {baseline.seconds:7.1f} s  {records / baseline.seconds:10,.0f} rows/s  peak {baseline.peak_rss_bytes / 2**30:.2f} GiB")
    print("          stages: " + ", ".join(f"{stage} {seconds:.1f} s" for stage, seconds in base_stages.items()))
    print(f"ratio project / baseline: {project.seconds / baseline.seconds:.2f}")
    print(f"nightly run with nothing new: {idle.seconds:.1f} s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--records", type=int, nargs="+", default=[10_000, 100_000, 1_000_000])
    parser.add_argument("--backends", nargs="+", choices=["sqlite", "postgres"], default=["sqlite", "postgres"])
    parser.add_argument("--workdir", type=Path, default=Path("/tmp/victim-intake-bench"))
    parser.add_argument("--postgres-admin-url", default="postgresql+psycopg://postgres@127.0.0.1:5432/test")
    parser.add_argument("--files", type=int, default=4, help="feed files the records are spread over")
    arguments = parser.parse_args()

    arguments.workdir.mkdir(parents=True, exist_ok=True)
    key = base64.b64encode(secrets.token_bytes(32)).decode()
    base_env = {
        **os.environ,
        "VICTIM_INTAKE_PSEUDONYM_KEY": key,
        "VICTIM_INTAKE_VAULT_KEY": base64.b64encode(secrets.token_bytes(32)).decode(),
        "PREFECT_HOME": str(arguments.workdir / "prefect"),  # warm after the first run, as in production
        "COLUMNS": "200",
    }
    for records in arguments.records:
        inbox = arguments.workdir / f"inbox-{records}"
        if not inbox.exists():
            started = time.perf_counter()
            summary = write_demo_inbox(inbox, persons=max(1, round(records / RECORDS_PER_PERSON)), seed=1, files=arguments.files, partners=False)
            print(f"generated {summary.records:,} records in {time.perf_counter() - started:.1f} s")
        written = sum(1 for path in (inbox / "police").glob("*.ndjson") for _ in path.open("rb"))
        for backend in arguments.backends:
            home = arguments.workdir / f"home-{records}-{backend}"
            with scratch_warehouse(home, backend, arguments.postgres_admin_url) as url:
                env = {**base_env, "VICTIM_INTAKE_HOME": str(home), "VICTIM_INTAKE_DATABASE_URL": url}
                baseline_target = (
                    ["--postgres-url", url.replace("+psycopg", "")] if backend == "postgres" else ["--sqlite", str(home / "baseline.sqlite")]
                )
                run = [str(VENV_BIN / "victim-intake"), "run", "--inbox", str(inbox)]
                project = measure(run, env)
                idle = measure(run, env)
                baseline = measure([sys.executable, str(ROOT / "bench" / "baseline.py"), str(inbox), *baseline_target], env)
            report(backend, written, project, baseline, idle)


if __name__ == "__main__":
    main()
