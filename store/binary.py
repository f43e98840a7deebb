"""Keys, filters and sealed values cross into the warehouse as bytes: half the size of their hex.

`pseudonyms` computes keyed pseudonyms and Bloom filters as hex text (or bytes); the vault stores
bytes (`LargeBinary`: BLOB on SQLite, bytea on PostgreSQL). The conversion happens here, at the
boundary, and SQL that compares stored bytes with hex text reads them through `hex_sql`.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import pandas as pd
import pyarrow as pa
from sqlalchemy import Connection

# Each byte's two hex digits, as the two bytes of one little-endian uint16.
_HEX_PAIRS = np.array([int.from_bytes(f"{byte:02x}".encode(), "little") for byte in range(256)], dtype="<u2")


def as_bytes(values: Iterable[object]) -> list[bytes | None]:
    """Hex text (or bytes, passed through) as bytes; null stays None."""
    return [
        value if isinstance(value, bytes) else None if value is None or value is pd.NA or value != value else bytes.fromhex(value)
        for value in values
    ]


def bytes_column(values: pd.Series) -> pd.Series:
    """`as_bytes` of a column, with its index."""
    return pd.Series(as_bytes(values.tolist()), index=values.index, dtype=object)


def hex_text(values: Iterable[bytes | memoryview | None]) -> pd.api.extensions.ExtensionArray:
    """Stored bytes as the hex text `pseudonyms` computes (lower case; null stays null), converted
    in Arrow and numpy, without a Python object per value."""
    binary = pa.array(values if isinstance(values, list | np.ndarray) else list(values), pa.large_binary())
    validity, offsets, data = binary.buffers()
    ends = np.frombuffer(offsets, dtype=np.int64, count=len(binary) + 1)
    digits = _HEX_PAIRS[np.frombuffer(data, dtype=np.uint8, count=ends[-1])] if ends[-1] else np.empty(0, dtype="<u2")
    text = pa.LargeStringArray.from_buffers(len(binary), pa.py_buffer(ends * 2), pa.py_buffer(digits), validity, binary.null_count)
    return pd.array(text, dtype="str")


def hex_sql(connection: Connection, column: str) -> str:
    """SQL of `column` (bytes) as lower-case hex text, null where it is null (SQLite's hex() of
    null is the empty text)."""
    if connection.dialect.name == "postgresql":
        return f"encode({column}, 'hex')"
    return f"CASE WHEN {column} IS NULL THEN NULL ELSE lower(hex({column})) END"


def binary_type(connection: Connection) -> str:
    """The column type of bytes in a staging table."""
    return "bytea" if connection.dialect.name == "postgresql" else "blob"
