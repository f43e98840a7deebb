"""Preparing the night's next police feed part in a second process while the current one loads.

Reading, validating and pseudonymising a part, and finding its records' approximate matches
among themselves, is pure Python and pandas work (seconds for each part of 250,000 records);
loading it is the database's. Done one after the other, one of the machine's
cores idles all night. A thread cannot overlap them (see `flows.police_tasks.load`: sqlite3 and
the GIL), a second process can: it prepares the part the load will ask for next, while the flow's
process loads the current one. At most one part is prepared ahead, so memory stays bounded.

The helper process runs no Prefect flow and opens no database. Prepared parts (personal data)
cross only the pipe between the two processes, in memory; errors cross as the value-free
exceptions that the stages raise. Without the helper (one part in all, one core, a helper that
died, a small night, or `VICTIM_INTAKE_PREPARE_AHEAD=0`) the flow's process prepares every part
itself.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import pickle
import struct
from collections.abc import Iterator
from contextlib import contextmanager
from multiprocessing.connection import Connection
from pathlib import Path

from config.memory import return_freed_memory
from config.settings import current
from connectors.police import planned_parts
from flows.errors import StageFailed, value_free_errors
from flows.faults import crash_point
from flows.police_tasks import FeedJob, PartSupply, Prepared, Preparer
from flows.stage_clock import StageClock

_logger = logging.getLogger(__name__)
Position = tuple[FeedJob, int]  # a file and the number of one of its parts
# Below this much feed text in a run (about 100,000 records, 3 s of preparation), the helper's
# start (a second or more of imports) would cost about as much as the overlap wins.
_WORTH_A_HELPER_BYTES = 64 * 2**20


def _send(connection: Connection, message: object) -> None:
    """Write `message` to the pipe: a small pickle, then its large buffers (Arrow and numpy
    columns) as they lie in memory, each preceded by its size. No copy of a whole part is made,
    as `Connection.send` would."""
    buffers: list[pickle.PickleBuffer] = []
    head = pickle.dumps(message, protocol=5, buffer_callback=buffers.append)
    views = [memoryview(head), *(buffer.raw() for buffer in buffers)]
    _write_all(connection, memoryview(struct.pack(f"<Q{len(views)}Q", len(views), *(view.nbytes for view in views))))
    for view in views:
        _write_all(connection, view)


def _receive(connection: Connection) -> object:
    """Read one message `_send` wrote, each buffer straight into its own memory."""
    (count,) = struct.unpack("<Q", _read_exactly(connection, 8))
    head, *buffers = (_read_exactly(connection, size) for size in struct.unpack(f"<{count}Q", _read_exactly(connection, 8 * count)))
    return pickle.loads(head, buffers=buffers)


def _write_all(connection: Connection, view: memoryview) -> None:
    while view.nbytes:
        view = view[os.write(connection.fileno(), view) :]


def _read_exactly(connection: Connection, size: int) -> bytearray:
    data = bytearray(size)
    view, done = memoryview(data), 0
    while done < size:
        read = os.readv(connection.fileno(), [view[done:]])
        if not read:
            raise EOFError("the other process closed the pipe")
        done += read
    return data


def _widen(connection: Connection) -> None:
    """A 1 MiB pipe instead of 64 KiB: a part of hundreds of MB crosses in fewer, larger writes
    (Linux only; elsewhere the default stays)."""
    try:
        import fcntl

        fcntl.fcntl(connection.fileno(), fcntl.F_SETPIPE_SZ, 1 << 20)
    except (ImportError, AttributeError, OSError):
        pass


def _portable(error: Exception) -> bool:
    """Whether the exception survives the pipe (its class rebuilt from its arguments)."""
    try:
        pickle.loads(pickle.dumps(error))
    except Exception:  # noqa: BLE001 - any failure means: send a plain StageFailed instead
        return False
    return True


def _serve(requests: Connection, answers: Connection) -> None:
    """The helper process: prepare each position asked for and send it back, until the flow's
    process closes its end of the pipe (or dies: the pipe closes with it)."""
    return_freed_memory()
    preparer = Preparer(in_flow=False)
    while True:
        try:
            job, number = _receive(requests)
        except (EOFError, OSError):
            return
        try:
            with value_free_errors("prepare"):
                answer: Prepared | Exception = preparer.prepare(job, number, StageClock())
        except Exception as error:  # noqa: BLE001 - value-free by now; the flow's process raises it
            answer = error if _portable(error) else StageFailed(f"prepare: unexpected {type(error).__name__}")
        try:
            _send(answers, answer)
        except (BrokenPipeError, OSError):
            return
        del answer  # not held while the next part is prepared: one part in memory at a time


class AheadSupply:
    """Hands the load task each file's prepared parts in order, the next one prepared meanwhile
    in a helper process (`PartSupply`)."""

    def __init__(self, jobs: list[FeedJob]) -> None:
        self._jobs = jobs
        self._here = Preparer()
        context = multiprocessing.get_context("spawn")  # not fork: this process runs threads
        requests, self._requests = context.Pipe(duplex=False)
        self._answers, answers = context.Pipe(duplex=False)
        self._process = context.Process(target=_serve, args=(requests, answers), name="victim-intake-prepare", daemon=True)
        self._process.start()
        # Only the helper keeps its ends open, so each side sees the other's exit as end of file.
        requests.close()
        answers.close()
        _widen(self._answers)
        self._outstanding: Position | None = None

    def prepared(self, job: FeedJob, clock: StageClock) -> Iterator[Prepared]:
        number = 0
        while True:
            prepared = self._take((job, number), clock)
            last = prepared.last
            yield prepared
            del prepared  # the part is loaded: not held while the next one arrives
            if last:
                return
            number += 1

    def _take(self, position: Position, clock: StageClock) -> Prepared:
        """The prepared part at `position`, from the helper when it was asked for it, else
        prepared here; either way the helper is then asked for the part after it."""
        received = None
        if self._outstanding is not None:
            asked, self._outstanding = self._outstanding, None
            with clock("wait"):
                answer = self._receive()
            if asked == position:
                received = answer
        if received is None:
            # Ask for the likely next part first, so the helper works while this one is prepared here.
            self._ask(self._after(position, None))
            return self._here.prepare(*position, clock)
        if isinstance(received, Exception):
            self._ask(self._after(position, True))
            raise received
        self._ask(self._after(position, received.last))
        clock.add(received.seconds)
        # The crash points of the stages the helper ran (fault-injection tests), met in this process.
        crash_point("validate")
        crash_point("pseudonymise")
        return received

    def _after(self, position: Position, last: bool | None) -> Position | None:
        """The part the load asks for after `position`: the file's next one, or the next file's
        first. When `position` is not prepared yet, guessed from the file's size."""
        job, number = position
        if last is None:
            last = number + 1 >= _expected_parts(job.path)
        if not last:
            return job, number + 1
        following = self._jobs.index(job) + 1 if job in self._jobs else len(self._jobs)
        return (self._jobs[following], 0) if following < len(self._jobs) else None

    def _ask(self, position: Position | None) -> None:
        if position is None or not self._process.is_alive():
            return
        try:
            _send(self._requests, position)
            self._outstanding = position
        except (BrokenPipeError, OSError):
            self._stop()

    def _receive(self) -> Prepared | Exception | None:
        """The helper's answer; None, and the helper stopped, when it died meanwhile."""
        try:
            return _receive(self._answers)
        except (EOFError, OSError):
            _logger.warning("the process that prepares parts ahead ended unexpectedly; preparing them here from now on")
            self._stop()
            return None

    def _stop(self) -> None:
        self._requests.close()
        self._answers.close()
        self._process.join(timeout=10)
        if self._process.is_alive():
            self._process.kill()
            self._process.join()

    def close(self) -> None:
        """Let the helper finish: it ends when its pipe closes."""
        if not self._requests.closed:
            self._stop()


def _size(path: str) -> int:
    try:
        return Path(path).stat().st_size
    except OSError:  # gone meanwhile: its load reports that
        return 0


def _expected_parts(path: str) -> int:
    """How many parts the file will be cut into, as far as its size tells."""
    try:
        return planned_parts(Path(path), current().part_bytes)
    except OSError:  # gone meanwhile: its load reports that
        return 1


def _worth_a_helper(jobs: list[FeedJob]) -> bool:
    """Whether to start the helper for these files (`VICTIM_INTAKE_PREPARE_AHEAD`)."""
    mode = current().prepare_ahead
    if mode == "0" or (os.cpu_count() or 1) < 2 or sum(_expected_parts(job.path) for job in jobs) < 2:
        return False
    return mode == "1" or sum(_size(job.path) for job in jobs) >= _WORTH_A_HELPER_BYTES


@contextmanager
def part_supply(jobs: list[FeedJob]) -> Iterator[PartSupply]:
    """The supply of prepared parts for the run's police files, in the order they are loaded:
    with a helper process when that is worth it, else this process alone."""
    if not _worth_a_helper(jobs):
        yield Preparer()
        return
    supply = AheadSupply(jobs)
    try:
        yield supply
    finally:
        supply.close()
