"""Keyed encodings for approximate matching: Bloom filters of name bigrams and keyed birth dates.

Exact keyed pseudonyms cannot link "Olena" and "Elena", a typo, or a birth date written with day
and month swapped. Following Schnell's cryptographic long-term keys, each name is encoded as a
Bloom filter of its letter bigrams, with bit positions drawn from an HMAC under a purpose key:
similar names give similar filters (Dice coefficient), and without the key nobody can build a
filter for a guessed name. Birth dates are keyed too, both as written and with day and month
swapped, so that comparisons stay within one birth date (a fine block inside the birth year).

The bit positions of a bigram are salted with the birth year: the same bigram sets different
bits in filters of different birth years, so the frequent bit patterns that pattern-mining
attacks on a dump of filters look for (Christen et al.) do not add up across the table. Every
pair ever compared shares the year (same date, or day and month swapped), so recall is the same.
Records with a placeholder birth date (`pseudonyms.identity.placeholder_dates`) get no encoding:
a placeholder allows no approximate link.
"""

from __future__ import annotations

import binascii

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
from cryptography.hazmat.primitives import hashes, hmac

from pseudonyms.canonical import canonical_given_names, canonical_surname, lossy_script_forms
from pseudonyms.hashing import KeyedHasher, derive_subkey
from pseudonyms.identity import per_distinct_date, placeholder_dates

# v2: bit positions salted with the birth year (v1, unsalted, is re-encoded: `ENCODING_SCHEME`).
BLOOM_PURPOSE = "victim-intake name bloom v2"
BIRTH_PURPOSE = "victim-intake birth date v1"
SCRIPT_PURPOSE = "victim-intake lossy script form v1"
# Stored with every encoding: filters of different schemes are never compared.
ENCODING_SCHEME = 2
BLOOM_BITS = 1024
HASHES_PER_BIGRAM = 15  # 15 two-byte positions from one 32-byte HMAC
_NAMES_PER_SLICE = 32_768


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


def _name_bigrams(names: list[str]) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """`bigrams` of every name, found as integer pairs of code points over all names at once:
    how many each name has, their codes into the distinct bigrams (one run per name), and the
    distinct bigrams as text."""
    lengths = np.array([len(name) + 2 for name in names], dtype=np.int64)
    points = np.frombuffer("".join(f"_{name}_" for name in names).encode("utf-32-le"), dtype=np.uint32).astype(np.int64)
    # A code point fits in 21 bits: a bigram is one integer.
    grams = points[:-1] << 21 | points[1:]
    owner = np.repeat(np.arange(len(names), dtype=np.int64), lengths)[:-1]
    within = np.ones(len(grams), dtype=bool)
    within[np.cumsum(lengths)[:-1] - 1] = False  # the pair of one name's last and the next name's first letter
    gram_codes, texts = pd.factorize(grams[within])
    width = max(len(texts), 1)
    # A name's bigrams once each, in order (sorted, then repeats dropped: numpy's own unique hashes, far slower).
    distinct = np.sort(owner[within] * width + gram_codes)
    distinct = distinct[np.r_[True, distinct[1:] != distinct[:-1]]] if len(distinct) else distinct
    per_name = np.bincount(distinct // width, minlength=len(names)).astype(np.int64)
    return per_name, distinct % width, [chr(gram >> 21) + chr(gram & ((1 << 21) - 1)) for gram in texts.tolist()]


def _salted_grams(
    name_codes: np.ndarray, distinct_names: list[str], salt_codes: np.ndarray, distinct_salts: list[str]
) -> tuple[np.ndarray, list[str], np.ndarray]:
    """Each name's salted bigrams as codes (one run per name, `counts` long), and the distinct
    salted bigrams as text; name i is `distinct_names[name_codes[i]]`, salted with
    `distinct_salts[salt_codes[i]]`. Bigrams are found once per distinct name and salted as integer
    pairs, so a name that recurs under many salts (birth years) costs no more text work."""
    per_name, gram_codes, distinct_grams = _name_bigrams(distinct_names)
    first_of_name = np.concatenate([[0], np.cumsum(per_name)[:-1]]) if len(per_name) else per_name
    counts = per_name[name_codes]
    # Position of every bigram of every (salt, name) in `gram_codes`: its name's run, in order.
    runs = np.repeat(first_of_name[name_codes] - (np.cumsum(counts) - counts), counts) + np.arange(counts.sum())
    pairs = np.repeat(np.asarray(salt_codes, dtype=np.int64), counts) * max(len(distinct_grams), 1) + gram_codes[runs]
    codes, distinct_pairs = pd.factorize(pairs)
    texts = [f"{distinct_salts[pair // max(len(distinct_grams), 1)]}|{distinct_grams[pair % max(len(distinct_grams), 1)]}" for pair in distinct_pairs.tolist()]
    return codes, texts, counts


def blooms(names: list[str], salts: list[str], key: bytes) -> np.ndarray:
    """Packed Bloom filters (one row of BLOOM_BITS / 8 bytes per name), the bigrams of each name
    salted with its entry of `salts` (its birth year)."""
    name_codes, distinct_names = pd.factorize(pd.Series(names, dtype=object))
    salt_codes, distinct_salts = pd.factorize(pd.Series(salts, dtype=object))
    return _coded_blooms(name_codes, distinct_names.tolist(), salt_codes, distinct_salts.tolist(), key)


def _coded_blooms(
    name_codes: np.ndarray, distinct_names: list[str], salt_codes: np.ndarray, distinct_salts: list[str], key: bytes
) -> np.ndarray:
    """`blooms` of names and salts given as codes into their distinct values (`_salted_grams`).

    Vectorised: the few thousand distinct salted bigrams are hashed once, each into a filter of its
    own bits, and a name's filter is the OR of its bigrams' filters (a reduction over whole 64-bit
    words, not a bit set per position). Bigram filters are gathered a slice of names at a time:
    for a whole bulk load (millions of bigrams, 128 bytes each) they would take over a gigabyte.
    """
    codes, distinct, counts = _salted_grams(name_codes, distinct_names, salt_codes, distinct_salts)
    positions = bigram_positions(distinct, key)
    # Bit p is bit 7 - p % 8 of byte p // 8 (`np.packbits`' order): the filter's hex is that of its bytes.
    own = np.zeros((len(distinct), BLOOM_BITS // 8), dtype=np.uint8)
    grams, flat = np.repeat(np.arange(len(distinct)), HASHES_PER_BIGRAM), positions.reshape(-1)
    np.bitwise_or.at(own, (grams, flat // 8), (0x80 >> (flat % 8)).astype(np.uint8))
    # One row per 64-bit word of the filters: a reduction along one contiguous row runs several
    # times faster than along the first axis of a matrix.
    columns = np.ascontiguousarray(own.view(np.uint64).T)
    starts = np.concatenate([[0], np.cumsum(counts)])  # each name's first bigram in `codes`
    packed = np.zeros((len(name_codes), BLOOM_BITS // 64), dtype=np.uint64)
    for first in range(0, len(name_codes), _NAMES_PER_SLICE):
        last = min(first + _NAMES_PER_SLICE, len(name_codes))
        grams, runs = codes[starts[first] : starts[last]], starts[first:last] - starts[first]
        for word, column in enumerate(columns):
            # Every name has at least one bigram (`_{name}_`), so no run of `reduceat` is empty.
            packed[first:last, word] = np.bitwise_or.reduceat(column[grams], runs)
    return packed.view(np.uint8)


def _distinct_blooms(records: pd.DataFrame, birth_years: pd.Series, key: bytes) -> tuple[pa.Array, np.ndarray]:
    """Hex Bloom filters of canonical "surname given names" salted with the birth year, one per
    distinct (year, name) pair, and each record's pair (-1: no surname or no year)."""
    surname = canonical_surname(records["surname"])
    names = (surname + " " + canonical_given_names(records["given_names"]).fillna("")).where(surname.notna())
    present = (names.notna() & birth_years.notna()).to_numpy()
    # One filter per distinct (year, name), found as integer pairs: no salted text per row.
    name_codes, distinct_names = pd.factorize(names[present])
    year_codes, distinct_years = pd.factorize(birth_years[present].astype("int64"))
    pair_codes, pairs = pd.factorize(year_codes.astype(np.int64) * max(len(distinct_names), 1) + name_codes)
    packed = _coded_blooms(
        pairs % max(len(distinct_names), 1),
        distinct_names.tolist(),
        pairs // max(len(distinct_names), 1),
        [str(year) for year in distinct_years.tolist()],
        key,
    )
    # One hex text for all filters, cut into equal widths by Arrow: no Python string per row.
    width = BLOOM_BITS // 4
    offsets = pa.py_buffer(np.arange(len(packed) + 1, dtype=np.int64) * width)
    text = pa.LargeStringArray.from_buffers(len(packed), offsets, pa.py_buffer(binascii.hexlify(packed.tobytes())))
    rows = np.full(len(records), -1, dtype=np.int64)
    rows[present] = pair_codes
    return text, rows


def birth_keys(records: pd.DataFrame, key: bytes) -> pd.DataFrame:
    """Keyed birth date as written (`birth_key`) and with day and month swapped (`swapped_key`,
    null when the swap is no other valid date)."""
    birth = pd.to_datetime(records["birth_date"], errors="coerce")
    swappable = birth.notna() & (birth.dt.day <= 12) & (birth.dt.day != birth.dt.month)
    hasher = KeyedHasher(key, BIRTH_PURPOSE)
    return pd.DataFrame(
        {
            "birth_key": per_distinct_date(birth, hasher.digest_series),
            "swapped_key": per_distinct_date(birth.where(swappable), hasher.digest_series, "%Y-%d-%m"),
        }
    )


def bloom_matrix(blooms: pd.Series | pa.Array | pa.ChunkedArray) -> np.ndarray:
    """Hex Bloom filters decoded once into one row of 64-bit words each (popcounts run per word).

    Decoded in one pass over Arrow's character buffer, without a Python object per filter: a
    bulk load compares against hundreds of thousands of stored filters.
    """
    text = pc.cast(blooms if isinstance(blooms, pa.Array | pa.ChunkedArray) else pa.array(blooms), pa.large_string())
    text = text.combine_chunks() if isinstance(text, pa.ChunkedArray) else text
    width = BLOOM_BITS // 4
    if not len(text):
        return np.zeros((0, BLOOM_BITS // 64), dtype=np.uint64)
    if text.null_count or not pc.all(pc.equal(pc.binary_length(text), width)).as_py():
        raise ValueError(f"a Bloom filter is missing or not {width} hex digits")
    # Equal widths: the filters lie back to back in the character buffer.
    offsets = np.frombuffer(text.buffers()[1], dtype=np.int64)[[text.offset, text.offset + len(text)]]
    characters = memoryview(text.buffers()[2])[offsets[0] : offsets[1]]
    return np.frombuffer(binascii.unhexlify(characters), dtype=np.uint64).reshape(len(text), -1)


_BYTE_PAIRS = 0x00FF00FF00FF00FF
_FOUR_LANES = 0x0001000100010001


def row_ones(words: np.ndarray) -> np.ndarray:
    """Bits set in each row of 64-bit words (the last axis, a multiple of 8 words long).

    The per-word counts (a byte each, at most 64) are added eight at a time inside 64-bit words:
    numpy's sum over a short last axis costs several times the popcount itself, and the pairs of
    a bulk load's own matches are counted by the ten million."""
    counts = np.bitwise_count(words)
    lanes = np.ascontiguousarray(counts).view(np.uint64)
    lanes = (lanes & _BYTE_PAIRS) + ((lanes >> 8) & _BYTE_PAIRS)  # four 16-bit sums of two bytes
    lanes = ((lanes * _FOUR_LANES) >> 48).astype(np.int64)  # their total (at most 512) in the top 16 bits
    total = lanes[..., 0].copy()
    for lane in range(1, lanes.shape[-1]):
        total += lanes[..., lane]
    return total


def ones(matrix: np.ndarray) -> np.ndarray:
    """Bits set in each row's Bloom filter."""
    return row_ones(matrix)


def dice(first: np.ndarray, second: np.ndarray, first_ones: np.ndarray, second_ones: np.ndarray) -> np.ndarray:
    """Dice coefficient of the Bloom filters in row i of `first` and of `second` (rows of 64-bit
    words, as `bloom_matrix` gives; their bit counts computed once, by `ones`)."""
    return 2 * row_ones(first & second) / np.maximum(first_ones + second_ones, 1)


def script_keys(records: pd.DataFrame, key: bytes) -> pd.Series:
    """Keyed form of each name written in a lossy script (`lossy_script_forms`), else null: two
    encodings with different script keys are never linked by name."""
    return KeyedHasher(key, SCRIPT_PURPOSE).digest_series(lossy_script_forms(records["surname"], records["given_names"]))


ENCODING_COLUMNS: tuple[str, ...] = ("registration_id", "birth_key", "swapped_key", "bloom", "script_key")


def name_encodings(records: pd.DataFrame, registration_ids: pd.Series, key: bytes) -> pd.DataFrame:
    """registration_id, birth_key, swapped_key, bloom, script_key of the records with a surname and
    a birth date that is no placeholder."""
    birth = pd.to_datetime(records["birth_date"], errors="coerce")
    years = birth.dt.year.where(~placeholder_dates(birth))
    keys = birth_keys(records, key)
    blooms_text, bloom_rows = _distinct_blooms(records, years, key)
    # Positions of the rows kept: every column taken once, the filters (256 characters each) straight
    # from the distinct ones.
    kept = np.flatnonzero(keys["birth_key"].notna().to_numpy() & (bloom_rows >= 0))
    return pd.DataFrame(
        {
            "registration_id": registration_ids.astype("str").array.take(kept),
            "birth_key": keys["birth_key"].array.take(kept),
            "swapped_key": keys["swapped_key"].array.take(kept),
            "bloom": pd.array(blooms_text.take(pa.array(bloom_rows[kept])), dtype="str"),
            "script_key": script_keys(records, key).array.take(kept),
        }
    )[list(ENCODING_COLUMNS)]
