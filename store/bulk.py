"""Fast bulk inserts (COPY on PostgreSQL, a raw executemany on SQLite: no row-by-row ORM inserts)
and fast bulk reads into Arrow."""

from __future__ import annotations

import io
from collections.abc import Iterator, Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
from sqlalchemy import Connection, text


def _arrow_table(frame: pd.DataFrame) -> pa.Table:
    """The frame as Arrow, with datetimes as dates (every date column of the warehouse is a date)."""
    table = pa.Table.from_pandas(frame, preserve_index=False)
    for index, field in enumerate(table.schema):
        if pa.types.is_timestamp(field.type):
            table = table.set_column(index, field.name, table.column(index).cast(pa.date32()))
    return table


def _python_rows(frame: pd.DataFrame) -> Iterator[tuple]:
    """Row tuples for the sqlite3 driver, made as it binds them: Arrow builds the Python values
    column by column in C, and a lazy zip reuses its tuple once the driver has bound it, where a
    list of a part's rows would hold hundreds of thousands of tuples at once."""
    table = _arrow_table(frame)
    columns = []
    for column in table.columns:
        if pa.types.is_date(column.type):
            column = column.cast(pa.string())  # ISO text, as SQLAlchemy stores dates in SQLite
        columns.append(_python_values(column))
    return zip(*columns, strict=True)


def _python_values(column: pa.ChunkedArray) -> list:
    """A column's values as Python objects, one object per distinct value where values repeat
    (codes, sources, batch ids): building a string per row costs several times more."""
    if pa.types.is_dictionary(column.type):
        return _dictionary_values(column.combine_chunks())
    if pa.types.is_string(column.type) or pa.types.is_large_string(column.type):
        encoded = pc.dictionary_encode(column.combine_chunks())
        # Mostly distinct (ids, keys, sealed text): the plain conversion, without a lookup per row.
        if 2 * len(encoded.dictionary) <= len(encoded):
            return _dictionary_values(encoded)
    return column.to_pylist()


def _dictionary_values(encoded: pa.DictionaryArray) -> list:
    """A dictionary-encoded column's values, sharing one Python object per category (`to_pylist`
    builds one per row: ten times slower)."""
    categories = np.array(encoded.dictionary.to_pylist() + [None], dtype=object)
    indices = encoded.indices.fill_null(len(encoded.dictionary)).to_numpy()
    return categories[indices].tolist()


def _bytea_text(column: pa.ChunkedArray) -> pa.Array:
    """Bytes as PostgreSQL's text input of bytea (`\\x` and hex): CSV holds no raw bytes."""
    return pa.array([None if value is None else "\\x" + value.hex() for value in column.to_pylist()], pa.string())


def _csv_bytes(frame: pd.DataFrame) -> bytes:
    # One chunk per column: pyarrow 26's CSV writer writes NUL bytes for a string column whose first
    # chunk is empty (a frame concatenated from an empty part and others), which COPY refuses.
    table = _arrow_table(frame)
    for index, field in enumerate(table.schema):
        if pa.types.is_binary(field.type) or pa.types.is_large_binary(field.type):
            table = table.set_column(index, field.name, _bytea_text(table.column(index)))
    sink = io.BytesIO()
    pacsv.write_csv(table.combine_chunks(), sink, pacsv.WriteOptions(include_header=False))
    return sink.getvalue()


# Rows converted at a time: the driver's Python values (or the CSV text) of a million-row frame
# would take several hundred MB at once; per chunk they take a tenth of that, at no measurable cost.
CHUNK_ROWS = 100_000


def _chunks(frame: pd.DataFrame) -> Iterator[pd.DataFrame]:
    for start in range(0, len(frame), CHUNK_ROWS):
        yield frame.iloc[start : start + CHUNK_ROWS]


def copy_rows(connection: Connection, table_name: str, frame: pd.DataFrame) -> None:
    """PostgreSQL: COPY the frame's rows into `table_name` (columns by name), a chunk at a time."""
    with connection.connection.driver_connection.cursor() as cursor:
        with cursor.copy(f"COPY {table_name} ({', '.join(frame.columns)}) FROM STDIN (FORMAT csv)") as copy:
            for chunk in _chunks(frame):
                copy.write(_csv_bytes(chunk))


def execute_rows(connection: Connection, statement: str, frame: pd.DataFrame) -> int:
    """SQLite: run `statement` (with one `?` per column) for every row, in one executemany per
    chunk; returns how many rows it changed (inserted or updated)."""
    cursor = connection.connection.driver_connection.cursor()
    changed = 0
    try:
        for chunk in _chunks(frame):
            cursor.executemany(statement, _python_rows(chunk))
            changed += cursor.rowcount
        return changed
    finally:
        cursor.close()


def bulk_insert(connection: Connection, table_name: str, frame: pd.DataFrame) -> None:
    """Append the frame's rows to `table_name` (columns by name) inside the connection's transaction."""
    if frame.empty:
        return
    if connection.dialect.name == "postgresql":
        copy_rows(connection, table_name, frame)
        return
    placeholders = ", ".join("?" for _ in frame.columns)
    execute_rows(connection, f"INSERT INTO {table_name} ({', '.join(frame.columns)}) VALUES ({placeholders})", frame)


def upsert_rows(connection: Connection, table_name: str, frame: pd.DataFrame, key: str) -> None:
    """Write the frame's rows into `table_name`, replacing the stored rows with the same `key`.

    SQLite: one executemany of an upsert straight into the table. PostgreSQL: COPY into a staging
    table shaped like the target, then one merge. Either way each row is written once, not staged,
    deleted and copied again.
    """
    if frame.empty:
        return
    # In key order, the key's index is filled page by page rather than at random.
    frame = frame.sort_values(key)
    columns = ", ".join(frame.columns)
    updates = ", ".join(f"{name} = excluded.{name}" for name in frame.columns if name != key)
    conflict = f"ON CONFLICT ({key}) DO UPDATE SET {updates}"
    if connection.dialect.name == "postgresql":
        stage = "stage_upsert"
        connection.exec_driver_sql(f"CREATE TEMPORARY TABLE {stage} (LIKE {table_name}) ON COMMIT DROP")
        copy_rows(connection, stage, frame)
        connection.exec_driver_sql(f"INSERT INTO {table_name} ({columns}) SELECT {columns} FROM {stage} {conflict}")
        connection.exec_driver_sql(f"DROP TABLE {stage}")
        return
    placeholders = ", ".join("?" for _ in frame.columns)
    execute_rows(connection, f"INSERT INTO {table_name} ({columns}) VALUES ({placeholders}) {conflict}", frame)

# Reading a million rows through the drivers' row tuples builds a Python object per value (about
# 12 s for 13 columns on SQLite); these read each column as CSV text that Arrow parses in C.
_SEPARATOR = "\x1f"  # in a value read unquoted, Arrow sees two columns and fails: never silently wrong


@dataclass(frozen=True)
class Read:
    """A column to read: its SQL expression and Arrow type. `quoted` columns may hold any text or
    null (SQLite then reads them through `quote()`, a little slower); on SQLite the others must be
    non-null and free of line breaks (checked: the read fails otherwise)."""

    sql: str
    type: pa.DataType = pa.string()
    quoted: bool = False


def _parse(data: bytes, columns: Mapping[str, pa.DataType], quote_char: str | bool, delimiter: str, null: str | None) -> pa.Table:
    return pacsv.read_csv(
        io.BytesIO(data),
        read_options=pacsv.ReadOptions(column_names=list(columns)),
        parse_options=pacsv.ParseOptions(
            quote_char=quote_char, double_quote=True, newlines_in_values=bool(quote_char), delimiter=delimiter,
            ignore_empty_lines=False,
        ),
        convert_options=pacsv.ConvertOptions(
            column_types=dict(columns),
            true_values=["1", "t"],  # SQLite's and PostgreSQL's booleans as text
            false_values=["0", "f"],
            null_values=[] if null is None else [null],
            strings_can_be_null=null is not None,
            quoted_strings_can_be_null=False,
        ),
    )


def _empty(columns: Mapping[str, Read]) -> pa.Table:
    return pa.table({name: pa.array([], read.type) for name, read in columns.items()})


def _sqlite_columns(connection: Connection, columns: Mapping[str, Read], source: str) -> pa.Table:
    """One row of `group_concat` aggregates, one line per value: SQLite builds each column's text in C.

    Quoted columns go through `quote()`: SQL literals ('it''s', NULL unquoted) are CSV with `'`."""
    aggregates = ", ".join(
        f"CAST(group_concat({f'quote({read.sql})' if read.quoted else read.sql}, char(10)) AS BLOB)"
        for read in columns.values()
    )
    count, *texts = connection.execute(text(f"SELECT count(*), {aggregates} {source}")).one()
    if not count:
        return _empty(columns)
    unquoted = ValueError("a value read unquoted holds a line break or U+001F: its column must be read quoted")
    try:
        parsed = {
            name: _parse(data, {name: read.type}, "'" if read.quoted else False, _SEPARATOR, "NULL" if read.quoted else None).column(0)
            for (name, read), data in zip(columns.items(), texts, strict=True)
        }
    except pa.ArrowInvalid as error:
        raise unquoted from error
    if any(len(column) != count for column in parsed.values()):
        raise unquoted
    return pa.table(parsed)


def _copy_columns(connection: Connection, columns: Mapping[str, Read], source: str) -> pa.Table:
    """PostgreSQL: COPY (SELECT ...) TO STDOUT as CSV (quoted as needed; NULL is an unquoted empty field)."""
    select = f"SELECT {', '.join(f'{read.sql} AS {name}' for name, read in columns.items())} {source}"
    sink = io.BytesIO()
    with connection.connection.driver_connection.cursor() as cursor:
        with cursor.copy(f"COPY ({select}) TO STDOUT (FORMAT csv)") as copy:
            for block in copy:
                sink.write(block)
    if not sink.tell():
        return _empty(columns)
    return _parse(sink.getvalue(), {name: read.type for name, read in columns.items()}, '"', ",", "")


def read_columns(connection: Connection, columns: Mapping[str, Read], source: str) -> pa.Table:
    """`SELECT <columns> <source>` as an Arrow table, in the connection's transaction, without a
    Python object per value. `source` is trusted SQL (the FROM and WHERE clauses, no parameters);
    rows come in no particular order."""
    if connection.dialect.name == "postgresql":
        return _copy_columns(connection, columns, source)
    return _sqlite_columns(connection, columns, source)
