"""`victim-intake quarantine show ID --values`: open the sealed offending values for a steward.

The values are personal data: they are opened only on this explicit request, with the vault key,
and each opens only for the quarantine entry it was sealed for (its associated data).
"""

from __future__ import annotations

import base64

import typer
from rich.console import Console
from rich.table import Table

from flows.partner_tasks import quarantine_context
from pseudonyms.keys import KeyConfigError, load_key
from pseudonyms.sealing import SealBroken, unseal
from victim_intake import settings

NOT_KEPT = "(not kept)"
BROKEN = "(does not open: altered or another vault key)"


def _opened(key: bytes, entry: dict) -> str:
    if not entry["sealed_value"]:
        return NOT_KEPT
    context = quarantine_context(entry["batch_id"], entry["row_number"], entry["column_name"], entry["rule"])
    try:
        return unseal(key, base64.b64decode(entry["sealed_value"]), context)
    except (SealBroken, ValueError):
        return BROKEN


def values_table(entries: list[dict], batch_id: str) -> Table:
    """The quarantine entries of a batch with their opened values."""
    try:
        key = load_key("vault", settings.keys_dir()).material
    except KeyConfigError as error:
        Console(stderr=True).print(f"[bold red]error:[/] {error}")
        raise typer.Exit(2) from None
    table = Table(title=f"Quarantine of batch {batch_id}, with offending values (personal data: do not copy)")
    for column in ("file", "row", "column", "rule", "source record id", "value"):
        table.add_column(column)
    for entry in entries:
        table.add_row(
            entry["file_name"], str(entry["row_number"]), entry["column_name"], entry["rule"],
            entry["source_record_id"] or "", _opened(key, entry),
        )
    return table
