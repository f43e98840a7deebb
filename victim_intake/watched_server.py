"""Prefect's temporary server, started so that it dies with the command (`victim_intake.server_watchdog`)."""

from __future__ import annotations

import subprocess
from typing import Any

from prefect.server.api.server import SubprocessASGIServer

from victim_intake.temporary_server import start_watched_process


class WatchedServer(SubprocessASGIServer):
    """Prefect's SubprocessASGIServer, whose process watches this one and stops when it is gone.

    The command that Prefect 3.9 runs (`python -m uvicorn --factory
    prefect.server.api.server:create_app ...`, with the same environment), run through
    `victim_intake.server_watchdog` with this process's id. Created before any flow run asks for a
    temporary server, it is the instance Prefect's clients find (SubprocessASGIServer keeps one
    instance per port)."""

    def _run_uvicorn_command(self) -> subprocess.Popen[Any]:
        return start_watched_process(self.port)

    @classmethod
    def adopt(cls, process: subprocess.Popen[Any], port: int) -> WatchedServer:
        """The instance Prefect's clients find, for a server process already started and answering:
        their `start()` then has nothing to do, and Prefect's exit handler stops it."""
        import atexit

        server = cls()
        server.port = port
        server.server_process = process
        server.running = True
        atexit.register(server.stop)
        return server
