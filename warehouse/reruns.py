"""Which failed files are still waiting for a rerun, and the batch a steward names."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Engine, and_, exists, or_, select
from sqlalchemy.orm import aliased

from store.tables import ingest_batches


@dataclass(frozen=True)
class BatchRef:
    """A recorded batch: enough to find its file again."""

    batch_id: str
    source: str
    file_name: str
    file_path: str | None
    file_sha256: str
    state: str
    reason: str | None


def _ref(row) -> BatchRef:
    return BatchRef(row.batch_id, row.source, row.file_name, row.file_path, row.file_sha256, row.state, row.reason)


_COLUMNS = (
    ingest_batches.c.batch_id,
    ingest_batches.c.source,
    ingest_batches.c.file_name,
    ingest_batches.c.file_path,
    ingest_batches.c.file_sha256,
    ingest_batches.c.state,
    ingest_batches.c.reason,
)


def outstanding_failures(engine: Engine) -> list[BatchRef]:
    """The newest failed batch of every file not loaded since (by content, or a fixed file at the same path)."""
    later = aliased(ingest_batches)
    resolved = exists().where(
        later.c.state == "loaded",
        or_(
            later.c.file_sha256 == ingest_batches.c.file_sha256,
            and_(later.c.file_path == ingest_batches.c.file_path, later.c.started_at > ingest_batches.c.started_at),
        ),
    )
    query = (
        select(*_COLUMNS)
        .where(ingest_batches.c.state == "failed", ~resolved)
        .order_by(ingest_batches.c.started_at.desc())
    )
    with engine.connect() as connection:
        rows = connection.execute(query).all()
    newest: dict[str, BatchRef] = {}
    for row in rows:
        newest.setdefault(row.file_path or row.file_sha256, _ref(row))
    return list(newest.values())


def find_batches(engine: Engine, batch_id_prefix: str) -> list[BatchRef]:
    """Batches whose id starts with the given characters (a steward types a prefix from `status`)."""
    query = select(*_COLUMNS).where(ingest_batches.c.batch_id.startswith(batch_id_prefix, autoescape=True))
    with engine.connect() as connection:
        return [_ref(row) for row in connection.execute(query.limit(2))]
