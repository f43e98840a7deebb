"""Create and upgrade the warehouse schema with the Alembic migrations in `warehouse/migrations`.

Works from the installed package (the script location is a package resource, no alembic.ini
needed). On PostgreSQL an advisory lock serialises two runs that start on an empty database.
"""

from __future__ import annotations

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, Engine, inspect, text

SCRIPT_LOCATION = "warehouse:migrations"
# The revision whose schema equals the tables `metadata.create_all` created before migrations existed.
BASELINE_REVISION = "0001"
# Any fixed number; two processes migrating the same PostgreSQL database wait for each other.
_MIGRATION_LOCK = 7_341_001


def alembic_config(connection: Connection | None = None) -> Config:
    config = Config()
    config.set_main_option("script_location", SCRIPT_LOCATION)
    if connection is not None:
        config.attributes["connection"] = connection
    return config


def head_revision() -> str:
    return ScriptDirectory.from_config(alembic_config()).get_current_head()


def current_revision(engine: Engine) -> str | None:
    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Bring the warehouse to `revision`; a warehouse made before migrations existed is adopted."""
    with engine.begin() as connection:
        if connection.dialect.name == "postgresql":
            connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _MIGRATION_LOCK})
        config = alembic_config(connection)
        unversioned = MigrationContext.configure(connection).get_current_revision() is None
        if unversioned and inspect(connection).has_table("ingest_batches"):
            command.stamp(config, BASELINE_REVISION)
        command.upgrade(config, revision)
