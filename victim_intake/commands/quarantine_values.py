"""`victim-intake quarantine show ID --values --reason TEXT`: open the sealed offending values.

Errors (rows held back) and warnings (rows loaded, a value no code list knows stored as `unknown`)
open alike.

The values are personal data: they are opened only on this explicit request, with the vault key
and a stated reason that quotes none of them, and audited like `reveal` (who, when, why; never a
value) in the same transaction that reads them. Each value opens only for the quarantine entry it
was sealed for (its associated data).
"""

from __future__ import annotations

from rich.console import Console

from config.settings import current
from pseudonyms.keys import KeyConfigError, load_key
from victim_intake.commands.common import usage_error, warehouse_engine
from victim_intake.commands.display import Field, clean, plain, print_records, severity

MIN_REASON_LENGTH = 10


def print_values(console: Console, batch_id: str, reason: str) -> None:
    """The quarantine entries of a batch with their opened values, after auditing the opening."""
    from vault.entries import ReasonQuotesValues
    from warehouse.quarantine_opening import NoQuarantine, open_quarantine

    if len(reason.strip()) < MIN_REASON_LENGTH:
        raise usage_error(f"state the lawful purpose in --reason (at least {MIN_REASON_LENGTH} characters)")
    try:
        key = load_key("vault", current().keys_dir).material
    except KeyConfigError as error:
        raise usage_error(str(error)) from None
    engine = warehouse_engine()
    try:
        entries = open_quarantine(engine, batch_id, reason.strip(), key)
    except (NoQuarantine, ReasonQuotesValues) as error:
        raise usage_error(str(error)) from None
    fields = (
        Field("file"), Field("row", numeric=True), Field("severity"), Field("column"), Field("rule"), Field("source record id"), Field("value"),
    )
    rows = [
        [
            plain(entry["file_name"]), plain(entry["row_number"] or "-"), severity(entry["severity"]), plain(entry["column_name"]),
            plain(entry["rule"]), plain(entry["source_record_id"]), plain(entry["value"]),
        ]
        for entry in entries
    ]
    title = f"Quarantine of batch {clean(batch_id)}, with offending values (personal data: do not copy; this opening is audited)"
    print_records(console, title, fields, rows)
