"""Offending values are sealed per quarantine entry and open only for that entry and key."""

from __future__ import annotations

import secrets

import pandas as pd

from vault.quarantine_seal import BROKEN, NOT_KEPT, open_value, seal_values


def test_sealed_values_open_only_for_their_own_entry() -> None:
    key = secrets.token_bytes(32)
    quarantined = pd.DataFrame(
        {"row_number": [2, 3, 3], "column_name": ["Achternaam", "Geboortedatum", "(row)"],
         "rule": ["no_formula", "not_in_future", "field_count"], "source_record_id": ["A", "B", "B"],
         "value": ["=HYPERLINK(1)", "01-01-2099", None]}
    )
    sealed = seal_values(quarantined, "batch1", key)
    assert "value" not in sealed
    values = [value for value in sealed["sealed_value"] if isinstance(value, bytes)]
    assert len(values) == 2 and not any(b"HYPERLINK" in value or b"2099" in value for value in values)
    entries = sealed.assign(batch_id="batch1").to_dict("records")
    assert [open_value(key, entry) for entry in entries] == ["=HYPERLINK(1)", "01-01-2099", NOT_KEPT]
    moved = entries[0] | {"row_number": 3}
    assert open_value(key, moved) == BROKEN
    assert open_value(secrets.token_bytes(32), entries[0]) == BROKEN
