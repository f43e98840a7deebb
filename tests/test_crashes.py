"""Crash the real `victim-intake run` (SIGKILL) at every stage, rerun, and compare with a clean run.

The subprocesses talk to the session's Prefect test server instead of each starting an
ephemeral one (which costs 6-12 s per run); everything else is the command as a steward runs it.
"""

from __future__ import annotations

import base64
import os
import signal
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
import sqlalchemy as sa
from scratch_db import scratch_url
from test_flow_end_to_end import run_cli

from flows.faults import CRASH_VARIABLE, STAGES
from victim_intake.synthetic import write_demo_inbox

pytestmark = pytest.mark.usefixtures("prefect_server")
BACKENDS = ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]
VICTIM_INTAKE = str(Path(sys.executable).parent / "victim-intake")


def command_env(url: str, key: bytes, home: Path, **extra: str) -> dict[str, str]:
    """The environment of a steward's shell: warehouse, key, home, and the session's Prefect server."""
    import prefect.settings

    environment = {
        **os.environ,
        "VICTIM_INTAKE_HOME": str(home),
        "VICTIM_INTAKE_DATABASE_URL": url,
        "VICTIM_INTAKE_PSEUDONYM_KEY": base64.b64encode(key).decode(),
        "PREFECT_API_URL": prefect.settings.PREFECT_API_URL.value(),
        **extra,
    }
    environment.pop(CRASH_VARIABLE, None)
    environment.update(extra)
    return environment


def start(inbox: Path, environment: dict[str, str]) -> subprocess.Popen:
    return subprocess.Popen(
        [VICTIM_INTAKE, "run", "--inbox", str(inbox)],
        env=environment,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def run_command(inbox: Path, environment: dict[str, str]) -> tuple[int, str]:
    process = start(inbox, environment)
    output, _ = process.communicate(timeout=300)
    return process.returncode, output


def warehouse_rows(url: str) -> dict[str, list[tuple]]:
    """Everything a rerun must reproduce, with random batch ids replaced by their file names."""
    engine = sa.create_engine(url)
    queries = {
        "registrations": (
            "SELECT r.*, b.file_name AS lineage FROM registrations r JOIN ingest_batches b ON b.batch_id = r.batch_id"
        ),
        "quarantine": (
            "SELECT b.file_name, q.row_number, q.column_name, q.rule, q.source_record_id "
            "FROM quarantine q JOIN ingest_batches b ON b.batch_id = q.batch_id"
        ),
        "loaded files": (
            "SELECT file_name, file_sha256, rows_in, rows_loaded, rows_quarantined FROM ingest_batches WHERE state = 'loaded'"
        ),
    }
    rows = {}
    with engine.connect() as connection:
        for name, query in queries.items():
            frame = pd.read_sql(sa.text(query), connection).drop(columns=["batch_id"], errors="ignore")
            rows[name] = sorted(frame.astype(str).itertuples(index=False, name=None))
    engine.dispose()
    return rows


def assert_whole_files_only(url: str) -> None:
    """After any crash: every loaded file is complete, and nothing belongs to an unloaded batch."""
    engine = sa.create_engine(url)
    with engine.connect() as connection:
        incomplete = connection.execute(
            sa.text(
                "SELECT count(*) FROM ingest_batches b WHERE b.state = 'loaded' AND b.rows_quarantined <> "
                "(SELECT count(DISTINCT q.row_number) FROM quarantine q WHERE q.batch_id = b.batch_id)"
            )
        ).scalar_one()
        orphans = connection.execute(
            sa.text(
                "SELECT count(*) FROM registrations r WHERE NOT EXISTS "
                "(SELECT 1 FROM ingest_batches b WHERE b.batch_id = r.batch_id AND b.state = 'loaded')"
            )
        ).scalar_one()
    engine.dispose()
    assert (incomplete, orphans) == (0, 0)


@pytest.fixture
def small_inbox(tmp_path: Path) -> Path:
    inbox = tmp_path / "inbox"
    write_demo_inbox(inbox, persons=150, seed=5, files=3)
    return inbox


@pytest.mark.parametrize("backend", BACKENDS)
def test_killed_at_every_stage_then_rerun_equals_a_clean_run(
    backend, small_inbox, pseudonym_key, tmp_path, monkeypatch
) -> None:
    with scratch_url(backend, tmp_path / "clean") as clean_url, scratch_url(backend, tmp_path / "crashed") as url:
        (tmp_path / "clean").mkdir(exist_ok=True)
        monkeypatch.setenv("VICTIM_INTAKE_DATABASE_URL", clean_url)
        assert run_cli("run", "--inbox", str(small_inbox))[0] == 0
        clean = warehouse_rows(clean_url)
        assert len(clean["loaded files"]) == 3 and clean["quarantine"]

        home = tmp_path / "crashed"
        for stage in STAGES:
            code, output = run_command(small_inbox, command_env(url, pseudonym_key, home, **{CRASH_VARIABLE: stage}))
            assert code == -signal.SIGKILL, f"{stage}: {output}"
            if stage != "discover":  # the warehouse exists from the first run on
                assert_whole_files_only(url)

        code, output = run_command(small_inbox, command_env(url, pseudonym_key, home))
        assert code == 0, output
        assert warehouse_rows(url) == clean
