"""The memory of disclosure control: every report that went out, cell by cell (steward relations).

`record_publication` writes one publication and its cells in the caller's transaction, after
`lock_publications`; `released_cells` reads back everything released about some years, so that
the next report of those years can be protected jointly with it; `list_publications` says what
went out. Analysts are never granted these relations: they hold the true values of suppressed
cells. They hold counts only, never a person's pseudonym or any value of a registration.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Iterable
from dataclasses import asdict, dataclass

import pandas as pd
from sqlalchemy import Connection, func, insert, select, text

from store.bulk import bulk_insert
from store.tables import publications, published_cells

PUBLICATION_LOCK_KEY = int.from_bytes(hashlib.sha256(b"victim-intake:publication").digest()[:8], "big", signed=True)
CELL_COLUMNS = ("table_name", "row_position", "column_position", "cell", "year", "data_fingerprint", "value", "suppressed")


@dataclass(frozen=True)
class Publication:
    """One report that went out: what, in which variant, when, by whom, from which data."""

    year: int
    report: str
    top: int
    language: str
    format: str
    min_cell: int
    table_count: int
    published_at: dt.datetime
    actor: str
    claimed_actor: str | None
    data_fingerprint: str


def lock_publications(connection: Connection) -> None:
    """Hold the publication lock until the transaction ends, so that of two reports recorded at the
    same time the second sees the first. PostgreSQL: an advisory lock; SQLite: the write lock,
    taken by a write that changes nothing (a reader's snapshot would otherwise go stale)."""
    if connection.dialect.name == "postgresql":
        connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": PUBLICATION_LOCK_KEY})
    else:
        connection.execute(text("UPDATE publications SET year = year WHERE publication_id < 0"))


def latest_publication_id(connection: Connection) -> int:
    """The newest publication's id, 0 when nothing went out yet."""
    return int(connection.execute(select(func.coalesce(func.max(publications.c.publication_id), 0))).scalar_one())


def record_publication(connection: Connection, publication: Publication, cells: pd.DataFrame) -> tuple[int, int | None]:
    """Write the publication and its cells (columns `CELL_COLUMNS`); returns its id and the id of
    the publication it revises (the latest earlier one of the year made from other data)."""
    revision_of = connection.execute(
        select(func.max(publications.c.publication_id)).where(
            publications.c.year == publication.year, publications.c.data_fingerprint != publication.data_fingerprint
        )
    ).scalar_one()
    publication_id = connection.execute(
        insert(publications).values(**asdict(publication), revision_of=revision_of).returning(publications.c.publication_id)
    ).scalar_one()
    frame = cells.loc[:, list(CELL_COLUMNS)].assign(publication_id=publication_id)
    bulk_insert(connection, published_cells.name, frame)
    return int(publication_id), revision_of


def released_cells(connection: Connection, years: Iterable[int]) -> tuple[dict[int, tuple[dt.datetime, int]], list[tuple]]:
    """Everything released about these years: each publication's time and --top, and its cells as
    tuples of (publication_id, table_name, row_position, column_position, cell, year,
    data_fingerprint, value, suppressed), oldest publication first, table by table."""
    listed = sorted({int(year) for year in years})
    about = select(published_cells.c.publication_id).where(published_cells.c.year.in_(listed))
    meta = connection.execute(
        select(publications.c.publication_id, publications.c.published_at, publications.c.top).where(
            publications.c.publication_id.in_(about)
        )
    )
    found = {publication: (published_at, top) for publication, published_at, top in meta}
    # Many thousand rows per report: straight from the driver, without building a result row each.
    columns = ", ".join(("publication_id", *CELL_COLUMNS))
    years_listed = ", ".join(str(year) for year in listed)
    cells = connection.exec_driver_sql(
        f"SELECT {columns} FROM published_cells WHERE year IN ({years_listed}) ORDER BY publication_id, table_name"
    ).fetchall()
    return found, cells


def list_publications(connection: Connection, year: int | None = None) -> list[dict]:
    """What went out, newest first."""
    query = select(publications).order_by(publications.c.publication_id.desc())
    if year is not None:
        query = query.where(publications.c.year == year)
    return [dict(row) for row in connection.execute(query).mappings()]
