"""The temporary server is started with exactly Prefect's command and environment, run through the watchdog."""

from __future__ import annotations

import os
import subprocess

PORT = 18_431


def command_of(server_class, monkeypatch) -> tuple[list[str], dict[str, str]]:
    """The arguments and environment the server class would start its process with (nothing is started)."""
    from prefect.server.api.server import SubprocessASGIServer

    started: list[tuple[list[str], dict[str, str]]] = []
    monkeypatch.setattr(subprocess, "Popen", lambda args, env: started.append((args, env)))
    try:
        server_class(PORT)._run_uvicorn_command()
    finally:
        SubprocessASGIServer._instances.pop(PORT, None)  # one instance per port: leave none behind
    return started[0]


def test_the_watched_server_runs_prefects_own_uvicorn_command_behind_the_watchdog(monkeypatch) -> None:
    # Imported here: Prefect's server API takes seconds to import, paid only by the worker that runs this.
    from prefect.server.api.server import SubprocessASGIServer

    from victim_intake.watched_server import WatchedServer

    prefects, prefect_environment = command_of(SubprocessASGIServer, monkeypatch)
    ours, our_environment = command_of(WatchedServer, monkeypatch)
    assert prefects[1:3] == ["-m", "uvicorn"]
    assert ours == [prefects[0], "-m", "victim_intake.server_watchdog", str(os.getpid()), *prefects[3:]]
    assert our_environment == prefect_environment
