"""Load one file's rows, quarantine entries and ledger entry in a single transaction.

On PostgreSQL the batch is COPYed into a temporary table and merged into `registrations` with one
upsert; on SQLite one executemany runs the upsert. Either way a file is in the warehouse
completely or not at all.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import pandas as pd
from sqlalchemy import Connection, Engine, exc, text

from pseudonyms.person_identities import PersonIdentities
from schemas.canonical import REGISTRATION_COLUMNS
from warehouse.bulk import bulk_insert, copy_rows, execute_rows
from warehouse.ledger import BatchRecord, insert_batch
from warehouse.locks import lock_source
from warehouse.marts import mark_all_stale
from warehouse.persons import assign_persons, forget_source

QUARANTINE_COLUMNS = ("batch_id", "row_number", "column_name", "rule", "source_record_id")
# Loaded when the entries carry them: the offending value, sealed under the vault key.
OPTIONAL_QUARANTINE_COLUMNS = ("sealed_value",)
_COLUMNS = [spec.name for spec in REGISTRATION_COLUMNS]
_STAGE = "stage_registrations"


class AlreadyLoaded(Exception):
    """Another run loaded the same file content first; nothing was written."""


class CountMismatch(Exception):
    """Rows in differ from rows loaded plus rows quarantined: refuse rather than lose a row."""


@dataclass(frozen=True)
class LoadOutcome:
    rows_in: int
    rows_loaded: int
    rows_new: int
    rows_quarantined: int


_UPSERT = (
    "ON CONFLICT (registration_id) DO UPDATE SET "
    + ", ".join(f"{name} = excluded.{name}" for name in _COLUMNS if name != "registration_id")
    # A delivery exported earlier than the stored row never overwrites it, whatever order files
    # arrive in.
    + " WHERE coalesce(excluded.source_exported_at, '') >= coalesce(registrations.source_exported_at, '')"
)


def _upsert_postgresql(connection: Connection, registrations: pd.DataFrame) -> int:
    """COPY into a staging table, then one merge; returns how many rows were new."""
    columns = ", ".join(_COLUMNS)
    connection.execute(text(f"CREATE TEMPORARY TABLE {_STAGE} (LIKE registrations) ON COMMIT DROP"))
    copy_rows(connection, _STAGE, registrations[_COLUMNS])
    existing = connection.execute(
        text(f"SELECT count(*) FROM {_STAGE} s JOIN registrations r ON r.registration_id = s.registration_id")
    ).scalar_one()
    connection.execute(text(f"INSERT INTO registrations ({columns}) SELECT {columns} FROM {_STAGE} {_UPSERT}"))
    return len(registrations) - existing


def _upsert_sqlite(connection: Connection, registrations: pd.DataFrame) -> int:
    """One executemany of the upsert (a staging table would only copy the rows twice).

    The transaction already holds SQLite's single write lock (the ledger row came first), so the
    row count before and after tells exactly how many rows were new.
    """
    count = text("SELECT count(*) FROM registrations")
    before = connection.execute(count).scalar_one()
    placeholders = ", ".join("?" for _ in _COLUMNS)
    execute_rows(
        connection,
        f"INSERT INTO registrations ({', '.join(_COLUMNS)}) VALUES ({placeholders}) {_UPSERT}",
        registrations[_COLUMNS],
    )
    return connection.execute(count).scalar_one() - before


def _replace_source(connection: Connection, source: str, registrations: pd.DataFrame) -> int:
    """Delete every registration `source` delivered before (a snapshot replaces them all); return
    how many of the batch's registrations were among them, so the rest count as new."""
    previous = text("SELECT registration_id FROM registrations WHERE source = :source")
    known = {row[0] for row in connection.execute(previous, {"source": source})}
    connection.execute(text("DELETE FROM registrations WHERE source = :source"), {"source": source})
    return int(registrations["registration_id"].isin(known).sum())


def load_batch(
    engine: Engine,
    batch: BatchRecord,
    registrations: pd.DataFrame,
    quarantined: pd.DataFrame,
    rows_in: int,
    *,
    replace_source: str | None = None,
    lock_timeout_seconds: float = 300,
    before_commit: Callable[[], None] | None = None,
    identities: PersonIdentities | None = None,
) -> LoadOutcome:
    """Commit the batch's registrations, quarantine entries and `loaded` ledger entry together.

    `replace_source` (a snapshot delivery) first deletes every registration that source delivered
    before (with their vault entries and name encodings), in the same transaction, so the
    warehouse holds exactly the latest snapshot. Loads of the same source are serialised
    (`warehouse.locks`), so two runs never interleave a source's updates. `before_commit` runs last inside the transaction (fault-injection tests).

    With `identities`, the rows' `person_id` is resolved by linkage with the persons already known
    and their identifying fields go sealed into the vault, in the same transaction; without, the
    rows keep the `person_id` they carry (sources without identifying fields).
    """
    rows_quarantined = int(quarantined["row_number"].nunique()) if len(quarantined) else 0
    if len(registrations) + rows_quarantined != rows_in:
        raise CountMismatch(
            f"{rows_in} rows in, but {len(registrations)} to load and {rows_quarantined} quarantined"
        )
    try:
        with engine.begin() as connection:
            lock_source(connection, batch.source, lock_timeout_seconds)
            # The ledger row goes first: its unique index makes a concurrent load of the same file
            # wait here and then fail, before either writes a registration.
            insert_batch(
                connection,
                batch,
                "loaded",
                rows_in=rows_in,
                rows_loaded=len(registrations),
                rows_quarantined=rows_quarantined,
            )
            if replace_source:
                forget_source(connection, replace_source)
            replaced = _replace_source(connection, replace_source, registrations) if replace_source else None
            if identities is not None:
                registrations = assign_persons(connection, identities, registrations)
            upsert = _upsert_postgresql if connection.dialect.name == "postgresql" else _upsert_sqlite
            rows_new = upsert(connection, registrations) if len(registrations) else 0
            if replaced is not None:
                rows_new = len(registrations) - replaced
            quarantine_columns = [*QUARANTINE_COLUMNS, *(c for c in OPTIONAL_QUARANTINE_COLUMNS if c in quarantined)]
            bulk_insert(connection, "quarantine", quarantined.assign(batch_id=batch.batch_id)[quarantine_columns])
            # Recomputed after the run (or by the next reader). Every year, not only the batch's:
            # linking may have merged persons whose registrations lie in other years.
            mark_all_stale(connection)
            if before_commit is not None:
                before_commit()
    except exc.IntegrityError as error:
        if "uq_ingest_batches_loaded_file" in str(error.orig) or "ingest_batches.file_sha256" in str(error.orig):
            raise AlreadyLoaded(f"{batch.file_name} was loaded by another run meanwhile") from None
        raise
    return LoadOutcome(rows_in, len(registrations), rows_new, rows_quarantined)
