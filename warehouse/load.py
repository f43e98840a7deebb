"""Load one file's rows, quarantine entries and ledger entry in a single transaction.

On PostgreSQL the batch is COPYed into a temporary table and merged into `registrations` with one
upsert; on SQLite one executemany runs the upsert. Either way a file is in the warehouse
completely or not at all.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import pandas as pd
from sqlalchemy import Connection, Engine, exc, text

from linkage.known_encodings import ReachedEncodings
from linkage.persons import assign_persons, forget_source
from linkage.resolution import DEFAULT_MAX_PERSON_REGISTRATIONS
from pseudonyms.person_identities import PersonIdentities
from schemas.canonical import REGISTRATION_COLUMNS
from store.bulk import bulk_insert, copy_rows, execute_rows
from store.locks import bound_lock_waits, lock_loads
from store.qualified import drop_temporary_table
from warehouse.ledger import BatchRecord, insert_batch, record_counts
from warehouse.marts import mark_all_stale

QUARANTINE_COLUMNS = ("batch_id", "row_number", "column_name", "rule", "source_record_id", "severity")
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
    # Rows not applied: the warehouse holds them from a later export (a correction older than it).
    rows_ignored_older: int = 0
    rows_kept_apart: int = 0  # not linked by name: the person would have passed the bound
    rows_warned: int = 0  # loaded rows with a warning: counted apart, they are also in rows_loaded


@dataclass(frozen=True)
class Upserted:
    """What one upsert did: rows new to the warehouse, and rows left as they were because the
    stored row came from a later export."""

    new: int
    ignored_older: int


_UPSERT = (
    "ON CONFLICT (registration_id) DO UPDATE SET "
    + ", ".join(f"{name} = excluded.{name}" for name in _COLUMNS if name != "registration_id")
    # A delivery exported earlier than the stored row never overwrites it, whatever order files
    # arrive in.
    + " WHERE coalesce(excluded.source_exported_at, '') >= coalesce(registrations.source_exported_at, '')"
)


def _upsert_postgresql(connection: Connection, registrations: pd.DataFrame) -> Upserted:
    """COPY into a staging table, then one merge."""
    columns = ", ".join(_COLUMNS)
    connection.execute(text(f"CREATE TEMPORARY TABLE {_STAGE} (LIKE registrations) ON COMMIT DROP"))
    copy_rows(connection, _STAGE, registrations[_COLUMNS])
    existing = connection.execute(
        text(f"SELECT count(*) FROM {_STAGE} s JOIN registrations r ON r.registration_id = s.registration_id")
    ).scalar_one()
    # Rows inserted plus rows updated; the rest met a stored row from a later export.
    changed = connection.execute(text(f"INSERT INTO registrations ({columns}) SELECT {columns} FROM {_STAGE} {_UPSERT}")).rowcount
    drop_temporary_table(connection, _STAGE)
    return Upserted(len(registrations) - existing, len(registrations) - changed)


def _upsert_sqlite(connection: Connection, registrations: pd.DataFrame) -> Upserted:
    """One executemany of the upsert (a staging table would only copy the rows twice).

    The transaction already holds SQLite's single write lock (the ledger row came first), so the
    row count before and after tells exactly how many rows were new.
    """
    count = text("SELECT count(*) FROM registrations")
    before = connection.execute(count).scalar_one()
    placeholders = ", ".join("?" for _ in _COLUMNS)
    changed = execute_rows(
        connection,
        f"INSERT INTO registrations ({', '.join(_COLUMNS)}) VALUES ({placeholders}) {_UPSERT}",
        registrations[_COLUMNS],
    )
    return Upserted(connection.execute(count).scalar_one() - before, len(registrations) - changed)


def _replace_source(connection: Connection, source: str) -> set[str]:
    """Delete every registration `source` delivered before (a snapshot replaces them all); return
    their ids, so that the batch's rows among them do not count as new."""
    previous = text("SELECT registration_id FROM registrations WHERE source = :source")
    known = {row[0] for row in connection.execute(previous, {"source": source})}
    connection.execute(text("DELETE FROM registrations WHERE source = :source"), {"source": source})
    return known


class BatchLoad:
    """One file's open load transaction: its rows arrive in one or more parts (chunks of a file
    larger than memory), and are committed together or not at all."""

    def __init__(self, connection: Connection, batch_id: str, replaced: set[str] | None, max_person_registrations: int | None) -> None:
        self._connection = connection
        self._batch_id = batch_id
        self._replaced = replaced
        self._bound = max_person_registrations
        self._loaded = self._new = self._quarantined = self._ignored_older = self._kept_apart = self._warned = 0
        # The stored encodings the parts reached: each birth key read once per load, not once a part.
        self._reached = ReachedEncodings()
        self.outcome: LoadOutcome | None = None

    @property
    def connection(self) -> Connection:
        """The load's transaction, for writes that must commit with it (a replay's takeover)."""
        return self._connection

    def count_ignored(self, rows: int) -> None:
        """Count rows that pass but are not written: the warehouse holds them from a later delivery."""
        self._loaded += rows
        self._ignored_older += rows

    def add(self, registrations: pd.DataFrame, quarantined: pd.DataFrame, identities: PersonIdentities | None = None) -> None:
        """Load one part: link its persons (with `identities`), upsert its registrations and record
        its quarantine entries. Later parts see the links and encodings of earlier ones."""
        connection = self._connection
        # Linkage crosses sources: from here to the commit, one load at a time (store.locks).
        lock_loads(connection)
        if identities is not None:
            registrations, resolution = assign_persons(connection, identities, registrations, self._bound, self._reached)
            self._kept_apart += resolution.kept_apart
        upsert = _upsert_postgresql if connection.dialect.name == "postgresql" else _upsert_sqlite
        # In key order, the primary key index is filled page by page rather than at random.
        upserted = upsert(connection, registrations.sort_values("registration_id")) if len(registrations) else Upserted(0, 0)
        rows_new = upserted.new
        if self._replaced is not None:
            rows_new = int((~registrations["registration_id"].isin(self._replaced)).sum())
        if "severity" not in quarantined:
            quarantined = quarantined.assign(severity="error")
        quarantine_columns = [*QUARANTINE_COLUMNS, *(c for c in OPTIONAL_QUARANTINE_COLUMNS if c in quarantined)]
        bulk_insert(connection, "quarantine", quarantined.assign(batch_id=self._batch_id)[quarantine_columns])
        self._loaded += len(registrations)
        self._new += rows_new
        self._ignored_older += upserted.ignored_older
        # Parts never share a row, so distinct rows per part add up. Errors hold a row back;
        # warnings are about rows that loaded, so they are counted apart.
        errors = quarantined["severity"].eq("error")
        self._quarantined += int(quarantined.loc[errors, "row_number"].nunique())
        self._warned += int(quarantined.loc[~errors, "row_number"].nunique())

    def finish(self, rows_in: int) -> LoadOutcome:
        """Check that every row is loaded or quarantined and record the counts in the ledger."""
        if self._loaded + self._quarantined != rows_in:
            raise CountMismatch(f"{rows_in} rows in, but {self._loaded} to load and {self._quarantined} quarantined")
        lock_loads(self._connection)
        record_counts(
            self._connection,
            self._batch_id,
            rows_in=rows_in,
            rows_loaded=self._loaded,
            rows_quarantined=self._quarantined,
            rows_ignored_older=self._ignored_older,
            rows_kept_apart=self._kept_apart,
            rows_warned=self._warned,
        )
        # Recomputed after the run (or by the next reader). Every year, not only the batch's:
        # linking may have merged persons whose registrations lie in other years.
        mark_all_stale(self._connection)
        self.outcome = LoadOutcome(
            rows_in, self._loaded, self._new, self._quarantined, self._ignored_older, self._kept_apart, self._warned
        )
        return self.outcome


@contextmanager
def loading(
    engine: Engine,
    batch: BatchRecord,
    *,
    replace_source: str | None = None,
    lock_timeout_seconds: float = 300,
    before_commit: Callable[[], None] | None = None,
    max_person_registrations: int | None = DEFAULT_MAX_PERSON_REGISTRATIONS,
) -> Iterator[BatchLoad]:
    """The transaction of one file: its `loaded` ledger entry, its registrations and quarantine.

    The caller adds the file's parts and calls `finish`; nothing is committed unless it does.
    `replace_source` (a snapshot delivery) first deletes every registration that source delivered
    before (with their vault entries and name encodings), in the same transaction, so the
    warehouse holds exactly the latest snapshot. Every load's linkage and writing, from its first
    part to its commit, is serialised across sources (`store.locks`): linkage crosses sources.
    `before_commit` runs last inside the transaction (fault-injection tests).
    `max_person_registrations` bounds a person's registrations through name links (`linkage.components`).
    """
    try:
        with engine.begin() as connection:
            bound_lock_waits(connection, lock_timeout_seconds)
            # The ledger row goes first: its unique index makes a concurrent load of the same file
            # wait here and then fail, before either writes a registration. The load lock comes
            # later (`BatchLoad.add`), so other files are read and validated meanwhile.
            insert_batch(connection, batch, "loaded")
            replaced = None
            if replace_source:
                # The deletions touch rows that another source's linkage may merge.
                lock_loads(connection)
                forget_source(connection, replace_source)
                replaced = _replace_source(connection, replace_source)
            load = BatchLoad(connection, batch.batch_id, replaced, max_person_registrations)
            yield load
            if load.outcome is None:
                raise CountMismatch("the load ended before every row was counted; nothing was committed")
            if before_commit is not None:
                before_commit()
    except exc.IntegrityError as error:
        if "uq_ingest_batches_loaded_file" in str(error.orig) or "ingest_batches.file_sha256" in str(error.orig):
            raise AlreadyLoaded("its content was loaded by another run meanwhile") from None
        raise

