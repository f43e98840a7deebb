"""Start Prefect's temporary API server in the background while a command does its own checks."""

from __future__ import annotations

import atexit
import contextvars
import os
import random
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import closing, contextmanager
from typing import Any
from uuid import UUID

# How long a command waits, at most, for the temporary server to record its flow run's task runs;
# and how many polls, this far apart, must see the same final task runs.
SETTLE_TIMEOUT_S = 15.0
SETTLE_POLL_S = 0.1
SETTLED_POLLS = 2
# Prefect's own choices for its temporary server: a free port of this range, and the exit code
# uvicorn ends with when the port was taken meanwhile.
_PORTS = range(8000, 9000)
_PORT_TAKEN_EXIT = 3
_STOP_GRACE_S = 5.0


def start_watched_process(port: int | None) -> subprocess.Popen[Any]:
    """Prefect 3.9's server command (`python -m uvicorn --factory prefect.server.api.server:create_app
    ...`, with the same environment), run through `victim_intake.server_watchdog` with this
    process's id. Needs Prefect's settings only, not its server API (seconds to import)."""
    import prefect
    from prefect.settings import get_current_settings

    server_env = {"PREFECT_UI_ENABLED": "0", "PREFECT__SERVER_EPHEMERAL": "1", "PREFECT__SERVER_FINAL": "1"}
    return subprocess.Popen(
        args=[
            sys.executable, "-m", "victim_intake.server_watchdog", str(os.getpid()),
            "--app-dir", str(prefect.__module_path__.parent),
            "--factory", "prefect.server.api.server:create_app",
            "--host", "127.0.0.1",
            "--port", str(port),
            "--log-level", "error",
            "--lifespan", "on",
        ],
        env={**os.environ, **server_env, **get_current_settings().to_environment_variables(exclude_unset=True)},
    )


def _port_is_free(port: int) -> bool:
    with closing(socket.socket(socket.AF_INET, socket.SOCK_STREAM)) as probe:
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True


def _free_port() -> int:
    """A free port of Prefect's range, chosen as Prefect chooses it."""
    for _ in range(10):
        port = random.choice(_PORTS)
        if _port_is_free(port):
            return port
        time.sleep(random.uniform(0.1, 0.5))
    raise RuntimeError("Unable to find an available port after multiple attempts")


def _stop(process: subprocess.Popen[Any]) -> None:
    """Stop a server process that no Prefect instance took over (the command ended before its flow run)."""
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=_STOP_GRACE_S)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


class EarlyServer:
    """Starts the temporary server that the command's flow run would otherwise start.

    Without an API URL Prefect starts a temporary server (a second Python process importing
    Prefect's API: seconds) when the flow run begins. Started here instead, its start-up overlaps
    the command's own imports and warehouse checks. The process is started first, before this one
    imports Prefect's server API (seconds as well) to hand the process to the instance Prefect's
    clients ask for (`victim_intake.watched_server`): on two cores the two start-ups overlap.
    Nothing is started when Prefect is configured with an API URL (a real server, or the tests' one).
    """

    def __init__(self) -> None:
        from prefect.settings import get_current_settings

        self._thread: threading.Thread | None = None
        self._error: BaseException | None = None
        self._process: subprocess.Popen[Any] | None = None
        self._port = 0
        if get_current_settings().api.url:
            return
        from prefect.logging import get_logger
        from prefect.logging.configuration import ensure_logging_setup

        # Prefect's log handlers, so that the start is reported as when a flow run starts it.
        ensure_logging_setup()
        self._port = _free_port()
        get_logger().info(
            f"Starting temporary server on http://127.0.0.1:{self._port}\nSee "
            "https://www.prefect.io/docs/v3/concepts/server#how-to-guides for more information on running a dedicated Prefect server."
        )
        self._process = start_watched_process(self._port)
        # Stopped however this command ends; once handed to Prefect, Prefect's handler stops it first.
        atexit.register(lambda: self._process is not None and _stop(self._process))
        # Prefect keeps its settings in context variables: the thread must see the caller's.
        context = contextvars.copy_context()
        self._thread = threading.Thread(target=context.run, args=(self._wait,), name="prefect-server", daemon=True)
        self._thread.start()

    def _wait(self) -> None:
        """Poll the server's health until it answers, as Prefect's own start does (a port taken
        meanwhile: another port)."""
        try:
            import httpx
            from prefect.settings import get_current_settings

            deadline = time.monotonic() + get_current_settings().server.ephemeral.startup_timeout_seconds
            with httpx.Client() as client:
                while time.monotonic() < deadline:
                    assert self._process is not None
                    if self._process.poll() == _PORT_TAKEN_EXIT:
                        self._port = _free_port()
                        self._process = start_watched_process(self._port)
                        continue
                    try:
                        if client.get(f"http://127.0.0.1:{self._port}/api/health").status_code == 200:
                            return
                    except httpx.TransportError:
                        pass
                    time.sleep(0.1)
            message = "Timed out while attempting to connect to ephemeral Prefect API server."
            if self._process is not None and self._process.poll() is not None:
                message += f" Ephemeral server process exited with code {self._process.returncode}."
            raise RuntimeError(message)
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
        from prefect.settings import temporary_settings

        from victim_intake.watched_server import WatchedServer

        self._thread.join()
        if self._error is not None:
            raise self._error
        assert self._process is not None
        WatchedServer.adopt(self._process, self._port)

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
