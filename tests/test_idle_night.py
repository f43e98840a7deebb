"""A night with nothing new: fast, yet a changed file is never taken for a loaded one, the run is
still a real Prefect flow run on the temporary server that `victim-intake run` starts early, and
the warehouse is left as complete as by any other night."""

from __future__ import annotations

import base64
import os
import re
import secrets
import socket
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest
import sqlalchemy as sa
from feed import record, write_feed
from programs import VICTIM_INTAKE
from test_flow_end_to_end import run_cli

from connectors import hash_cache

pytestmark = pytest.mark.usefixtures("console_scripts")



def registration_count(home: Path) -> int:
    engine = sa.create_engine(f"sqlite:///{home / 'warehouse.sqlite'}")
    with engine.connect() as connection:
        count = connection.execute(sa.text("SELECT count(*) FROM registrations")).scalar_one()
    engine.dispose()
    return count


def loaded_files(home: Path) -> list[str]:
    engine = sa.create_engine(f"sqlite:///{home / 'warehouse.sqlite'}")
    with engine.connect() as connection:
        names = connection.execute(sa.text("SELECT file_name FROM ingest_batches WHERE state = 'loaded'")).scalars().all()
    engine.dispose()
    return names


@pytest.mark.usefixtures("prefect_server")
def test_a_feed_rewritten_with_the_same_size_and_mtime_is_loaded(tmp_path, pseudonym_key, isolated_settings, monkeypatch) -> None:
    # Files of the test count as settled at once, so the first run remembers the feed's hash.
    monkeypatch.setattr(hash_cache, "SETTLE_SECONDS", 0.0)
    inbox = tmp_path / "inbox"
    feed = write_feed(inbox / "police", "politie-2025-03-15", [record("PL-0001")])
    time.sleep(0.05)
    assert run_cli("run", "--inbox", str(inbox))[0] == 0
    assert str(feed.resolve()) in (isolated_settings / "file-hashes.json").read_text()
    code, output = run_cli("run", "--inbox", str(inbox))
    assert code == 0 and "already loaded" in output

    # The police export is written again under the same name: another record of the same length,
    # and the file's modification time set back to the first delivery's.
    before = feed.stat()
    write_feed(inbox / "police", "politie-2025-03-15", [record("PL-0002")])
    os.utime(feed, ns=(before.st_atime_ns, before.st_mtime_ns))
    after = feed.stat()
    assert (after.st_size, after.st_mtime_ns) == (before.st_size, before.st_mtime_ns)
    code, output = run_cli("run", "--inbox", str(inbox))
    assert code == 0, output
    assert registration_count(isolated_settings) == 2
    assert loaded_files(isolated_settings) == [feed.name, feed.name]


def one_record_inbox(tmp_path: Path) -> Path:
    """An inbox holding one police feed file with one valid record."""
    inbox = tmp_path / "inbox"
    write_feed(inbox / "police", "politie-2025-03-15", [record("PL-0001")])
    return inbox


def steward_env(tmp_path: Path, **extra: str) -> dict[str, str]:
    """A steward's shell: no Prefect server configured, so `run` starts the temporary one."""
    environment = {
        **os.environ,
        "VICTIM_INTAKE_HOME": str(tmp_path / "home"),
        "PREFECT_HOME": str(tmp_path / "prefect"),
        "VICTIM_INTAKE_PSEUDONYM_KEY": base64.b64encode(secrets.token_bytes(32)).decode(),
        "VICTIM_INTAKE_VAULT_KEY": base64.b64encode(secrets.token_bytes(32)).decode(),
        **extra,
    }
    if "VICTIM_INTAKE_DATABASE_URL" not in extra:
        environment.pop("VICTIM_INTAKE_DATABASE_URL", None)
    environment.pop("PREFECT_API_URL", None)
    return {name: value for name, value in environment.items() if value}


def run_command(inbox: Path, environment: dict[str, str]) -> tuple[int, str]:
    result = subprocess.run(
        [VICTIM_INTAKE, "run", "--inbox", str(inbox)], env=environment, capture_output=True, text=True, timeout=300, check=False
    )
    return result.returncode, result.stdout + result.stderr


def server_ports(output: str) -> list[int]:
    return [int(port) for port in re.findall(r"Starting temporary server on http://127\.0\.0\.1:(\d+)", output)]


def accepts_connections(port: int) -> bool:
    with socket.socket() as connection:
        connection.settimeout(1)
        return connection.connect_ex(("127.0.0.1", port)) == 0


def test_run_is_a_real_flow_run_on_one_temporary_server_that_ends_with_it(tmp_path) -> None:
    inbox = one_record_inbox(tmp_path)
    environment = steward_env(tmp_path)
    for _ in range(2):  # the second night has nothing new
        code, output = run_command(inbox, environment)
        assert code == 0, output
        ports = server_ports(output)
        assert len(ports) == 1, output
        assert not accepts_connections(ports[0]), "the temporary server outlived the command"
    assert "already loaded" in output

    # Prefect's own record of both nights: completed flow runs, with their task runs and summary.
    database = sqlite3.connect(tmp_path / "prefect" / "prefect.db")
    flow_runs = database.execute(
        "SELECT flow_run.id, flow_run.state_type FROM flow_run JOIN flow ON flow.id = flow_run.flow_id "
        "WHERE flow.name = 'nightly-ingest'"
    ).fetchall()
    assert [state for _, state in flow_runs] == ["COMPLETED", "COMPLETED"]
    for flow_run_id, _ in flow_runs:
        tasks = {
            re.sub(r"-\w+$", "", name)
            for (name,) in database.execute("SELECT name FROM task_run WHERE flow_run_id = ?", (flow_run_id,))
        }
        assert {"prepare_warehouse", "discover_deliveries", "refresh_marts"} <= tasks
        artifacts = database.execute(
            "SELECT count(*) FROM artifact WHERE flow_run_id = ? AND key = 'nightly-ingest-summary'", (flow_run_id,)
        ).fetchone()[0]
        assert artifacts == 1
    database.close()


def test_a_run_without_keys_stops_before_any_server_starts(tmp_path) -> None:
    inbox = one_record_inbox(tmp_path)
    code, output = run_command(inbox, steward_env(tmp_path, VICTIM_INTAKE_PSEUDONYM_KEY=""))
    assert code == 2, output
    assert "victim-intake keys init" in output
    assert server_ports(output) == []


def test_a_run_stopped_by_the_warehouse_check_leaves_no_server_running(tmp_path) -> None:
    inbox = one_record_inbox(tmp_path)
    code, output = run_command(inbox, steward_env(tmp_path, VICTIM_INTAKE_DATABASE_URL="not a database url"))
    assert code == 2, output
    assert "not a valid SQLAlchemy URL" in output
    # The server was starting while the warehouse was checked; it is stopped, not left behind.
    [port] = server_ports(output)
    assert not accepts_connections(port)


@pytest.mark.usefixtures("prefect_server")
def test_marts_left_stale_are_refreshed_by_a_night_with_nothing_new(tmp_path, pseudonym_key, isolated_settings) -> None:
    from warehouse.marts import mark_all_stale, stale_years

    inbox = one_record_inbox(tmp_path)
    assert run_cli("run", "--inbox", str(inbox))[0] == 0
    engine = sa.create_engine(f"sqlite:///{isolated_settings / 'warehouse.sqlite'}")
    with engine.begin() as connection:
        mark_all_stale(connection)  # as erasure or retention leave them
    code, output = run_cli("run", "--inbox", str(inbox))
    assert code == 0, output
    with engine.connect() as connection:
        assert stale_years(connection) == set()
    engine.dispose()


def test_the_server_starts_before_prefects_server_api_is_imported(tmp_path) -> None:
    # Prefect's server API takes seconds to import: the server's own start must not wait for it.
    script = (
        "import sys\n"
        "from victim_intake import prefect_env\n"
        "prefect_env.configure()\n"
        "from victim_intake.temporary_server import EarlyServer\n"
        "server = EarlyServer()\n"
        "print('imported before the start:', 'prefect.server.api.server' in sys.modules)\n"
        "with server.ready():\n"
        "    from prefect.client.orchestration import get_client\n"
        "    with get_client(sync_client=True) as client:\n"
        "        print('answers:', client.api_healthcheck() is None)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", script], env=steward_env(tmp_path), capture_output=True, text=True, timeout=300, check=False
    )
    assert result.returncode == 0, result.stderr
    assert "imported before the start: False" in result.stdout
    assert "answers: True" in result.stdout
    [port] = server_ports(result.stdout + result.stderr)
    assert not accepts_connections(port)


def test_checking_partner_definitions_before_the_server_starts_does_not_import_pandas() -> None:
    script = "import sys\nimport schemas.partner_definition\nprint('pandas' in sys.modules)\n"
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120, check=True)
    assert result.stdout.strip() == "False"


def test_the_flows_preparation_step_does_not_repeat_the_callers(monkeypatch) -> None:
    from flows import nightly

    prepared: list[str] = []
    monkeypatch.setattr(nightly, "prepare_warehouse", lambda: prepared.append("prepared"))
    with nightly.prepared_by_caller():
        nightly.prepare_warehouse_task.fn()
    assert prepared == []
    nightly.prepare_warehouse_task.fn()  # a flow run nobody prepared for (a deployment's)
    assert prepared == ["prepared"]
