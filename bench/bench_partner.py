"""Benchmark one large partner CSV through `victim-intake run`, on SQLite and PostgreSQL.

Writes a care-coordination file (`zorgcoordinatie`: cp1252, semicolons, Dutch dates and country
names, the shipped definition's headers) of `--rows` rows with the project's synthetic partner
generator, then for each warehouse backend runs the real CLI in a subprocess on an inbox holding
only that file and prints wall time, rows per second, the peak resident memory of the whole
process tree (CLI plus Prefect's server), the per-stage seconds the flow logs for the file and
the run's mart refresh.

    .venv/bin/python bench/bench_partner.py --rows 1000000
"""

from __future__ import annotations

import argparse
import base64
import datetime as dt
import os
import secrets
import sys
import time
from pathlib import Path

import numpy as np
import sqlalchemy as sa

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_run import mart_seconds, scratch_warehouse, stage_seconds  # noqa: E402
from process_tree import Measured, measure  # noqa: E402

from schemas.partner_definition import load_definitions  # noqa: E402
from victim_intake.synthetic.partner_files import MAX_REPORT_DELAY_DAYS, PLANS, partner_rows, write_csv  # noqa: E402
from victim_intake.synthetic.people import draw_people  # noqa: E402
from victim_intake.synthetic.police_reports import first_report_years  # noqa: E402

VENV_BIN = Path(sys.executable).parent
PARTNER = "zorgcoordinatie"  # reports on every form of exploitation, so its share of persons is plain
MARGIN = 1.03  # persons drawn beyond rows / share, so the random draw never falls short


def write_partner_csv(path: Path, rows: int, seed: int = 1) -> None:
    """`rows` data rows of the partner's file as the synthetic demo writes it (~3 % invalid)."""
    definition = load_definitions()[PARTNER]
    people_rng, rows_rng = np.random.default_rng(seed).spawn(2)
    people = draw_people(people_rng, round(rows / PLANS[PARTNER].share * MARGIN) + 100, first_report_years())
    last_signal = people.first_seen.max().astype(dt.date) + dt.timedelta(days=MAX_REPORT_DELAY_DAYS + 1)
    table, _ = partner_rows(rows_rng, people, definition, min(last_signal, dt.date.today()))
    if len(table) - 1 < rows:
        raise SystemExit(f"the generator wrote {len(table) - 1:,} rows, fewer than {rows:,}: raise MARGIN")
    path.parent.mkdir(parents=True, exist_ok=True)
    write_csv(path, table[: rows + 1], definition, PLANS[PARTNER].bom)


def registration_count(url: str) -> int:
    engine = sa.create_engine(url)
    with engine.connect() as connection:
        count = connection.execute(sa.text("SELECT count(*) FROM registrations")).scalar_one()
    engine.dispose()
    return count


def report(label: str, rows: int, run: Measured, loaded: int) -> None:
    if run.returncode not in (0, 1):
        print(run.output[-3000:])
        raise SystemExit(f"{label}: victim-intake run exited {run.returncode}")
    stages = stage_seconds(run.output)
    marts = mart_seconds(run.output)
    print(f"\n== {label}: {rows:,} partner rows, {loaded:,} registrations loaded (exit {run.returncode})")
    print(f"run   : {run.seconds:7.1f} s  {rows / run.seconds:10,.0f} rows/s  peak {run.peak_rss_bytes / 2**30:.2f} GiB")
    print("        stages: " + ", ".join(f"{stage} {seconds:.1f} s" for stage, seconds in stages.items())
          + (f"; marts {marts:.1f} s" if marts is not None else "; marts not logged"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, nargs="+", default=[1_000_000])
    parser.add_argument("--backends", nargs="+", choices=["sqlite", "postgres"], default=["sqlite", "postgres"])
    parser.add_argument("--workdir", type=Path, default=Path("/tmp/victim-intake-bench"))
    parser.add_argument("--postgres-admin-url", default="postgresql+psycopg://postgres@127.0.0.1:5432/test")
    arguments = parser.parse_args()

    arguments.workdir.mkdir(parents=True, exist_ok=True)
    base_env = {
        **os.environ,
        "VICTIM_INTAKE_PSEUDONYM_KEY": base64.b64encode(secrets.token_bytes(32)).decode(),
        "VICTIM_INTAKE_VAULT_KEY": base64.b64encode(secrets.token_bytes(32)).decode(),
        "PREFECT_HOME": str(arguments.workdir / "prefect"),  # warm after the first run, as in production
        "DO_NOT_TRACK": "1",
        "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
        "COLUMNS": "200",
    }
    for rows in arguments.rows:
        inbox = arguments.workdir / f"partner-inbox-{rows}"
        if not inbox.exists():
            started = time.perf_counter()
            write_partner_csv(inbox / PARTNER / f"{PARTNER}.csv", rows)
            print(f"generated {rows:,} {PARTNER} rows in {time.perf_counter() - started:.1f} s")
        for backend in arguments.backends:
            home = arguments.workdir / f"partner-home-{rows}-{backend}"
            with scratch_warehouse(home, backend, arguments.postgres_admin_url) as url:
                env = {**base_env, "VICTIM_INTAKE_HOME": str(home), "VICTIM_INTAKE_DATABASE_URL": url}
                run = measure([str(VENV_BIN / "victim-intake"), "run", "--inbox", str(inbox)], env)
                loaded = registration_count(url) if run.returncode in (0, 1) else 0
            report(backend, rows, run, loaded)


if __name__ == "__main__":
    main()
