"""Tasks that take one police feed file from disk to the warehouse, part by part.

A file is verified first (manifest, record count, repeated ids), then read, validated,
pseudonymised and loaded one part at a time inside a single transaction, so a file larger than
memory loads with bounded memory and still completely or not at all. The tasks pass DataFrames of personal data to each other in memory only: no task caches or persists
its result (Prefect would write it unencrypted under its home folder), and task parameters are
not stored by Prefect.
"""

from __future__ import annotations

from collections.abc import Callable, Generator
from contextlib import AbstractContextManager
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
from prefect import task
from prefect.cache_policies import NO_CACHE

from connectors.police import SOURCE, PoliceFile, read_police_file
from flows.errors import value_free_errors
from flows.faults import crash_point
from flows.identities import batch_identities
from flows.retries import LOAD_RETRIES
from pseudonyms.keys import load_key
from pseudonyms.person_identities import PersonIdentities
from pseudonyms.pseudonymise import to_registrations
from schemas.canonical import record_schema, registration_schema
from schemas.police import FRAME_CHECK_COLUMNS, PoliceRecord, repeated_id_failures, to_canonical
from schemas.validation import SchemaViolation, split_valid
from victim_intake import settings
from warehouse.database import shared_engine
from warehouse.ledger import BatchRecord
from warehouse.load import LoadOutcome, loading

SOURCE_KIND = "police"
Clock = Callable[[str], AbstractContextManager[None]]  # times a stage (flows.nightly.StageClock)
_IN_MEMORY_ONLY = {"cache_policy": NO_CACHE, "persist_result": False}


@dataclass(frozen=True)
class ValidatedFile:
    """Valid canonical records of one part of a file, and value-free quarantine entries for the rest."""

    records: pd.DataFrame
    quarantined: pd.DataFrame  # row_number (in the file), column_name, rule, source_record_id
    rows_in: int  # rows of the part
    exported_at: str | None


def _utc_text(timestamp: str | None) -> str | None:
    """The manifest's export time in UTC, so that text comparison orders deliveries correctly."""
    parsed = pd.to_datetime(timestamp, utc=True, errors="coerce") if timestamp else pd.NaT
    return None if pd.isna(parsed) else parsed.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


@task(name="read_feed", **_IN_MEMORY_ONLY)
def read_feed(path: str, sha256: str) -> PoliceFile:
    with value_free_errors("read"):
        return read_police_file(Path(path), sha256, settings.max_file_bytes(), settings.part_bytes())


@task(name="validate", **_IN_MEMORY_ONLY)
def validate(raw: pd.DataFrame, feed: PoliceFile) -> ValidatedFile:
    """Validate one part of `feed`: valid canonical records and value-free quarantine entries."""
    with value_free_errors("validate"):
        raw_split = split_valid(raw, PoliceRecord.to_schema(), FRAME_CHECK_COLUMNS)
        repeated = repeated_id_failures(raw, feed.duplicate_ids)
        canonical_split = split_valid(to_canonical(raw_split.valid.drop(index=repeated["row"], errors="ignore")), record_schema())
        failures = pd.concat([raw_split.failures, repeated, canonical_split.failures], ignore_index=True).drop_duplicates()
        quarantined = pd.DataFrame(
            {
                "row_number": failures["row"].to_numpy() + 1,
                "column_name": failures["column"].to_numpy(),
                "rule": failures["rule"].to_numpy(),
                "source_record_id": raw["registratie_id"].reindex(failures["row"]).to_numpy(),
            }
        )
        return ValidatedFile(canonical_split.valid, quarantined, len(raw), _utc_text(feed.exported_at))


@task(name="pseudonymise", **_IN_MEMORY_ONLY)
def pseudonymise(validated: ValidatedFile, batch_id: str) -> pd.DataFrame:
    with value_free_errors("pseudonymise"):
        key = load_key("pseudonym", settings.keys_dir())
        registrations = to_registrations(
            validated.records,
            source=SOURCE,
            source_kind=SOURCE_KIND,
            key=key.material,
            batch_id=batch_id,
            exported_at=validated.exported_at,
        )
        # Last gate before the warehouse: exactly the published columns, with canonical values.
        if split_valid(registrations, registration_schema()).failures.shape[0]:
            raise SchemaViolation("pseudonymised rows break the registration contract (a bug: report it)")
        return registrations


@dataclass(frozen=True)
class PreparedPart:
    """One part of a file, ready for the warehouse: its rows, quarantine entries and linkage input."""

    registrations: pd.DataFrame
    quarantined: pd.DataFrame
    identities: PersonIdentities


def prepared_parts(feed: PoliceFile, batch: BatchRecord, clock: Clock) -> Generator[PreparedPart, None, None]:
    """Read, validate and pseudonymise each part of `feed`; no database is needed for any of it."""
    parts = feed.parts()
    while True:
        with clock("read"):
            raw = next(parts, None)
        if raw is None:
            return
        with clock("validate"):
            crash_point("validate")
            validated = validate(raw, feed)
        with clock("pseudonymise"):
            crash_point("pseudonymise")
            registrations = pseudonymise(validated, batch.batch_id)
            identities = batch_identities(validated.records, registrations["registration_id"])
        yield PreparedPart(registrations, validated.quarantined, identities)


@task(name="load_feed", **LOAD_RETRIES, **_IN_MEMORY_ONLY)
def load(batch: BatchRecord, feed: PoliceFile, clock: Clock) -> LoadOutcome:
    """Validate, pseudonymise and load every part of `feed` in one transaction (retried whole).

    One part after the other, in this thread: preparing the next part in a second thread while
    one loads made the load slower, not faster (every row sqlite3 inserts releases and retakes the
    GIL, and waits for it while another thread runs Python: 250,000 rows took 2.8-10 s, not 0.7 s)."""
    with value_free_errors("load"):
        with loading(
            shared_engine(settings.database_url()),
            batch,
            lock_timeout_seconds=settings.lock_timeout_seconds(),
            before_commit=lambda: crash_point("load-transaction"),
        ) as transaction:
            for part in prepared_parts(feed, batch, clock):
                with clock("load"):
                    transaction.add(part.registrations, part.quarantined, part.identities)
            return transaction.finish(feed.record_count)


def ingest_police_file(path: str, batch: BatchRecord, clock: Clock) -> LoadOutcome:
    """Verify one feed file, then load it part by part; `clock` times each stage."""
    with clock("read"):
        feed = read_feed(path, batch.file_sha256)
    return load(batch, feed, clock)
