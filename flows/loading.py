"""Prepare, then load: a file's parts are prepared (read, validated, pseudonymised) before its load
transaction begins, and the transaction holds nothing but linkage against the known persons and
the writes.

The parts wait for the load in the run's spool (`sources.spool`), encrypted, so a file larger than
memory still loads completely or not at all. Here, in the flow's process, every part of a file is
prepared before the transaction opens (`LocalSupply`); the nightly flow may have a second process
prepare them ahead (`flows.ahead`), and then the transaction opens once the first part is ready.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, replace
from typing import Protocol

from prefect import task

from config.settings import current
from flows.errors import value_free_errors
from flows.faults import crash_point
from flows.resources import warehouse_engine
from flows.retries import LOAD_RETRIES
from flows.stage_clock import StageClock
from flows.stages import IN_MEMORY_ONLY, FileJob, PartNotice, Preparer, source_of
from sources.prepare import PreparedPart
from sources.spool import Spool
from warehouse.ledger import BatchRecord
from warehouse.load import LoadOutcome, loading


@dataclass(frozen=True, repr=False)  # holds personal data: never shown in a log or traceback
class Prepared:
    """A prepared part and what the load needs to know of it; `part` is None past the last part."""

    notice: PartNotice
    part: PreparedPart | None


def spooled_name(batch_id: str, number: int) -> str:
    """A part's name in the spool: its batch and number, nothing a source wrote."""
    return f"{batch_id}-{number}"


class PartSupply(Protocol):
    """Where the load task takes a file's prepared parts from, in order."""

    def prepared(self, job: FileJob, clock: StageClock) -> Iterator[Prepared]: ...

    def release(self, job: FileJob) -> None:
        """The file's load is over (committed or failed for good): its parts are not needed again."""


class LocalSupply:
    """Prepares every part of a file in this process, into the spool, before handing out the first
    (`PartSupply`). A retried load takes the parts from the spool again."""

    def __init__(self, spool: Spool) -> None:
        self._spool = spool
        self._preparer = Preparer()
        self._notices: dict[FileJob, list[PartNotice]] = {}

    def spool_file(self, job: FileJob, clock: StageClock, start: int = 0) -> list[PartNotice]:
        """Prepare parts `start`... of the file into the spool; their notices. When a part cannot
        be prepared, the parts spooled before it are removed: the file's load cannot take them."""
        notices: list[PartNotice] = []
        number = start
        try:
            while True:
                notice, part = self._preparer.prepare(job, number, clock)
                if part is not None:
                    self._spool.put(spooled_name(job.batch_id, number), part)
                del part  # on disk now: not held while the next part is prepared
                notices.append(notice)
                if notice.last:
                    return notices
                number += 1
        except BaseException:
            for spooled in range(start, number):
                self._spool.drop(spooled_name(job.batch_id, spooled))
            raise

    def take(self, job: FileJob, notice: PartNotice) -> Prepared:
        part = self._spool.take(spooled_name(job.batch_id, notice.number)) if notice.has_rows else None
        return Prepared(notice, part)  # type: ignore[arg-type]

    def prepared(self, job: FileJob, clock: StageClock) -> Iterator[Prepared]:
        if job not in self._notices:
            self._notices[job] = self.spool_file(job, clock)
        for notice in self._notices[job]:
            yield self.take(job, notice)

    def release(self, job: FileJob) -> None:
        for notice in self._notices.pop(job, []):
            self._spool.drop(spooled_name(job.batch_id, notice.number))


@dataclass(frozen=True)
class Loaded:
    """A file's load: its outcome and the notes about its layout."""

    outcome: LoadOutcome
    notes: tuple[str, ...]


@task(name="load", **LOAD_RETRIES, **IN_MEMORY_ONLY)
def load(batch: BatchRecord, job: FileJob, supply: PartSupply, clock: StageClock) -> Loaded:
    """Load every part of the file in one transaction (retried whole), opened once the first part
    is prepared.

    Not prepared in a second thread of this process: that made the load slower, not faster (every
    row sqlite3 inserts releases and retakes the GIL, and waits for it while another thread runs
    Python: 250,000 rows took 2.8-10 s, not 0.7 s). A second process prepares ahead instead."""
    settings = current()
    with value_free_errors("definition"):
        source = source_of(job.source)
    # The ledger remembers the rules, so that `status` can tell when a replay may load more.
    batch = replace(batch, rules_fingerprint=source.rules_fingerprint())
    with value_free_errors("load"):
        parts = supply.prepared(job, clock)
        first = next(parts)
        with loading(
            warehouse_engine(),
            batch,
            replace_source=source.id if source.snapshot else None,
            lock_timeout_seconds=settings.lock_timeout_s,
            before_commit=lambda: crash_point("load-transaction"),
            max_person_registrations=settings.max_person_registrations,
        ) as transaction:
            prepared: Prepared | None = first
            del first
            while prepared is not None:
                if prepared.part is not None:
                    with clock("load"):
                        transaction.add(prepared.part.registrations, prepared.part.quarantined, prepared.part.identities)
                notice = prepared.notice
                del prepared  # loaded: not held while the next part is taken
                prepared = next(parts, None)
            return Loaded(transaction.finish(notice.record_count), notice.notes)


def ingest_file_parts(job: FileJob, batch: BatchRecord, supply: PartSupply, clock: StageClock) -> Loaded:
    """Prepare and load one file; `clock` times each stage. Its parts are released either way."""
    try:
        return load(batch, job, supply, clock)
    finally:
        supply.release(job)
