"""`victim-intake quarantine show ID --values`: open the sealed offending values for a steward.

Errors (rows held back) and warnings (rows loaded, a value no code list knows stored as `unknown`)
open alike.

The values are personal data: they are opened only on this explicit request, with the vault key,
and each opens only for the quarantine entry it was sealed for (its associated data).
"""

from __future__ import annotations

import typer
from rich.console import Console
from rich.table import Table

from pseudonyms.keys import KeyConfigError, load_key
from pseudonyms.quarantine_seal import open_value
from victim_intake import settings
from victim_intake.commands.common import shown


def values_table(entries: list[dict], batch_id: str) -> Table:
    """The quarantine entries of a batch with their opened values."""
    try:
        key = load_key("vault", settings.keys_dir()).material
    except KeyConfigError as error:
        Console(stderr=True).print(f"[bold red]error:[/] {error}")
        raise typer.Exit(2) from None
    table = Table(title=f"Quarantine of batch {shown(batch_id)}, with offending values (personal data: do not copy)")
    for column in ("file", "row", "severity", "column", "rule", "source record id", "value"):
        table.add_column(column)
    for entry in entries:
        table.add_row(
            shown(entry["file_name"]), str(entry["row_number"] or "-"), shown(entry["severity"]), shown(entry["column_name"]),
            shown(entry["rule"]), shown(entry["source_record_id"]), shown(open_value(key, entry)),
        )
    return table
