"""Preparing the night's files in a second process while the flow's process loads.

Reading, validating and pseudonymising a part, and finding its records' approximate matches among
themselves, is pandas work (seconds for each part of 250,000 records); loading it is the
database's. Done one after the other, one of the machine's cores idles all night. A thread cannot
overlap them (see `flows.loading.load`: sqlite3 and the GIL), a second process can: it prepares
the night's files, part after part, into the run's spool (`sources.spool`), at most `_LEAD` parts
ahead of the load, while the flow's process loads. A file's load transaction opens once its first
part is ready.

The helper runs the same stages as the flow's process (`flows.stages.Preparer`), as Prefect tasks
of the same flow run, and opens no database. Prepared parts cross on disk, encrypted under the
spool's key; the pipes carry only value-free notices, acknowledgements and the errors the stages
raise. Without the helper (one part in all, one core, a helper that died, a small night, or
`VICTIM_INTAKE_PREPARE_AHEAD=0`) the flow's process prepares every part itself.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import pickle
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from multiprocessing.connection import Connection
from pathlib import Path

import cloudpickle
from prefect.context import FlowRunContext, hydrated_context, serialize_context
from prefect.settings import PREFECT_API_URL, temporary_settings

from config.memory import return_freed_memory
from config.settings import current
from connectors.police import SOURCE as POLICE
from connectors.police import planned_parts
from flows.errors import StageFailed, value_free_errors
from flows.faults import crash_point
from flows.loading import LocalSupply, PartSupply, Prepared, spooled_name
from flows.stage_clock import StageClock
from flows.stages import FileJob, PartNotice, Preparer
from sources.spool import Spool, spool_in

_logger = logging.getLogger(__name__)
# Parts the helper may have prepared that the load has not taken yet: bounds the spool's size.
_LEAD = 2
# Below this much delivered text in a run (about 100,000 records, 3 s of preparation), the
# helper's start (a second or more of imports) would cost about as much as the overlap wins.
_WORTH_A_HELPER_BYTES = 64 * 2**20


def _portable(error: Exception) -> bool:
    """Whether the exception survives the pipe (its class rebuilt from its arguments)."""
    try:
        pickle.loads(pickle.dumps(error))
    except Exception:  # noqa: BLE001 - any failure means: send a plain StageFailed instead
        return False
    return True


class _Helper:
    """The helper process's side: prepares every job's parts in order into the spool."""

    def __init__(self, spool: Spool, jobs: list[FileJob], orders: Connection, notices: Connection) -> None:
        self._spool, self._jobs, self._orders, self._notices = spool, jobs, orders, notices
        self._preparer = Preparer(crash_points=False)
        self._untaken: set[tuple[str, int]] = set()
        self._released: set[str] = set()

    def _read_order(self) -> None:
        kind, batch_id, number = self._orders.recv()
        if kind == "taken":
            self._untaken.discard((batch_id, number))
        else:  # released: its load is over, whatever of it was left untaken
            self._released.add(batch_id)
            self._untaken = {position for position in self._untaken if position[0] != batch_id}

    def _wait_for_room(self) -> None:
        while self._orders.poll():
            self._read_order()
        while len(self._untaken) >= _LEAD:
            self._read_order()

    def run(self) -> None:
        for job in self._jobs:
            number = 0
            while True:
                self._wait_for_room()
                if job.batch_id in self._released:
                    break
                try:
                    with value_free_errors("prepare"):
                        notice, part = self._preparer.prepare(job, number, StageClock())
                        if part is not None:
                            self._spool.put(spooled_name(job.batch_id, number), part)
                            self._untaken.add((job.batch_id, number))
                        del part  # on disk now: one part in memory at a time
                    answer: PartNotice | Exception = notice
                except Exception as error:  # noqa: BLE001 - value-free by now; the flow's process raises it
                    answer = error if _portable(error) else StageFailed(f"prepare: unexpected {type(error).__name__}")
                self._notices.send((job.batch_id, number, answer))
                if isinstance(answer, Exception) or answer.last:
                    break
                number += 1


def _serve(spool: Spool, jobs: list[FileJob], context: bytes, orders: Connection, notices: Connection) -> None:
    """The helper process: prepare the jobs' parts, as tasks of the flow run when there is one,
    until done or until the flow's process closes its end of the pipes (or dies with them)."""
    return_freed_memory()
    with ExitStack() as stack:
        if context:
            stack.enter_context(hydrated_context(cloudpickle.loads(context)))
        try:
            _Helper(spool, jobs, orders, notices).run()
        except (EOFError, OSError):
            return


class AheadSupply:
    """Hands the load task each file's prepared parts in order, prepared meanwhile in a helper
    process (`PartSupply`); parts the helper cannot give are prepared here."""

    def __init__(self, spool: Spool, jobs: list[FileJob]) -> None:
        self._jobs = jobs
        self._spool = spool
        self._here = LocalSupply(spool)
        self._ready: dict[tuple[str, int], PartNotice | Exception] = {}
        self._taken: dict[FileJob, list[PartNotice]] = {}
        self._released: set[str] = set()
        # Files whose last part (or whose error) the helper has sent: once every file is here or
        # released, the helper ends by itself, and its end of the pipe closing is no failure.
        self._ended: set[str] = set()
        context = multiprocessing.get_context("spawn")  # not fork: this process runs threads
        orders, self._orders = context.Pipe(duplex=False)
        self._notices, notices = context.Pipe(duplex=False)
        flow_context = _flow_run_context()
        self._process = context.Process(
            target=_serve, args=(spool, jobs, flow_context, orders, notices), name="victim-intake-prepare", daemon=True
        )
        self._process.start()
        # Only the helper keeps its ends open, so each side sees the other's exit as end of file.
        orders.close()
        notices.close()
        self._alive = True

    def prepared(self, job: FileJob, clock: StageClock) -> Iterator[Prepared]:
        taken = self._taken.setdefault(job, [])
        for notice in list(taken):  # a retried load: what it took before is still in the spool
            yield self._here.take(job, notice)
        number = len(taken)
        while not taken or not taken[-1].last:
            answer = self._answer(job, number, clock)
            if answer is None:  # the helper is gone: the rest of the file is prepared here
                notices = self._here.spool_file(job, clock, number)
                taken += notices
                for notice in notices:
                    yield self._here.take(job, notice)
                return
            if isinstance(answer, Exception):
                raise answer
            clock.add(answer.seconds)
            # The crash points of the stages the helper ran (fault-injection tests), met in this process.
            crash_point("validate")
            crash_point("pseudonymise")
            taken.append(answer)
            prepared = self._here.take(job, answer)
            self._order("taken", job.batch_id, number)
            yield prepared
            del prepared  # loaded: not held while the next part arrives
            number += 1

    def _answer(self, job: FileJob, number: int, clock: StageClock) -> PartNotice | Exception | None:
        """The helper's notice of part `number` of `job`, waited for; None when it died meanwhile."""
        position = (job.batch_id, number)
        if job not in self._jobs:
            return None
        with clock("wait"):
            while position not in self._ready:
                if not self._alive:
                    return None
                if not self._receive():
                    return None
        answer = self._ready[position]
        if not isinstance(answer, Exception):  # an error stays: a retried load meets it again
            del self._ready[position]
        return answer

    def _receive(self) -> bool:
        """Take the helper's next notice; False when it died meanwhile."""
        try:
            batch_id, at, answer = self._notices.recv()
        except (EOFError, OSError):
            if not self._helper_done():
                _logger.warning("the process that prepares files ahead ended unexpectedly; preparing them here from now on")
            self._stop()
            return False
        if isinstance(answer, Exception) or answer.last:
            self._ended.add(batch_id)
        if batch_id in self._released:  # prepared as its load was given up: not needed
            self._spool.drop(spooled_name(batch_id, at))
        else:
            self._ready[(batch_id, at)] = answer
        return True

    def _helper_done(self) -> bool:
        """Whether the helper has given every file it was asked for: then it ends by itself."""
        return all(job.batch_id in self._ended or job.batch_id in self._released for job in self._jobs)

    def release(self, job: FileJob) -> None:
        for notice in self._taken.pop(job, []):
            self._spool.drop(spooled_name(job.batch_id, notice.number))
        self._here.release(job)
        # Parts of it the helper prepared that the load did not take (a load that failed midway).
        for position in [position for position in self._ready if position[0] == job.batch_id]:
            self._spool.drop(spooled_name(*position))
            del self._ready[position]
        self._released.add(job.batch_id)
        self._order("released", job.batch_id, -1)

    def _order(self, kind: str, batch_id: str, number: int) -> None:
        # First what the helper sent meanwhile: no lead bounds its notices of errors and of empty
        # files, so it may be waiting to send more, and not reading orders until it can.
        while self._alive and self._notices.poll():
            self._receive()
        if not self._alive:
            return
        try:
            self._orders.send((kind, batch_id, number))
        except (BrokenPipeError, OSError):
            self._stop()

    def _stop(self) -> None:
        self._alive = False
        self._orders.close()
        self._notices.close()
        self._process.join(timeout=10)
        if self._process.is_alive():
            self._process.kill()
            self._process.join()

    def close(self) -> None:
        """Stop the helper: it ends when its pipe closes."""
        if self._alive:
            self._stop()


def _flow_run_context() -> bytes:
    """The flow run's context for the helper, so that its stages are tasks of this flow run; empty
    outside a flow run. It names the API this process talks to: a temporary server has no address
    in the settings, and the helper would start a server of its own (seconds, and left running if
    the helper is killed)."""
    flow_run = FlowRunContext.get()
    if flow_run is None:
        return b""
    with temporary_settings(updates={PREFECT_API_URL: str(flow_run.client.api_url)}):
        return cloudpickle.dumps(serialize_context())


def _size(path: str) -> int:
    try:
        return Path(path).stat().st_size
    except OSError:  # gone meanwhile: its load reports that
        return 0


def _expected_parts(job: FileJob) -> int:
    """How many parts the file will be cut into, as far as its size tells (a partner file: one)."""
    if job.source != POLICE:
        return 1
    try:
        return planned_parts(Path(job.path), current().part_bytes)
    except OSError:  # gone meanwhile: its load reports that
        return 1


def _worth_a_helper(jobs: list[FileJob]) -> bool:
    """Whether to start the helper for these files (`VICTIM_INTAKE_PREPARE_AHEAD`)."""
    mode = current().prepare_ahead
    if mode == "0" or (os.cpu_count() or 1) < 2 or sum(_expected_parts(job) for job in jobs) < 2:
        return False
    return mode == "1" or sum(_size(job.path) for job in jobs) >= _WORTH_A_HELPER_BYTES


@contextmanager
def part_supply(jobs: list[FileJob]) -> Iterator[PartSupply]:
    """The supply of prepared parts for the run's files, in the order they are loaded: with a
    helper process when that is worth it, else this process alone; either way through a spool
    that lives as long as the run."""
    with spool_in(current().home / "spool") as spool:
        if not _worth_a_helper(jobs):
            yield LocalSupply(spool)
            return
        supply = AheadSupply(spool, jobs)
        try:
            yield supply
        finally:
            supply.close()
