"""The verb-named tasks every delivered file goes through, whatever its source: read, validate,
pseudonymise (`Preparer` runs them part by part), then load (`flows.loading`).

Parts of personal data pass between the stages in memory only: no task caches or persists its
result (Prefect would write it unencrypted under its home folder), and task parameters are not
stored by Prefect. Keys are loaded where they are used, never passed as parameters.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from prefect import Task, task
from prefect.cache_policies import NO_CACHE
from prefect.context import FlowRunContext

from config.settings import current
from connectors.files import FileRejected
from connectors.police import SOURCE as POLICE
from flows.errors import value_free_errors
from flows.faults import crash_point
from flows.resources import configured_key
from flows.stage_clock import StageClock
from schemas.partner_definition import load_definitions
from sources.contract import OpenedFile, Source, Validated
from sources.partner import partner_source
from sources.police import PoliceSource
from sources.prepare import PreparedPart, prepared_part

IN_MEMORY_ONLY = {"cache_policy": NO_CACHE, "persist_result": False}


def source_of(source_id: str) -> Source:
    """The source an inbox folder names: the police feed, or the partner its definition describes."""
    if source_id == POLICE:
        return PoliceSource()
    return partner_source(source_id, load_definitions(current().partners))


@dataclass(frozen=True)
class FileJob:
    """A delivered file to prepare and load, and the batch its rows belong to (value-free: the
    path is never shown; the source is `police` or an inbox folder's name)."""

    path: str
    sha256: str
    batch_id: str
    source: str


@task(name="read", **IN_MEMORY_ONLY)
def read(source: Source, path: str, sha256: str) -> OpenedFile:
    """Verify the file and open it for reading part by part."""
    with value_free_errors("read"):
        settings = current()
        return source.open(Path(path), sha256, max_bytes=settings.max_file_bytes, part_bytes=settings.part_bytes)


@task(name="validate", **IN_MEMORY_ONLY)
def validate(source: Source, part: Any, opened: OpenedFile) -> Validated:
    """Valid canonical records and quarantine entries of one part."""
    with value_free_errors("validate"):
        return source.validate(part, opened)


@task(name="pseudonymise", **IN_MEMORY_ONLY)
def pseudonymise(source: Source, validated: Validated, batch_id: str) -> PreparedPart:
    """Registrations, sealed quarantine entries and linkage input of one validated part."""
    with value_free_errors("pseudonymise"):
        return prepared_part(source, validated, batch_id, configured_key("pseudonym"), configured_key("vault").material)


@dataclass(frozen=True)
class PartNotice:
    """What the load needs to know of a prepared part besides its rows (value-free)."""

    number: int
    has_rows: bool  # False past the last part of a file (an empty feed has no part at all)
    last: bool  # no part follows
    record_count: int  # records in the whole file
    notes: tuple[str, ...]  # about the file's layout (`OpenedFile.notes`)
    seconds: dict[str, float]  # stage times spent preparing it


class Preparer:
    """Reads, validates and pseudonymises the parts of files in the order they are asked for,
    keeping the file being read open. No database is needed for any of it.

    Within a flow run the stages run as Prefect tasks, in whichever process prepares them; outside
    one (tests, benchmarks) as plain functions. `crash_points`: whether this process meets the
    fault-injection crash points of the stages (the flow's process does; a helper process does not:
    the flow's process meets them when it takes the part).
    """

    def __init__(self, *, crash_points: bool = True) -> None:
        self._crash_points = crash_points
        self._job: FileJob | None = None
        self._source: Source | None = None
        self._opened: OpenedFile | None = None
        self._parts: Iterator[Any] = iter(())
        self._next = 0  # number of the part `_parts` yields next

    @staticmethod
    def _stage(task_function: Task[..., Any], *arguments: Any) -> Any:
        return task_function(*arguments) if FlowRunContext.get() is not None else task_function.fn(*arguments)

    def _crash_point(self, stage: str) -> None:
        if self._crash_points:
            crash_point(stage)

    def prepare(self, job: FileJob, number: int, clock: StageClock) -> tuple[PartNotice, PreparedPart | None]:
        """Part `number` (from 0) of `job`'s file. Reopens the file when asked for another file or
        for an earlier part (a retried load starts over); skips parts prepared elsewhere."""
        started = dict(clock.seconds)
        if job != self._job or number < self._next:
            self._job = None  # stays closed if the file is rejected
            with clock("read"):
                with value_free_errors("read"):
                    source = source_of(job.source)
                opened = self._stage(read, source, job.path, job.sha256)
            self._job, self._source, self._opened, self._parts, self._next = job, source, opened, opened.parts(), 0
        source, opened = self._source, self._opened
        if number >= opened.part_count:
            return self._notice(number, False, True, clock, started), None
        with clock("read"), value_free_errors("read"):
            while self._next <= number:
                raw = next(self._parts, None)
                if raw is None:
                    raise FileRejected("the file changed while being read")
                self._next += 1
            last = number + 1 == opened.part_count
            if last and next(self._parts, None) is not None:  # also runs the file's final record count check
                raise FileRejected("the file changed while being read")
        with clock("validate"):
            self._crash_point("validate")
            validated = self._stage(validate, source, raw, opened)
        del raw
        with clock("pseudonymise"):
            self._crash_point("pseudonymise")
            part = self._stage(pseudonymise, source, validated, job.batch_id)
        return self._notice(number, True, last, clock, started), part

    def _notice(self, number: int, has_rows: bool, last: bool, clock: StageClock, started: dict[str, float]) -> PartNotice:
        seconds = {stage: spent - started.get(stage, 0.0) for stage, spent in clock.seconds.items()}
        return PartNotice(number, has_rows, last, self._opened.record_count, self._opened.notes, seconds)
