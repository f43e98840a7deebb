"""The scale-out path for real: a Prefect server, a process work pool, `prefect deploy --all`, two
`prefect worker start` processes and PostgreSQL as the warehouse. One `nightly-fan-out` run spreads
a night's police and partner files over both workers, while two more `ingest-file` runs race it for
one file; every file must be loaded once, with the persons a single-process run finds."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import time
import urllib.error
import urllib.request

import pandas as pd
import pytest
import sqlalchemy as sa
from programs import PREFECT, VICTIM_INTAKE
from scratch_db import scratch_postgres_url
from test_crashes import write_copy
from test_deployment_end_to_end import _free_port, _prefect, _wait_for
from test_deployments import ROOT, deployments
from warehouse_checks import expected_from_truth, feed_records, find_in_bytes, partner_personal_values, personal_values

from connectors.files import sha256_of
from flows.ingest_file import sealed_path
from store.locks import LOAD_LOCK_KEY
from victim_intake.synthetic import write_demo_inbox

pytestmark = [pytest.mark.postgres, pytest.mark.usefixtures("console_scripts")]
WORKERS = ("worker-a", "worker-b")
PARTNERS = ("zorgcoordinatie", "kmar", "nla")  # CSV and XLSX, all naming persons the police also reported


def _api(port: int, path: str, body: dict | None = None, attempts: int = 5):
    """One call of the server's REST API; retried like Prefect's own client when the server is busy."""
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}/api/{path}",
        data=None if body is None else json.dumps(body).encode(),
        headers={"Content-Type": "application/json"},
        method="GET" if body is None else "POST",
    )
    for attempt in range(attempts):
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                return json.loads(response.read())
        except urllib.error.HTTPError as error:
            # 503: the server's own database was busy (SQLite here); Prefect's client retries it too.
            if error.code not in (429, 503) or attempt == attempts - 1:
                raise
            time.sleep(2**attempt)


def _every(port: int, what: str) -> list[dict]:
    """Every row of a filter endpoint (`flow_runs`, `logs`, `artifacts`), page by page."""
    rows: list[dict] = []
    while page := _api(port, f"{what}/filter", {"limit": 200, "offset": len(rows)}):
        rows += page
    return rows


def _wait_until_final(port: int, flow_run_ids: list[str], seconds: float = 240) -> dict[str, dict]:
    deadline = time.monotonic() + seconds
    while True:
        runs = {run_id: _api(port, f"flow_runs/{run_id}") for run_id in flow_run_ids}
        if all(run["state"]["type"] in ("COMPLETED", "FAILED", "CRASHED", "CANCELLED") for run in runs.values()):
            return runs
        assert time.monotonic() < deadline, {run["name"]: run["state"]["type"] for run in runs.values()}
        time.sleep(1)


def _workers_of(port: int, flow_run_ids: set[str], seconds: float = 60) -> dict[str, str]:
    """flow run id -> name of the worker that submitted it, from the server's event record."""
    deadline = time.monotonic() + seconds
    while True:
        page = _api(port, "events/filter", {"filter": {"event": {"name": ["prefect.worker.submitted-flow-run"]}}, "limit": 50})
        events = page["events"]
        while page.get("next_page"):
            with urllib.request.urlopen(page["next_page"], timeout=30) as response:
                page = json.loads(response.read())
            events += page["events"]
        submitted = {}
        for event in events:
            for related in event["related"]:
                if related["prefect.resource.role"] == "flow-run":
                    submitted[related["prefect.resource.id"].removeprefix("prefect.flow-run.")] = event["resource"]["prefect.resource.name"]
        # Events are written by the server in batches, a few seconds after they happen.
        if flow_run_ids <= submitted.keys() or time.monotonic() > deadline:
            return {run_id: submitted.get(run_id) for run_id in flow_run_ids}
        time.sleep(1)


def _wait_for_loads_waiting(url: str, loads: int, seconds: float = 180) -> None:
    """Until `loads` sessions wait for a lock: the load lock, or the ledger entry of a file another
    load is loading (watched from a connection of its own: activity statistics are frozen inside a
    transaction)."""
    waiting = sa.text("SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'")
    engine = sa.create_engine(url, isolation_level="AUTOCOMMIT")
    deadline = time.monotonic() + seconds
    with engine.connect() as connection:
        while connection.execute(waiting).scalar_one() < loads:
            assert time.monotonic() < deadline, "the file runs never reached their loads"
            time.sleep(0.2)
    engine.dispose()


def _wait_for_file_runs(port: int, deployment_id: str, count: int, seconds: float = 180) -> None:
    """Until `count` runs of the file deployment exist: the racers and every run the fan-out
    started, so that its discovery is over before the held lock lets any load commit."""
    deadline = time.monotonic() + seconds
    while sum(run["deployment_id"] == deployment_id for run in _every(port, "flow_runs")) < count:
        assert time.monotonic() < deadline, "the fan-out never started its file runs"
        time.sleep(1)


def _started_run(output: str) -> str:
    return re.search(r"UUID: ([0-9a-f-]{36})", output).group(1)


def _warehouse(url: str) -> dict:
    engine = sa.create_engine(url)
    with engine.connect() as connection:
        loads = connection.execute(
            sa.text("SELECT file_sha256, count(*) FROM ingest_batches WHERE state = 'loaded' GROUP BY file_sha256")
        ).all()
        registrations = pd.read_sql(sa.text("SELECT * FROM registrations"), connection)
        failed = connection.execute(sa.text("SELECT count(*) FROM ingest_batches WHERE state <> 'loaded'")).scalar_one()
    engine.dispose()
    linked = registrations.dropna(subset=["person_id"])
    return {
        "loads": dict(loads),
        "failed batches": failed,
        "registrations": len(registrations),
        "persons": linked["person_id"].nunique(),
        "partition": {frozenset(ids) for ids in linked.groupby("person_id")["registration_id"].apply(list)},
        # Everything but the random batch ids and the pseudonyms (compared as the partition).
        "rows": sorted(registrations.drop(columns=["batch_id", "person_id"]).astype(str).itertuples(index=False, name=None)),
    }


def test_one_night_fans_out_over_two_process_workers(tmp_path, pseudonym_key, vault_key) -> None:
    started_at = time.monotonic()
    pool = deployments()[0]["work_pool"]["name"]
    home = tmp_path / "home"
    inbox = home / "inbox"
    summary = write_demo_inbox(inbox, persons=150, seed=5, files=2)
    # A few partners, to keep the number of flow-run processes (each starts Python afresh) small.
    for folder in inbox.iterdir():
        if folder.name not in ("police", *PARTNERS):
            shutil.rmtree(folder)
    truth = pd.read_csv(summary.truth_path, dtype=str, keep_default_na=False)
    truth_path = tmp_path / "truth.csv"
    truth[truth["source"].isin(["police", *PARTNERS])].to_csv(truth_path, index=False)
    # One police file is delivered twice under two names: its content must be loaded once.
    raced = sorted((inbox / "police").glob("*.ndjson"))[0]
    write_copy(raced, "politie-nogmaals")
    files = [path for path in inbox.rglob("*") if path.is_file() and not path.name.endswith(".manifest.json")]
    contents = {sha256_of(path) for path in files}
    assert len(files) == 6 and len(contents) == 5
    port = _free_port()
    with scratch_postgres_url() as url, scratch_postgres_url() as single_process_url:
        environment = {
            **os.environ,
            "PREFECT_HOME": str(tmp_path / "prefect"),
            "PREFECT_API_URL": f"http://127.0.0.1:{port}/api",
            "PREFECT_SERVER_API_HOST": "127.0.0.1",
            "PREFECT_SERVER_DATABASE_CONNECTION_URL": f"sqlite+aiosqlite:///{tmp_path / 'prefect-server.db'}",
            "PREFECT_SERVER_UI_ENABLED": "false",
            "PREFECT_WORKER_QUERY_SECONDS": "1",
            "VICTIM_INTAKE_HOME": str(home),
            "VICTIM_INTAKE_DATABASE_URL": url,
        }
        holder = None
        server = subprocess.Popen(
            [PREFECT, "server", "start", "--host", "127.0.0.1", "--port", str(port)],
            env=environment, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )
        workers: list[subprocess.Popen] = []
        try:
            _wait_for(f"http://127.0.0.1:{port}/api/health", server)
            _prefect("work-pool", "create", pool, "--type", "process", environment=environment)
            _prefect("deploy", "--all", "--no-prompt", environment=environment)
            server_ready = time.monotonic()
            for name in WORKERS:
                workers.append(
                    subprocess.Popen(
                        [PREFECT, "worker", "start", "--pool", pool, "--name", name, "--limit", "2"],
                        cwd=ROOT, env=environment, stdout=(tmp_path / f"{name}.log").open("w"), stderr=subprocess.STDOUT,
                    )
                )
            # Every load queues at the warehouse's load lock until two loads wait: the racers below,
            # which start first, one at the load lock and the other at the first one's uncommitted
            # ledger entry, so that two runs of the same file truly race for it.
            holder = sa.create_engine(url, poolclass=sa.NullPool).connect()
            holder.execute(sa.text("SELECT pg_advisory_xact_lock(:key)"), {"key": LOAD_LOCK_KEY})
            # Two runs race the fan-out for the same file, on whichever workers take them.
            ingest_file = _api(port, "deployments/name/ingest-file/ingest-file")["id"]
            file_parameters = {"parameters": {"file": sealed_path(str(raced), sha256_of(raced)), "sha256": sha256_of(raced)}}
            racers = [_api(port, f"deployments/{ingest_file}/create_flow_run", file_parameters)["id"] for _ in range(2)]
            fan_out = _started_run(_prefect("deployment", "run", "nightly-fan-out/nightly-fan-out", environment=environment))
            # Meanwhile the same inbox is loaded by the single-process command (through the same server).
            reference = subprocess.Popen(
                [VICTIM_INTAKE, "run", "--inbox", str(inbox)],
                env={**environment, "VICTIM_INTAKE_DATABASE_URL": single_process_url, "VICTIM_INTAKE_HOME": str(tmp_path / "single")},
                stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
            )
            _wait_for_loads_waiting(url, 2)
            # Had a racer committed before the fan-out's discovery, the fan-out would skip the raced
            # file as already loaded: the lock is held until every file run exists.
            _wait_for_file_runs(port, ingest_file, len(racers) + len(contents))
            holder.rollback()
            holder.close()
            ended = _wait_until_final(port, [fan_out, *racers])
            fanned_out = time.monotonic()
            output, _ = reference.communicate(timeout=300)
            assert reference.returncode == 0, output
            all_runs = _every(port, "flow_runs")
            file_runs = [run for run in all_runs if run["deployment_id"] == ingest_file]
            children = [run for run in file_runs if run["id"] not in racers]
            workers_of = _workers_of(port, {run["id"] for run in file_runs})
            logs, artifacts = _every(port, "logs"), _every(port, "artifacts")
        finally:
            if holder is not None and not holder.closed:
                holder.close()
            for process in [*workers, server]:
                process.terminate()
            for process in [*workers, server]:
                process.wait(timeout=60)

        assert {run["state"]["type"] for run in ended.values()} == {"COMPLETED"}, ended
        # One file run per distinct content (discovery skips the second name of the raced file), all
        # completed, on both workers.
        assert len(children) == len(contents)
        assert {run["state"]["type"] for run in file_runs} == {"COMPLETED"}
        assert all(run["parameters"].keys() == {"file", "sha256"} for run in file_runs)
        assert {workers_of[run["id"]] for run in children} == set(WORKERS), workers_of
        # Exactly once: of the runs of the raced file one loaded it, and one that had read, validated
        # and pseudonymised it too met the ledger's unique index at its load (skipped, nothing written).
        raced_runs = [run["state"]["message"] for run in file_runs if run["parameters"]["sha256"] == sha256_of(raced)]
        assert len(raced_runs) == 3 and raced_runs.count("loaded") == 1, raced_runs
        assert any("was loaded by another run meanwhile" in message for message in raced_runs), raced_runs
        fanned, single = _warehouse(url), _warehouse(single_process_url)
        assert fanned["loads"] == {content: 1 for content in contents}
        assert fanned["failed batches"] == 0
        expected = expected_from_truth(truth_path)
        # Persons on a placeholder birth date (1 January) link by BSN or V-number only, so there may be
        # more persons than the truth's (test_flow_end_to_end checks them against the truth).
        assert (fanned["registrations"], fanned["persons"]) == (expected.registrations, single["persons"])
        assert single["persons"] >= expected.persons
        assert fanned["partition"] == single["partition"]
        assert fanned["rows"] == single["rows"]
        # Parameters are sealed paths and checksums; no log or artifact of any run names anyone, nor
        # any file (a file name comes from its source and may hold a name).
        texts = json.dumps([all_runs, logs, artifacts]).encode()
        assert [path.name for path in files if path.name.encode() in texts or path.stem.encode() in texts] == []
        values = personal_values(feed_records(inbox)) | partner_personal_values(inbox)
        assert find_in_bytes(values, {"flow runs, logs and artifacts": texts}) == []
        print(
            f"\nscale-out timings: server and deploy {server_ready - started_at:.1f} s, "
            f"fan-out of {len(children)} files over {len(WORKERS)} workers {fanned_out - server_ready:.1f} s, "
            f"total {time.monotonic() - started_at:.1f} s"
        )
