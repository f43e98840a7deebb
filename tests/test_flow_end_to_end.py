"""The nightly flow end to end on a synthetic inbox: a real Prefect flow run into real databases."""

from __future__ import annotations

import base64
import hashlib
import json
from pathlib import Path

import pandas as pd
import pytest
import sqlalchemy as sa
from feed import record, write_feed
from typer.testing import CliRunner
from warehouse_checks import (
    column_contents,
    expected_from_truth,
    feed_records,
    find_in_bytes,
    long_values,
    partner_personal_values,
    personal_values,
    sqlite_blobs,
)

from pseudonyms.identity import registration_ids
from victim_intake.cli import app
from victim_intake.synthetic import write_demo_inbox

PERSONS = 600
pytestmark = pytest.mark.usefixtures("prefect_server")


def run_cli(*arguments: str) -> tuple[int, str]:
    result = CliRunner().invoke(app, list(arguments))
    if result.exception and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result.exit_code, result.output


def flow_run_texts() -> str:
    """Logs, parameters and artifacts of every flow run on the test server, as one text."""
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import LogFilter

    texts = []
    with get_client(sync_client=True) as client:
        for flow_run in client.read_flow_runs():
            texts.append(json.dumps(flow_run.parameters))
            texts.append(flow_run.state.message or "")
        texts.extend(log.message for log in client.read_logs(LogFilter()))
        texts.extend(json.dumps(artifact.data) for artifact in client.read_artifacts())
    return "\n".join(texts)


@pytest.fixture
def demo_inbox(tmp_path: Path) -> tuple[Path, Path]:
    inbox = tmp_path / "inbox"
    summary = write_demo_inbox(inbox, persons=PERSONS, seed=11, files=4)
    return inbox, summary.truth_path


def counts(url: str) -> tuple[int, int, int]:
    engine = sa.create_engine(url)
    with engine.connect() as connection:
        registrations, persons = connection.execute(
            sa.text("SELECT count(*), count(DISTINCT person_id) FROM registrations")
        ).one()
        quarantined = connection.execute(
            sa.text("SELECT coalesce(sum(rows_quarantined), 0) FROM ingest_batches WHERE state = 'loaded'")
        ).scalar_one()
        bad_files = connection.execute(
            sa.text("SELECT count(*) FROM ingest_batches WHERE rows_in <> rows_loaded + rows_quarantined")
        ).scalar_one()
    engine.dispose()
    assert bad_files == 0, "a file's rows in differ from loaded + quarantined"
    return registrations, persons, int(quarantined)


def first_of_january_registrations(url: str) -> set[str]:
    """Registrations whose birth date is 1 January (opened from the vault with the configured key)."""
    import base64
    import os

    from warehouse.rotation import open_entries

    engine = sa.create_engine(url)
    vault = "vault." if engine.dialect.name == "postgresql" else ""
    with engine.connect() as connection:
        rows = connection.execute(sa.text(
            f"SELECT v.registration_id, v.person_id, v.sealed, r.source FROM {vault}vault_identities v "
            "JOIN registrations r ON r.registration_id = v.registration_id"
        )).all()
    engine.dispose()
    opened = open_entries(rows, base64.b64decode(os.environ["VICTIM_INTAKE_VAULT_KEY"]))
    return set(opened.loc[(opened["birth_date"].dt.month == 1) & (opened["birth_date"].dt.day == 1), "registration_id"])


def assert_matches_truth(url: str, truth: Path, key: bytes) -> None:
    expected = expected_from_truth(truth)
    registrations, persons, quarantined = counts(url)
    assert (registrations, quarantined) == (expected.registrations, expected.quarantined_rows)
    # Not only the number of persons: the same truth person must have the same pseudonym everywhere.
    table = pd.read_csv(truth, dtype=str, keep_default_na=False)
    valid = table[table["valid"].str.lower() == "true"].drop_duplicates(["source", "source_record_id"])
    valid = valid.assign(registration_id=registration_ids(valid["source"], valid["source_record_id"], key).to_numpy())
    engine = sa.create_engine(url)
    with engine.connect() as connection:
        stored = pd.read_sql("SELECT registration_id, person_id FROM registrations", connection)
    engine.dispose()
    joined = valid.merge(stored, on="registration_id", how="left", validate="one_to_one")
    assert joined["registration_id"].isin(stored["registration_id"]).all()
    # Anonymous rows (CTDC, empty truth person) must stay unlinked; every other row is linked.
    anonymous = joined["person"] == ""
    assert joined.loc[anonymous, "person_id"].isna().all()
    joined = joined[~anonymous]
    assert joined["person_id"].notna().all() and persons == joined["person_id"].nunique()
    # No person holds registrations of two truth persons.
    assert joined.groupby("person_id")["person"].nunique().eq(1).all()
    # Every truth person is one person, except where the birth date is 1 January (a placeholder:
    # only BSN and V-number link those registrations, so such a person may be counted more than once).
    on_first = joined["registration_id"].isin(first_of_january_registrations(url))
    placeholder = joined["person"].isin(joined.loc[on_first, "person"]) | (joined["birth_day_unknown"] == "true")
    assert placeholder.any() and joined[~placeholder].groupby("person")["person_id"].nunique().eq(1).all()
    assert expected.persons <= persons <= expected.persons + int(placeholder.sum())


def test_demo_inbox_loads_exactly_once_on_sqlite(demo_inbox, pseudonym_key, vault_key, isolated_settings, capfd) -> None:
    inbox, truth = demo_inbox
    url = f"sqlite:///{isolated_settings / 'warehouse.sqlite'}"

    code, output = run_cli("run", "--inbox", str(inbox))
    assert code == 0, output
    assert_matches_truth(url, truth, pseudonym_key)

    code, again = run_cli("run", "--inbox", str(inbox))
    assert code == 0, again
    assert "already loaded" in again
    assert_matches_truth(url, truth, pseudonym_key)

    # Nothing personal in the warehouse file and its journals, the console or Prefect's records.
    console = output + again + "".join(capfd.readouterr())
    values = personal_values(feed_records(inbox)) | partner_personal_values(inbox)
    assert len(values) > PERSONS
    readable, _ = column_contents(url)
    assert find_in_bytes(values, readable) == []
    assert find_in_bytes(long_values(values), sqlite_blobs(isolated_settings / "warehouse.sqlite")) == []
    assert find_in_bytes(values, {"console": console.encode()}) == []
    assert find_in_bytes(values, {"prefect": flow_run_texts().encode()}) == []


def test_files_loaded_in_small_parts_match_the_truth(demo_inbox, pseudonym_key, vault_key, isolated_settings, monkeypatch) -> None:
    # Parts of ~10 KB: every demo file is read, validated, linked and loaded in many parts, inside
    # one transaction per file, each part prepared ahead in the helper process while the one before
    # loads; the result must be exactly that of whole files.
    monkeypatch.setenv("VICTIM_INTAKE_PART_MB", "0.01")
    monkeypatch.setenv("VICTIM_INTAKE_PREPARE_AHEAD", "1")
    inbox, truth = demo_inbox
    largest = max(path.stat().st_size for path in (inbox / "police").glob("*.ndjson"))
    assert largest > 5 * 0.01 * 2**20
    code, output = run_cli("run", "--inbox", str(inbox))
    assert code == 0, output
    assert_matches_truth(f"sqlite:///{isolated_settings / 'warehouse.sqlite'}", truth, pseudonym_key)


def test_files_loaded_in_small_parts_match_the_truth_on_postgres(demo_inbox, pseudonym_key, vault_key, scratch_postgres, monkeypatch) -> None:
    # Staging tables are created again for every part, inside the file's one transaction.
    monkeypatch.setenv("VICTIM_INTAKE_PART_MB", "0.01")
    monkeypatch.setenv("VICTIM_INTAKE_PREPARE_AHEAD", "1")
    inbox, truth = demo_inbox
    code, output = run_cli("run", "--inbox", str(inbox))
    assert code == 0, output
    assert_matches_truth(scratch_postgres, truth, pseudonym_key)


def test_a_bad_line_in_a_later_part_fails_the_whole_file(tmp_path, pseudonym_key, isolated_settings, monkeypatch) -> None:
    monkeypatch.setenv("VICTIM_INTAKE_PART_MB", "0.004")  # about 4 KB: a handful of records a part
    monkeypatch.setenv("VICTIM_INTAKE_PREPARE_AHEAD", "1")  # the later part fails in the helper process
    inbox = tmp_path / "inbox"
    records = [record(f"A-{number}", bsn=None) for number in range(60)]
    records[5] = record("A-50", bsn=None)  # the same id as a record many parts later: both copies fail
    path = write_feed(inbox / "police", "politie-2025-03-15", records)
    code, output = run_cli("run", "--inbox", str(inbox))
    assert code == 0, output
    url = f"sqlite:///{isolated_settings / 'warehouse.sqlite'}"
    engine = sa.create_engine(url)
    with engine.connect() as connection:
        quarantined = connection.execute(sa.text("SELECT row_number, column_name, rule FROM quarantine ORDER BY row_number")).all()
    engine.dispose()
    assert [tuple(row) for row in quarantined] == [(6, "registratie_id", "field_uniqueness"), (51, "registratie_id", "field_uniqueness")]
    assert counts(url)[0] == 58

    # A record that is not JSON, in a part after several good ones: nothing of that file loads.
    lines = path.read_bytes().splitlines(keepends=True)
    broken = write_feed(inbox / "police", "politie-2025-03-16", [record(f"B-{number}", bsn=None) for number in range(60)])
    data = b"".join(broken.read_bytes().splitlines(keepends=True)[:50]) + b"{not json\n" + b"".join(lines[:9])
    broken.write_bytes(data)
    manifest = json.loads((inbox / "police" / "politie-2025-03-16.manifest.json").read_text())
    manifest.update(sha256=hashlib.sha256(data).hexdigest(), aantal_records=60)
    (inbox / "police" / "politie-2025-03-16.manifest.json").write_text(json.dumps(manifest))
    code, output = run_cli("run", "--inbox", str(inbox))
    assert code == 1
    assert "not valid NDJSON" in output
    assert counts(url)[0] == 58


def test_failed_file_does_not_stop_the_others(tmp_path, pseudonym_key, isolated_settings) -> None:
    inbox = tmp_path / "inbox"
    write_feed(inbox / "police", "politie-2025-03-15", [record("A-1"), record("A-2")])
    write_feed(inbox / "police", "politie-2025-03-16", [record("B-1")], manifest_changes={"aantal_records": 7})
    write_feed(inbox / "police", "politie-2025-03-17", [record("C-1", bsn="123456789")])

    code, output = run_cli("run", "--inbox", str(inbox))
    assert code == 1
    assert "1 records in the file but 7 in the manifest" in output
    url = f"sqlite:///{isolated_settings / 'warehouse.sqlite'}"
    assert counts(url) == (2, 1, 1)

    code, status = run_cli("status", "--json")
    states = {batch["file_name"]: (batch["state"], batch["reason"]) for batch in json.loads(status)["batches"]}
    assert states["politie-2025-03-16.ndjson"][0] == "failed"
    assert "manifest" in states["politie-2025-03-16.ndjson"][1]
    assert states["politie-2025-03-15.ndjson"] == ("loaded", None)


def test_later_delivery_updates_the_registration(tmp_path, pseudonym_key, isolated_settings) -> None:
    inbox = tmp_path / "inbox"
    write_feed(inbox / "police", "politie-2025-03-15", [record("A-1", aangifte=False)], exported_at="2025-03-15T02:00:00+01:00")
    assert run_cli("run", "--inbox", str(inbox))[0] == 0
    write_feed(inbox / "police", "politie-2025-03-20", [record("A-1", aangifte=True)], exported_at="2025-03-20T02:00:00+01:00")
    assert run_cli("run", "--inbox", str(inbox))[0] == 0
    # An older export arriving late must not overwrite the newer one.
    write_feed(inbox / "police", "politie-2025-03-10", [record("A-1", aangifte=False, eenheid="Limburg")], exported_at="2025-03-10T02:00:00+01:00")
    assert run_cli("run", "--inbox", str(inbox))[0] == 0
    engine = sa.create_engine(f"sqlite:///{isolated_settings / 'warehouse.sqlite'}")
    with engine.connect() as connection:
        rows = connection.execute(sa.text("SELECT report_filed, reporting_unit FROM registrations")).all()
    engine.dispose()
    # The unit as its code (`eenheid` Rotterdam), from the later export.
    assert rows == [(True, "PE-RT")] or rows == [(1, "PE-RT")]


def test_same_content_under_two_names_loads_once(tmp_path, pseudonym_key, isolated_settings) -> None:
    inbox = tmp_path / "inbox"
    first = write_feed(inbox / "police", "politie-2025-03-15", [record("A-1")])
    copy = write_feed(inbox / "police", "politie-2025-03-15-resent", [record("A-1")])
    # The manifest names its own file, so the copy's manifest differs but the data file is identical.
    assert first.read_bytes() == copy.read_bytes()
    code, output = run_cli("run", "--inbox", str(inbox))
    assert code == 0
    assert "same content as another file" in output
    assert counts(f"sqlite:///{isolated_settings / 'warehouse.sqlite'}")[0] == 1


def test_no_key_exits_2_with_instructions(tmp_path) -> None:
    inbox = tmp_path / "inbox"
    write_feed(inbox / "police", "f", [record()])
    code, output = run_cli("run", "--inbox", str(inbox))
    assert code == 2
    assert "victim-intake keys init" in output


def test_another_key_is_refused(tmp_path, pseudonym_key, monkeypatch) -> None:
    inbox = tmp_path / "inbox"
    write_feed(inbox / "police", "f", [record()])
    assert run_cli("run", "--inbox", str(inbox))[0] == 0
    monkeypatch.setenv("VICTIM_INTAKE_PSEUDONYM_KEY", base64.b64encode(bytes(32)).decode())
    code, output = run_cli("run", "--inbox", str(inbox))
    assert code == 2
    assert "split" in output


@pytest.mark.postgres
def test_demo_inbox_loads_exactly_once_on_postgres(demo_inbox, pseudonym_key, vault_key, scratch_postgres) -> None:
    inbox, truth = demo_inbox
    code, output = run_cli("run", "--inbox", str(inbox))
    assert code == 0, output
    assert_matches_truth(scratch_postgres, truth, pseudonym_key)
    assert run_cli("run", "--inbox", str(inbox))[0] == 0
    assert_matches_truth(scratch_postgres, truth, pseudonym_key)
    values = personal_values(feed_records(inbox)) | partner_personal_values(inbox)
    readable, binary = column_contents(scratch_postgres)
    assert '"vault"."vault_identities"' in binary and find_in_bytes(values, readable) == []
    assert find_in_bytes(long_values(values), binary) == []
