"""Loads of different sources running at the same time on PostgreSQL, as independent workers run them.

Linkage is across sources: a police file and a partner file name the same persons. The first load
is held open just before its commit while the second one runs; both must succeed and leave the
same persons, links, vault entries and encodings as the two loads one after the other.
"""

from __future__ import annotations

import threading
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import pytest
import sqlalchemy as sa
from batch_loads import load_batch
from scratch_db import scratch_url
from source_files import Ready, prepared_file

from connectors.files import sha256_of
from flows.loading import load
from flows.stage_clock import StageClock
from flows.stages import FileJob
from store.clock import utc_now
from store.engines import make_engine
from victim_intake.synthetic import write_demo_inbox
from warehouse.database import create_tables
from warehouse.ledger import BatchRecord, start_run

pytestmark = pytest.mark.postgres
PARTNER = "zorgcoordinatie"
RUN_ID = "parallel-loads"


@dataclass(frozen=True)
class Prepared:
    """Both files read, validated and pseudonymised, ready for their load transactions."""

    police_batch: BatchRecord
    police: tuple
    partner_batch: BatchRecord
    partner: tuple


def _batch(path: Path, source: str) -> BatchRecord:
    return BatchRecord(uuid.uuid4().hex, RUN_ID, source, path.name, sha256_of(path), utc_now(), str(path))


def prepare(inbox: Path) -> Prepared:
    police_path = sorted((inbox / "police").glob("*.ndjson"))[0]
    police_batch = _batch(police_path, "police")
    partner_path = sorted((inbox / PARTNER).glob("*.csv"))[0]
    partner_batch = _batch(partner_path, PARTNER)
    return Prepared(
        police_batch,
        prepared_file("police", police_path, police_batch.batch_id),
        partner_batch,
        prepared_file(PARTNER, partner_path, partner_batch.batch_id),
    )


def load_police(url: str, prepared: Prepared, before_commit=None) -> None:
    notice, part = prepared.police
    engine = make_engine(url)
    load_batch(
        engine, prepared.police_batch, part.registrations, part.quarantined, notice.record_count, identities=part.identities, before_commit=before_commit
    )
    engine.dispose()


def load_partner(prepared: Prepared) -> None:
    """Through the flow's own load task (sealing, snapshot handling, value-free errors)."""
    batch = prepared.partner_batch
    job = FileJob(batch.file_path, batch.file_sha256, batch.batch_id, PARTNER)
    load.fn(batch, job, Ready(*prepared.partner), StageClock())


def new_warehouse(url: str) -> None:
    engine = make_engine(url)
    create_tables(engine)
    start_run(engine, RUN_ID)
    engine.dispose()


def persons_and_consistency(url: str) -> tuple[set[frozenset[str]], dict[str, int]]:
    """The person partition of the registrations, and counts of rows that disagree with it."""
    engine = sa.create_engine(url)
    with engine.connect() as connection:
        registrations = pd.read_sql(sa.text("SELECT registration_id, person_id FROM registrations"), connection)
        disagreements = {
            table: connection.execute(
                sa.text(
                    f"SELECT count(*) FROM vault.{table} v LEFT JOIN registrations r ON r.registration_id = v.registration_id "
                    "WHERE r.person_id IS DISTINCT FROM v.person_id"
                )
            ).scalar_one()
            for table in ("vault_identities",)
        }
        # A link to a person no registration carries any more: a merge one load did not see.
        disagreements["person_links"] = connection.execute(
            sa.text(
                "SELECT count(*) FROM vault.person_links l WHERE l.person_id IS NOT NULL AND NOT EXISTS "
                "(SELECT 1 FROM registrations r WHERE r.person_id = l.person_id)"
            )
        ).scalar_one()
    engine.dispose()
    linked = registrations.dropna(subset=["person_id"])
    partition = {frozenset(group) for group in linked.groupby("person_id")["registration_id"].apply(list)}
    return partition, disagreements


def test_loads_of_two_sources_at_once_link_as_one_after_the_other(tmp_path, pseudonym_key, monkeypatch) -> None:
    inbox = tmp_path / "inbox"
    summary = write_demo_inbox(inbox, persons=150, seed=5, files=1)
    truth = pd.read_csv(summary.truth_path, dtype=str, keep_default_na=False)
    shared = set(truth.loc[truth["source"] == "police", "person"]) & set(truth.loc[truth["source"] == PARTNER, "person"])
    assert len(shared) >= 20  # the two files name many of the same persons: linkage crosses them
    prepared = prepare(inbox)

    with scratch_url("postgresql", tmp_path) as sequential_url, scratch_url("postgresql", tmp_path) as url:
        new_warehouse(sequential_url)
        monkeypatch.setenv("VICTIM_INTAKE_DATABASE_URL", sequential_url)
        load_police(sequential_url, prepared)
        load_partner(prepared)
        expected, sequential_disagreements = persons_and_consistency(sequential_url)
        assert sequential_disagreements == {"vault_identities": 0, "person_links": 0}

        new_warehouse(url)
        monkeypatch.setenv("VICTIM_INTAKE_DATABASE_URL", url)
        police_open, release = threading.Event(), threading.Event()
        errors: dict[str, BaseException] = {}

        def hold_open() -> None:
            police_open.set()
            assert release.wait(120)

        def run(name: str, work) -> None:
            try:
                work()
            except BaseException as error:  # noqa: BLE001 - reported by the test below
                errors[name] = error

        police = threading.Thread(target=run, args=("police", lambda: load_police(url, prepared, hold_open)))
        police.start()
        assert police_open.wait(120), errors
        # The police load has linked and written everything, uncommitted; now the partner load runs.
        partner = threading.Thread(target=run, args=(PARTNER, lambda: load_partner(prepared)))
        partner.start()
        watcher = sa.create_engine(url, isolation_level="AUTOCOMMIT")
        waiting = sa.text(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'"
        )
        deadline = time.monotonic() + 120
        with watcher.connect() as connection:
            # Either the partner load waits for a lock the police load holds, or it ran to its end.
            while partner.is_alive() and not connection.execute(waiting).scalar_one():
                assert time.monotonic() < deadline, "the partner load neither waited nor finished"
                time.sleep(0.1)
        watcher.dispose()
        release.set()
        police.join(120)
        partner.join(120)
        assert not police.is_alive() and not partner.is_alive()
        assert {name: f"{type(error).__name__}: {error}" for name, error in errors.items()} == {}
        partition, disagreements = persons_and_consistency(url)
        assert disagreements == {"vault_identities": 0, "person_links": 0}
        assert partition == expected
