"""prefect.yaml for real: a local Prefect server, a process work pool, `prefect deploy --all`, a
triggered `nightly-ingest` run picked up by `prefect worker start --run-once`, then the warehouse."""

from __future__ import annotations

import base64
import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
import sqlalchemy as sa
from test_deployments import ROOT, deployments
from warehouse_checks import expected_from_truth

from victim_intake.synthetic import write_demo_inbox

BIN = Path(sys.executable).parent


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _wait_for(url: str, server: subprocess.Popen, seconds: float = 180) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise AssertionError(f"prefect server exited with {server.returncode}")
        try:
            with urllib.request.urlopen(url, timeout=2):
                return
        except OSError:
            time.sleep(0.5)
    raise AssertionError(f"prefect server did not answer at {url} within {seconds} s")


def _prefect(*arguments: str, environment: dict[str, str]) -> str:
    result = subprocess.run(
        [str(BIN / "prefect"), *arguments], cwd=ROOT, env=environment, capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 0, f"prefect {' '.join(arguments)}:\n{result.stdout}\n{result.stderr}"
    return result.stdout


def test_nightly_ingest_runs_through_a_server_and_a_process_worker(tmp_path, pseudonym_key) -> None:
    pool = deployments()[0]["work_pool"]["name"]
    home = tmp_path / "home"
    summary = write_demo_inbox(home / "inbox", persons=120, seed=3, files=2)
    port = _free_port()
    environment = {
        **os.environ,
        "PREFECT_HOME": str(tmp_path / "prefect"),
        "PREFECT_API_URL": f"http://127.0.0.1:{port}/api",
        "PREFECT_SERVER_API_HOST": "127.0.0.1",
        "PREFECT_SERVER_DATABASE_CONNECTION_URL": f"sqlite+aiosqlite:///{tmp_path / 'prefect-server.db'}",
        "PREFECT_SERVER_UI_ENABLED": "false",
        "VICTIM_INTAKE_HOME": str(home),
        "VICTIM_INTAKE_PSEUDONYM_KEY": base64.b64encode(pseudonym_key).decode(),
    }
    server = subprocess.Popen(
        [str(BIN / "prefect"), "server", "start", "--host", "127.0.0.1", "--port", str(port)],
        env=environment, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    try:
        _wait_for(f"http://127.0.0.1:{port}/api/health", server)
        _prefect("work-pool", "create", pool, "--type", "process", environment=environment)
        _prefect("deploy", "--all", "--no-prompt", environment=environment)
        _prefect("deployment", "run", "nightly-ingest/nightly-ingest", environment=environment)
        _prefect("worker", "start", "--pool", pool, "--run-once", environment=environment)
        states = _prefect("flow-run", "ls", environment=environment)
    finally:
        server.terminate()
        server.wait(timeout=60)
    assert "COMPLETED" in states.upper()
    engine = sa.create_engine(f"sqlite:///{home / 'warehouse.sqlite'}")
    with engine.connect() as connection:
        loaded = connection.execute(sa.text("SELECT count(*) FROM registrations")).scalar_one()
        runs = connection.execute(sa.text("SELECT state FROM ingest_runs")).scalars().all()
    engine.dispose()
    assert loaded == expected_from_truth(summary.truth_path).registrations
    assert runs == ["completed"]
