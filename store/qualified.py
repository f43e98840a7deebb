"""Names for raw SQL that must work on both dialects: vault tables and temporary staging tables."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Connection, Table, TextClause, text


def qualified_name(connection: Connection, table: Table) -> str:
    """`schema.table` on PostgreSQL; on SQLite the schema is mapped away, as for Core statements."""
    translate = connection.get_execution_options().get("schema_translate_map") or {}
    schema = translate.get(table.schema, table.schema)
    return f"{schema}.{table.name}" if schema else table.name


def temporary_table(connection: Connection, name: str, columns: str) -> TextClause:
    """A staging table that lives until the end of the transaction (PostgreSQL) or is dropped by the
    caller (SQLite, which has no ON COMMIT DROP)."""
    if connection.dialect.name == "postgresql":
        return text(f"CREATE TEMPORARY TABLE {name} ({columns}) ON COMMIT DROP")
    return text(f"CREATE TEMPORARY TABLE {name} ({columns})")


def drop_temporary_table(connection: Connection, name: str) -> None:
    """Drop a staging table as soon as it has served: a file loaded in parts stages again in the
    same transaction."""
    connection.exec_driver_sql(f"DROP TABLE temp.{name}" if connection.dialect.name == "sqlite" else f"DROP TABLE {name}")


def timestamp_text(moment: dt.datetime | None = None) -> str:
    """A UTC time as text that bulk loads accept on both dialects and SQLAlchemy reads back on SQLite."""
    return (moment or dt.datetime.now(dt.UTC)).strftime("%Y-%m-%d %H:%M:%S.%f+00:00")
