"""Fast bulk inserts: COPY on PostgreSQL, a raw executemany on SQLite (no row-by-row ORM inserts)."""

from __future__ import annotations

import io

import pandas as pd
import pyarrow as pa
import pyarrow.csv as pacsv
from sqlalchemy import Connection


def _arrow_table(frame: pd.DataFrame) -> pa.Table:
    """The frame as Arrow, with datetimes as dates (every date column of the warehouse is a date)."""
    table = pa.Table.from_pandas(frame, preserve_index=False)
    for index, field in enumerate(table.schema):
        if pa.types.is_timestamp(field.type):
            table = table.set_column(index, field.name, table.column(index).cast(pa.date32()))
    return table


def _python_rows(frame: pd.DataFrame) -> list[tuple]:
    """Row tuples for the sqlite3 driver; Arrow builds the Python values column by column in C."""
    table = _arrow_table(frame)
    columns = []
    for column in table.columns:
        if pa.types.is_date(column.type):
            column = column.cast(pa.string())  # ISO text, as SQLAlchemy stores dates in SQLite
        columns.append(column.to_pylist())
    return list(zip(*columns, strict=True))


def _csv_bytes(frame: pd.DataFrame) -> bytes:
    sink = io.BytesIO()
    pacsv.write_csv(_arrow_table(frame), sink, pacsv.WriteOptions(include_header=False))
    return sink.getvalue()


def copy_rows(connection: Connection, table_name: str, frame: pd.DataFrame) -> None:
    """PostgreSQL: COPY the frame's rows into `table_name` (columns by name)."""
    with connection.connection.driver_connection.cursor() as cursor:
        with cursor.copy(f"COPY {table_name} ({', '.join(frame.columns)}) FROM STDIN (FORMAT csv)") as copy:
            copy.write(_csv_bytes(frame))


def execute_rows(connection: Connection, statement: str, frame: pd.DataFrame) -> None:
    """SQLite: run `statement` (with one `?` per column) for every row, in one executemany."""
    cursor = connection.connection.driver_connection.cursor()
    try:
        cursor.executemany(statement, _python_rows(frame))
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
