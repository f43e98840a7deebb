"""The stored encodings an approximate match of a batch can reach: those that share its birth keys,
read from the vault's rows in slices (`linkage.approximate` compares them), each birth key once per
load (`ReachedEncodings`)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
from sqlalchemy import Connection

from linkage.approximate import StoredEncodings
from pseudonyms.encodings import BLOOM_BITS, ENCODING_SCHEME, bloom_matrix
from store.binary import binary_type, hex_bytes, hex_sql
from store.bulk import Read, bulk_insert, read_columns
from store.privacy_tables import vault_identities
from store.qualified import drop_temporary_table, qualified_name, temporary_table
from store.text_sets import arrow_text, positions_in, sorted_unique

_STAGE = "stage_birth_keys"
# Birth keys looked up per query: about 100,000 stored filters at a million stored registrations.
_KEYS_PER_SLICE = 4096
# Rows of the table read per query when SQLite reads it in rowid order (about 64 MB of filter text).
_ROWS_PER_SLICE = 250_000
_IDS = ("registration_id", "person_id", "birth_key", "script_key")
_WORDS = BLOOM_BITS // 64


def stored_encodings(connection: Connection, keys: pa.Array) -> tuple[pa.Table, np.ndarray]:
    """The stored encodings whose birth key is one of `keys` (hex, distinct): their ids, birth and
    script keys (null: none), and their Bloom filters decoded, one row each.

    Read as Arrow columns and the filters decoded at once: at bulk-load sizes nearly every stored
    encoding shares a birth date with the batch, and a Python object per value would cost seconds
    and gigabytes. Read a slice at a time (of the birth keys, or of the table: `_slices`), so the
    text of no more than a slice of filters is in memory at once.
    """
    # The vault holds bytes; compared with the batch's hex text, read as hex (the database converts in C).
    columns = {name: Read(name) for name in ("registration_id", "person_id")}
    columns["birth_key"] = Read(hex_sql(connection, "birth_key"))
    # Most names have no script key: read as "-" (faster than a quoted nullable column).
    columns["script_key"] = Read(f"coalesce({hex_sql(connection, 'script_key')}, '-')")
    columns["bloom"] = Read(hex_sql(connection, "bloom"))
    tables, matrices = [], []
    for where in stage_birth_keys(connection, keys):
        # Filters of another scheme (not re-encoded yet) set other bits: never compared.
        known = read_columns(
            connection, columns, f"FROM {qualified_name(connection, vault_identities)} WHERE {where} AND scheme = {ENCODING_SCHEME}"
        )
        matrices.append(bloom_matrix(known.column("bloom")))
        tables.append(known.drop_columns("bloom"))
    drop_temporary_table(connection, _STAGE)
    table = pa.concat_tables(tables)
    script = table.column("script_key")
    table = table.set_column(3, "script_key", pc.if_else(pc.equal(script, "-"), pa.scalar(None, pa.string()), script))
    return table, np.concatenate(matrices)


def stage_birth_keys(connection: Connection, keys: pa.Array) -> list[str]:
    """Stage `keys` (hex) in this transaction; WHERE clauses that together select the vault rows
    with those birth keys (the caller drops the stage once they have served)."""
    connection.execute(temporary_table(connection, _STAGE, f"birth_key {binary_type(connection)}, slice integer"))
    staged = pd.DataFrame({"birth_key": hex_bytes(keys.to_pandas()), "slice": np.arange(len(keys)) // _KEYS_PER_SLICE}, dtype=object)
    bulk_insert(connection, _STAGE, staged)
    if connection.dialect.name == "postgresql":
        # A temporary table has no statistics: PostgreSQL took a slice of a thousand keys for six
        # and compared each stored row with each key in a nested loop (26 s for one part of a load).
        connection.exec_driver_sql(f"ANALYZE {_STAGE}")
    return _slices(connection, len(keys))


def _slices(connection: Connection, keys: int) -> list[str]:
    """WHERE clauses that together select the stored encodings of the staged birth keys."""
    if connection.dialect.name == "sqlite" and keys > _KEYS_PER_SLICE:
        # A bulk load's keys cover most birth dates: reading the table in rowid order beats a
        # visit at random per row through the birth-key index (972k rows: 1.5-2.3 s against
        # 3.5-4.2 s). The `+` keeps SQLite from using that index.
        table_name = qualified_name(connection, vault_identities)
        last = connection.exec_driver_sql(f"SELECT coalesce(max(rowid), 0) FROM {table_name}").scalar_one()
        return [
            f"rowid > {low} AND rowid <= {low + _ROWS_PER_SLICE} AND +birth_key IN (SELECT birth_key FROM {_STAGE})"
            for low in range(0, max(last, 1), _ROWS_PER_SLICE)
        ]
    # A few keys (a night's delivery), or PostgreSQL, whose planner chooses for itself: the index.
    return [
        f"birth_key IN (SELECT birth_key FROM {_STAGE} WHERE slice = {number})"
        for number in range(max(1, -(-keys // _KEYS_PER_SLICE)))  # one query even for no key
    ]


def _empty() -> pa.Table:
    return pa.table({name: pa.array([], pa.string()) for name in _IDS})


class ReachedEncodings:
    """The stored encodings one load's parts have reached, kept from part to part.

    Every part of a bulk load shares birth dates with nearly every stored encoding: read per part,
    a file of n parts would read the stored encodings, and those its earlier parts wrote, n times
    over. Here each birth key is read once per load; the encodings the load writes join as its
    parts write them (`wrote`), replacing the rows of the registrations they re-deliver, and the
    persons it merges are followed as the vault follows them. So each part is given exactly the
    rows a read of the vault would give it (in another order). A load's transaction holds the
    load lock from its first part on: nothing else writes the vault meanwhile.
    """

    def __init__(self) -> None:
        self._read = pa.array([], pa.string())  # birth keys read from the vault so far
        self._table = _empty()
        self._matrix = np.zeros((0, _WORDS), dtype=np.uint64)  # room for more rows than held
        self._live = np.zeros(0, dtype=bool)  # False: a row its registration's later one replaced

    def of_batch(self, connection: Connection, batch: pd.DataFrame) -> StoredEncodings:
        """The stored encodings that share a birth key (as written or swapped) with `batch`."""
        keys = sorted_unique(batch["birth_key"], batch["swapped_key"])
        unread = keys.filter(pc.invert(pc.is_in(keys, value_set=self._read)))
        if len(unread):
            # None of them is the load's own: a part's encodings carry birth keys it read first.
            self._append(*stored_encodings(connection, unread))
            self._read = pa.concat_arrays([self._read, unread])
        reached = pc.is_in(self._table.column("birth_key"), value_set=keys).to_numpy(zero_copy_only=False)
        rows = np.flatnonzero(reached & self._live)
        return StoredEncodings(self._table.take(rows).to_pandas(), self._matrix, rows)

    def wrote(self, encodings: pd.DataFrame, registration_ids: pd.Series, persons: pd.Series, merged: dict[str, str]) -> None:
        """A part's vault rows are written: `registration_ids` (all of them) with `encodings` (a
        registration's first, as `vault.entries.keyed_columns` takes it), each encoding with its
        registration's person (`persons`: registration_id -> person_id), after merging the
        absorbed persons of `merged` into their survivors in every row."""
        if merged and len(self._table):
            held = self._table.column("person_id").combine_chunks()
            at = pc.index_in(held, value_set=pa.array(list(merged), pa.string()))
            survivors = pa.array(list(merged.values()), pa.string()).take(at)
            self._table = self._table.set_column(1, "person_id", pc.if_else(pc.is_null(at), held, survivors))
        if len(self._table):
            replaced = pc.is_in(self._table.column("registration_id"), value_set=arrow_text(registration_ids))
            self._live &= ~replaced.to_numpy(zero_copy_only=False)
        first = encodings.drop_duplicates("registration_id")
        at = positions_in(first["registration_id"], arrow_text(persons.index))
        person = arrow_text(pd.Series(np.append(persons.to_numpy(dtype=object), None)[at], dtype=object))
        written = pa.table(
            {
                "registration_id": arrow_text(first["registration_id"]),
                "person_id": person,
                "birth_key": arrow_text(first["birth_key"]),
                "script_key": arrow_text(first["script_key"]),
            }
        )
        self._append(written, bloom_matrix(first["bloom"]))

    def _append(self, table: pa.Table, matrix: np.ndarray) -> None:
        held, size = len(self._live), len(self._live) + len(table)
        if size > len(self._matrix):
            # Grown by half at least: a load of many parts copies its filters a few times, not once a part.
            grown = np.empty((max(size, len(self._matrix) * 3 // 2), _WORDS), dtype=np.uint64)
            grown[:held] = self._matrix[:held]
            self._matrix = grown
        self._matrix[held:size] = matrix
        self._table = pa.concat_tables([self._table, table.select(list(_IDS)).cast(self._table.schema)])
        self._live = np.concatenate([self._live, np.ones(len(table), dtype=bool)])
