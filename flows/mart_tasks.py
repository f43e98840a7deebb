"""Refresh the marts once at the end of a nightly run, for the years its loads marked stale."""

from __future__ import annotations

import time

from prefect import get_run_logger, task
from prefect.cache_policies import NO_CACHE

from flows.errors import StageFailed, value_free_errors
from victim_intake import settings
from warehouse.database import shared_engine
from warehouse.marts import refresh_marts


@task(name="refresh_marts", cache_policy=NO_CACHE, persist_result=False)
def refresh_marts_task() -> list[int]:
    """Recompute the stale years' marts in one transaction; returns the years refreshed."""
    with value_free_errors("refresh marts"):
        with shared_engine(settings.database_url()).begin() as connection:
            return sorted(refresh_marts(connection))


def refresh_marts_after_run() -> None:
    """Refresh the marts; a failure leaves them marked stale (the next reader refreshes them)
    and does not fail the run, whose files are loaded."""
    logger = get_run_logger()
    started = time.perf_counter()
    try:
        years = refresh_marts_task()
    except StageFailed as error:
        logger.warning("marts not refreshed (%s); the next report or run refreshes them", error)
        return
    if years:
        logger.info("marts refreshed for %s in %.1f s", ", ".join(map(str, years)), time.perf_counter() - started)
