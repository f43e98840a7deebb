"""Start Prefect's temporary API server in the background while a command does its own checks."""

from __future__ import annotations

import contextvars
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING
from uuid import UUID

if TYPE_CHECKING:
    from victim_intake.watched_server import WatchedServer


# How long a command waits, at most, for the temporary server to record its flow run's task runs;
# and how many polls, this far apart, must see the same final task runs.
SETTLE_TIMEOUT_S = 15.0
SETTLE_POLL_S = 0.1
SETTLED_POLLS = 2


class EarlyServer:
    """Starts the temporary server that the command's flow run would otherwise start.

    Without an API URL Prefect starts a temporary server (a second Python process importing
    Prefect's API: seconds) when the flow run begins. Started here instead, its start-up overlaps
    the command's own imports and warehouse checks. Nothing is started when Prefect is configured
    with an API URL (a real server, or the tests' one).
    """

    def __init__(self) -> None:
        from prefect.settings import get_current_settings

        self._thread: threading.Thread | None = None
        self._error: BaseException | None = None
        if get_current_settings().api.url:
            return
        # Imported here, not in the thread: the thread would share the interpreter with the
        # command's own imports and start the server process a second later.
        from prefect.logging.configuration import ensure_logging_setup

        from victim_intake.watched_server import WatchedServer

        # Prefect's log handlers, so that the start is reported as when a flow run starts it.
        ensure_logging_setup()

        # The instance the flow run's client asks for: it finds the server running. Its process
        # ends with this one, however this one ends (`victim_intake.server_watchdog`).
        server = WatchedServer()
        # Prefect keeps its settings in context variables: the thread must see the caller's. Not a
        # daemon: a command that stops early waits for the start, so that Prefect's exit handler
        # stops the server rather than leaving a process half started.
        context = contextvars.copy_context()
        self._thread = threading.Thread(target=context.run, args=(self._start, server), name="prefect-server")
        self._thread.start()

    def _start(self, server: WatchedServer) -> None:
        try:
            server.start()
        except BaseException as error:  # noqa: BLE001 - raised again by ready(), in the caller's thread
            self._error = error

    @contextmanager
    def ready(self) -> Iterator[None]:
        """Wait until the server is up (or was not needed), then run the block: the flow run.

        Raises what kept the server from starting. On the temporary server, flow runs send no
        heartbeats: they let a lasting server notice a crashed run, but this one ends with the
        process and watches nothing, and stopping the heartbeat thread costs up to a second.
        """
        if self._thread is None:
            yield
            return
        self._thread.join()
        if self._error is not None:
            raise self._error
        from prefect.settings import temporary_settings

        with temporary_settings(updates={"flows.heartbeat_frequency": None}):
            yield

    def settle(self, flow_run_id: UUID | None, timeout: float = SETTLE_TIMEOUT_S) -> None:
        """Before the temporary server stops with the command: let it record the whole run.

        The server learns of task runs only from the events the run emits, and records them
        asynchronously; stopped right after the flow run, it would lose the last task runs from
        its history. So the event and log clients are drained (everything sent), then the server
        is asked for the run's task runs until every one is final and their number has held
        still for a few polls, for at most `timeout` seconds. Nothing to do on a lasting server.
        """
        if self._thread is None or flow_run_id is None:
            return
        from prefect.client.orchestration import get_client
        from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterId
        from prefect.events.worker import EventsWorker
        from prefect.logging.handlers import APILogWorker

        EventsWorker.drain_all(timeout=timeout)
        APILogWorker.drain_all(timeout=timeout)
        run_filter = FlowRunFilter(id=FlowRunFilterId(any_=[flow_run_id]))
        deadline = time.monotonic() + timeout
        seen, steady = -1, 0
        with get_client(sync_client=True) as client:
            while time.monotonic() < deadline:
                task_runs = client.read_task_runs(flow_run_filter=run_filter)
                final = all(run.state is not None and run.state.is_final() for run in task_runs)
                steady = steady + 1 if final and len(task_runs) == seen else 0
                if steady >= SETTLED_POLLS:
                    return
                seen = len(task_runs)
                time.sleep(SETTLE_POLL_S)
