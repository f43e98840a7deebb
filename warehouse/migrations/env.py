"""Alembic environment: runs on the connection `warehouse.migrate` passes, or on a URL.

From a shell, `alembic -c <project>/alembic.ini upgrade head` uses VICTIM_INTAKE_DATABASE_URL
(or the SQLite file under VICTIM_INTAKE_HOME), exactly like the pipeline.
"""

from __future__ import annotations

from alembic import context

import warehouse.marts  # noqa: F401  (registers the mart tables on the metadata)
from store.tables import metadata


def _begin_on_sqlite(connection) -> None:
    """Open the SQLite transaction before the first statement. The sqlite3 driver begins one only
    before a row is written, so DDL that comes first (an index, a staging table) would be committed
    on its own: an upgrade that fails later (a migration refusing, say) would leave it behind with
    the revision unchanged, and the next attempt would find it already there."""
    if connection.dialect.name == "sqlite" and not connection.connection.driver_connection.in_transaction:
        connection.exec_driver_sql("BEGIN")


def _run(connection) -> None:
    context.configure(connection=connection, target_metadata=metadata, compare_type=True)
    _begin_on_sqlite(connection)
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    connection = context.config.attributes.get("connection")
    if connection is not None:
        _run(connection)
        return
    # From a shell (`alembic upgrade head`): the configuration's warehouse, with the vault key and the
    # partners' units when configured, as the commands give them (warehouse.migrate).
    from config.settings import current
    from store.engines import make_engine
    from warehouse.migrate import INPUTS, RECLAIM, reclaim_space
    from warehouse.migration_inputs import migration_inputs

    context.config.attributes.setdefault(INPUTS, migration_inputs())
    engine = make_engine(current().warehouse_url)
    with engine.begin() as connection:
        _run(connection)
    if context.config.attributes.get(RECLAIM):
        reclaim_space(engine, context.config.attributes[RECLAIM])
    engine.dispose()


if context.is_offline_mode():
    raise SystemExit("Offline (--sql) migrations are not supported; run them against the database.")
run_migrations_online()
