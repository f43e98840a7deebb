"""Precision and recall (pairs of registrations) of person linkage on the synthetic demo data.

Writes a demo inbox (the police feed, optionally with hard variants: typos, transliterations,
swapped day and month, and every shipped partner's file), loads every file through the same task
functions the nightly flow runs (without the Prefect server, for speed), and compares the
warehouse's `person_id` with the truth file (anonymous CTDC rows left out):

    .venv/bin/python bench/linkage_quality.py --persons 5000 --hard-share 0.3

A pair is two registrations; it is predicted when both carry the same `person_id` and true when
the truth file gives both the same person. Persons whose birth day is unknown are registered on
1 January (`birth_day_unknown` in the truth file): their figures are printed apart, those of the
persons with a real birth date apart (a pair that joins one of each counts against both), and
among these the persons really born on 1 January, whom the pipeline cannot tell from placeholders.
"""

from __future__ import annotations

import argparse
import base64
import os
import secrets
import tempfile
import uuid
from pathlib import Path

import pandas as pd
import sqlalchemy as sa


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--persons", type=int, default=5000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--files", type=int, default=7)
    parser.add_argument("--hard-share", type=float, default=0.3, help="share of plainly spelt repeats given a hard variant")
    arguments = parser.parse_args()

    home = Path(tempfile.mkdtemp(prefix="linkage-quality-"))
    os.environ["VICTIM_INTAKE_HOME"] = str(home)
    os.environ.pop("VICTIM_INTAKE_DATABASE_URL", None)
    key = secrets.token_bytes(32)
    os.environ["VICTIM_INTAKE_PSEUDONYM_KEY"] = base64.b64encode(key).decode()
    os.environ["VICTIM_INTAKE_VAULT_KEY"] = base64.b64encode(secrets.token_bytes(32)).decode()

    from config.settings import current
    from connectors.files import sha256_of
    from flows.ahead import part_supply
    from flows.loading import ingest_file_parts
    from flows.nightly import prepare_warehouse
    from flows.stage_clock import StageClock
    from flows.stages import FileJob
    from pseudonyms.identity import registration_ids
    from pseudonyms.keys import load_key
    from store.clock import utc_now
    from store.engines import shared_engine
    from victim_intake.synthetic import write_demo_inbox
    from victim_intake.synthetic.linkage_quality import group_quality, quality
    from warehouse.ledger import BatchRecord, start_run
    from warehouse.rotation import open_entries

    summary = write_demo_inbox(
        home / "inbox", persons=arguments.persons, seed=arguments.seed, files=arguments.files,
        hard_variant_share=arguments.hard_share,
    )
    prepare_warehouse()
    engine = shared_engine(current().warehouse_url)
    run_id = uuid.uuid4().hex
    start_run(engine, run_id)
    with part_supply([]) as supply:
        for path in [*sorted(summary.files), *summary.partner_files]:
            source = "police" if path in summary.files else path.parent.name
            batch = BatchRecord(uuid.uuid4().hex, run_id, source, path.name, sha256_of(path), utc_now())
            ingest_file_parts(FileJob(str(path), batch.file_sha256, batch.batch_id, source), batch, supply, StageClock())

    truth = pd.read_csv(summary.truth_path, dtype=str, keep_default_na=False)
    truth = truth[truth["valid"] == "true"].drop_duplicates(["source", "source_record_id"])
    truth = truth.assign(registration_id=registration_ids(truth["source"], truth["source_record_id"], key).to_numpy())
    with engine.connect() as connection:
        stored = pd.read_sql(sa.text("SELECT registration_id, person_id FROM registrations"), connection)
        sealed = connection.execute(
            sa.text("SELECT v.registration_id, v.person_id, v.sealed, r.source FROM vault_identities v JOIN registrations r USING (registration_id)")
        ).all()
    figures = quality(truth, stored)
    # Persons really born on 1 January look like placeholders to the pipeline: their figures apart.
    opened = open_entries(sealed, load_key("vault", current().keys_dir).material)
    first_of_january = opened.loc[(opened["birth_date"].dt.month == 1) & (opened["birth_date"].dt.day == 1), "registration_id"]
    joined = truth[truth["person"] != ""].merge(stored, on="registration_id")
    real = joined["birth_day_unknown"] != "true"
    on_first = joined["person"].isin(joined.loc[joined["registration_id"].isin(first_of_january), "person"])
    print(f"demo: {arguments.persons} persons, seed {arguments.seed}, hard-variant share {arguments.hard_share}, police and partner files")
    for name in ("registrations", "true persons", "linked persons"):
        print(f"{name:16} {figures[name]:,}")
    print(f"{'precision':16} {figures['precision']:.4f}")
    print(f"{'recall':16} {figures['recall']:.4f}")
    figures["  not on 1 January"] = group_quality(joined, real & ~on_first)
    figures["  on 1 January"] = group_quality(joined, real & on_first)
    for group in ("real birth date", "  not on 1 January", "  on 1 January", "placeholder birth date"):
        part = figures[group]
        print(
            f"{group:23} {part['registrations']:>6,} registrations of {part['persons']:,} persons: "
            f"precision {part['precision']:.4f}, recall {part['recall']:.4f}"
        )
    print(figures["by_variant"].to_string())


if __name__ == "__main__":
    main()
