"""The retention flow: apply the retention period to the warehouse (e.g. scheduled monthly)."""

from __future__ import annotations

from dataclasses import asdict

from prefect import flow, get_run_logger

from flows.errors import value_free_errors
from flows.warehouse_inputs import migration_inputs
from victim_intake import settings
from warehouse.database import create_tables, shared_engine
from warehouse.erasure import purge_older_than


@flow(name="retention", description="Remove persons last registered longer ago than the retention period.", persist_result=False)
def retention(years: int = 10) -> dict[str, int]:
    """Purge everything past `years` years (audited in the vault's audit table); counts only."""
    with value_free_errors("retention"):
        engine = shared_engine(settings.database_url())
        create_tables(engine, migration_inputs())
        removed = purge_older_than(engine, years)
    get_run_logger().info("retention of %d year(s): removed %s", years, removed)
    return asdict(removed)
