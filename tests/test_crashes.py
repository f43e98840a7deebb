"""Crash the real `victim-intake run` (SIGKILL) at every stage, rerun, and compare with a clean run.

The subprocesses talk to the session's Prefect test server instead of each starting an
ephemeral one (which costs 6-12 s per run); everything else is the command as a steward runs it.
"""

from __future__ import annotations

import base64
import json
import os
import signal
import subprocess
import time
from pathlib import Path

import pandas as pd
import pytest
import sqlalchemy as sa
from programs import VICTIM_INTAKE
from scratch_db import scratch_url
from test_flow_end_to_end import run_cli
from warehouse_checks import feed_records, find_in_bytes, personal_values

from flows.faults import CRASH_VARIABLE, STAGES
from victim_intake.synthetic import write_demo_inbox

pytestmark = pytest.mark.usefixtures("prefect_server", "console_scripts")
BACKENDS = ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]


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
        # Errors hold rows back (rows_quarantined); warnings are about loaded rows (rows_warned).
        incomplete = connection.execute(
            sa.text(
                "SELECT count(*) FROM ingest_batches b WHERE b.state = 'loaded' AND (b.rows_quarantined <> "
                "(SELECT count(DISTINCT q.row_number) FROM quarantine q WHERE q.batch_id = b.batch_id AND q.severity = 'error') "
                "OR coalesce(b.rows_warned, 0) <> "
                "(SELECT count(DISTINCT q.row_number) FROM quarantine q WHERE q.batch_id = b.batch_id AND q.severity = 'warning'))"
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
def small_inbox(tmp_path: Path, vault_key: bytes) -> Path:
    """A demo inbox: police files and a file of every shipped partner (whose quarantine needs the vault key)."""
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
        assert len(clean["loaded files"]) >= 3 and clean["quarantine"]

        home = tmp_path / "crashed"
        outputs = []
        for stage in STAGES:
            code, output = run_command(small_inbox, command_env(url, pseudonym_key, home, **{CRASH_VARIABLE: stage}))
            outputs.append(output)
            assert code == -signal.SIGKILL, f"{stage}: {output}"
            if stage != "discover":  # the warehouse exists from the first run on
                assert_whole_files_only(url)

        code, output = run_command(small_inbox, command_env(url, pseudonym_key, home))
        outputs.append(output)
        assert code == 0, output
        assert warehouse_rows(url) == clean
        values = personal_values(feed_records(small_inbox))
        assert find_in_bytes(values, {"console": "".join(outputs).encode()}) == []


def write_copy(data_file: Path, stem: str) -> Path:
    """The same data file delivered again under another name, with its own (matching) manifest."""
    copy = data_file.with_name(f"{stem}.ndjson")
    copy.write_bytes(data_file.read_bytes())
    manifest = json.loads(data_file.with_name(data_file.name.replace(".ndjson", ".manifest.json")).read_text())
    manifest["bestand"] = copy.name
    copy.with_name(f"{stem}.manifest.json").write_text(json.dumps(manifest))
    return copy


@pytest.mark.postgres
def test_two_runs_started_together_load_each_file_once(small_inbox, pseudonym_key, tmp_path, monkeypatch) -> None:
    with scratch_url("postgresql", tmp_path) as clean_url, scratch_url("postgresql", tmp_path) as url:
        monkeypatch.setenv("VICTIM_INTAKE_DATABASE_URL", clean_url)
        assert run_cli("run", "--inbox", str(small_inbox))[0] == 0
        # Both start on an empty database: migrations, key check and loads all race. One file is
        # also delivered a second time under another name.
        original = sorted((small_inbox / "police").glob("*.ndjson"))[0]
        write_copy(original, "politie-resent")
        environment = command_env(url, pseudonym_key, tmp_path / "home")
        first, second = start(small_inbox, environment), start(small_inbox, environment)
        outputs = [process.communicate(timeout=300)[0] for process in (first, second)]
        assert (first.returncode, second.returncode) == (0, 0), outputs
        assert warehouse_rows(url) == warehouse_rows(clean_url)
        engine = sa.create_engine(url)
        with engine.connect() as connection:
            per_file = connection.execute(
                sa.text("SELECT count(*) FROM ingest_batches WHERE state = 'loaded' GROUP BY file_sha256")
            ).scalars().all()
        engine.dispose()
        assert per_file and set(per_file) == {1}


def test_unreachable_database_says_so_and_the_rerun_completes(small_inbox, pseudonym_key, monkeypatch) -> None:
    # Nothing listens on port 1: the same error as a stopped PostgreSQL server.
    monkeypatch.setenv("VICTIM_INTAKE_DATABASE_URL", "postgresql+psycopg://victim@127.0.0.1:1/warehouse?connect_timeout=3")
    code, output = run_cli("run", "--inbox", str(small_inbox))
    assert code == 2
    assert "cannot use the warehouse postgresql+psycopg://victim@127.0.0.1:1/warehouse" in output
    assert "Traceback" not in output
    code, output = run_cli("status")
    assert code == 2 and "cannot read the warehouse" in output
    monkeypatch.delenv("VICTIM_INTAKE_DATABASE_URL")
    assert run_cli("run", "--inbox", str(small_inbox))[0] == 0


def test_transient_database_errors_are_retried_and_file_errors_are_not() -> None:
    from prefect.states import Failed

    from connectors.files import FileRejected
    from flows.errors import DatabaseError, TransientDatabaseError, is_transient, value_free_errors
    from flows.retries import retry_when_transient

    refused = sa.create_engine("postgresql+psycopg://victim@127.0.0.1:1/warehouse?connect_timeout=3")
    with pytest.raises(sa.exc.OperationalError) as unreachable:
        refused.connect()
    assert is_transient(unreachable.value.orig)
    with pytest.raises(TransientDatabaseError), value_free_errors("load"):
        refused.connect()
    memory = sa.create_engine("sqlite://")
    with memory.begin() as connection:
        connection.execute(sa.text("CREATE TABLE t (id INTEGER PRIMARY KEY)"))
        connection.execute(sa.text("INSERT INTO t VALUES (1)"))
        with pytest.raises(sa.exc.IntegrityError) as duplicate:
            connection.execute(sa.text("INSERT INTO t VALUES (1)"))
    assert not is_transient(duplicate.value.orig)
    assert retry_when_transient(None, None, Failed(data=TransientDatabaseError("load: database error")))
    assert not retry_when_transient(None, None, Failed(data=DatabaseError("load: database error")))
    assert not retry_when_transient(None, None, Failed(data=FileRejected("checksum does not match")))


def test_read_only_home_folder_is_a_clear_message(small_inbox, pseudonym_key, tmp_path) -> None:
    home = tmp_path / "home"
    home.mkdir()
    home.chmod(0o555)
    environment = command_env(f"sqlite:///{home / 'warehouse.sqlite'}", pseudonym_key, home)
    environment.pop("PREFECT_HOME")
    # Root ignores file modes: run the command as root without the capabilities that override them,
    # so the home folder is read-only to it as to its owner, wherever the checkout lies.
    prefix = ["setpriv", "--bounding-set", "-dac_override,-dac_read_search", "--inh-caps=-all"] if os.geteuid() == 0 else []
    result = subprocess.run(
        [*prefix, VICTIM_INTAKE, "run", "--inbox", str(small_inbox)],
        env=environment, capture_output=True, text=True, timeout=300,
    )
    assert result.returncode == 2, result.stdout + result.stderr
    assert f"cannot write to {home}" in result.stderr
    assert "Traceback" not in result.stdout + result.stderr


@pytest.mark.postgres
def test_connection_lost_mid_load_is_retried_and_the_run_completes(small_inbox, pseudonym_key, tmp_path, monkeypatch) -> None:
    from store.locks import LOAD_LOCK_KEY

    with scratch_url("postgresql", tmp_path) as clean_url, scratch_url("postgresql", tmp_path) as url:
        monkeypatch.setenv("VICTIM_INTAKE_DATABASE_URL", clean_url)
        assert run_cli("run", "--inbox", str(small_inbox))[0] == 0
        engine = sa.create_engine(url)
        holder = engine.connect()
        # Hold the warehouse's load lock, so the run's first load waits inside its transaction.
        holder.execute(sa.text("SELECT pg_advisory_xact_lock(:key)"), {"key": LOAD_LOCK_KEY})
        process = start(small_inbox, command_env(url, pseudonym_key, tmp_path / "home"))
        waiting = sa.text(
            "SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid() "
            "AND query LIKE 'SELECT pg_advisory_xact_lock%' AND wait_event_type = 'Lock'"
        )
        # Activity statistics are frozen inside a transaction: watch from a connection of its own.
        watcher = engine.connect().execution_options(isolation_level="AUTOCOMMIT")
        deadline = time.monotonic() + 120
        while not (pids := watcher.execute(waiting).scalars().all()):
            assert process.poll() is None and time.monotonic() < deadline, "the run never reached its load"
            time.sleep(0.2)
        # The server drops the loader's connection mid-transaction, as when PostgreSQL restarts.
        watcher.execute(sa.text("SELECT pg_terminate_backend(:pid)"), {"pid": pids[0]})
        watcher.close()
        holder.rollback()
        holder.close()
        engine.dispose()
        output, _ = process.communicate(timeout=300)
        assert process.returncode == 0, output
        assert "Retrying" in output or "retry" in output.lower()
        assert warehouse_rows(url) == warehouse_rows(clean_url)


def test_a_full_disk_fails_the_file_whole_and_is_not_retried(small_inbox, pseudonym_key, isolated_settings) -> None:
    from batch_loads import load_batch
    from source_files import prepared_file

    from connectors.files import sha256_of
    from flows.errors import DatabaseError, TransientDatabaseError, value_free_errors
    from store.clock import utc_now
    from store.engines import make_engine
    from warehouse.database import create_tables
    from warehouse.ledger import BatchRecord
    from warehouse.steward import next_step

    path = sorted((small_inbox / "police").glob("*.ndjson"))[0]
    notice, part = prepared_file("police", path, "batch-full")
    engine = make_engine(f"sqlite:///{isolated_settings / 'warehouse.sqlite'}")
    create_tables(engine)
    with engine.begin() as connection:
        connection.execute(sa.text("INSERT INTO ingest_runs (run_id, started_at, state) VALUES ('r', '2026-01-01', 'running')"))
        pages = connection.execute(sa.text("PRAGMA page_count")).scalar_one()
    # SQLite's page cap stands in for a full disk: the next pages cannot be written.
    sa.event.listen(engine, "connect", lambda dbapi, _: dbapi.execute(f"PRAGMA max_page_count = {pages + 1}"))
    engine.dispose()
    batch = BatchRecord("batch-full", "r", "police", path.name, sha256_of(path), utc_now(), str(path))
    with pytest.raises(DatabaseError) as failure, value_free_errors("load"):
        load_batch(engine, batch, part.registrations, part.quarantined, notice.record_count)
    assert not isinstance(failure.value, TransientDatabaseError)
    assert "full" in str(failure.value)
    assert "has space" in next_step("failed", str(failure.value), outstanding=True)
    with engine.connect() as connection:
        assert connection.execute(sa.text("SELECT count(*) FROM registrations")).scalar_one() == 0
        assert connection.execute(sa.text("SELECT count(*) FROM ingest_batches")).scalar_one() == 0
    engine.dispose()
