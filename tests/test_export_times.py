"""Export times: one in the future is refused (it would pin its rows against every correction), and
a correction older than the stored row is counted as ignored, in the run summary and in `status`."""

from __future__ import annotations

import datetime as dt
import json
import secrets
from pathlib import Path

import pytest
import sqlalchemy as sa
from feed import record, write_feed
from privacy_helpers import load
from scratch_db import scratch_url
from test_flow_end_to_end import run_cli

from connectors.files import FileRejected, sha256_of
from connectors.police import read_police_file
from store.engines import make_engine

KEY = secrets.token_bytes(32)
VAULT_KEY = secrets.token_bytes(32)
BACKENDS = ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]


def read(path: Path):
    return read_police_file(path, sha256_of(path), 10**9)


@pytest.mark.parametrize(
    ("exported_at", "expected"),
    [
        pytest.param("2999-01-01T00:00:00Z", "more than a day in the future", id="year 2999"),
        pytest.param(
            (dt.datetime.now(dt.UTC) + dt.timedelta(days=1, hours=1)).isoformat(), "more than a day in the future", id="a day and an hour ahead"
        ),
        pytest.param("gisteren om twee uur", "not an ISO 8601 time", id="not a time"),
    ],
)
def test_a_manifest_whose_export_time_cannot_be_true_refuses_the_file(tmp_path: Path, exported_at: str, expected: str) -> None:
    path = write_feed(tmp_path, "f", [record("A-1")], exported_at=exported_at)
    with pytest.raises(FileRejected, match=expected) as refused:
        read(path)
    assert exported_at not in str(refused.value)


def test_an_export_time_within_a_day_ahead_is_accepted(tmp_path: Path) -> None:
    # The source's clock may run ahead of ours, or lie in a time zone east of us.
    soon = (dt.datetime.now(dt.UTC) + dt.timedelta(hours=23)).isoformat()
    assert read(write_feed(tmp_path, "f", [record("A-1")], exported_at=soon)).record_count == 1


def ledger(engine) -> list[tuple]:
    with engine.connect() as connection:
        return connection.execute(sa.text("SELECT rows_loaded, rows_ignored_older FROM ingest_batches ORDER BY started_at")).all()


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_correction_older_than_the_stored_row_is_counted_as_ignored(backend: str, tmp_path: Path) -> None:
    with scratch_url(backend, tmp_path) as url:
        engine = make_engine(url)
        anna = {"source_record_id": "A", "surname": "Zwaluwstaart", "birth_date": "1999-04-02"}
        bert = {"source_record_id": "B", "surname": "Merel", "birth_date": "1988-01-05"}
        load(engine, [{**anna, "gender": "female"}], key=KEY, vault_key=VAULT_KEY, exported_at="2025-03-20T01:00:00.000000Z")
        load(engine, [{**anna, "gender": "male"}, bert], key=KEY, vault_key=VAULT_KEY, exported_at="2025-03-15T01:00:00.000000Z")
        with engine.connect() as connection:
            assert connection.execute(sa.text("SELECT gender FROM registrations ORDER BY gender")).scalars().all() == ["female", "female"]
        load(engine, [{**anna, "gender": "other"}], key=KEY, vault_key=VAULT_KEY, exported_at="2025-03-21T01:00:00.000000Z")
        assert ledger(engine) == [(1, 0), (2, 1), (1, 0)]
        engine.dispose()


@pytest.mark.usefixtures("prefect_server", "pseudonym_key")
def test_the_run_summary_and_status_report_future_exports_and_older_corrections(tmp_path: Path) -> None:
    inbox = tmp_path / "inbox"
    write_feed(inbox / "police", "politie-2025-03-16", [record("A-1", geslacht="V")], exported_at="2025-03-16T02:00:00+01:00")
    write_feed(inbox / "police", "politie-2999-01-01", [record("B-1")], exported_at="2999-01-01T02:00:00+01:00")
    code, output = run_cli("run", "--inbox", str(inbox))
    assert code == 1 and "more than a day in the future" in output, output

    # A correction of A-1 exported the day before the stored one: not applied, and said so.
    (inbox / "police" / "politie-2999-01-01.ndjson").unlink()
    write_feed(inbox / "police", "politie-2025-03-15", [record("A-1", geslacht="M"), record("C-1")], exported_at="2025-03-15T02:00:00+01:00")
    code, output = run_cli("run", "--inbox", str(inbox))
    assert code == 0, output
    assert "ignored, older export" in output
    batches = {batch["file_name"]: batch for batch in json.loads(run_cli("status", "--json")[1])["batches"]}
    assert batches["politie-2025-03-15.ndjson"]["rows_ignored_older"] == 1
    assert batches["politie-2025-03-16.ndjson"]["rows_ignored_older"] == 0
    assert "ignored, older export" in run_cli("status")[1]
