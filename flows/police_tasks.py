"""Tasks that take one police feed file from disk to the warehouse, part by part.

A file is verified first (manifest, record count, repeated ids), then read, validated and
pseudonymised one part at a time (`Preparer`), and its parts loaded inside a single transaction,
so a file larger than memory loads with bounded memory and still completely or not at all. The
nightly flow has the next part prepared in a second process while one loads (`flows.ahead`).
Parts of personal data pass between the stages in memory only: no task caches or persists its
result (Prefect would write it unencrypted under its home folder), and task parameters are not
stored by Prefect.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Protocol

import pandas as pd
from prefect import Task, task
from prefect.cache_policies import NO_CACHE

from config.settings import current
from connectors.files import FileRejected
from connectors.police import SOURCE, PoliceFile, read_police_file
from flows.errors import value_free_errors
from flows.faults import crash_point
from flows.identities import batch_identities
from flows.resources import configured_key, warehouse_engine
from flows.retries import LOAD_RETRIES
from flows.stage_clock import StageClock
from pseudonyms.person_identities import PersonIdentities
from pseudonyms.pseudonymise import to_registrations
from schemas.canonical import record_schema, registration_schema
from schemas.codelists.matching import police_unit_list
from schemas.coding import code_records
from schemas.police import FIELD_COLUMNS, FRAME_CHECK_COLUMNS, PoliceRecord, repeated_id_failures, to_canonical
from schemas.rules import police_fingerprint
from schemas.validation import SchemaViolation, split_valid
from vault.quarantine_seal import seal_values
from warehouse.ledger import BatchRecord
from warehouse.load import LoadOutcome, loading

SOURCE_KIND = "police"
_IN_MEMORY_ONLY = {"cache_policy": NO_CACHE, "persist_result": False}


@dataclass(frozen=True, repr=False)  # holds personal data: never shown in a log or traceback
class ValidatedFile:
    """Valid canonical records of one part of a file, and value-free quarantine entries for the rest."""

    records: pd.DataFrame
    # row_number (in the file), column_name, rule, source_record_id, severity (error | warning) and
    # value: the text no code list knew, for warnings (sealed before the part leaves `Preparer`);
    # errors stay value-free.
    quarantined: pd.DataFrame
    rows_in: int  # rows of the part
    exported_at: str | None


def _utc_text(timestamp: str | None) -> str | None:
    """The manifest's export time in UTC, so that text comparison orders deliveries correctly."""
    parsed = pd.to_datetime(timestamp, utc=True, errors="coerce") if timestamp else pd.NaT
    return None if pd.isna(parsed) else parsed.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


@task(name="read_feed", **_IN_MEMORY_ONLY)
def read_feed(path: str, sha256: str) -> PoliceFile:
    with value_free_errors("read"):
        settings = current()
        return read_police_file(Path(path), sha256, settings.max_file_bytes, settings.part_bytes)


@task(name="validate", **_IN_MEMORY_ONLY)
def validate(raw: pd.DataFrame, feed: PoliceFile) -> ValidatedFile:
    """Validate one part of `feed`: valid canonical records and value-free quarantine entries."""
    with value_free_errors("validate"):
        raw_split = split_valid(raw, PoliceRecord.to_schema(), FRAME_CHECK_COLUMNS)
        repeated = repeated_id_failures(raw, feed.duplicate_ids)
        coded = code_records(to_canonical(raw_split.valid.drop(index=repeated["row"], errors="ignore")), police_unit_list())
        canonical_split = split_valid(coded.records, record_schema())
        failures = pd.concat([raw_split.failures, repeated, canonical_split.failures], ignore_index=True).drop_duplicates()
        # Warnings of the rows that load; a quarantined row is the steward's already.
        warnings = coded.warnings[coded.warnings["row"].isin(canonical_split.valid.index)]
        quarantined = pd.concat(
            [
                pd.DataFrame(
                    {
                        "row_number": failures["row"].to_numpy() + 1,
                        "column_name": failures["column"].to_numpy(),
                        "rule": failures["rule"].to_numpy(),
                        "source_record_id": raw["registratie_id"].reindex(failures["row"]).to_numpy(),
                        "severity": "error",
                        "value": None,
                    }
                ),
                pd.DataFrame(
                    {
                        "row_number": warnings["row"].to_numpy() + 1,
                        "column_name": warnings["field"].map(FIELD_COLUMNS).to_numpy(),
                        "rule": warnings["rule"].to_numpy(),
                        "source_record_id": raw["registratie_id"].reindex(warnings["row"]).to_numpy(),
                        "severity": "warning",
                        "value": warnings["value"].to_numpy(),
                    }
                ),
            ],
            ignore_index=True,
        )
        return ValidatedFile(canonical_split.valid, quarantined, len(raw), _utc_text(feed.exported_at))


def seal_warnings(quarantined: pd.DataFrame, batch_id: str) -> pd.DataFrame:
    """The part's entries with the warnings' text sealed under the vault key (read only when there
    is text to seal); the clear `value` column goes."""
    if quarantined["value"].notna().any():
        return seal_values(quarantined, batch_id, configured_key("vault").material)
    return quarantined.drop(columns="value")


@task(name="pseudonymise", **_IN_MEMORY_ONLY)
def pseudonymise(validated: ValidatedFile, batch_id: str) -> pd.DataFrame:
    with value_free_errors("pseudonymise"):
        key = configured_key("pseudonym")
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


@dataclass(frozen=True, repr=False)  # holds personal data: never shown in a log or traceback
class PreparedPart:
    """One part of a file, ready for the warehouse: its rows, quarantine entries and linkage input."""

    registrations: pd.DataFrame
    quarantined: pd.DataFrame
    identities: PersonIdentities


@dataclass(frozen=True)
class FeedJob:
    """A police feed file to prepare, and the batch its rows belong to."""

    path: str
    sha256: str
    batch_id: str


@dataclass(frozen=True, repr=False)  # holds personal data: never shown in a log or traceback
class Prepared:
    """Part `number` of a file, prepared; `part` is None past the file's last part."""

    part: PreparedPart | None
    last: bool  # no part follows
    record_count: int  # records in the whole file
    seconds: dict[str, float]  # stage times spent preparing it


class PartSupply(Protocol):
    """Where the load task takes a file's prepared parts from, in order."""

    def prepared(self, job: FeedJob, clock: StageClock) -> Iterator[Prepared]: ...


class Preparer:
    """Reads, validates and pseudonymises parts of feed files in the order they are asked for,
    keeping the file being read open. No database is needed for any of it.

    In the flow's own process the stages run as Prefect tasks; in a helper process (flows.ahead)
    as plain functions, since there is no flow run there, and without crash points: the flow's
    process meets those when it takes the part.
    """

    def __init__(self, *, in_flow: bool = True) -> None:
        self._in_flow = in_flow
        self._job: FeedJob | None = None
        self._feed: PoliceFile | None = None
        self._parts: Iterator[pd.DataFrame] = iter(())
        self._next = 0  # number of the part `_parts` yields next

    def _stage(self, task_function: Task[..., Any], *arguments: Any) -> Any:
        return task_function(*arguments) if self._in_flow else task_function.fn(*arguments)

    def _crash_point(self, stage: str) -> None:
        if self._in_flow:
            crash_point(stage)

    def prepare(self, job: FeedJob, number: int, clock: StageClock) -> Prepared:
        """Part `number` (from 0) of `job`'s file. Reopens the file when asked for another file or
        for an earlier part (a retried load starts over); skips parts prepared elsewhere."""
        if job != self._job or number < self._next:
            self._job = None  # stays closed if the file is rejected
            with clock("read"):
                self._feed = self._stage(read_feed, job.path, job.sha256)
            self._job, self._parts, self._next = job, self._feed.parts(), 0
        feed = self._feed
        if number >= feed.part_count:
            return Prepared(None, True, feed.record_count, clock.seconds)
        with clock("read"), value_free_errors("read"):
            while self._next <= number:
                raw = next(self._parts, None)
                if raw is None:
                    raise FileRejected("the file changed while being read")
                self._next += 1
            last = number + 1 == feed.part_count
            if last and next(self._parts, None) is not None:  # also runs the file's final record count check
                raise FileRejected("the file changed while being read")
        with clock("validate"):
            self._crash_point("validate")
            validated = self._stage(validate, raw, feed)
        with clock("pseudonymise"):
            self._crash_point("pseudonymise")
            registrations = self._stage(pseudonymise, validated, job.batch_id)
            with value_free_errors("pseudonymise"):
                identities = batch_identities(validated.records, registrations["registration_id"])
                # Sealed here, so that the text of a warning never crosses to the loading process.
                quarantined = seal_warnings(validated.quarantined, job.batch_id)
        return Prepared(PreparedPart(registrations, quarantined, identities), last, feed.record_count, clock.seconds)

    def prepared(self, job: FeedJob, clock: StageClock) -> Iterator[Prepared]:
        """Every part of `job`'s file, prepared here one after the other (a `PartSupply`)."""
        number = 0
        while True:
            prepared = self.prepare(job, number, clock)
            last = prepared.last
            yield prepared
            del prepared  # loaded: not held while the next part is prepared
            if last:
                return
            number += 1


@task(name="load_feed", **LOAD_RETRIES, **_IN_MEMORY_ONLY)
def load(batch: BatchRecord, job: FeedJob, supply: PartSupply, clock: StageClock) -> LoadOutcome:
    """Load every part of the file in one transaction (retried whole), as `supply` prepares them.

    Not in a second thread of this process: preparing the next part in a thread while one loads
    made the load slower, not faster (every row sqlite3 inserts releases and retakes the GIL, and
    waits for it while another thread runs Python: 250,000 rows took 2.8-10 s, not 0.7 s). The
    nightly flow's supply prepares it in a second process instead (flows.ahead)."""
    settings = current()
    with value_free_errors("load"):
        with loading(
            warehouse_engine(),
            batch,
            lock_timeout_seconds=settings.lock_timeout_s,
            before_commit=lambda: crash_point("load-transaction"),
            max_person_registrations=settings.max_person_registrations,
        ) as transaction:
            rows_in = 0
            for prepared in supply.prepared(job, clock):
                rows_in = prepared.record_count
                if prepared.part is not None:
                    with clock("load"):
                        transaction.add(prepared.part.registrations, prepared.part.quarantined, prepared.part.identities)
                del prepared  # loaded: not held while the next part is taken
            return transaction.finish(rows_in)


def ingest_police_file(path: str, batch: BatchRecord, clock: StageClock, supply: PartSupply | None = None) -> LoadOutcome:
    """Verify one feed file, then load it part by part; `clock` times each stage. Without a
    `supply`, the parts are prepared here, one after the other."""
    # The ledger remembers the rules, so that `status` can tell when a replay may load more.
    batch = replace(batch, rules_fingerprint=police_fingerprint())
    return load(batch, FeedJob(path, batch.file_sha256, batch.batch_id), supply or Preparer(), clock)
