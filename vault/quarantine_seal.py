"""Offending values of quarantined rows, sealed under the vault key for the steward's eyes only.

Sealed values are bytes, as in the vault (nonce, ciphertext and tag). Each value is bound to its
quarantine entry (batch, row, column, rule) as associated data, so a sealed value copied to
another entry does not open.
"""

from __future__ import annotations

import pandas as pd

from vault.sealing import SealBroken, seal, unseal

NOT_KEPT = "(not kept)"
BROKEN = "(does not open: altered or another vault key)"


def quarantine_context(batch_id: str, row_number: int, column_name: str, rule: str) -> str:
    """Associated data of a sealed offending value: it opens only for its own quarantine entry."""
    return f"quarantine|{batch_id}|{row_number}|{column_name}|{rule}"


def seal_values(quarantined: pd.DataFrame, batch_id: str, key: bytes) -> pd.DataFrame:
    """Replace the clear `value` column by `sealed_value` (AES-GCM under `key`, bytes).

    Quarantined rows are few, so one seal per entry costs microseconds in all.
    """
    sealed = [
        None if value is None or pd.isna(value)
        else seal(key, str(value), quarantine_context(batch_id, int(row), column, rule))
        for row, column, rule, value in zip(
            quarantined["row_number"].tolist(), quarantined["column_name"].tolist(),
            quarantined["rule"].tolist(), quarantined["value"].tolist(), strict=True,
        )
    ]
    return quarantined.drop(columns="value").assign(sealed_value=pd.Series(sealed, index=quarantined.index, dtype=object))


def open_value(key: bytes, entry: dict) -> str:
    """The clear offending value of one quarantine entry (its columns as in the `quarantine` table)."""
    sealed = entry["sealed_value"]
    if not isinstance(sealed, bytes | memoryview) or not len(sealed):
        return NOT_KEPT  # null in the table (NaN in a frame): no value was kept for this entry
    context = quarantine_context(entry["batch_id"], entry["row_number"], entry["column_name"], entry["rule"])
    try:
        return unseal(key, bytes(sealed), context)
    except (SealBroken, ValueError):
        return BROKEN
