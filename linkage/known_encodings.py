"""The stored encodings an approximate match of a batch can reach: those that share its birth keys,
read from the vault's rows in slices (`linkage.approximate` compares them)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
from sqlalchemy import Connection

from linkage.approximate import StoredEncodings
from pseudonyms.encodings import ENCODING_SCHEME, bloom_matrix
from store.binary import binary_type, bytes_column, hex_sql
from store.bulk import Read, bulk_insert, read_columns
from store.privacy_tables import vault_identities
from store.qualified import drop_temporary_table, qualified_name, temporary_table

_STAGE = "stage_birth_keys"
# Birth keys looked up per query: about 100,000 stored filters at a million stored registrations.
_KEYS_PER_SLICE = 4096
# Rows of the table read per query when SQLite reads it in rowid order (about 64 MB of filter text).
_ROWS_PER_SLICE = 250_000


def known_encodings(connection: Connection, batch: pd.DataFrame) -> StoredEncodings:
    """Stored encodings that share a birth key (as written or swapped) with the batch.

    Read as Arrow columns and the filters decoded at once: at bulk-load sizes nearly every stored
    encoding shares a birth date with the batch, and a Python object per value would cost seconds
    and gigabytes. Read a slice at a time (of the birth keys, or of the table: `_slices`), so the
    text of no more than a slice of filters is in memory at once.
    """
    keys = pd.concat([batch["birth_key"], batch["swapped_key"]]).dropna().drop_duplicates()
    connection.execute(temporary_table(connection, _STAGE, f"birth_key {binary_type(connection)}, slice integer"))
    staged = pd.DataFrame({"birth_key": bytes_column(keys).to_numpy(), "slice": np.arange(len(keys)) // _KEYS_PER_SLICE}, dtype=object)
    bulk_insert(connection, _STAGE, staged)
    # The vault holds bytes; compared with the batch's hex text, read as hex (the database converts in C).
    columns = {name: Read(name) for name in ("registration_id", "person_id")}
    columns["birth_key"] = Read(hex_sql(connection, "birth_key"))
    # Most names have no script key: read as "-" (faster than a quoted nullable column).
    columns["script_key"] = Read(f"coalesce({hex_sql(connection, 'script_key')}, '-')")
    columns["bloom"] = Read(hex_sql(connection, "bloom"))
    frames, matrices = [], []
    for where in _slices(connection, len(keys)):
        # Filters of another scheme (not re-encoded yet) set other bits: never compared.
        known = read_columns(
            connection, columns, f"FROM {qualified_name(connection, vault_identities)} WHERE {where} AND scheme = {ENCODING_SCHEME}"
        )
        matrices.append(bloom_matrix(known.column("bloom")))
        frames.append(known.drop_columns("bloom"))
    drop_temporary_table(connection, _STAGE)
    frame = pa.concat_tables(frames).to_pandas()
    frame["script_key"] = frame["script_key"].where(frame["script_key"] != "-")
    return StoredEncodings(frame, np.concatenate(matrices))


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
