"""The retention flow: apply the retention period to the warehouse (e.g. scheduled monthly)."""

from __future__ import annotations

from dataclasses import asdict

from prefect import flow, get_run_logger

from flows.errors import value_free_errors
from flows.resources import warehouse_engine
from warehouse.database import create_tables
from warehouse.erasure import purge_older_than
from warehouse.migration_inputs import migration_inputs


@flow(name="retention", description="Remove persons last registered longer ago than the retention period.", persist_result=False)
def retention(years: int = 10) -> dict[str, int]:
    """Purge everything past `years` years (audited in the vault's audit table); counts only."""
    with value_free_errors("retention"):
        engine = warehouse_engine()
        create_tables(engine, migration_inputs())
        removed = purge_older_than(engine, years)
    get_run_logger().info("retention of %d year(s): removed %s", years, removed)
    return asdict(removed)
