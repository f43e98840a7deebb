"""Create and upgrade the warehouse schema with the Alembic migrations in `warehouse/migrations`.

Works from the installed package (the script location is a package resource, no alembic.ini
needed). On PostgreSQL an advisory lock serialises two runs that start on an empty database.

A migration that moves stored data may need more than the database: the vault key (to seal text
it takes out of a column) and the partners' reporting units. The command that migrates passes
them as `MigrationInputs`; without them a migration falls back to what it can do safely (see
migration 0007). A migration that rewrites text asks for the freed space to be reclaimed after
its commit (`reclaim_space`), so that no copy of the old text stays in the file or its journal.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

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


# Set by a migration that rewrote text: the tables whose freed pages must be reclaimed after commit.
RECLAIM = "reclaim_tables"
INPUTS = "migration_inputs"


@dataclass(frozen=True, repr=False)  # holds a key: never shown
class MigrationInputs:
    """What a migration may use besides the database; given by the command that migrates, never stored.

    `units`: per partner source, the reporting units its definition declares (code -> names); None
    means the shipped definitions' units.
    """

    vault_key: bytes | None = None
    units: Mapping[str, Mapping[str, tuple[str, ...]]] | None = field(default=None)


def alembic_config(connection: Connection | None = None, inputs: MigrationInputs | None = None) -> Config:
    config = Config()
    config.set_main_option("script_location", SCRIPT_LOCATION)
    if connection is not None:
        config.attributes["connection"] = connection
    config.attributes[INPUTS] = inputs or MigrationInputs()
    return config


def reclaim_space(engine: Engine, tables: list[str]) -> None:
    """After a rewrite of stored text: leave no copy of the old text in the database's files.

    SQLite: copy the write-ahead log into the file and truncate it, rebuild the file (VACUUM: freed
    pages are dropped, not kept), truncate the log again. PostgreSQL: VACUUM FULL the tables, which
    writes them anew and removes the files that held the old row versions, and ANALYZE them, so the
    planner's statistics (most common values) hold codes, not the old text. The disk blocks of the
    removed files, write-ahead log segments and backups keep old bytes until they are recycled
    (docs/code-lists.md).
    """
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        if connection.dialect.name == "sqlite":
            connection.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
            connection.exec_driver_sql("VACUUM")
            connection.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
        else:
            connection.exec_driver_sql(f"VACUUM (FULL, ANALYZE) {', '.join(tables)}")


def head_revision() -> str:
    return ScriptDirectory.from_config(alembic_config()).get_current_head()


def current_revision(engine: Engine) -> str | None:
    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


def upgrade(engine: Engine, revision: str = "head", inputs: MigrationInputs | None = None) -> None:
    """Bring the warehouse to `revision`; a warehouse made before migrations existed is adopted."""
    with engine.begin() as connection:
        if connection.dialect.name == "postgresql":
            connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _MIGRATION_LOCK})
        config = alembic_config(connection, inputs)
        unversioned = MigrationContext.configure(connection).get_current_revision() is None
        if unversioned and inspect(connection).has_table("ingest_batches"):
            command.stamp(config, BASELINE_REVISION)
        command.upgrade(config, revision)
    if config.attributes.get(RECLAIM):
        reclaim_space(engine, config.attributes[RECLAIM])
