"""The column-wise pseudonymisation gives what the per-record definitions give, on random and hostile input.

The stage computes canonical forms, dates and keyed hashes once per distinct value, Bloom filters
from bigrams found over all names at once, payloads from Arrow columns and the batch's own
matches a birth date at a time. Each is compared here with a plain per-record definition kept in
this file: one HMAC per value, one filter set bit by bit, one record alone, one pair at a time.
"""

from __future__ import annotations

import hashlib
import hmac
import json

import numpy as np
import pandas as pd
import pytest
from budget import examples
from hypothesis import given, settings
from hypothesis import strategies as st

from linkage import approximate
from pseudonyms import encodings
from pseudonyms.hashing import PSEUDONYM_BYTES, KeyedHasher, derive_subkey, digest_many
from pseudonyms.identity import IDENTIFIER_PURPOSE, PERSON_PURPOSE, date_texts
from pseudonyms.person_identities import identifier_links, named_registrations, vault_payloads
from store import binary

KEY = bytes(range(32))
# Any text a source may send, control characters, quotes, slashes and other scripts included
# (lone surrogates cannot reach a record: no UTF-8 file holds one).
HOSTILE = st.text(st.characters(exclude_categories=("Cs",)), max_size=12)
NAMES = st.one_of(
    st.none(),
    HOSTILE,
    st.sampled_from(["de Vries", "van der Berg", "Шевченко", "李伟", "Ødegård", "  ", "Anna Maria", "maria  ANNA", "O'Neil/Smith"]),
)
DATES = st.one_of(st.none(), st.dates(min_value=pd.Timestamp("1901-01-01").date(), max_value=pd.Timestamp("2030-12-31").date()))
NUMBERS = st.one_of(st.none(), st.sampled_from(["123 456 782", "123-456-782", "9988776655", "", "x"]), HOSTILE)


def record_frames() -> st.SearchStrategy[pd.DataFrame]:
    rows = st.tuples(NAMES, NAMES, DATES, NUMBERS, NUMBERS)
    return st.lists(rows, min_size=1, max_size=12).map(
        lambda values: pd.DataFrame(
            {
                "source_record_id": [f"R/{number}\"{number % 3}" for number in range(len(values))],
                "surname": pd.Series([row[0] for row in values], dtype="str"),
                "given_names": pd.Series([row[1] for row in values], dtype="str"),
                "birth_date": pd.to_datetime(pd.Series([row[2] for row in values], dtype=object)),
                "bsn": pd.Series([row[3] for row in values], dtype="str"),
                "alien_number": pd.Series([row[4] for row in values], dtype="str"),
            },
            # Labels out of order: results are placed by label, not by position.
            index=pd.Index(np.arange(len(values))[::-1] * 7 + 3),
        )
    )


def plain_pseudonym(purpose: str, value: str) -> str:
    """One keyed HMAC-SHA256 of one value, as the definition has it."""
    return hmac.new(derive_subkey(KEY, purpose), value.encode("utf-8"), hashlib.sha256).hexdigest()[: 2 * PSEUDONYM_BYTES]


def plain_bloom(name: str, year: str) -> str:
    """The Bloom filter of one name, bit by bit: 15 two-byte positions of the HMAC of each salted bigram."""
    bits = bytearray(encodings.BLOOM_BITS // 8)
    subkey = derive_subkey(KEY, encodings.BLOOM_PURPOSE)
    for gram in encodings.bigrams(name):
        digest = hmac.new(subkey, f"{year}|{gram}".encode(), hashlib.sha256).digest()
        for slot in range(encodings.HASHES_PER_BIGRAM):
            position = int.from_bytes(digest[2 * slot : 2 * slot + 2], "big") % encodings.BLOOM_BITS
            bits[position // 8] |= 0x80 >> (position % 8)
    return bits.hex()


@settings(max_examples=examples(200), deadline=None)
@given(st.lists(st.one_of(st.none(), HOSTILE, st.sampled_from(["a", "b", ""])), max_size=30))
def test_keyed_hashes_of_a_column_are_one_hmac_per_value(values: list[str | None]) -> None:
    column = pd.Series(values, index=np.arange(len(values))[::-1], dtype=object)
    identifiers, persons = digest_many(column, [KeyedHasher(KEY, IDENTIFIER_PURPOSE), KeyedHasher(KEY, PERSON_PURPOSE)])
    for purpose, result in ((IDENTIFIER_PURPOSE, identifiers), (PERSON_PURPOSE, persons)):
        assert result.index.equals(column.index)
        expected = [None if value is None else plain_pseudonym(purpose, value) for value in values]
        assert [None if pd.isna(value) else value for value in result.tolist()] == expected
    assert KeyedHasher(KEY, PERSON_PURPOSE).digest_series(column).equals(persons)


@pytest.mark.parametrize("names_per_slice", [1, 3, 32_768])
@settings(max_examples=examples(200), deadline=None)
@given(st.lists(st.tuples(HOSTILE, st.sampled_from(["1990", "1991", "2001"])), min_size=1, max_size=20))
def test_bloom_filters_are_the_bit_by_bit_definition(names_per_slice: int, named: list[tuple[str, str]]) -> None:
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(encodings, "_NAMES_PER_SLICE", names_per_slice)  # filters ORed a slice of names at a time
        packed = encodings.blooms([name for name, _ in named], [year for _, year in named], KEY)
    assert [row.tobytes().hex() for row in packed] == [plain_bloom(name, year) for name, year in named]


@settings(max_examples=examples(100), deadline=None)
@given(st.lists(st.lists(st.integers(0, 2**64 - 1), min_size=16, max_size=16), max_size=20))
def test_bit_counts_are_the_bits_of_each_row(rows: list[list[int]]) -> None:
    words = np.array(rows, dtype=np.uint64).reshape(-1, 16)
    expected = [sum(bin(word).count("1") for word in row) for row in rows]
    assert encodings.row_ones(words).tolist() == expected
    # Stacked (groups, rows, words) and cut into strided slices, as the own matches count them.
    stacked = np.stack([words, words[::-1]])
    assert encodings.row_ones(stacked[:, 1:] & stacked[:, :-1]).tolist() == [
        [sum(bin(int(a) & int(b)).count("1") for a, b in zip(left, right, strict=True)) for left, right in zip(group[1:], group[:-1], strict=True)]
        for group in stacked
    ]


@settings(max_examples=examples(60), deadline=None)
@given(record_frames())
def test_a_batch_pseudonymises_as_its_records_one_by_one(records: pd.DataFrame) -> None:
    ids = pd.Series([f"reg-{label}" for label in records.index], index=records.index)
    alone = [records.loc[[label]] for label in records.index]

    links = identifier_links(records, ids, KEY, 1)
    one_by_one = pd.concat([identifier_links(record, ids.loc[record.index], KEY, 1) for record in alone], ignore_index=True)
    # A batch lists every name first, then BSNs, then V-numbers; each record alone lists its own.
    assert sorted(map(tuple, links.to_numpy().tolist())) == sorted(map(tuple, one_by_one.to_numpy().tolist()))
    kinds = links["kind"].map({"name": 0, "bsn": 1, "vnr": 2})
    assert kinds.is_monotonic_increasing
    for row in links.itertuples():
        assert row.candidate_person_id.startswith("v1-") and len(row.identifier) == 2 * PSEUDONYM_BYTES

    encoded = encodings.name_encodings(records, ids, KEY)
    encoded_alone = pd.concat([encodings.name_encodings(record, ids.loc[record.index], KEY) for record in alone], ignore_index=True)
    pd.testing.assert_frame_equal(encoded, encoded_alone)
    for row in encoded.itertuples():
        written = records.loc[ids[ids == row.registration_id].index[0]]
        assert row.birth_key == plain_pseudonym(encodings.BIRTH_PURPOSE, written["birth_date"].strftime("%Y-%m-%d"))

    payloads = vault_payloads(records)
    assert payloads.index.equals(records.index)
    for label, payload in payloads.items():
        record = records.loc[[label]].assign(birth_date=lambda frame: frame["birth_date"].dt.strftime("%Y-%m-%d"))
        # The text pandas' JSON writer gives a record alone: the payloads' definition.
        assert payload == record[list(json.loads(payload))].to_json(orient="records", lines=True, force_ascii=False).strip("\n")

    def names_someone(label: int) -> bool:
        fields = records.loc[label, ["surname", "given_names", "bsn", "alien_number"]]
        return any(pd.notna(value) and value.strip() for value in fields)

    assert named_registrations(records, ids)["registration_id"].tolist() == [ids[label] for label in records.index if names_someone(label)]


@settings(max_examples=examples(50), deadline=None)
@given(st.lists(DATES, max_size=30), st.sampled_from(["%Y-%m-%d", "%Y-%d-%m"]))
def test_dates_are_written_as_each_date_alone(dates: list, pattern: str) -> None:
    column = pd.to_datetime(pd.Series(dates, dtype=object))
    written = date_texts(column, pattern)
    assert written.index.equals(column.index)
    assert [None if pd.isna(text) else text for text in written] == [None if pd.isna(day) else day.strftime(pattern) for day in column]


def plain_own_matches(batch: pd.DataFrame) -> set[tuple[str, str]]:
    """Every pair of the batch's records, one at a time: same birth date and Dice >= 0.85, or one's
    swapped date the other's date and Dice >= 0.95."""
    matrix = encodings.bloom_matrix(batch["bloom"])
    found = set()
    for i, left in enumerate(batch.itertuples()):
        for j, right in enumerate(batch.itertuples()):
            if left.registration_id == right.registration_id:
                continue
            score = encodings.dice(matrix[[i]], matrix[[j]], encodings.ones(matrix[[i]]), encodings.ones(matrix[[j]]))[0]
            same = left.birth_key == right.birth_key and score >= approximate.SAME_DATE_THRESHOLD
            swapped = pd.notna(left.swapped_key) and left.swapped_key == right.birth_key and score >= approximate.SWAPPED_DATE_THRESHOLD
            if same or swapped:
                found.add((left.registration_id, f"registration:{right.registration_id}"))
    return found


@pytest.mark.parametrize("rows_per_block", [1, 7, 16_384])
@settings(max_examples=examples(40), deadline=None)
@given(
    st.lists(
        st.tuples(
            st.sampled_from(["jansen anna", "jansen anne", "janssen anna", "de vries piet", "vries piet", "li wei", "jansen"]),
            st.sampled_from(["1990-03-04", "1990-04-03", "1990-03-03", "1985-11-12"]),
            st.integers(0, 40),
        ),
        max_size=40,
    )
)
def test_own_matches_are_the_pairs_one_at_a_time(rows_per_block: int, rows: list) -> None:
    records = pd.DataFrame(
        {
            "surname": [name.split(" ")[0] for name, _, _ in rows],
            "given_names": [" ".join(name.split(" ")[1:]) or None for name, _, _ in rows],
            "birth_date": [date for _, date, _ in rows],
        },
        dtype=object,
    )
    # Repeated ids: a registration delivered twice in one batch is never its own match.
    batch = encodings.name_encodings(records, pd.Series([f"r{number}" for _, _, number in rows], dtype=object), KEY)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(approximate, "_ROWS_PER_BLOCK", rows_per_block)  # groups stacked a few (or one) at a time
        found = approximate.own_matches(batch)
    # The same rows, in the same order, as the search that also reads stored encodings.
    pd.testing.assert_frame_equal(found.reset_index(drop=True), approximate.matches(batch, approximate._NOTHING_STORED).reset_index(drop=True))
    assert set(zip(found["registration_id"], found["node"], strict=True)) == plain_own_matches(batch)


@settings(max_examples=examples(100), deadline=None)
@given(
    st.lists(st.one_of(st.none(), st.binary(max_size=140)), max_size=40),
    st.integers(1, 5),
    st.booleans(),
    st.integers(0, 3),
)
def test_hex_becomes_the_bytes_of_each_value_alone(values: list[bytes | None], per_chunk: int, upper: bool, skipped: int) -> None:
    texts = pd.Series([None if value is None else value.hex().upper() if upper else value.hex() for value in values], dtype="str")
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(binary, "_HEX_PER_CHUNK", per_chunk)
        decoded = binary.hex_bytes(texts.iloc[skipped:])  # a slice, decoded a few values at a time
    assert decoded.dtype == object
    assert list(decoded) == values[skipped:]


@pytest.mark.parametrize("text", ["abc", "0g", "ab cd"])
def test_what_is_no_hex_is_refused(text: str) -> None:
    with pytest.raises(ValueError):
        binary.hex_bytes(pd.Series([text], dtype="str"))
