"""Scratch warehouses for tests: a SQLite file, or a uniquely named PostgreSQL database dropped afterwards."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
import sqlalchemy as sa

POSTGRES_ADMIN_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"


@contextmanager
def scratch_postgres_url() -> Iterator[str]:
    """A fresh PostgreSQL database; the test is skipped (with the reason) when no server answers."""
    admin = sa.create_engine(POSTGRES_ADMIN_URL, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as connection:
            connection.execute(sa.text("SELECT 1"))
    except sa.exc.OperationalError as error:
        admin.dispose()
        pytest.skip(f"no PostgreSQL server reachable at 127.0.0.1:5432 ({type(error.orig).__name__})")
    name = f"victim_intake_test_{uuid.uuid4().hex[:12]}"
    with admin.connect() as connection:
        connection.execute(sa.text(f'CREATE DATABASE "{name}"'))
    try:
        yield POSTGRES_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"
    finally:
        from store.engines import shared_engine

        shared_engine.cache_clear()
        with admin.connect() as connection:
            connection.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@contextmanager
def scratch_url(backend: str, folder: Path) -> Iterator[str]:
    """A scratch warehouse URL on `sqlite` (a file in `folder`) or `postgresql`."""
    if backend == "sqlite":
        yield f"sqlite:///{folder / 'warehouse.sqlite'}"
        return
    with scratch_postgres_url() as url:
        yield url
