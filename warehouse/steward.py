"""Read-only queries for data stewards: what the warehouse holds, what ran, what was held back."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import Engine, Select, case, distinct, func, select

from store.tables import ingest_batches, ingest_runs, quarantine, registrations


@dataclass(frozen=True)
class Totals:
    registrations: int
    persons: int
    files_loaded: int
    quarantined_rows: int
    warned_rows: int = 0  # loaded rows with a warning (a value no code list knows became `unknown`)


def totals(engine: Engine) -> Totals:
    """What the warehouse holds: registrations, distinct persons, files loaded, rows quarantined."""
    with engine.connect() as connection:
        person_id = registrations.c.person_id
        if connection.dialect.name == "postgresql":
            # The database's collation is deterministic (equal only when the bytes are equal), so
            # comparing bytewise ("C") counts the same persons without locale-aware comparisons:
            # about half the time over a million registrations.
            person_id = person_id.collate("C")
        # Two scalar subqueries in one statement (one snapshot): each scans its own index, where
        # both counts over one scan would sort every row for the distinct count on SQLite.
        registration_count, person_count = connection.execute(
            select(
                select(func.count()).select_from(registrations).scalar_subquery(),
                select(func.count(distinct(person_id))).scalar_subquery(),
            )
        ).one()
        # A replay is no file; the rows a replay took over count under the replay.
        standing = ingest_batches.c.replayed_by.is_(None)
        files_loaded, quarantined_rows, warned_rows = connection.execute(
            select(
                func.count().filter(ingest_batches.c.replay_of.is_(None)),
                func.coalesce(func.sum(ingest_batches.c.rows_quarantined).filter(standing), 0),
                func.coalesce(func.sum(ingest_batches.c.rows_warned), 0),
            ).where(ingest_batches.c.state == "loaded")
        ).one()
    return Totals(registration_count, person_count, files_loaded, int(quarantined_rows), int(warned_rows))


def _chain_columns() -> list:
    """Of each batch's chain (the first batch and its replays): its first batch (`chain`), the
    rows it still holds back or warns about (`chain_standing`: open errors of the batch no replay
    took over, and the warnings of every batch) and the rules they were last judged under
    (`chain_fingerprint`: the open batch's, as its replay validated the errors and warnings again)."""
    chain = ingest_batches.alias("chain")
    first = func.coalesce(ingest_batches.c.replay_of, ingest_batches.c.batch_id)
    same_chain = (func.coalesce(chain.c.replay_of, chain.c.batch_id) == first) & (chain.c.state == "loaded")
    open_errors = case((chain.c.replayed_by.is_(None), func.coalesce(chain.c.rows_quarantined, 0)), else_=0)
    standing = select(func.coalesce(func.sum(open_errors + func.coalesce(chain.c.rows_warned, 0)), 0)).where(same_chain)
    fingerprint = (
        select(chain.c.rules_fingerprint).where(same_chain, chain.c.replayed_by.is_(None)).order_by(chain.c.started_at.desc()).limit(1)
    )
    return [
        first.label("chain"),
        standing.scalar_subquery().label("chain_standing"),
        fingerprint.scalar_subquery().label("chain_fingerprint"),
    ]


def recent_batches(engine: Engine, limit: int = 50) -> list[dict]:
    """Latest batches first: one row per attempt to load a file."""
    columns = [
        ingest_batches.c.batch_id,
        ingest_batches.c.finished_at,
        ingest_batches.c.source,
        ingest_batches.c.file_name,
        ingest_batches.c.state,
        ingest_batches.c.rows_in,
        ingest_batches.c.rows_loaded,
        ingest_batches.c.rows_quarantined,
        ingest_batches.c.rows_ignored_older,
        ingest_batches.c.rows_warned,
        ingest_batches.c.reason,
        ingest_batches.c.run_id,
        ingest_batches.c.file_path,
        ingest_batches.c.replay_of,
        ingest_batches.c.replayed_by,
        ingest_batches.c.rules_fingerprint,
        *_chain_columns(),
    ]
    query = select(*columns).order_by(ingest_batches.c.finished_at.desc()).limit(limit)
    with engine.connect() as connection:
        return [dict(row._mapping) for row in connection.execute(query)]


def quarantine_summary(engine: Engine) -> list[dict]:
    """Per loaded batch, severity and rule: how many rows broke it (errors) or loaded with it (warnings)."""
    query = (
        select(
            quarantine.c.batch_id,
            ingest_batches.c.file_name,
            quarantine.c.severity,
            quarantine.c.column_name,
            quarantine.c.rule,
            func.count().label("rows"),
        )
        .join(ingest_batches, ingest_batches.c.batch_id == quarantine.c.batch_id)
        # Errors a replay took over are listed under the replay.
        .where((quarantine.c.severity == "warning") | ingest_batches.c.replayed_by.is_(None))
        .group_by(quarantine.c.batch_id, ingest_batches.c.file_name, quarantine.c.severity, quarantine.c.column_name, quarantine.c.rule)
        .order_by(ingest_batches.c.file_name, quarantine.c.severity, quarantine.c.column_name, quarantine.c.rule)
    )
    with engine.connect() as connection:
        return [dict(row._mapping) for row in connection.execute(query)]


def quarantine_entries_query(batch_id: str) -> Select:
    """The query of `quarantine_entries`, for callers that run it in a transaction of their own."""
    return (
        select(
            ingest_batches.c.file_name,
            quarantine.c.row_number,
            quarantine.c.severity,
            quarantine.c.column_name,
            quarantine.c.rule,
            quarantine.c.source_record_id,
            quarantine.c.batch_id,
            quarantine.c.sealed_value,  # sealed; opened only by `quarantine show --values`
        )
        .join(ingest_batches, ingest_batches.c.batch_id == quarantine.c.batch_id)
        .where(quarantine.c.batch_id.startswith(batch_id, autoescape=True))
        .order_by(quarantine.c.row_number, quarantine.c.column_name)
    )


def quarantine_entries(engine: Engine, batch_id: str) -> list[dict]:
    """Every quarantine entry of one batch (a batch id or its unique prefix), errors and warnings."""
    with engine.connect() as connection:
        return [dict(row._mapping) for row in connection.execute(quarantine_entries_query(batch_id))]


def open_entries(engine: Engine, source: str, since: dt.datetime | None = None) -> list[dict]:
    """A source's entries that still stand: warnings, and errors no replay took over, of its
    batches loaded since `since`; file, row, column, rule, severity and record id, never a value."""
    columns = ingest_batches.c
    query = (
        select(
            columns.file_name, quarantine.c.row_number, quarantine.c.column_name, quarantine.c.rule, quarantine.c.severity,
            quarantine.c.source_record_id, quarantine.c.batch_id,
        )
        .join(ingest_batches, columns.batch_id == quarantine.c.batch_id)
        .where(
            columns.source == source,
            columns.state == "loaded",
            (quarantine.c.severity == "warning") | columns.replayed_by.is_(None),
        )
        .order_by(columns.file_name, quarantine.c.row_number, quarantine.c.column_name, quarantine.c.rule)
    )
    if since is not None:
        # A replay belongs to its first batch's delivery: `since` is about when files were loaded.
        first = ingest_batches.alias("first")
        delivered = select(first.c.finished_at).where(first.c.batch_id == func.coalesce(columns.replay_of, columns.batch_id)).scalar_subquery()
        query = query.where(delivered >= since)
    with engine.connect() as connection:
        return [dict(row._mapping) for row in connection.execute(query)]


def recent_runs(engine: Engine, limit: int = 10) -> list[dict]:
    """Latest runs first, with how many files each loaded and how many failed."""
    loaded = func.count().filter(ingest_batches.c.state == "loaded").label("files_loaded")
    failed = func.count().filter(ingest_batches.c.state == "failed").label("files_failed")
    query = (
        select(
            ingest_runs.c.run_id,
            ingest_runs.c.started_at,
            ingest_runs.c.finished_at,
            ingest_runs.c.state,
            loaded,
            failed,
            ingest_runs.c.reason,
        )
        .outerjoin(ingest_batches, ingest_batches.c.run_id == ingest_runs.c.run_id)
        .group_by(ingest_runs.c.run_id)
        .order_by(ingest_runs.c.started_at.desc())
        .limit(limit)
    )
    with engine.connect() as connection:
        return [dict(row._mapping) for row in connection.execute(query)]


# What a steward does about a failed file, by the words its (value-free) reason contains.
_NEXT_STEPS = (
    (("manifest", "checksum", "sha256", "records in the file"),
     "ask the source for a complete delivery (file and manifest), put it in the inbox, then run `victim-intake rerun --failed`"),
    (("ndjson", "schema version"),
     "ask the source for a corrected file in the documented format, put it in the inbox, then run `victim-intake rerun --failed`"),
    (("over the cap",), "raise VICTIM_INTAKE_MAX_FILE_MB if the file is genuine, then run `victim-intake rerun --failed`"),
    (("database",), "check that the warehouse database is reachable and has space, then run `victim-intake rerun --failed`"),
    (("key",), "configure the original keys (`victim-intake keys fingerprint`), then run `victim-intake rerun --failed`"),
    (("no longer at",), "put the file back where it was (or in the inbox), then run `victim-intake rerun --failed`"),
)
_DEFAULT_STEP = "fix the cause named in the reason, then run `victim-intake rerun --failed`"


def next_step(state: str, reason: str | None, outstanding: bool) -> str:
    """The next thing a steward should do about a batch."""
    if state == "loaded":
        return "none"
    if not outstanding:
        return "none: the file was loaded by a later batch"
    lowered = (reason or "").lower()
    for words, step in _NEXT_STEPS:
        if any(word in lowered for word in words):
            return step
    return _DEFAULT_STEP
