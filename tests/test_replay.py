"""Replaying quarantined rows after a definition or code list changed: partner files and the
police feed, exactly once, and the export for a source's data manager."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest
import sqlalchemy as sa
import yaml
from typer.testing import CliRunner
from warehouse_checks import find_in_bytes, sqlite_blobs

from victim_intake.cli import app

pytestmark = pytest.mark.usefixtures("prefect_server", "pseudonym_key")

HEADER = "Dossier;Achternaam;Voornamen;Geboortedatum;Geslacht;Nationaliteit;Datum melding;Vorm;Sector"
ROWS = (
    "R-1;Wolanski;Agata;01-02-1990;Vrouw;Polen;10-01-2024;Arbeidsuitbuiting;kassen",
    "R-2;Brzezinska;Kinga;03-04-1991;Vrouw;Pollen;11-01-2024;Arbeidsuitbuiting;kassen",
    "R-3;Szczepanik;Bozena;05-06-1992;Vrouw;Pollen;12-01-2024;Arbeidsuitbuiting;kassen",
    "R-4;Grzybowska;Halina;31-02-1993;Vrouw;Polen;13-01-2024;Arbeidsuitbuiting;kassen",
    "R-5;Kwiatkowska;Jolanta;07-08-2030;Vrouw;Polen;14-01-2024;Arbeidsuitbuiting;kassen",
    "R-6;Zielinska;Marzena;09-10-1994;Vrouw;Polen;15-01-2024;Arbeidsuitbuiting;Aspergesteekbedrijf",
)
DEFINITION = {
    "id": "proef",
    "source": "other",
    "format": "csv",
    "encoding": "utf-8",
    "delimiter": ";",
    "date_format": "%d-%m-%Y",
    "columns": {
        "source_record_id": "Dossier", "surname": "Achternaam", "given_names": "Voornamen", "birth_date": "Geboortedatum",
        "gender": "Geslacht", "nationality": "Nationaliteit", "reported_on": "Datum melding", "exploitation_type": "Vorm",
        "exploitation_sector": "Sector",
    },
    "values": {"gender": {"Vrouw": "female", "Man": "male"}, "exploitation_type": {"Arbeidsuitbuiting": "labour"}},
}


def run_cli(*arguments: str) -> tuple[int, str]:
    result = CliRunner().invoke(app, list(arguments))
    if result.exception and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result.exit_code, result.output


def define(folder: Path, **values: dict) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    document = {**DEFINITION, "values": {**DEFINITION["values"], **values}}
    (folder / "proef.yaml").write_text(yaml.safe_dump(document, allow_unicode=True), encoding="utf-8")


def query(home: Path, sql: str) -> list[tuple]:
    """Rows of the configured warehouse (`home` is where SQLite's lies)."""
    from config.settings import current

    assert current().home == home
    engine = sa.create_engine(current().warehouse_url)
    with engine.connect() as connection:
        rows = [tuple(row) for row in connection.execute(sa.text(sql))]
    engine.dispose()
    return rows


def ledger(home: Path) -> list[tuple]:
    return query(
        home,
        "SELECT rows_in, rows_loaded, rows_quarantined, rows_warned, replay_of IS NOT NULL, replayed_by IS NOT NULL, warnings_cleared "
        "FROM ingest_batches WHERE state = 'loaded' ORDER BY started_at",
    )


def counts_hold(home: Path) -> None:
    """Per batch rows in = loaded + quarantined, and every error row of a batch is in its count."""
    for rows_in, loaded, quarantined, *_ in ledger(home):
        assert rows_in == loaded + quarantined
    per_batch = query(
        home,
        "SELECT b.rows_quarantined, (SELECT count(DISTINCT q.row_number) FROM quarantine q WHERE q.batch_id = b.batch_id AND q.severity = 'error') "
        "FROM ingest_batches b WHERE b.state = 'loaded'",
    )
    assert all(stated == entries for stated, entries in per_batch)


@pytest.fixture
def partner_inbox(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Path, Path]:
    partners = tmp_path / "partners"
    define(partners)
    monkeypatch.setenv("VICTIM_INTAKE_PARTNERS", str(partners))
    inbox = tmp_path / "inbox"
    (inbox / "proef").mkdir(parents=True)
    (inbox / "proef" / "januari.csv").write_text("\n".join([HEADER, *ROWS]) + "\n", encoding="utf-8")
    return inbox, partners


def test_misspelt_rows_load_after_the_definition_learns_the_spelling(partner_inbox, isolated_settings: Path) -> None:
    inbox, partners = partner_inbox
    assert run_cli("run", "--inbox", str(inbox))[0] == 0
    # Pollen (twice) and two impossible dates held back; an unknown sector loaded as a warning.
    assert ledger(isolated_settings) == [(6, 2, 4, 1, 0, 0, None)]
    original = query(isolated_settings, "SELECT batch_id FROM ingest_batches")[0][0]

    code, output = run_cli("quarantine", "replay", original[:10])
    assert code == 0 and "Nothing to replay" in output, output
    code, output = run_cli("status", "--json")
    assert '"rules_changed": false' in output

    define(partners, nationality={"Pollen": "POL"}, exploitation_sector={"Aspergesteekbedrijf": "agriculture_horticulture"})
    code, output = run_cli("status")
    assert code == 0 and "quarantine replay" in output and "definition or code list changed" in output
    code, output = run_cli("quarantine", "replay", original)
    assert code == 0, output
    assert "2 loaded, 2 still quarantined" in output and "1 warning(s) cleared" in output
    assert query(isolated_settings, "SELECT nationality, exploitation_sector FROM registrations ORDER BY 1, 2") == [
        ("POL", "agriculture_horticulture"), ("POL", "agriculture_horticulture"), ("POL", "agriculture_horticulture"),
        ("POL", "agriculture_horticulture"),
    ]
    assert ledger(isolated_settings) == [(6, 2, 4, 0, 0, 1, None), (4, 2, 2, 0, 1, 0, 1)]
    standing = (
        "SELECT DISTINCT q.rule FROM quarantine q JOIN ingest_batches b ON b.batch_id = q.batch_id WHERE b.replayed_by IS NULL ORDER BY 1"
    )
    assert query(isolated_settings, standing) == [("birth_on_or_before_report",), ("date_format_%d-%m-%Y",), ("not_in_future",)]
    counts_hold(isolated_settings)
    # Names, birth dates and the text of the file's cells are nowhere in the warehouse in clear.
    written = {value for row in ROWS for value in row.split(";")[1:6] if len(value) >= 4} | {"Aspergesteekbedrijf"}
    assert find_in_bytes(written - {"Vrouw", "Polen"}, sqlite_blobs(isolated_settings / "warehouse.sqlite")) == []
    code, output = run_cli("run", "--inbox", str(inbox))
    assert code == 0 and "already loaded" in output
    assert "4 registrations" in output and "2 rows quarantined" in output

    # Again, by the replay's own id: nothing passes that did not before, nothing is added.
    replay = query(isolated_settings, "SELECT batch_id FROM ingest_batches WHERE replay_of IS NOT NULL")[0][0]
    for named in (original, replay):
        code, output = run_cli("quarantine", "replay", named)
        assert code == 0 and "Nothing to replay" in output
    assert len(ledger(isolated_settings)) == 2
    assert query(isolated_settings, "SELECT count(*) FROM registrations") == [(4,)]


def test_a_replay_needs_the_file_as_it_was_loaded(partner_inbox, isolated_settings: Path) -> None:
    inbox, partners = partner_inbox
    assert run_cli("run", "--inbox", str(inbox))[0] == 0
    original = query(isolated_settings, "SELECT batch_id FROM ingest_batches")[0][0]
    define(partners, nationality={"Pollen": "POL"})
    path = inbox / "proef" / "januari.csv"
    path.write_text(path.read_text(encoding="utf-8") + "R-7;Nowicka;Ewa;01-01-1980;Vrouw;Polen;16-01-2024;Arbeidsuitbuiting;kassen\n", encoding="utf-8")
    code, output = run_cli("quarantine", "replay", original)
    assert code == 2 and "no longer where it was read" in output and "Nowicka" not in output and "Pollen" not in output
    assert "januari.csv" in output  # the steward's console names the file
    path.unlink()
    code, output = run_cli("quarantine", "replay", original)
    assert code == 2 and "no longer where it was read" in output
    assert len(ledger(isolated_settings)) == 1
    code, output = run_cli("quarantine", "replay", "ffffffff")
    assert code == 2 and "no batch" in output


@pytest.mark.parametrize("suffix", [".csv", ".xlsx"])
def test_the_export_holds_advice_and_no_value(partner_inbox, isolated_settings: Path, tmp_path: Path, suffix: str) -> None:
    inbox, _ = partner_inbox
    assert run_cli("run", "--inbox", str(inbox))[0] == 0
    out = tmp_path / f"proef{suffix}"
    code, output = run_cli("quarantine", "export", "--source", "proef", "--out", str(out))
    assert code == 0, output
    if suffix == ".csv":
        rows = list(csv.reader(out.open(encoding="utf-8")))
    else:
        from openpyxl import load_workbook

        rows = [[str(cell) if cell is not None else "" for cell in row] for row in load_workbook(out).active.iter_rows(values_only=True)]
    assert rows[0] == ["bestand", "rij", "kolom", "recordnummer", "soort", "regel", "advies"]
    assert {tuple(row[2:4]) for row in rows[1:]} == {("Nationaliteit", "R-2"), ("Nationaliteit", "R-3"), ("Geboortedatum", "R-4"),
                                                      ("Geboortedatum", "R-5"), ("Sector", "R-6")}
    assert any("land" in row[6] for row in rows[1:])
    # Canary: no value of the file (names, dates, countries, sectors as written) is in the export.
    text = out.read_bytes()
    for row in ROWS:
        for value in row.split(";")[1:]:
            if len(value) >= 4 and value not in ("Vrouw",):
                assert value.encode() not in text, value
    english = tmp_path / "proef-en.csv"
    assert run_cli("quarantine", "export", "--source", "proef", "--out", str(english), "--lang", "en", "--since", "2000-01-01")[0] == 0
    assert english.read_text(encoding="utf-8").splitlines()[0] == "file,row,column,record id,kind,rule,advice"
    assert run_cli("quarantine", "export", "--source", "proef", "--out", str(tmp_path / "x.txt"))[0] == 2


def test_police_rows_load_when_their_date_has_come_and_warnings_clear(tmp_path: Path, isolated_settings: Path, monkeypatch) -> None:
    import datetime as dt

    from feed import record, write_feed

    from schemas import checks
    from schemas.codelists import matching

    soon = dt.date.today() + dt.timedelta(days=10)
    records = [
        record("PL-1", sector="Zonnestudio", achternaam="Kowalczyk"),
        record("PL-2", geboortedatum="1990-02-31", achternaam="Wisniewska"),
        record("PL-3", datum_signaal=soon.isoformat(), achternaam="Lewandowska"),
    ]
    inbox = tmp_path / "inbox"
    write_feed(inbox / "police", "export-1", records)
    assert run_cli("run", "--inbox", str(inbox))[0] == 0
    assert ledger(isolated_settings) == [(3, 1, 2, 1, 0, 0, None)]
    assert run_cli("quarantine", "replay", query(isolated_settings, "SELECT batch_id FROM ingest_batches")[0][0])[1].startswith("Nothing")

    # A new edition of the sector list knows the word, and the signal's date has come.
    spellings = {spelling: matching.sector_list().named_by(spelling) for spelling in ("kassen", "nagelsalon")}
    listed = matching.CodeList({**spellings, "zonnestudio": {"beauty_salon"}}, matching.UNKNOWN_SECTOR)
    monkeypatch.setattr(matching, "sector_list", lambda: listed)
    monkeypatch.setattr(checks, "today", lambda: __import__("pandas").Timestamp(soon + dt.timedelta(days=1)))
    original = query(isolated_settings, "SELECT batch_id FROM ingest_batches")[0][0]
    code, output = run_cli("quarantine", "replay", original)
    assert code == 0 and "1 loaded, 1 still quarantined" in output and "1 warning(s) cleared" in output, output
    assert query(isolated_settings, "SELECT exploitation_sector FROM registrations ORDER BY 1") == [("beauty_salon",), ("unknown",)]
    assert ledger(isolated_settings) == [(3, 1, 2, 0, 0, 1, None), (2, 1, 1, 0, 1, 0, 1)]
    counts_hold(isolated_settings)
    code, output = run_cli("quarantine", "replay", original)
    assert code == 0 and "Nothing to replay" in output
    assert query(isolated_settings, "SELECT count(*) FROM registrations") == [(2,)]


def replay_process(batch_id: str, **extra: str):
    import os
    import subprocess

    from programs import VICTIM_INTAKE

    from flows.faults import CRASH_VARIABLE

    environment = {key: value for key, value in os.environ.items() if key != CRASH_VARIABLE} | extra
    return subprocess.Popen(
        [VICTIM_INTAKE, "quarantine", "replay", batch_id], env=environment, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )


@pytest.mark.usefixtures("console_scripts")
@pytest.mark.parametrize("backend", ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def test_two_replays_at_once_load_each_row_once(partner_inbox, isolated_settings: Path, backend: str, request) -> None:
    if backend == "postgresql":
        request.getfixturevalue("scratch_postgres")
    inbox, partners = partner_inbox
    assert run_cli("run", "--inbox", str(inbox))[0] == 0
    original = query(isolated_settings, "SELECT batch_id FROM ingest_batches")[0][0]
    define(partners, nationality={"Pollen": "POL"}, exploitation_sector={"Aspergesteekbedrijf": "agriculture_horticulture"})
    processes = [replay_process(original) for _ in range(2)]
    results = [(process.wait(timeout=300), process.stdout.read()) for process in processes]
    replayed = [output for code, output in results if code == 0 and "Replayed batch" in output]
    assert len(replayed) == 1, results
    # The other found the work done, or met the first one's commit and wrote nothing.
    assert all(code == 0 or (code == 1 and "nothing was written" in output) for code, output in results), results
    assert query(isolated_settings, "SELECT count(*) FROM registrations") == [(4,)]
    assert len(ledger(isolated_settings)) == 2
    counts_hold(isolated_settings)


@pytest.mark.usefixtures("console_scripts")
def test_a_replay_killed_before_its_commit_leaves_nothing_behind(partner_inbox, isolated_settings: Path) -> None:
    inbox, partners = partner_inbox
    assert run_cli("run", "--inbox", str(inbox))[0] == 0
    original = query(isolated_settings, "SELECT batch_id FROM ingest_batches")[0][0]
    before = query(isolated_settings, "SELECT * FROM quarantine ORDER BY quarantine_id")
    define(partners, nationality={"Pollen": "POL"}, exploitation_sector={"Aspergesteekbedrijf": "agriculture_horticulture"})
    process = replay_process(original, VICTIM_INTAKE_CRASH_AT="load-transaction")
    assert process.wait(timeout=300) == -9
    assert ledger(isolated_settings) == [(6, 2, 4, 1, 0, 0, None)]
    assert query(isolated_settings, "SELECT * FROM quarantine ORDER BY quarantine_id") == before
    assert query(isolated_settings, "SELECT exploitation_sector FROM registrations ORDER BY 1") == [("agriculture_horticulture",), ("unknown",)]
    code, output = run_cli("quarantine", "replay", original)
    assert code == 0 and "2 loaded" in output
    assert ledger(isolated_settings) == [(6, 2, 4, 0, 0, 1, None), (4, 2, 2, 0, 1, 0, 1)]
    counts_hold(isolated_settings)


def test_the_replay_quarantine_flow_replays_one_batch(partner_inbox, isolated_settings: Path) -> None:
    from flows.replay import ReplayResult, replay_quarantine

    inbox, partners = partner_inbox
    assert run_cli("run", "--inbox", str(inbox))[0] == 0
    original = query(isolated_settings, "SELECT batch_id FROM ingest_batches")[0][0]
    define(partners, nationality={"Pollen": "POL"})
    state = replay_quarantine(batch_id=original, return_state=True)
    assert state.is_completed() and state.message == "2 of 4 quarantined row(s) loaded, 0 warning(s) cleared"
    result = state.result()
    assert isinstance(result, ReplayResult) and result.rows_loaded == 2
    run_id = str(state.state_details.flow_run_id)
    assert query(isolated_settings, f"SELECT state FROM ingest_runs WHERE run_id = '{run_id}'") == [("completed",)]
    assert query(isolated_settings, "SELECT run_id FROM ingest_batches WHERE replay_of IS NOT NULL") == [(run_id,)]
    (inbox / "proef" / "januari.csv").unlink()
    define(partners, nationality={"Pollen": "POL"}, exploitation_sector={"Aspergesteekbedrijf": "agriculture_horticulture"})
    # The sector's warning is decided without the file, but the two rows still held back need it.
    state = replay_quarantine(batch_id=original, return_state=True)
    assert state.is_failed() and "no longer where it was read" in state.message and "Aspergesteek" not in state.message
    assert "januari" not in state.message  # Prefect's states name no file


def test_a_replay_is_no_delivery_for_the_monitoring(isolated_settings: Path) -> None:
    import datetime as dt

    from store.engines import make_engine
    from warehouse.database import create_tables
    from warehouse.monitoring import SourceExpectations, source_warnings

    engine = make_engine(f"sqlite:///{isolated_settings / 'warehouse.sqlite'}")
    create_tables(engine)
    start = dt.datetime(2026, 3, 1, 2, 0, tzinfo=dt.UTC)
    insert = sa.text(
        "INSERT INTO ingest_batches (batch_id, run_id, source, file_name, file_sha256, state, rows_in, rows_loaded, rows_quarantined, "
        "started_at, finished_at, replay_of) VALUES (:id, 'r', 'police', :id, :sha, 'loaded', :rows, :rows, 0, :t, :t, :replay_of)"
    )
    with engine.begin() as connection:
        connection.execute(sa.text("INSERT INTO ingest_runs (run_id, started_at, state) VALUES ('r', '2026-03-01', 'completed')"))
        for day, rows in enumerate([100, 110, 90, 100]):
            connection.execute(insert, {"id": f"b{day}", "sha": f"{day:064d}", "rows": rows, "t": start + dt.timedelta(days=day), "replay_of": None})
        # Four held-back rows of the last file, replayed the next day under the same content.
        connection.execute(insert, {"id": "replay", "sha": f"{3:064d}", "rows": 4, "t": start + dt.timedelta(days=4), "replay_of": "b3"})
    expected = SourceExpectations(intervals={"police": dt.timedelta(hours=24)})
    [silence] = source_warnings(engine, expected, start + dt.timedelta(days=4, hours=7))
    assert "delivered nothing for 31 hours" in silence
    engine.dispose()


def deliver(inbox: Path, name: str, *rows: str) -> None:
    (inbox / "proef" / name).write_text("\n".join([HEADER, *rows]) + "\n", encoding="utf-8")


def batch_of(home: Path, file_name: str) -> str:
    return query(home, f"SELECT batch_id FROM ingest_batches WHERE file_name = '{file_name}' AND replay_of IS NULL")[0][0]


def test_a_replayed_correction_replaces_the_older_row_it_corrects(partner_inbox, isolated_settings: Path) -> None:
    inbox, partners = partner_inbox
    assert run_cli("run", "--inbox", str(inbox))[0] == 0  # januari: R-1 loads as a woman
    # februari corrects R-1 to a man, but spells the country so that the row is held back.
    deliver(inbox, "februari.csv", "R-1;Wolanski;Agata;01-02-1990;Man;Pollen;10-01-2024;Arbeidsuitbuiting;kassen")
    assert run_cli("run", "--inbox", str(inbox))[0] == 0
    assert query(isolated_settings, "SELECT gender FROM registrations ORDER BY 1") == [("female",), ("female",)]
    define(partners, nationality={"Pollen": "POL"})
    code, output = run_cli("quarantine", "replay", batch_of(isolated_settings, "februari.csv"))
    assert code == 0 and "1 loaded, 0 still quarantined, 0 already stored by a later delivery" in output, output
    # februari's version replaced januari's, as a load of februari would have.
    assert query(isolated_settings, "SELECT gender FROM registrations ORDER BY 1") == [("female",), ("male",)]
    counts_hold(isolated_settings)


@pytest.mark.parametrize("order", [("januari.csv", "februari.csv"), ("februari.csv", "januari.csv")])
def test_replays_keep_the_later_delivery_whatever_order_they_run_in(partner_inbox, isolated_settings: Path, order) -> None:
    inbox, partners = partner_inbox
    assert run_cli("run", "--inbox", str(inbox))[0] == 0
    # Both deliveries hold R-2 back; februari's (later) version is a man.
    deliver(inbox, "februari.csv", "R-2;Brzezinska;Kinga;03-04-1991;Man;Pollen;11-01-2024;Arbeidsuitbuiting;kassen")
    assert run_cli("run", "--inbox", str(inbox))[0] == 0
    define(partners, nationality={"Pollen": "POL"})
    outputs = {}
    for name in order:
        code, outputs[name] = run_cli("quarantine", "replay", batch_of(isolated_settings, name))
        assert code == 0, outputs[name]
    later_first = order[0] == "februari.csv"
    assert f"{1 if later_first else 0} already stored by a later delivery" in outputs["januari.csv"], outputs
    assert "1 loaded, 0 still quarantined, 0 already stored" in outputs["februari.csv"], outputs
    # R-1 and R-6 (januari), R-3 (januari's replay) are women; R-2 is februari's man either way.
    assert query(isolated_settings, "SELECT gender, count(*) FROM registrations GROUP BY gender ORDER BY 1") == [("female", 3), ("male", 1)]
    counts_hold(isolated_settings)


def test_a_later_police_export_replayed_replaces_an_earlier_export_loaded_after_it(
    tmp_path: Path, isolated_settings: Path, monkeypatch
) -> None:
    import datetime as dt

    from feed import record, write_feed

    from schemas import checks

    soon = dt.date.today() + dt.timedelta(days=10)
    inbox = tmp_path / "inbox"
    # Exported last, delivered first: its PL-1 (a man) is held back until its signal date has come.
    write_feed(inbox / "police", "export-2", [record("PL-1", geslacht="M", datum_signaal=soon.isoformat())], exported_at="2025-03-16T02:00:00Z")
    assert run_cli("run", "--inbox", str(inbox))[0] == 0
    write_feed(inbox / "police", "export-1", [record("PL-1", geslacht="V")], exported_at="2025-03-14T02:00:00Z")
    assert run_cli("run", "--inbox", str(inbox))[0] == 0
    assert query(isolated_settings, "SELECT gender FROM registrations") == [("female",)]
    monkeypatch.setattr(checks, "today", lambda: __import__("pandas").Timestamp(soon + dt.timedelta(days=1)))
    late = query(isolated_settings, "SELECT batch_id FROM ingest_batches WHERE file_name = 'export-2.ndjson'")[0][0]
    code, output = run_cli("quarantine", "replay", late)
    assert code == 0 and "1 loaded, 0 still quarantined, 0 already stored" in output, output
    # The later export wins, as it would have had the row loaded with its file.
    assert query(isolated_settings, "SELECT gender FROM registrations") == [("male",)]
    counts_hold(isolated_settings)


def test_a_snapshot_loaded_while_a_replay_runs_is_not_undone(partner_inbox, isolated_settings: Path, monkeypatch) -> None:
    import flows.replay

    inbox, partners = partner_inbox
    monkeypatch.setitem(DEFINITION, "delivery", "snapshot")
    define(partners)
    assert run_cli("run", "--inbox", str(inbox))[0] == 0
    januari = batch_of(isolated_settings, "januari.csv")
    define(partners, nationality={"Pollen": "POL"})
    commit = flows.replay.commit_replay

    def snapshot_meanwhile(*arguments, **options):
        # The replay is prepared; before it commits, the next snapshot (R-1 and R-6 only) loads.
        deliver(inbox, "februari.csv", ROWS[0], ROWS[5])
        assert run_cli("run", "--inbox", str(inbox))[0] == 0
        return commit(*arguments, **options)

    monkeypatch.setattr(flows.replay, "commit_replay", snapshot_meanwhile)
    code, output = run_cli("quarantine", "replay", januari)
    assert code == 1 and "nothing was written" in output, output
    # The warehouse holds exactly the latest snapshot; januari's rows are still its own.
    assert query(isolated_settings, "SELECT count(*) FROM registrations") == [(2,)]
    assert query(isolated_settings, "SELECT count(*) FROM ingest_batches WHERE replay_of IS NOT NULL OR replayed_by IS NOT NULL") == [(0,)]
    monkeypatch.setattr(flows.replay, "commit_replay", commit)
    code, output = run_cli("quarantine", "replay", januari)
    assert code == 2 and "replaced everything" in output


def test_a_file_swapped_after_its_hash_never_reaches_the_replay(partner_inbox, isolated_settings: Path, monkeypatch) -> None:
    import flows.replay

    inbox, partners = partner_inbox
    assert run_cli("run", "--inbox", str(inbox))[0] == 0
    define(partners, nationality={"Pollen": "POL"})
    path = inbox / "proef" / "januari.csv"
    loaded = path.read_bytes()
    read = flows.replay.read

    class SwappedBeforeReading:
        """The reader, with a file of other rows swapped in at the inbox path just before it reads."""

        @staticmethod
        def fn(source, where: str, sha256: str):
            path.write_bytes(loaded.replace(b";Vrouw;Pollen;", b";Man;Polen;"))
            return read.fn(source, where, sha256)

    monkeypatch.setattr(flows.replay, "read", SwappedBeforeReading)
    code, output = run_cli("quarantine", "replay", batch_of(isolated_settings, "januari.csv"))
    assert code == 0 and "2 loaded, 2 still quarantined" in output, output
    # Only the rows of the file the batch loaded: no row of the swapped file.
    assert query(isolated_settings, "SELECT gender, nationality FROM registrations ORDER BY 1, 2") == [("female", "POL")] * 4
    counts_hold(isolated_settings)


def test_a_police_file_swapped_under_its_manifest_never_reaches_the_replay(tmp_path: Path, isolated_settings: Path, monkeypatch) -> None:
    import datetime as dt

    from feed import record, write_feed

    import flows.replay
    from schemas import checks

    soon = dt.date.today() + dt.timedelta(days=10)
    inbox = tmp_path / "inbox"
    path = write_feed(inbox / "police", "export-1", [record("PL-1", geslacht="V", datum_signaal=soon.isoformat()), record("PL-2")])
    assert run_cli("run", "--inbox", str(inbox))[0] == 0
    monkeypatch.setattr(checks, "today", lambda: __import__("pandas").Timestamp(soon + dt.timedelta(days=1)))
    read = flows.replay.read

    class SwappedBeforeReading:
        """The reader, with the data file changed at the inbox path just before it reads."""

        @staticmethod
        def fn(source, where: str, sha256: str):
            # Same record count, the manifest left as it was: only the data file's own hash tells.
            path.write_bytes(path.read_bytes().replace(b'"geslacht": "V"', b'"geslacht": "M"'))
            return read.fn(source, where, sha256)

    monkeypatch.setattr(flows.replay, "read", SwappedBeforeReading)
    code, output = run_cli("quarantine", "replay", query(isolated_settings, "SELECT batch_id FROM ingest_batches")[0][0])
    assert code == 0 and "1 loaded" in output, output
    assert query(isolated_settings, "SELECT gender FROM registrations") == [("female",), ("female",)]


def test_status_judges_the_warnings_a_replay_left_on_the_batch_it_took_over(partner_inbox, isolated_settings: Path) -> None:
    import json

    inbox, partners = partner_inbox
    deliver(inbox, "januari.csv", ROWS[0], ROWS[1], ROWS[5])  # one error (Pollen), one warning (a sector)
    assert run_cli("run", "--inbox", str(inbox))[0] == 0
    define(partners, nationality={"Pollen": "POL"})
    code, output = run_cli("quarantine", "replay", batch_of(isolated_settings, "januari.csv"))
    assert code == 0 and "1 loaded, 0 still quarantined" in output and "0 warning(s) cleared" in output, output

    def flags() -> list:
        code, output = run_cli("status", "--json")
        assert code == 0
        return [batch["rules_changed"] for batch in json.loads(output)["batches"]]

    # The taken-over batch still holds its warning: judged under the replay's rules, unchanged.
    assert flags() == [False, False]
    define(partners, nationality={"Pollen": "POL"}, exploitation_sector={"Aspergesteekbedrijf": "agriculture_horticulture"})
    assert flags() == [True, True]
    code, output = run_cli("status")
    assert "1 batch(es)" in output and "quarantine replay" in output
    code, output = run_cli("quarantine", "replay", batch_of(isolated_settings, "januari.csv"))
    assert code == 0 and "1 warning(s) cleared" in output, output
    assert flags() == [None, None, None]
