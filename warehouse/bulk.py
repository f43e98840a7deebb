"""Fast bulk inserts: COPY on PostgreSQL, a raw executemany on SQLite (no row-by-row ORM inserts)."""

from __future__ import annotations

import io

import pandas as pd
import pyarrow as pa
import pyarrow.csv as pacsv
from sqlalchemy import Connection


def _python_rows(frame: pd.DataFrame) -> list[tuple]:
    columns = []
    for name in frame.columns:
        values = frame[name]
        if pd.api.types.is_datetime64_any_dtype(values):
            values = values.dt.strftime("%Y-%m-%d")
        columns.append(values.astype(object).where(values.notna(), None).tolist())
    return list(zip(*columns, strict=True))


def _csv_bytes(frame: pd.DataFrame) -> bytes:
    table = pa.Table.from_pandas(frame, preserve_index=False)
    for index, field in enumerate(table.schema):
        if pa.types.is_timestamp(field.type):
            table = table.set_column(index, field.name, table.column(index).cast(pa.date32()))
    sink = io.BytesIO()
    pacsv.write_csv(table, sink, pacsv.WriteOptions(include_header=False))
    return sink.getvalue()


def bulk_insert(connection: Connection, table_name: str, frame: pd.DataFrame) -> None:
    """Append the frame's rows to `table_name` (columns by name) inside the connection's transaction."""
    if frame.empty:
        return
    column_list = ", ".join(frame.columns)
    driver_connection = connection.connection.driver_connection
    if connection.dialect.name == "postgresql":
        with driver_connection.cursor() as cursor:
            with cursor.copy(f"COPY {table_name} ({column_list}) FROM STDIN (FORMAT csv)") as copy:
                copy.write(_csv_bytes(frame))
        return
    placeholders = ", ".join("?" for _ in frame.columns)
    cursor = driver_connection.cursor()
    try:
        cursor.executemany(f"INSERT INTO {table_name} ({column_list}) VALUES ({placeholders})", _python_rows(frame))
    finally:
        cursor.close()
