"""Keyed encodings for approximate matching: Bloom filters of name bigrams and keyed birth dates.

Exact keyed pseudonyms cannot link "Olena" and "Elena", a typo, or a birth date written with day
and month swapped. Following Schnell's cryptographic long-term keys, each name is encoded as a
Bloom filter of its letter bigrams, with bit positions drawn from an HMAC under a purpose key:
similar names give similar filters (Dice coefficient), and without the key nobody can build a
filter for a guessed name. Birth dates are keyed too, both as written and with day and month
swapped, so that comparisons stay within one birth date (a fine block inside the birth year).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from cryptography.hazmat.primitives import hashes, hmac

from pseudonyms.canonical import canonical_given_names, canonical_surname
from pseudonyms.hashing import KeyedHasher, derive_subkey

BLOOM_PURPOSE = "victim-intake name bloom v1"
BIRTH_PURPOSE = "victim-intake birth date v1"
BLOOM_BITS = 1024
HASHES_PER_BIGRAM = 15  # 15 two-byte positions from one 32-byte HMAC


def bigrams(name: str) -> set[str]:
    padded = f"_{name}_"
    return {padded[i : i + 2] for i in range(len(padded) - 1)}


def bigram_positions(grams: list[str], key: bytes) -> np.ndarray:
    """The Bloom filter bit positions of each bigram: `HASHES_PER_BIGRAM` two-byte slices of its
    HMAC under the Bloom purpose key (one row per bigram)."""
    template = hmac.HMAC(derive_subkey(key, BLOOM_PURPOSE), hashes.SHA256())
    digests = bytearray()
    for gram in grams:
        context = template.copy()
        context.update(gram.encode("utf-8"))
        digests += context.finalize()[: 2 * HASHES_PER_BIGRAM]
    return (np.frombuffer(bytes(digests), dtype=">u2").reshape(len(grams), HASHES_PER_BIGRAM) % BLOOM_BITS).astype(np.int64)


def blooms(names: list[str], key: bytes) -> np.ndarray:
    """Packed Bloom filters (one row of BLOOM_BITS / 8 bytes per name).

    Vectorised: the few hundred distinct bigrams are hashed once, then all bits are set at once.
    """
    grams_of = [sorted(bigrams(name)) for name in names]
    rows = np.repeat(np.arange(len(names)), [len(grams) for grams in grams_of])
    codes, distinct = pd.factorize(pd.Series([gram for grams in grams_of for gram in grams], dtype=object))
    positions = bigram_positions(list(distinct), key)
    bits = np.zeros((len(names), BLOOM_BITS), dtype=bool)
    bits[np.repeat(rows, HASHES_PER_BIGRAM), positions[codes].ravel()] = True
    return np.packbits(bits, axis=1)


def name_blooms(records: pd.DataFrame, key: bytes) -> pd.Series:
    """Hex Bloom filter of each record's canonical "surname given names" (null without a surname)."""
    surname = canonical_surname(records["surname"])
    names = (surname + " " + canonical_given_names(records["given_names"]).fillna("")).where(surname.notna())
    present = names.dropna()
    codes, distinct = pd.factorize(present)
    packed = blooms(list(distinct), key)
    encoded = np.array([row.tobytes().hex() for row in packed], dtype=object)
    return pd.Series(encoded[codes] if len(codes) else [], index=present.index, dtype="str").reindex(records.index)


def birth_keys(records: pd.DataFrame, key: bytes) -> pd.DataFrame:
    """Keyed birth date as written (`birth_key`) and with day and month swapped (`swapped_key`,
    null when the swap is no other valid date)."""
    birth = pd.to_datetime(records["birth_date"], errors="coerce")
    written = birth.dt.strftime("%Y-%m-%d")
    swappable = birth.notna() & (birth.dt.day <= 12) & (birth.dt.day != birth.dt.month)
    swapped = (birth.dt.strftime("%Y-") + birth.dt.strftime("%d") + birth.dt.strftime("-%m")).where(swappable)
    hasher = KeyedHasher(key, BIRTH_PURPOSE)
    return pd.DataFrame({"birth_key": hasher.digest_series(written), "swapped_key": hasher.digest_series(swapped)})


def bloom_matrix(blooms: pd.Series) -> np.ndarray:
    """Hex Bloom filters decoded once into one row of 64-bit words each (popcounts run per word)."""
    if blooms.empty:
        return np.zeros((0, BLOOM_BITS // 64), dtype=np.uint64)
    return np.frombuffer(bytes.fromhex("".join(blooms.tolist())), dtype=np.uint64).reshape(len(blooms), -1)


def ones(matrix: np.ndarray) -> np.ndarray:
    """Bits set in each row's Bloom filter."""
    return np.bitwise_count(matrix).sum(axis=1, dtype=np.int64)


def dice(matrix: np.ndarray, ones_of: np.ndarray, left: np.ndarray, right: np.ndarray) -> np.ndarray:
    """Dice coefficient of the Bloom filters in rows `left[i]` and `right[i]` of `matrix`
    (`ones_of`: the rows' bit counts, computed once for all pairs)."""
    common = np.bitwise_count(matrix[left] & matrix[right]).sum(axis=1, dtype=np.int64)
    return 2 * common / np.maximum(ones_of[left] + ones_of[right], 1)


def name_encodings(records: pd.DataFrame, registration_ids: pd.Series, key: bytes) -> pd.DataFrame:
    """registration_id, birth_key, swapped_key, bloom of the records with a surname and birth date."""
    frame = birth_keys(records, key).assign(
        registration_id=registration_ids.to_numpy(), bloom=name_blooms(records, key).to_numpy()
    )
    return frame.dropna(subset=["birth_key", "bloom"])[["registration_id", "birth_key", "swapped_key", "bloom"]].reset_index(drop=True)
