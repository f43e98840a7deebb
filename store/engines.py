"""Engines for the embedded (SQLite) and production (PostgreSQL) warehouse."""

from __future__ import annotations

from functools import cache
from pathlib import Path

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import URL, make_url

from store.privacy_tables import VAULT_SCHEMA


def normalise_url(url: str) -> URL:
    """Plain `postgresql://` URLs use psycopg 3, the driver this project installs."""
    parsed = make_url(url)
    if parsed.drivername in ("postgresql", "postgres"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    return parsed


def _sqlite_pragmas(dbapi_connection, _record) -> None:
    cursor = dbapi_connection.cursor()
    # WAL lets readers (analysts, `status`) work while a load writes; busy_timeout makes a second
    # writer wait instead of failing; secure_delete overwrites freed pages.
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.execute("PRAGMA secure_delete=ON")
    cursor.execute("PRAGMA foreign_keys=ON")
    # In WAL mode NORMAL still survives a crashed process (a power cut may lose the last commits,
    # never half of one). In-memory temp tables keep bulk merges of random pseudonym keys off the
    # disk. A page cache of 64 MiB: the warehouse's pages beyond it come from the operating system's
    # cache; a four times larger one loaded a million records a few seconds faster for 0.2 GiB
    # more of the loading process's memory (docs/performance.md).
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA cache_size=-65536")
    cursor.execute("PRAGMA temp_store=MEMORY")
    cursor.close()


def make_engine(url: str) -> Engine:
    """An engine for the warehouse URL; creates the SQLite file's folder when needed."""
    parsed = normalise_url(url)
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            # Private: the file holds the vault tables (umask 077 makes the file itself 0600).
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        engine = create_engine(parsed)
        event.listen(engine, "connect", _sqlite_pragmas)
        # SQLite has no schemas: the vault tables live in the main file under their own names.
        return engine.execution_options(schema_translate_map={VAULT_SCHEMA: None})
    return create_engine(parsed, pool_pre_ping=True)


@cache
def shared_engine(url: str) -> Engine:
    """One engine (and connection pool) per warehouse URL for the life of the process."""
    return make_engine(url)
