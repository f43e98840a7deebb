"""prefect.yaml for real: a local Prefect server, a process work pool, `prefect deploy --all`, a
triggered `nightly-ingest` run picked up by `prefect worker start --run-once`, then the warehouse."""

from __future__ import annotations

import base64
import json
import os
import re
import socket
import stat
import subprocess
import time
import urllib.request
from pathlib import Path

import pytest
import sqlalchemy as sa
from programs import PREFECT
from test_deployments import ROOT, deployments
from warehouse_checks import expected_from_truth

from victim_intake.synthetic import write_demo_inbox

pytestmark = pytest.mark.usefixtures("console_scripts")


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


def _flow_run_state(flow_run_id: str, environment: dict[str, str]) -> str:
    shown = _prefect("flow-run", "inspect", flow_run_id, environment=environment)
    return re.search(r"type=StateType\.([A-Z]+)", shown).group(1)


def _warehouse(home: Path) -> tuple[int, int, list[str]]:
    """Files loaded, registrations, and the state of every recorded run."""
    engine = sa.create_engine(f"sqlite:///{home / 'warehouse.sqlite'}")
    with engine.connect() as connection:
        files = connection.execute(sa.text("SELECT count(*) FROM ingest_batches WHERE state = 'loaded'")).scalar_one()
        loaded = connection.execute(sa.text("SELECT count(*) FROM registrations")).scalar_one()
        runs = connection.execute(sa.text("SELECT state FROM ingest_runs")).scalars().all()
    engine.dispose()
    return files, loaded, runs


def _prefect(*arguments: str, environment: dict[str, str], umask: str | None = None) -> str:
    """`prefect ARGUMENTS`, from a shell with the given umask when one is given."""
    command = [PREFECT, *arguments]
    if umask is not None:
        command = ["sh", "-c", f'umask {umask}; exec "$@"', "sh", *command]
    result = subprocess.run(command, cwd=ROOT, env=environment, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, f"prefect {' '.join(arguments)}:\n{result.stdout}\n{result.stderr}"
    return result.stdout


def test_nightly_ingest_runs_through_a_server_and_a_process_worker(tmp_path, pseudonym_key, vault_key) -> None:
    """The first run fails on a partial delivery; after the fix, Prefect's retry of that flow run completes it."""
    pool = deployments()[0]["work_pool"]["name"]
    home = tmp_path / "home"
    summary = write_demo_inbox(home / "inbox", persons=120, seed=3, files=2)
    manifest = sorted((home / "inbox" / "police").glob("*.manifest.json"))[0]
    good_manifest = manifest.read_text(encoding="utf-8")
    partial = json.loads(good_manifest)
    partial["aantal_records"] += 5
    manifest.write_text(json.dumps(partial), encoding="utf-8")
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
        # The second police file is prepared in the helper process of a worker-started flow run.
        "VICTIM_INTAKE_PREPARE_AHEAD": "1",
    }
    server = subprocess.Popen(
        [PREFECT, "server", "start", "--host", "127.0.0.1", "--port", str(port)],
        env=environment, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    try:
        _wait_for(f"http://127.0.0.1:{port}/api/health", server)
        _prefect("work-pool", "create", pool, "--type", "process", environment=environment)
        _prefect("deploy", "--all", "--no-prompt", environment=environment)
        started = _prefect("deployment", "run", "nightly-ingest/nightly-ingest", environment=environment)
        flow_run_id = re.search(r"UUID: ([0-9a-f-]{36})", started).group(1)
        # A worker whose umask lets everyone read what it creates: the flow run makes its own private.
        _prefect("worker", "start", "--pool", pool, "--run-once", environment=environment, umask="022")
        assert _flow_run_state(flow_run_id, environment) == "FAILED"
        files_before_fix, _, runs = _warehouse(home)
        assert runs == ["failed"]

        manifest.write_text(good_manifest, encoding="utf-8")
        _prefect("flow-run", "retry", flow_run_id, environment=environment)
        _prefect("worker", "start", "--pool", pool, "--run-once", environment=environment, umask="022")
        assert _flow_run_state(flow_run_id, environment) == "COMPLETED"
    finally:
        server.terminate()
        server.wait(timeout=60)
    registrations = expected_from_truth(summary.truth_path).registrations
    # The retried flow run kept its id: one run, now completed; each file loaded once.
    assert _warehouse(home) == (files_before_fix + 1, registrations, ["completed"])
    # The warehouse the worker's flow runs created (vault tables included) is readable by its user only.
    written = [path for path in home.glob("warehouse.sqlite*")] + [home / "file-hashes.json"]
    assert {path.name: oct(stat.S_IMODE(path.stat().st_mode)) for path in written} == {path.name: "0o600" for path in written}
