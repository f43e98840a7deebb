"""Start Prefect's temporary API server in the background while a command does its own checks."""

from __future__ import annotations

import contextvars
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from prefect.server.api.server import SubprocessASGIServer


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
        from prefect.server.api.server import SubprocessASGIServer

        # Prefect's log handlers, so that the start is reported as when a flow run starts it.
        ensure_logging_setup()

        # The instance the flow run's client asks for: it finds the server running.
        server = SubprocessASGIServer()
        # Prefect keeps its settings in context variables: the thread must see the caller's. Not a
        # daemon: a command that stops early waits for the start, so that Prefect's exit handler
        # stops the server rather than leaving a process half started.
        context = contextvars.copy_context()
        self._thread = threading.Thread(target=context.run, args=(self._start, server), name="prefect-server")
        self._thread.start()

    def _start(self, server: SubprocessASGIServer) -> None:
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
