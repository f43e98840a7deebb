"""`victim-intake export`: what may leave the warehouse, in a file of its own, audited.

`--standard ctdc --year Y`: the year's national persons in the CTDC global layout, k-anonymous
(k = 11), for contributing to the global dataset. `--tier analyst`: the analyst tier
(`analyst_registrations` and its marts) for analysts of an embedded SQLite warehouse.
"""

from __future__ import annotations

import csv
import io
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from victim_intake.commands.common import console, usage_error, warehouse_engine
from victim_intake.commands.display import plain


class ExportStandard(StrEnum):
    ctdc = "ctdc"


class ExportTier(StrEnum):
    analyst = "analyst"


def export(
    out: Annotated[
        Path,
        typer.Option("--out", help="File to write: CSV for --standard; for --tier a new SQLite file, or a folder of Parquet files when it ends in .parquet."),
    ],
    standard: Annotated[ExportStandard | None, typer.Option("--standard", help="The layout to write: ctdc (the CTDC global dataset).")] = None,
    year: Annotated[int | None, typer.Option("--year", min=1900, max=2100, help="Registration year of the persons to export (with --standard).")] = None,
    tier: Annotated[ExportTier | None, typer.Option("--tier", help="The tier to write: analyst (the analyst tier and its marts, nothing else).")] = None,
) -> None:
    """Write the year's national persons in the CTDC global layout (`--standard ctdc --year Y`),
    or the analyst tier (`--tier analyst`), to a private file. Recorded in the privacy audit (who,
    when, what, where to).

    CTDC: one row per national person of the year (the characteristics of their first registration
    of the year), with CTDC's disclosure rule: every combination of gender, age bin, citizenship,
    country of exploitation and year is shared by at least 11 rows."""
    from warehouse.database import create_tables
    from warehouse.migration_inputs import migration_inputs

    if (standard is None) == (tier is None):
        raise usage_error("give either --standard (with --year) or --tier")
    if standard is not None and year is None:
        raise usage_error("--standard needs --year")
    if tier is not None and year is not None:
        raise usage_error("--tier exports every year; leave out --year")
    engine = warehouse_engine()
    create_tables(engine, migration_inputs())
    if tier is not None:
        _export_tier(engine, tier, out)
    else:
        _export_standard(engine, standard, year, out)


def _export_tier(engine, tier: ExportTier, out: Path) -> None:
    from warehouse.export import export_analyst_tier

    try:
        rows = export_analyst_tier(engine, out)
    except FileExistsError as error:
        raise usage_error(str(error)) from None
    listed = ", ".join(f"{name} ({count} rows)" for name, count in rows.items())
    console.print(plain(f"exported the {tier.value} tier to {out}: {listed} (audited)"))


def _export_standard(engine, standard: ExportStandard, year: int, out: Path) -> None:
    from reporting.private_files import write_private
    from vault.entries import audit
    from warehouse.ctdc_export import K, ctdc_export

    with engine.begin() as connection:
        made = ctdc_export(connection, year)
        if not made.persons:
            raise usage_error(f"the warehouse holds no national registrations of {year}")
        generalised = ", ".join(f"{column} {count}" for column, count in made.suppressed.items())
        audit(
            connection, "export", reason=f"{standard.value} global layout, year {year}",
            detail=f"{len(made.frame)} of {made.persons} persons, k = {K}; values generalised: {generalised}; rows withheld: {made.withheld}",
        )
        text = io.StringIO()
        made.frame.to_csv(text, index=False, quoting=csv.QUOTE_MINIMAL, lineterminator="\n")
        try:
            write_private(out, text.getvalue())
        except OSError as error:
            raise usage_error(f"cannot write {out} ({error.strerror})") from None
    console.print(plain(
        f"Wrote {len(made.frame):,} of {made.persons:,} persons of {year} to {out} (k = {K}: values generalised "
        f"{sum(made.suppressed.values()):,}, rows withheld {made.withheld:,}); recorded in the audit."
    ))
