"""Places, sectors and units end to end: codes in the warehouse, free text nowhere but sealed for
the steward; CTDC rows kept as reference data and re-scoped when their definition changes.

A free-text canary goes into every coded field of each kind of source (police `gemeente` and
`sector`; a partner's `reporting_unit`, `exploitation_municipality` and `exploitation_sector`)
through a real flow run. It must be in no column of `registrations`, no mart, no report format and
not in the SQLite file or its journal; the steward sees a warning for it, and `quarantine show
--values` opens it with the vault key.
"""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import sqlalchemy as sa
import yaml
from feed import record, write_feed
from test_flow_end_to_end import run_cli
from warehouse_checks import find_in_bytes, sqlite_blobs

from pseudonyms.identity import registration_ids
from victim_intake.synthetic.ctdc_files import write_ctdc_file

pytestmark = pytest.mark.usefixtures("prefect_server")

CANARIES = {
    "police_place": "Woning van Zwirbelkamp, Kerkstraat 9",
    "police_sector": "Nagelsalon Vortigernsz",
    "partner_unit": "Regio Quibblethorpe",
    "partner_place": "Bovenwoning Plimsoddle, Dorpsstraat 4",
    "partner_sector": "Kwekerij van Marrowgast",
}
# Each canary and the unusual name inside it: neither may surface.
# Opening sealed values needs a stated purpose (audited); it names a case, never a person.
REASON = "source asked which places were not recognised, ticket 2025-41"
NEEDLES = {*CANARIES.values(), "Zwirbelkamp", "Vortigernsz", "Quibblethorpe", "Plimsoddle", "Marrowgast"}

PARTNER = {
    "id": "proefregio",
    "source": "other",
    "format": "csv",
    "delimiter": ";",
    "date_format": "%d-%m-%Y",
    "columns": {
        "source_record_id": "Dossier", "surname": "Achternaam", "given_names": "Voornamen", "birth_date": "Geboortedatum",
        "gender": "Geslacht", "nationality": "Nationaliteit", "reported_on": "Datum melding", "exploitation_type": "Vorm",
        "reporting_unit": "Regio", "exploitation_municipality": "Plaats", "exploitation_sector": "Sector",
    },
    "values": {"gender": {"Vrouw": "female", "Man": "male"}, "exploitation_type": {"Arbeid": "labour"}},
    "units": {"PR-NOORD": ["Noord", "Regio Noord"], "PR-ZUID": ["Zuid"]},
}


def write_inbox(inbox: Path, partners: Path) -> None:
    write_feed(inbox / "police", "politie-2025-03-15", [
        record("P-1", gemeente=CANARIES["police_place"], sector=CANARIES["police_sector"]),
        record("P-2", achternaam="Jansen", bsn=None, eenheid="Den Haag", gemeente="den  haag", sector="Raamprostitutie"),
        record("P-3", achternaam="Bakker", bsn=None, eenheid="Noord-Holland", gemeente="Bergen", sector="escort"),
        record("P-4", achternaam="Smit", bsn=None, gemeente="Weesp", sector=None),
        record("P-5", achternaam="Visser", bsn="123456789"),  # fails the 11-test: an error, held back
    ])
    partners.mkdir()
    (partners / "proefregio.yaml").write_text(yaml.safe_dump(PARTNER), encoding="utf-8")
    folder = inbox / "proefregio"
    folder.mkdir()
    with (folder / "levering.csv").open("w", encoding="utf-8", newline="") as out:
        writer = csv.writer(out, delimiter=";", lineterminator="\r\n")
        writer.writerow(PARTNER["columns"].values())
        writer.writerow(["C-1", "Mertens", "Lies", "02-04-1990", "Vrouw", "NLD", "14-03-2025", "Arbeid",
                         CANARIES["partner_unit"], CANARIES["partner_place"], CANARIES["partner_sector"]])
        writer.writerow(["C-2", "Peeters", "Jan", "11-11-1985", "Man", "NLD", "15-03-2025", "Arbeid", "regio noord", "GM0518", "Horeca"])


def table_texts(url: str, tables: list[str]) -> dict[str, bytes]:
    engine = sa.create_engine(url)
    with engine.connect() as connection:
        texts = {name: pd.read_sql(sa.text(f"SELECT * FROM {name}"), connection).to_csv().encode() for name in tables}
    engine.dispose()
    return texts


def test_free_text_in_coded_fields_is_stored_nowhere_but_sealed_for_the_steward(tmp_path, pseudonym_key, isolated_settings, monkeypatch) -> None:
    inbox, partners = tmp_path / "inbox", tmp_path / "partners"
    write_inbox(inbox, partners)
    monkeypatch.setenv("VICTIM_INTAKE_PARTNERS", str(partners))
    code, output = run_cli("run", "--inbox", str(inbox))
    assert code == 0, output
    url = f"sqlite:///{isolated_settings / 'warehouse.sqlite'}"

    # Codes, whatever form the text came in; `unknown` for the free text.
    police_ids = registration_ids("police", pd.Series(["P-1", "P-2", "P-3", "P-4"]), pseudonym_key).tolist()
    partner_ids = registration_ids("proefregio", pd.Series(["C-1", "C-2"]), pseudonym_key).tolist()
    engine = sa.create_engine(url)
    with engine.connect() as connection:
        stored = {
            row[0]: tuple(row[1:])
            for row in connection.execute(sa.text(
                "SELECT registration_id, reporting_unit, exploitation_municipality, exploitation_sector, scope FROM registrations"
            ))
        }
        batches = {row[0]: row[1:] for row in connection.execute(sa.text(
            "SELECT source, rows_in, rows_loaded, rows_quarantined, rows_warned, batch_id FROM ingest_batches"
        ))}
    engine.dispose()
    assert [stored[i] for i in police_ids] == [
        ("PE-RT", "unknown", "unknown", "national"),
        ("PE-DH", "GM0518", "window_prostitution", "national"),
        ("PE-NH", "GM0373", "escort", "national"),
        ("PE-RT", "GM0363", "unknown", "national"),
    ]
    assert [stored[i] for i in partner_ids] == [("unknown", "unknown", "unknown", "national"), ("PR-NOORD", "GM0518", "hospitality", "national")]
    # Warnings are counted apart: rows in = loaded + quarantined still holds.
    assert batches["police"][:4] == (5, 4, 1, 1) and batches["proefregio"][:4] == (2, 2, 0, 1)

    # The canaries are in no table, no mart, not in the file or its journal, and in no report.
    marts = [
        "mart_person_years", "mart_yearly_counts", "mart_yearly_crossings",
        "analyst_registrations", "analyst_yearly_counts", "analyst_yearly_crossings", "analyst_tier_levels",
    ]
    assert find_in_bytes(NEEDLES, table_texts(url, ["registrations", *marts])) == []
    reports = {}
    for output_format in ("html", "md", "csv"):
        target = tmp_path / f"report-{output_format}"
        code, text = run_cli("report", "--year", "2025", "--format", output_format, "--out", str(target), "--min-cell", "0")
        assert code == 0, text
        files = sorted(target.glob("*.csv")) if output_format == "csv" else [target]
        reports |= {f"{output_format}:{path.name}": path.read_bytes() for path in files}
    assert b"PE-RT" not in reports["md:report-md"] and b"Rotterdam" in reports["md:report-md"]  # units by name
    assert find_in_bytes(NEEDLES, reports) == []
    assert find_in_bytes(NEEDLES, sqlite_blobs(isolated_settings / "warehouse.sqlite")) == []

    # The steward sees a warning for each, beside the error, and opens the values with the vault key.
    code, listing = run_cli("quarantine", "list")
    assert code == 0
    warned = {(line.split("│")[4].strip(), line.split("│")[5].strip()) for line in listing.splitlines() if line.startswith("│") and "warning" in line}
    assert warned == {
        ("gemeente", "unknown_municipality"), ("sector", "unknown_sector"), ("Regio", "unknown_reporting_unit"),
        ("Plaats", "unknown_municipality"), ("Sector", "unknown_sector"),
    }
    assert "error" in listing and "bsn_elfproef" in listing
    assert find_in_bytes(NEEDLES, {"list": listing.encode()}) == []
    police_batch, partner_batch = batches["police"][4], batches["proefregio"][4]
    code, shown = run_cli("quarantine", "show", police_batch)
    assert code == 0 and find_in_bytes(NEEDLES, {"show": shown.encode()}) == []
    code, opened = run_cli("quarantine", "show", police_batch, "--values", "--reason", REASON)
    assert code == 0 and CANARIES["police_place"] in opened and CANARIES["police_sector"] in opened
    code, opened = run_cli("quarantine", "show", partner_batch, "--values", "--reason", REASON)
    assert code == 0 and all(CANARIES[name] in opened for name in ("partner_unit", "partner_place", "partner_sector"))

    # Erasing the person takes their warnings (and the text sealed in them) with them.
    engine = sa.create_engine(url)
    with engine.connect() as connection:
        person = connection.execute(sa.text("SELECT person_id FROM registrations WHERE registration_id = :id"), {"id": police_ids[0]}).scalar_one()
    engine.dispose()
    code, erased = run_cli("erase", "--person", person)
    assert code == 0, erased
    code, opened = run_cli("quarantine", "show", police_batch, "--values", "--reason", REASON)
    assert CANARIES["police_place"] not in opened and CANARIES["police_sector"] not in opened


def test_ctdc_rows_are_reference_data_until_their_definition_says_national(tmp_path, pseudonym_key, isolated_settings, monkeypatch) -> None:
    inbox, partners = tmp_path / "inbox", tmp_path / "partners"
    write_feed(inbox / "police", "politie-2025-03-15", [record("P-1")])
    truth = write_ctdc_file(np.random.default_rng(3), inbox / "ctdc" / "ctdc.csv", 40, "ctdc_global", "ctdc")
    ctdc_rows = int(truth.valid.sum())
    url = f"sqlite:///{isolated_settings / 'warehouse.sqlite'}"
    code, output = run_cli("run", "--inbox", str(inbox))
    assert code == 0, output

    def counted() -> tuple[int, int]:
        engine = sa.create_engine(url)
        with engine.connect() as connection:
            held = connection.execute(sa.text("SELECT count(*) FROM registrations WHERE source = 'ctdc'")).scalar_one()
            in_marts = connection.execute(sa.text(
                "SELECT coalesce(sum(count), 0) FROM mart_yearly_counts WHERE measure = 'registrations' "
                "AND dimension = 'source_kind' AND category = 'ctdc'"
            )).scalar_one()
        engine.dispose()
        return held, in_marts

    # Kept for comparison, counted nowhere: the CTDC years have no Dutch registrations at all.
    assert counted() == (ctdc_rows, 0)
    code, text = run_cli("report", "--year", "2019", "--format", "md", "--out", str(tmp_path / "r.md"), "--min-cell", "0")
    assert code != 0 and "no registrations of 2019" in text

    # A Dutch partner using the layout for its own cases declares `scope: national`: the next run
    # re-scopes the rows already loaded, though no new file arrives.
    partners.mkdir()
    shipped = Path(__file__).parents[1] / "schemas" / "partners" / "ctdc.yaml"
    (partners / "ctdc.yaml").write_text(yaml.safe_dump(yaml.safe_load(shipped.read_text()) | {"scope": "national"}), encoding="utf-8")
    monkeypatch.setenv("VICTIM_INTAKE_PARTNERS", str(partners))
    code, output = run_cli("run", "--inbox", str(inbox))
    assert code == 0, output
    assert counted() == (ctdc_rows, ctdc_rows)
    code, text = run_cli("report", "--year", "2019", "--format", "md", "--out", str(tmp_path / "r.md"), "--min-cell", "0")
    assert code == 0, text
