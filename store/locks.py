"""Serialise the linkage and writing of loads across processes, warehouse-wide, on PostgreSQL.

Before its first write that another load could touch (linkage, merges, vault entries, encodings,
registrations, a snapshot's deletions) a load transaction takes the warehouse's load lock, and
holds it until its commit. Linkage crosses sources: a police file and a partner file can name the
same new person, and two overlapping linkages would each miss the other's uncommitted persons and
then give one identifier two owners (or split a person silently when only an approximate match
joins them). Reading, validating and pseudonymising, also of a police file's parts inside its
transaction, happen before that and so still run in parallel, for any sources. The lock also
serialises loads of one source (snapshots, export-time ordering).

Prefect concurrency limits are not enough: their slots leak when a worker is killed. The
database's own locks are released by the database when the transaction or connection ends,
whatever happened to the process.
"""

from __future__ import annotations

import hashlib

from sqlalchemy import Connection, text

LOAD_LOCK_KEY = int.from_bytes(hashlib.sha256(b"victim-intake:load").digest()[:8], "big", signed=True)


def bound_lock_waits(connection: Connection, timeout_seconds: float) -> None:
    """Let every lock wait of this transaction last at most `timeout_seconds` (PostgreSQL; then a
    lock-timeout error, which the flow retries with back-off): the load lock, and a concurrent load
    of the same file at the ledger's unique index. SQLite has one writer at a time: the load's
    first write takes the database write lock until commit, and `busy_timeout` (set per
    connection) bounds the wait, so nothing more is needed there."""
    if connection.dialect.name == "postgresql":
        connection.execute(text(f"SET LOCAL lock_timeout = '{int(timeout_seconds * 1000)}ms'"))


def lock_loads(connection: Connection) -> None:
    """Hold the warehouse's load lock until the transaction ends; taking it again in the same
    transaction returns at once. Waits as long as `bound_lock_waits` allows."""
    if connection.dialect.name == "postgresql":
        connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": LOAD_LOCK_KEY})


TIER_LOCK_KEY = int.from_bytes(hashlib.sha256(b"victim-intake:analyst-tier").digest()[:8], "big", signed=True)


def lock_tier(connection: Connection) -> None:
    """Hold the analyst tier's lock until the transaction ends (PostgreSQL): two refreshes that
    each empty and refill the tier, which has no key, would otherwise both insert their rows.
    Taken before the refresh reads, so the second refresh reads what the first one committed."""
    if connection.dialect.name == "postgresql":
        connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": TIER_LOCK_KEY})
