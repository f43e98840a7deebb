"""Read-only queries for data stewards: what the warehouse holds, what ran, what was held back."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Engine, distinct, func, select

from warehouse.tables import ingest_batches, quarantine, registrations


@dataclass(frozen=True)
class Totals:
    registrations: int
    persons: int
    files_loaded: int
    quarantined_rows: int


def totals(engine: Engine) -> Totals:
    with engine.connect() as connection:
        registration_count, person_count = connection.execute(
            select(func.count(), func.count(distinct(registrations.c.person_id)))
        ).one()
        files_loaded, quarantined_rows = connection.execute(
            select(func.count(), func.coalesce(func.sum(ingest_batches.c.rows_quarantined), 0)).where(
                ingest_batches.c.state == "loaded"
            )
        ).one()
    return Totals(registration_count, person_count, files_loaded, int(quarantined_rows))


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
        ingest_batches.c.reason,
    ]
    query = select(*columns).order_by(ingest_batches.c.finished_at.desc()).limit(limit)
    with engine.connect() as connection:
        return [dict(row._mapping) for row in connection.execute(query)]


def quarantine_summary(engine: Engine) -> list[dict]:
    """Per loaded batch and rule: how many rows broke it."""
    query = (
        select(
            quarantine.c.batch_id,
            ingest_batches.c.file_name,
            quarantine.c.column_name,
            quarantine.c.rule,
            func.count().label("rows"),
        )
        .join(ingest_batches, ingest_batches.c.batch_id == quarantine.c.batch_id)
        .group_by(quarantine.c.batch_id, ingest_batches.c.file_name, quarantine.c.column_name, quarantine.c.rule)
        .order_by(ingest_batches.c.file_name, quarantine.c.column_name, quarantine.c.rule)
    )
    with engine.connect() as connection:
        return [dict(row._mapping) for row in connection.execute(query)]


def quarantine_entries(engine: Engine, batch_id: str) -> list[dict]:
    """Every quarantine entry of one batch (a batch id or its unique prefix)."""
    query = (
        select(
            ingest_batches.c.file_name,
            quarantine.c.row_number,
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
    with engine.connect() as connection:
        return [dict(row._mapping) for row in connection.execute(query)]
