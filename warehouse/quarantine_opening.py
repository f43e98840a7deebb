"""Opening the sealed offending values of a batch's quarantined rows: audited, like a reveal.

The values are personal data. They are opened only for a stated reason that quotes none of them
(in any spelling: `vault.quoted_values`), and the audit record is written in the same
transaction that reads them: no audit, no values.
"""

from __future__ import annotations

from sqlalchemy import Engine

from vault.entries import audit, refuse_quoting
from vault.quarantine_seal import BROKEN, NOT_KEPT, open_value
from warehouse.steward import quarantine_entries_query


class NoQuarantine(Exception):
    """No quarantined row belongs to a batch with this id (or prefix)."""


def open_quarantine(engine: Engine, batch_id: str, reason: str, vault_key: bytes) -> list[dict]:
    """The quarantine entries of a batch (an id or its unique prefix), each with its opened `value`."""
    with engine.begin() as connection:
        entries = [dict(row._mapping) for row in connection.execute(quarantine_entries_query(batch_id))]
        if not entries:
            raise NoQuarantine(f"no quarantined rows for batch {batch_id!r:.40} (see `victim-intake quarantine list`)")
        values = [open_value(vault_key, entry) for entry in entries]
        refuse_quoting(reason, (value for value in values if value not in (NOT_KEPT, BROKEN)))
        batches = sorted({entry["batch_id"] for entry in entries})
        opened = sum(value not in (NOT_KEPT, BROKEN) for value in values)
        audit(connection, "open_quarantine", reason=reason, detail=f"{opened} value(s) of {len(entries)} entries of batch {', '.join(batches)}")
    return [entry | {"value": value} for entry, value in zip(entries, values, strict=True)]
