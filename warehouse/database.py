"""The warehouse's schema: its tables created or upgraded, then its marts brought up to date."""

from __future__ import annotations

from typing import TYPE_CHECKING

from sqlalchemy import Engine

from warehouse.marts import refresh_marts

if TYPE_CHECKING:
    from warehouse.migrate import MigrationInputs


def create_tables(engine: Engine, inputs: MigrationInputs | None = None) -> None:
    """Create or upgrade the warehouse schema by applying the Alembic migrations (`warehouse.migrate`,
    with `inputs` such as the vault key when the command has them), then refresh the marts of any
    stale year."""
    from warehouse.migrate import upgrade

    upgrade(engine, inputs=inputs)
    with engine.begin() as connection:
        refresh_marts(connection)
