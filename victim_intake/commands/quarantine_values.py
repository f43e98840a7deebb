"""`victim-intake quarantine show ID --values`: open the sealed offending values for a steward.

Errors (rows held back) and warnings (rows loaded, a value no code list knows stored as `unknown`)
open alike.

The values are personal data: they are opened only on this explicit request, with the vault key,
and each opens only for the quarantine entry it was sealed for (its associated data).
"""

from __future__ import annotations

from rich.console import Console

from pseudonyms.keys import KeyConfigError, load_key
from pseudonyms.quarantine_seal import open_value
from victim_intake import settings
from victim_intake.commands.common import usage_error
from victim_intake.commands.display import Field, clean, plain, print_records, severity


def print_values(console: Console, entries: list[dict], batch_id: str) -> None:
    """The quarantine entries of a batch with their opened values."""
    try:
        key = load_key("vault", settings.keys_dir()).material
    except KeyConfigError as error:
        raise usage_error(str(error)) from None
    fields = (
        Field("file"), Field("row", numeric=True), Field("severity"), Field("column"), Field("rule"), Field("source record id"), Field("value"),
    )
    rows = [
        [
            plain(entry["file_name"]), plain(entry["row_number"] or "-"), severity(entry["severity"]), plain(entry["column_name"]),
            plain(entry["rule"]), plain(entry["source_record_id"]), plain(open_value(key, entry)),
        ]
        for entry in entries
    ]
    title = f"Quarantine of batch {clean(batch_id)}, with offending values (personal data: do not copy)"
    print_records(console, title, fields, rows)
