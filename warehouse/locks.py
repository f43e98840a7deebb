"""Serialise loads of the same source across processes, on PostgreSQL and SQLite.

Prefect concurrency limits are not enough: their slots leak when a worker is killed. The
database's own locks are released by the database when the transaction or connection ends,
whatever happened to the process.
"""

from __future__ import annotations

import hashlib

from sqlalchemy import Connection, text


def _lock_key(source: str) -> int:
    """A stable signed 64-bit key per source for PostgreSQL's advisory locks."""
    return int.from_bytes(hashlib.sha256(f"victim-intake:load:{source}".encode()).digest()[:8], "big", signed=True)


def lock_source(connection: Connection, source: str, timeout_seconds: float) -> None:
    """Hold the source's load lock until the connection's transaction ends.

    PostgreSQL: a transaction-level advisory lock, waited for at most `timeout_seconds` (then a
    lock-timeout error, which the flow retries with back-off). SQLite has one writer at a time:
    the load's first write takes the database write lock until commit, and `busy_timeout` (set
    per connection) bounds the wait, so nothing more is needed there.
    """
    if connection.dialect.name != "postgresql":
        return
    connection.execute(text(f"SET LOCAL lock_timeout = '{int(timeout_seconds * 1000)}ms'"))
    connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _lock_key(source)})
