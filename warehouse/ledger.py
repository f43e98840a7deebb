"""The ledger: runs, batches (one attempt to load one file) and the key the warehouse was built with."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import Connection, Engine, insert, select, update
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from store.clock import utc_now
from store.tables import ingest_batches, ingest_runs, key_fingerprints


class KeyMismatch(Exception):
    """The warehouse was built with another key; loading would silently split pseudonyms."""


@dataclass(frozen=True)
class BatchRecord:
    """Identity of one attempt to load one file."""

    batch_id: str
    run_id: str
    source: str
    file_name: str
    file_sha256: str
    started_at: dt.datetime
    file_path: str | None = None
    replay_of: str | None = None  # a replay: the batch whose quarantined rows it validates again
    rules_fingerprint: str | None = None  # the rules the rows are validated under (`schemas.rules`)


def start_run(engine: Engine, run_id: str) -> None:
    """Record a run as running. A flow run retried from Prefect keeps its id: it is started again."""
    with engine.begin() as connection:
        restarted = connection.execute(
            update(ingest_runs)
            .where(ingest_runs.c.run_id == run_id)
            .values(started_at=utc_now(), finished_at=None, state="running", reason=None)
        ).rowcount
        if not restarted:
            connection.execute(insert(ingest_runs).values(run_id=run_id, started_at=utc_now(), state="running"))


def finish_run(engine: Engine, run_id: str, failed: bool, reason: str | None = None) -> None:
    with engine.begin() as connection:
        connection.execute(
            update(ingest_runs)
            .where(ingest_runs.c.run_id == run_id)
            .values(finished_at=utc_now(), state="failed" if failed else "completed", reason=reason)
        )


def loaded_hashes(engine: Engine, hashes: Iterable[str]) -> set[str]:
    """Which of these file contents are already loaded."""
    wanted = list(hashes)
    if not wanted:
        return set()
    with engine.connect() as connection:
        rows = connection.execute(
            select(ingest_batches.c.file_sha256).where(
                ingest_batches.c.state == "loaded", ingest_batches.c.file_sha256.in_(wanted)
            )
        )
        return {row.file_sha256 for row in rows}


def is_recorded_run(engine: Engine, run_id: str) -> bool:
    """Whether a run with this id is in the ledger (a fan-out run that file loads join)."""
    with engine.connect() as connection:
        return connection.execute(select(ingest_runs.c.run_id).where(ingest_runs.c.run_id == run_id)).first() is not None


def latest_batch(engine: Engine, run_id: str, file_sha256: str):
    """The last attempt of run `run_id` to load this file content, or None (batch id, state, counts, reason, warnings)."""
    columns = ingest_batches.c
    with engine.connect() as connection:
        return connection.execute(
            select(
                columns.batch_id, columns.state, columns.rows_in, columns.rows_loaded, columns.rows_quarantined,
                columns.rows_ignored_older, columns.rows_warned, columns.reason,
            )
            .where(columns.run_id == run_id, columns.file_sha256 == file_sha256)
            .order_by(columns.finished_at.desc())
            .limit(1)
        ).first()


def insert_batch(connection: Connection, batch: BatchRecord, state: str, **counts: object) -> None:
    connection.execute(
        insert(ingest_batches).values(
            batch_id=batch.batch_id,
            run_id=batch.run_id,
            source=batch.source,
            file_name=batch.file_name,
            file_sha256=batch.file_sha256,
            state=state,
            started_at=batch.started_at,
            finished_at=utc_now(),
            file_path=batch.file_path,
            replay_of=batch.replay_of,
            rules_fingerprint=batch.rules_fingerprint,
            **counts,
        )
    )


def record_counts(connection: Connection, batch_id: str, **counts: int) -> None:
    """A batch's row counts, known once its last part is loaded (same transaction as the rows)."""
    connection.execute(
        update(ingest_batches).where(ingest_batches.c.batch_id == batch_id).values(finished_at=utc_now(), **counts)
    )


def record_failed_batch(engine: Engine, batch: BatchRecord, reason: str, rows_in: int | None = None) -> None:
    with engine.begin() as connection:
        insert_batch(connection, batch, "failed", reason=reason, rows_in=rows_in)


def check_key_fingerprint(engine: Engine, purpose: str, fingerprint: str) -> None:
    """Record the key's fingerprint on first use; refuse a different key afterwards."""
    with engine.begin() as connection:
        # Two runs starting together on a new warehouse both try to record it: the first one wins.
        dialect_insert = postgresql_insert if connection.dialect.name == "postgresql" else sqlite_insert
        connection.execute(
            dialect_insert(key_fingerprints)
            .values(purpose=purpose, fingerprint=fingerprint, recorded_at=utc_now())
            .on_conflict_do_nothing(index_elements=["purpose"])
        )
        recorded = connection.execute(
            select(key_fingerprints.c.fingerprint).where(key_fingerprints.c.purpose == purpose)
        ).scalar_one()
        if recorded != fingerprint:
            raise KeyMismatch(
                f"The warehouse was built with {purpose} key {recorded}, but the configured key is "
                f"{fingerprint}. Loading would split every person's pseudonym. Configure the original "
                "key (see `victim-intake keys fingerprint`)."
            )
