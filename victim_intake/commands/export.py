"""`victim-intake export --standard ctdc --year Y --out FILE`: the year's national persons in the
CTDC global layout, k-anonymous (k = 11), for contributing to the global dataset; audited."""

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


def export(
    standard: Annotated[ExportStandard, typer.Option("--standard", help="The layout to write: ctdc (the CTDC global dataset).")],
    year: Annotated[int, typer.Option("--year", min=1900, max=2100, help="Registration year of the persons to export.")],
    out: Annotated[Path, typer.Option("--out", help="CSV file to write.")],
) -> None:
    """Write one row per national person of the year in the CTDC global layout (the characteristics
    of their first registration of the year), with CTDC's disclosure rule: every combination of
    gender, age bin, citizenship, country of exploitation and year is shared by at least 11 rows.
    Recorded in the privacy audit (who, when, how many rows)."""
    from flows.warehouse_inputs import migration_inputs
    from reporting.private_files import write_private
    from warehouse.ctdc_export import K, ctdc_export
    from warehouse.database import create_tables
    from warehouse.vault import audit

    engine = warehouse_engine()
    create_tables(engine, migration_inputs())
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
