"""Refresh the marts once at the end of a nightly run, for the years its loads marked stale."""

from __future__ import annotations

import time

import pandas as pd
from prefect import get_run_logger, task
from prefect.cache_policies import NO_CACHE
from sqlalchemy import select

from flows.errors import StageFailed, value_free_errors
from flows.resources import warehouse_engine
from warehouse.analyst_tier import analyst_tier_levels, tier_summary
from warehouse.marts import refresh_marts


@task(name="refresh_marts", cache_policy=NO_CACHE, persist_result=False)
def refresh_marts_task() -> tuple[list[int], list[str]]:
    """Recompute the stale years' marts and the analyst tier in one transaction; returns the years
    refreshed and the tier's summary (counts and levels only)."""
    with value_free_errors("refresh marts"):
        with warehouse_engine().begin() as connection:
            years = sorted(refresh_marts(connection))
            levels = pd.read_sql(select(analyst_tier_levels), connection) if years else pd.DataFrame()
    return years, tier_summary(levels) if years else []


def refresh_marts_after_run() -> None:
    """Refresh the marts; a failure leaves them marked stale (the next reader refreshes them)
    and does not fail the run, whose files are loaded."""
    logger = get_run_logger()
    started = time.perf_counter()
    try:
        years, summary = refresh_marts_task()
    except StageFailed as error:
        logger.warning("marts not refreshed (%s); the next report or run refreshes them", error)
        return
    if years:
        logger.info("marts refreshed for %s in %.1f s", ", ".join(map(str, years)), time.perf_counter() - started)
        for line in summary:
            logger.info("analyst tier %s", line)
