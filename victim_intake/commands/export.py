"""`victim-intake export --tier analyst --out PATH`: the analyst tier in a file of its own."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from victim_intake.commands.common import console, usage_error, warehouse_engine


class ExportTier(StrEnum):
    analyst = "analyst"


def export(
    tier: Annotated[ExportTier, typer.Option("--tier", help="Which tier to export: only `analyst` leaves the warehouse.")],
    out: Annotated[Path, typer.Option("--out", help="A new SQLite file, or a new folder of Parquet files when it ends in .parquet.")],
) -> None:
    """Write the analyst tier (analyst_registrations and its marts, nothing else) to a private file, audited."""
    from flows.warehouse_inputs import migration_inputs
    from warehouse.database import create_tables
    from warehouse.export import export_analyst_tier

    engine = warehouse_engine()
    create_tables(engine, migration_inputs())
    try:
        rows = export_analyst_tier(engine, out)
    except FileExistsError as error:
        raise usage_error(str(error)) from None
    listed = ", ".join(f"{name} ({count} rows)" for name, count in rows.items())
    console.print(f"exported the {tier.value} tier to {out}: {listed} (audited)")
