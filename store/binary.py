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

from store.text_sets import arrow_text

# Each byte's two hex digits, as the two bytes of one little-endian uint16.
_HEX_PAIRS = np.array([int.from_bytes(f"{byte:02x}".encode(), "little") for byte in range(256)], dtype="<u2")


def as_bytes(values: Iterable[object]) -> list[bytes | None]:
    """Hex text (or bytes, passed through) as bytes; null stays None."""
    return [
        value if isinstance(value, bytes) else None if value is None or value is pd.NA or value != value else bytes.fromhex(value)
        for value in values
    ]


# Each hex digit's value (either case); 255 for a byte that is no hex digit.
_DIGIT_VALUES = np.full(256, 255, dtype=np.uint8)
_DIGIT_VALUES[np.frombuffer(b"0123456789abcdef", dtype=np.uint8)] = np.arange(16)
_DIGIT_VALUES[np.frombuffer(b"ABCDEF", dtype=np.uint8)] = np.arange(10, 16)


# Values decoded at a time by `hex_bytes`: its Arrow and numpy temporaries stay a few megabytes.
_HEX_PER_CHUNK = 32_768


def hex_bytes(values: pd.Series) -> np.ndarray:
    """`as_bytes` of a column of hex text: an object array of bytes (null: None), decoded in Arrow
    and numpy a chunk at a time. No Python text object per value on the way, which for a part's
    Bloom filters (256 digits each) held 90 MB beside the bytes they became."""
    text = arrow_text(values).cast(pa.large_string())
    chunks = [_decoded(text.slice(start, _HEX_PER_CHUNK)) for start in range(0, len(text), _HEX_PER_CHUNK)]
    return np.concatenate(chunks) if chunks else np.empty(0, dtype=object)


def _decoded(text: pa.LargeStringArray) -> np.ndarray:
    text = pa.concat_arrays([text])  # offset 0: its buffers start at its first value
    validity, offsets, data = text.buffers()
    ends = np.frombuffer(offsets, dtype=np.int64, count=len(text) + 1)
    digits = _DIGIT_VALUES[np.frombuffer(data, dtype=np.uint8, count=ends[-1])[ends[0] :]] if ends[-1] else np.empty(0, dtype=np.uint8)
    if (digits == 255).any() or (np.diff(ends) % 2).any():
        raise ValueError("not hex text")
    decoded = digits[0::2] << 4 | digits[1::2]
    binary = pa.Array.from_buffers(pa.large_binary(), len(text), [validity, pa.py_buffer((ends - ends[0]) // 2), pa.py_buffer(decoded)], text.null_count)
    return binary.to_numpy(zero_copy_only=False)


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
