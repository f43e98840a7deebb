"""Bulk writes store every value exactly as the frame holds it: on SQLite whichever way the values
are turned into Python objects (shared per distinct value, or one per row), and however the rows
are split into the chunks converted at a time; on PostgreSQL also a frame concatenated from an
empty part and others (Arrow columns of several chunks)."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from pathlib import Path

import pandas as pd
import pytest
from sqlalchemy import Connection, create_engine

from store import bulk
from store.bulk import bulk_insert, execute_rows

ROWS = 1_000


def frame_of_every_kind() -> pd.DataFrame:
    numbers = pd.Series(range(ROWS))
    return pd.DataFrame(
        {
            "repeated": numbers.map(lambda n: f"code-{n % 7}").astype("str"),
            "unique_ids": numbers.map(lambda n: f"id-{n:05d}").astype("str"),
            "repeated_with_gaps": numbers.map(lambda n: None if n % 5 == 0 else f"unit-{n % 3}").astype("str"),
            "unique_with_gaps": numbers.map(lambda n: None if n % 4 == 0 else f"key-{n}").astype("str"),
            "all_missing": pd.Series([None] * ROWS, dtype="str"),
            "category": pd.Categorical(numbers.map(lambda n: None if n % 6 == 0 else ("a", "b", "c")[n % 3])),
            "number": pd.array([None if n % 9 == 0 else n for n in range(ROWS)], dtype="Int64"),
            "flag": pd.array([None if n % 8 == 0 else n % 2 == 0 for n in range(ROWS)], dtype="boolean"),
            "day": pd.to_datetime("2024-01-01") + pd.to_timedelta(numbers % 366, unit="D"),
        }
    )


def expected_rows(frame: pd.DataFrame) -> list[tuple]:
    def value(column: str, row: int) -> object:
        item = frame[column].iloc[row]
        if pd.isna(item):
            return None
        if column == "day":
            return item.strftime("%Y-%m-%d")
        if column == "flag":
            return int(item)
        return int(item) if column == "number" else str(item)

    return [tuple(value(column, row) for column in frame.columns) for row in range(len(frame))]


def insert_every_kind(path: Path, also: Callable[[Connection, pd.DataFrame], object] = lambda connection, frame: None) -> tuple[pd.DataFrame, object]:
    """`frame_of_every_kind` bulk-inserted into a new table `target` of a SQLite file, and what
    `also` returns, run in the same transaction after the insert."""
    frame = frame_of_every_kind()
    engine = create_engine(f"sqlite:///{path}")
    with engine.begin() as connection:
        connection.exec_driver_sql(f"CREATE TABLE target (position INTEGER PRIMARY KEY, {', '.join(frame.columns)})")
        bulk_insert(connection, "target", frame)
        found = also(connection, frame)
    engine.dispose()
    return frame, found


def test_bulk_insert_stores_every_value_of_every_column_kind(tmp_path):
    path = tmp_path / "bulk.sqlite"
    frame, _ = insert_every_kind(path)
    with sqlite3.connect(path) as raw:
        stored = raw.execute(f"SELECT {', '.join(frame.columns)} FROM target ORDER BY position").fetchall()
    assert stored == expected_rows(frame)


def test_rows_converted_a_chunk_at_a_time_are_every_row_once_in_order(tmp_path, monkeypatch):
    # 64 rows a chunk: 1,000 rows make 15 full chunks and a partial one.
    monkeypatch.setattr(bulk, "CHUNK_ROWS", 64)
    path = tmp_path / "bulk.sqlite"

    def insert_again(connection: Connection, frame: pd.DataFrame) -> int:
        placeholders = ", ".join("?" for _ in frame.columns)
        return execute_rows(connection, f"INSERT INTO target ({', '.join(frame.columns)}) VALUES ({placeholders})", frame)

    frame, changed = insert_every_kind(path, insert_again)
    assert changed == ROWS
    with sqlite3.connect(path) as raw:
        stored = raw.execute(f"SELECT {', '.join(frame.columns)} FROM target ORDER BY position").fetchall()
    assert stored == expected_rows(frame) * 2


@pytest.mark.postgres
@pytest.mark.parametrize("chunk_rows", [bulk.CHUNK_ROWS, 1])
def test_copy_of_a_frame_concatenated_from_an_empty_part(scratch_postgres, monkeypatch, chunk_rows):
    monkeypatch.setattr(bulk, "CHUNK_ROWS", chunk_rows)
    empty = pd.DataFrame({"position": pd.Series([], dtype="int64"), "label": pd.Series([], dtype="str")}).assign(kind="error")
    filled = pd.DataFrame({"position": [1, 2], "label": ["a", None]}).astype({"label": "str"}).assign(kind="warning")
    frame = pd.concat([empty, filled], ignore_index=True)
    engine = create_engine(scratch_postgres)
    with engine.begin() as connection:
        connection.exec_driver_sql("CREATE TABLE target (position INTEGER PRIMARY KEY, label TEXT, kind TEXT)")
        bulk_insert(connection, "target", frame)
        stored = connection.exec_driver_sql("SELECT position, label, kind FROM target ORDER BY position").fetchall()
    engine.dispose()
    assert [tuple(row) for row in stored] == [(1, "a", "warning"), (2, None, "warning")]
