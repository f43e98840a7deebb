"""Hostile partner files: each fixture gives its expected outcome, and none costs another file a row."""

from __future__ import annotations

import csv
import json
import shutil
from pathlib import Path

import pytest
import sqlalchemy as sa
from feed import record, write_feed
from source_files import read_and_validate
from typer.testing import CliRunner
from warehouse_checks import find_in_bytes, sqlite_blobs

from connectors.files import FileRejected
from flows.stages import source_of
from victim_intake.cli import app

HOSTILE = Path(__file__).parent / "fixtures" / "hostile"
with (HOSTILE / "expected.csv").open(newline="", encoding="utf-8") as table:
    EXPECTED = list(csv.DictReader(table))
# Offending values of the fixtures that must never be stored or shown in clear.
OFFENDING = ['=HYPERLINK("http://example.invalid")', "Atlantis", "Marsmannetje", "15-03-2099", "31-02-2001"]


@pytest.fixture
def hostile_partners(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("VICTIM_INTAKE_PARTNERS", str(HOSTILE / "partners"))
    monkeypatch.setenv("VICTIM_INTAKE_MAX_FILE_MB", "0.1")


def rules(expected: str) -> set[str]:
    return set(expected.split("|")) if expected else set()


def test_every_fixture_has_an_expected_outcome() -> None:
    on_disk = {(path.parent.name, path.name) for path in (HOSTILE / "inbox").glob("*/*")}
    assert on_disk == {(case["partner"], case["file"]) for case in EXPECTED}


@pytest.mark.parametrize("case", EXPECTED, ids=[case["file"] for case in EXPECTED])
def test_hostile_file_gets_its_expected_outcome(case: dict, hostile_partners) -> None:
    source = source_of(case["partner"])
    path = str(HOSTILE / "inbox" / case["partner"] / case["file"])
    if case["state"] == "failed":
        with pytest.raises(FileRejected) as refused:
            read_and_validate(source, path)
        assert case["expected"] in str(refused.value)
        assert "\n" not in str(refused.value)
        return
    _, validated = read_and_validate(source, path)
    quarantined = validated.quarantined
    assert validated.rows_in == int(case["rows_in"])
    assert len(validated.records) == int(case["rows_loaded"])
    assert quarantined["row_number"].nunique() == int(case["rows_quarantined"])
    assert set(quarantined["column_name"] + ":" + quarantined["rule"]) == rules(case["expected"])


def run_cli(*arguments: str) -> tuple[int, str]:
    result = CliRunner().invoke(app, list(arguments))
    if result.exception and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result.exit_code, result.output


@pytest.mark.usefixtures("prefect_server", "pseudonym_key", "vault_key", "hostile_partners")
def test_hostile_inbox_fails_only_the_broken_files(tmp_path: Path, isolated_settings: Path) -> None:
    inbox = tmp_path / "inbox"
    shutil.copytree(HOSTILE / "inbox", inbox)
    write_feed(inbox / "police", "politie-2025-03-15", [record("A-1"), record("A-2")])

    code, output = run_cli("run", "--inbox", str(inbox))
    assert code == 1, output
    batches = {batch["file_name"]: batch for batch in json.loads(run_cli("status", "--json", "--limit", "100")[1])["batches"]}
    for case in EXPECTED:
        batch = batches[case["file"]]
        assert batch["state"] == case["state"], case["file"]
        if case["state"] == "failed":
            assert case["expected"] in batch["reason"]
            assert batch["rows_loaded"] is None
        else:
            counts = (batch["rows_in"], batch["rows_loaded"], batch["rows_quarantined"])
            assert counts == (int(case["rows_in"]), int(case["rows_loaded"]), int(case["rows_quarantined"]))
    assert batches["politie-2025-03-15.ndjson"]["rows_loaded"] == 2

    engine = sa.create_engine(f"sqlite:///{isolated_settings / 'warehouse.sqlite'}")
    with engine.connect() as connection:
        per_source = dict(connection.execute(sa.text("SELECT source, count(*) FROM registrations GROUP BY source")).all())
        countries = dict(connection.execute(sa.text("SELECT nationality, count(*) FROM registrations WHERE source = 'proef' GROUP BY nationality")).all())
    engine.dispose()
    # Every file reports the same three records (H-1..H-3): the valid ones are all there, once.
    assert per_source == {"police": 2, "proef": 3, "proef-xlsx": 3}
    assert countries == {"POL": 1, "ROU": 1, "NLD": 1}

    # Offending values are stored sealed only; the steward opens them on explicit request.
    assert find_in_bytes(OFFENDING, sqlite_blobs(isolated_settings / "warehouse.sqlite")) == []
    formula_batch = batches["formula_cells.csv"]["batch_id"]
    code, plain = run_cli("quarantine", "show", formula_batch)
    assert code == 0 and "no_formula" in plain and "H-2" in plain and "HYPERLINK" not in plain
    code, refused = run_cli("quarantine", "show", formula_batch, "--values")
    assert code == 2 and "--reason" in refused
    code, opened = run_cli("quarantine", "show", formula_batch, "--values", "--reason", "partner asked why rows were held back, ticket 2025-88")
    assert code == 0 and '=HYPERLINK("http://example.invalid")' in opened
    assert find_in_bytes(OFFENDING, {"console": (output + plain + refused).encode()}) == []
    with engine.connect() as connection:
        assert connection.execute(sa.text("SELECT action, detail FROM privacy_audit")).one()[0] == "open_quarantine"
    engine.dispose()
