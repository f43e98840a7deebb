"""Reading and validating a whole delivered file through its source's contract, for tests."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from connectors.files import sha256_of
from flows.ahead import part_supply
from flows.loading import Loaded, Prepared, ingest_file_parts
from flows.stage_clock import StageClock
from flows.stages import FileJob, PartNotice, Preparer, read, validate
from sources.contract import OpenedFile, Source, Validated
from sources.prepare import PreparedPart
from warehouse.ledger import BatchRecord


def read_and_validate(source: Source, path: str | Path, sha256: str = "") -> tuple[OpenedFile, Validated]:
    """The opened file and its one part validated (`sha256` matters to the police feed only)."""
    opened = read.fn(source, str(path), sha256)
    (part,) = opened.parts()
    return opened, validate.fn(source, part, opened)


def prepared_file(source_id: str, path: Path, batch_id: str) -> tuple[PartNotice, PreparedPart]:
    """A one-part file of `source_id` prepared as the flows prepare it (no database)."""
    notice, part = Preparer(crash_points=False).prepare(FileJob(str(path), sha256_of(path), batch_id, source_id), 0, StageClock())
    assert notice.last and part is not None
    return notice, part


class Ready:
    """A supply of one part prepared beforehand (`flows.loading.PartSupply`)."""

    def __init__(self, notice: PartNotice, part: PreparedPart) -> None:
        self._prepared = Prepared(notice, part)

    def prepared(self, job: FileJob, clock: StageClock) -> Iterator[Prepared]:
        yield self._prepared

    def release(self, job: FileJob) -> None:
        """Nothing to remove: the part lives in memory."""


def ingest_here(path: Path, batch: BatchRecord) -> Loaded:
    """Prepare and load one file in this process, as the nightly flow does for each file."""
    with part_supply([]) as supply:
        return ingest_file_parts(FileJob(str(path), batch.file_sha256, batch.batch_id, batch.source), batch, supply, StageClock())
