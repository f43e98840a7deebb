"""The steward's day: see what failed and why, fix it, rerun; the warehouse ends as if nothing failed."""

from __future__ import annotations

import datetime as dt
import json

import pytest
import sqlalchemy as sa
from feed import record, write_feed
from scratch_db import scratch_url
from test_flow_end_to_end import counts, run_cli

from store.engines import make_engine
from warehouse.database import create_tables
from warehouse.ledger import start_run
from warehouse.monitoring import SourceExpectations, source_warnings
from warehouse.steward import totals

pytestmark = pytest.mark.usefixtures("prefect_server")


def status_json() -> dict:
    code, output = run_cli("status", "--json")
    assert code == 0, output
    return json.loads(output)


def test_status_names_the_failure_and_rerun_failed_completes_it(tmp_path, pseudonym_key, isolated_settings) -> None:
    inbox = tmp_path / "inbox"
    write_feed(inbox / "police", "politie-2025-03-15", [record("A-1"), record("A-2")])
    broken = [record("B-1"), record("B-2", bsn="123456789")]
    write_feed(inbox / "police", "politie-2025-03-16", broken, manifest_changes={"aantal_records": 7})
    url = f"sqlite:///{isolated_settings / 'warehouse.sqlite'}"

    code, output = run_cli("run", "--inbox", str(inbox))
    assert code == 1
    assert "victim-intake rerun --failed" in output

    report = status_json()
    assert report["outstanding_failures"] == 1
    newest_run = report["runs"][0]
    assert (newest_run["state"], newest_run["files_loaded"], newest_run["files_failed"]) == ("failed", 1, 1)
    assert newest_run["reason"] == "1 of 2 file(s) failed"
    failed = next(batch for batch in report["batches"] if batch["state"] == "failed")
    assert failed["file_name"] == "politie-2025-03-16.ndjson"
    assert "manifest" in failed["reason"]
    assert "ask the source for a complete delivery" in failed["next_step"]
    code, table = run_cli("status")
    assert "politie-2025-03-16.ndjson" in table and "rerun --failed" in table

    # The steward gets a corrected manifest and reruns only what failed.
    write_feed(inbox / "police", "politie-2025-03-16", broken)
    code, output = run_cli("rerun", "--failed")
    assert code == 0, output
    assert counts(url) == (3, 1, 1)
    assert status_json()["outstanding_failures"] == 0
    assert status_json()["runs"][0]["state"] == "completed"

    # Nothing is left to rerun, and rerunning a loaded batch by id changes nothing.
    code, output = run_cli("rerun", "--failed")
    assert code == 0 and "Nothing to rerun" in output
    loaded = next(batch for batch in status_json()["batches"] if batch["state"] == "loaded")
    code, output = run_cli("rerun", loaded["batch_id"][:10])
    assert code == 0, output
    assert "already loaded" in output
    assert counts(url) == (3, 1, 1)
    with make_engine(url).connect() as connection:
        assert connection.execute(sa.text("SELECT count(*) FROM ingest_batches WHERE state = 'loaded'")).scalar_one() == 2


def test_rerun_needs_failed_or_a_batch(pseudonym_key) -> None:
    assert run_cli("rerun")[0] == 2
    code, output = run_cli("rerun", "nosuchbatch")
    assert code == 2
    assert "victim-intake status" in output


def test_a_retried_flow_run_starts_its_run_again(isolated_settings) -> None:
    # Prefect's retry of a failed flow run keeps the flow run id.
    engine = make_engine(f"sqlite:///{isolated_settings / 'warehouse.sqlite'}")
    create_tables(engine)
    start_run(engine, "run-1")
    start_run(engine, "run-1")
    with engine.connect() as connection:
        assert connection.execute(sa.text("SELECT state FROM ingest_runs")).scalars().all() == ["running"]
    engine.dispose()


def _loaded(engine: sa.Engine, source: str, rows: int, finished: dt.datetime, number: int) -> None:
    with engine.begin() as connection:
        connection.execute(
            sa.text(
                "INSERT INTO ingest_batches (batch_id, run_id, source, file_name, file_sha256, state, rows_in, "
                "rows_loaded, rows_quarantined, started_at, finished_at) "
                "VALUES (:id, 'r', :source, :name, :sha, 'loaded', :rows, :rows, 0, :t, :t)"
            ),
            {"id": f"b{number}", "source": source, "name": f"f{number}", "sha": f"{number:064d}", "rows": rows, "t": finished},
        )


def test_monitoring_warns_of_silence_and_volume_drops(isolated_settings) -> None:
    engine = make_engine(f"sqlite:///{isolated_settings / 'warehouse.sqlite'}")
    create_tables(engine)
    with engine.begin() as connection:
        connection.execute(sa.text("INSERT INTO ingest_runs (run_id, started_at, state) VALUES ('r', '2026-03-01', 'completed')"))
    start = dt.datetime(2026, 3, 1, 2, 0, tzinfo=dt.UTC)
    for day, rows in enumerate([100, 110, 90, 100]):
        _loaded(engine, "police", rows, start + dt.timedelta(days=day), day)
    expected = SourceExpectations(intervals={"police": dt.timedelta(hours=24), "fairwork": dt.timedelta(days=31)})
    morning_after = start + dt.timedelta(days=3, hours=7)
    assert source_warnings(engine, expected, morning_after) == []

    # A night without a police file: the steward sees it the next morning.
    two_days_later = start + dt.timedelta(days=4, hours=7)
    [silence] = source_warnings(engine, expected, two_days_later)
    assert "source police delivered nothing for 31 hours" in silence

    # A delivery far below the recent average.
    _loaded(engine, "police", 20, start + dt.timedelta(days=4), 4)
    [drop] = source_warnings(engine, expected, two_days_later)
    assert "20 rows, far below its recent average of 100" in drop
    engine.dispose()


@pytest.mark.parametrize("backend", ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def test_totals_count_registrations_and_distinct_persons(tmp_path, backend) -> None:
    with scratch_url(backend, tmp_path) as url:
        engine = make_engine(url)
        create_tables(engine)
        # Pseudonyms that a locale-aware comparison might order or fold differently; and no pseudonym.
        persons = ["v1-Ab", "v1-ab", "v1-aB", "v1-ab", "v1-Z", "v1-é", "v1-e\u0301", None, None]
        with engine.begin() as connection:
            connection.execute(sa.text("INSERT INTO ingest_runs (run_id, started_at, state) VALUES ('r', '2026-03-01', 'completed')"))
        _loaded(engine, "police", len(persons), dt.datetime(2026, 3, 1, tzinfo=dt.UTC), 1)
        with engine.begin() as connection:
            connection.execute(
                sa.text(
                    "INSERT INTO registrations (registration_id, source, source_kind, scope, registration_year, person_id, "
                    "age_group, gender, nationality, exploitation_type, exploitation_country, reporting_unit, "
                    "exploitation_municipality, exploitation_sector, batch_id) "
                    "VALUES (:id, 'police', 'police', 'national', 2026, :person, 'unknown', 'unknown', 'UNK', 'unknown', 'UNK', "
                    "'unknown', 'unknown', 'unknown', 'b1')"
                ),
                [{"id": f"r{number}", "person": person} for number, person in enumerate(persons)],
            )
        held = totals(engine)
        engine.dispose()
    assert (held.registrations, held.persons, held.files_loaded) == (9, 6, 1)
