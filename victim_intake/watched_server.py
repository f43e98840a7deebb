"""Prefect's temporary server, started so that it dies with the command (`victim_intake.server_watchdog`)."""

from __future__ import annotations

import os
import subprocess
import sys
from typing import Any

import prefect
from prefect.server.api.server import SubprocessASGIServer
from prefect.settings import get_current_settings


class WatchedServer(SubprocessASGIServer):
    """Prefect's SubprocessASGIServer, whose process watches this one and stops when it is gone.

    The command that Prefect 3.9 runs (`python -m uvicorn --factory
    prefect.server.api.server:create_app ...`, with the same environment), run through
    `victim_intake.server_watchdog` with this process's id. Created before any flow run asks for a
    temporary server, it is the instance Prefect's clients find (SubprocessASGIServer keeps one
    instance per port)."""

    def _run_uvicorn_command(self) -> subprocess.Popen[Any]:
        server_env = {"PREFECT_UI_ENABLED": "0", "PREFECT__SERVER_EPHEMERAL": "1", "PREFECT__SERVER_FINAL": "1"}
        return subprocess.Popen(
            args=[
                sys.executable, "-m", "victim_intake.server_watchdog", str(os.getpid()),
                "--app-dir", str(prefect.__module_path__.parent),
                "--factory", "prefect.server.api.server:create_app",
                "--host", "127.0.0.1",
                "--port", str(self.port),
                "--log-level", "error",
                "--lifespan", "on",
            ],
            env={**os.environ, **server_env, **get_current_settings().to_environment_variables(exclude_unset=True)},
        )
