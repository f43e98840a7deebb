"""Serialise the load transactions of every source across processes, on PostgreSQL and SQLite.

Linkage crosses sources: a police file and a partner file can name the same new person, and a load
that merges two persons rewrites links, vault entries and encodings that another source's load
reads. Two loads whose transactions overlap would each miss the other's uncommitted persons and
then collide on `person_links` (or split a person silently when only an approximate match joins
them). So one load transaction at a time writes the warehouse, whatever its source; reading,
validating and pseudonymising files still run in parallel.

Prefect concurrency limits are not enough: their slots leak when a worker is killed. The
database's own locks are released by the database when the transaction or connection ends,
whatever happened to the process.
"""

from __future__ import annotations

import hashlib

from sqlalchemy import Connection, text

# One key for the whole warehouse (a database): every load takes the same lock.
LOAD_LOCK_KEY = int.from_bytes(hashlib.sha256(b"victim-intake:load").digest()[:8], "big", signed=True)


def lock_loads(connection: Connection, timeout_seconds: float) -> None:
    """Hold the warehouse's load lock until the connection's transaction ends.

    PostgreSQL: a transaction-level advisory lock, waited for at most `timeout_seconds` (then a
    lock-timeout error, which the flow retries with back-off). SQLite has one writer at a time:
    the load's first write takes the database write lock until commit, and `busy_timeout` (set
    per connection) bounds the wait, so nothing more is needed there.
    """
    if connection.dialect.name != "postgresql":
        return
    connection.execute(text(f"SET LOCAL lock_timeout = '{int(timeout_seconds * 1000)}ms'"))
    connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": LOAD_LOCK_KEY})
