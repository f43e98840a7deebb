"""Keyed pseudonyms: HMAC-SHA256 under purpose-specific subkeys derived from one secret key.

Never an unkeyed hash: without the key nobody can recompute a pseudonym from a guessed name.
"""

from __future__ import annotations

import binascii
from collections.abc import Sequence

import numpy as np
import pandas as pd
import pyarrow as pa
from cryptography.hazmat.primitives import hashes, hmac
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

# Bytes of the HMAC kept in a pseudonym: 128 bits make accidental collisions negligible.
PSEUDONYM_BYTES = 16


def derive_subkey(key: bytes, purpose: str) -> bytes:
    """Domain separation: each purpose gets its own key, so pseudonyms of one purpose cannot be
    matched against those of another."""
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=purpose.encode()).derive(key)


class KeyedHasher:
    """HMAC-SHA256 of text values under one purpose's subkey.

    One keyed context is built once and copied per value, which is several times faster than
    keying a fresh HMAC for every row.
    """

    def __init__(self, key: bytes, purpose: str) -> None:
        self._template = hmac.HMAC(derive_subkey(key, purpose), hashes.SHA256())

    @classmethod
    def of_subkey(cls, subkey: bytes) -> KeyedHasher:
        """A hasher under an already derived purpose subkey (`derive_subkey`)."""
        hasher = cls.__new__(cls)
        hasher._template = hmac.HMAC(subkey, hashes.SHA256())
        return hasher

    def digest(self, value: str) -> str:
        context = self._template.copy()
        context.update(value.encode("utf-8"))
        return context.finalize()[:PSEUDONYM_BYTES].hex()

    def digest_series(self, values: pd.Series) -> pd.Series:
        """Pseudonyms of the non-null values; null stays null."""
        return digest_many(values, [self])[0]

    def __repr__(self) -> str:
        return "KeyedHasher(<keyed>)"


def digest_many(values: pd.Series, hashers: Sequence[KeyedHasher]) -> list[pd.Series]:
    """`digest_series` of the same values under each of `hashers`: every distinct value is found
    and encoded once for all of them (identifiers are hashed under two purposes)."""
    # Each distinct value once: birth dates, for one, repeat a lot in a bulk load.
    codes, distinct = pd.factorize(values)
    encoded = utf8_values(distinct)
    digests = [_hmacs(hasher, encoded) for hasher in hashers]
    # Null rows have code -1: a null index takes a null pseudonym.
    rows = pa.array(codes, mask=codes < 0)
    return [pd.Series(pd.array(hex_prefixes(out, len(distinct)).take(rows), dtype="str"), index=values.index) for out in digests]


def digest_distinct(hasher: KeyedHasher, values: pa.Array) -> pa.Array:
    """`digest_series` of text values known not to repeat (and not null), as Arrow text: each value
    hashed as it comes, without the search for repeats that would find none."""
    encoded = values.cast(pa.large_binary()).to_numpy(zero_copy_only=False).tolist()
    return hex_prefixes(_hmacs(hasher, encoded), len(encoded))


def _hmacs(hasher: KeyedHasher, encoded: list[bytes]) -> bytes:
    """The HMAC of each value, laid end to end."""
    # One plain loop, the copy method bound once: this loop runs millions of times, and each
    # statement in it costs about as much as the HMAC itself.
    copy_template, out = hasher._template.copy, bytearray()
    for value in encoded:
        context = copy_template()
        context.update(value)
        out += context.finalize()
    return bytes(out)


def utf8_values(values: pd.Index) -> list[bytes]:
    """The UTF-8 bytes of each text value, made by Arrow in one pass (no `str.encode` per value)."""
    text = pa.array(values.array, type=pa.large_string())
    text = text.combine_chunks() if isinstance(text, pa.ChunkedArray) else text
    return text.cast(pa.large_binary()).to_numpy(zero_copy_only=False).tolist()


def hex_prefixes(digests: bytes, count: int) -> pa.Array:
    """The first `PSEUDONYM_BYTES` of each of `count` SHA-256 digests (laid end to end) as hex
    text: hexlified at once and cut into equal widths, with no Python string per digest."""
    kept = np.frombuffer(digests, dtype=np.uint8).reshape(count, 32)[:, :PSEUDONYM_BYTES]
    width = 2 * PSEUDONYM_BYTES
    offsets = pa.py_buffer(np.arange(count + 1, dtype=np.int64) * width)
    return pa.LargeStringArray.from_buffers(count, offsets, pa.py_buffer(binascii.hexlify(kept.tobytes())))
