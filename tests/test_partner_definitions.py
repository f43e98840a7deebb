"""Partner definitions: shipped ones are valid, wrong ones stop the run naming file and key,
and a partner declared only in YAML loads with no code change."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
import sqlalchemy as sa
import yaml
from typer.testing import CliRunner

from schemas.partner_definition import SHIPPED_FOLDER, DefinitionError, load_definitions
from victim_intake.cli import app

PROEF = Path(__file__).parent / "fixtures" / "hostile" / "partners" / "proef.yaml"
PROEF_COLUMNS: dict = yaml.safe_load(PROEF.read_text(encoding="utf-8"))["columns"]
UNITS = {"PR-NOORD": ["Noord", "Regio Noord"], "PR-ZUID": ["Zuid"]}


def mapped(**columns: str) -> dict:
    """PROEF's columns with more fields mapped."""
    return {"columns": PROEF_COLUMNS | columns}


def run_cli(*arguments: str) -> tuple[int, str]:
    result = CliRunner().invoke(app, list(arguments))
    if result.exception and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result.exit_code, result.output


def test_shipped_definitions_cover_the_contract() -> None:
    definitions = load_definitions()
    assert {"zorgcoordinatie", "nla", "kmar", "fairwork", "opvang", "ctdc", "ctdc-synthetic"} <= set(definitions)
    assert definitions["zorgcoordinatie"].encoding == "cp1252"
    assert definitions["nla"].format == "xlsx"
    assert {definitions[p].delivery for p in ("ctdc", "ctdc-synthetic", "fairwork")} == {"snapshot"}


def test_units_and_scope_are_accepted_and_ctdc_layouts_are_reference_data(tmp_path: Path) -> None:
    definitions = load_definitions()
    assert definitions["zorgcoordinatie"].units["ZC-NOORD"] == ("Noord", "Regio Noord")
    assert {definitions[p].scope for p in ("ctdc", "ctdc-synthetic")} == {"reference"}
    assert {d.scope for d in definitions.values() if not d.layout} == {"national"}
    # A Dutch partner using the CTDC layout for its own cases says so.
    ctdc = yaml.safe_load((SHIPPED_FOLDER / "ctdc.yaml").read_text(encoding="utf-8")) | {"scope": "national"}
    (tmp_path / "ctdc.yaml").write_text(yaml.safe_dump(ctdc), encoding="utf-8")
    document = yaml.safe_load(PROEF.read_text(encoding="utf-8")) | mapped(reporting_unit="Regio") | {"units": UNITS}
    (tmp_path / "proef.yaml").write_text(yaml.safe_dump(document, allow_unicode=True), encoding="utf-8")
    extra = load_definitions(tmp_path)
    assert extra["ctdc"].scope == "national"
    assert extra["proef"].units == {"PR-NOORD": ("Noord", "Regio Noord"), "PR-ZUID": ("Zuid",)}
    assert extra["proef"].unit_list().match(pd.Series(["regio noord", "PR-ZUID", "West"])).codes.tolist() == ["PR-NOORD", "PR-ZUID", "unknown"]


def test_extra_folder_overrides_a_shipped_definition(tmp_path: Path) -> None:
    document = yaml.safe_load(PROEF.read_text(encoding="utf-8")) | {"id": "kmar", "source": "kmar"}
    (tmp_path / "kmar.yaml").write_text(yaml.safe_dump(document), encoding="utf-8")
    assert load_definitions(tmp_path)["kmar"].encoding == "cp1252"


BROKEN = {
    "unknown canonical field": ({"columns": {"source_record_id": "Dossier", "reported_on": "Datum", "shoe_size": "Maat"}}, "columns.shoe_size"),
    "missing record id": ({"columns": {"reported_on": "Datum", "surname": "Naam"}}, "columns.source_record_id"),
    "missing report date": ({"columns": {"source_record_id": "Dossier"}}, "columns.reported_on"),
    "bad date format": ({"date_format": "%d-%m"}, "date_format"),
    "unknown directive": ({"date_format": "%Q-%m-%Y"}, "date_format"),
    "unknown encoding": ({"encoding": "klingon-8"}, "encoding"),
    "bytes codec as encoding": ({"encoding": "hex"}, "encoding"),
    "text transform as encoding": ({"encoding": "rot13"}, "encoding"),
    "encoding not a name": ({"encoding": 8}, "encoding"),
    "bad canonical value": ({"values": {"gender": {"Vrouw": "woman"}}}, "values.gender"),
    "value table for unmapped field": ({"values": {"report_filed": {"Ja": True}}}, "values.report_filed"),
    "unknown source kind": ({"source": "ngo"}, "source"),
    "unknown key": ({"delimitter": ";"}, "delimitter"),
    # A coded field mapped without its list: a unit is stored as a code the definition declares.
    "reporting unit without units": (mapped(reporting_unit="Regio"), "columns.reporting_unit"),
    "units without a reporting unit": ({"units": UNITS}, "units"),
    "unit code that is text": (mapped(reporting_unit="Regio") | {"units": {"Regio Noord": ["Noord"]}}, "units.Regio Noord"),
    "one name for two units": (mapped(reporting_unit="Regio") | {"units": {"PR-A": ["Noord"], "PR-B": ["noord"]}}, "units"),
    "value table for units": (mapped(reporting_unit="Regio") | {"units": UNITS, "values": {"reporting_unit": {"N": "PR-NOORD"}}}, "values.reporting_unit"),
    "sector value that is no sector code": (
        mapped(exploitation_sector="Sector") | {"values": {"exploitation_sector": {"Kas": "glass houses"}}}, "values.exploitation_sector",
    ),
    "municipality value that is no CBS code": (
        mapped(exploitation_municipality="Plaats") | {"values": {"exploitation_municipality": {"DH": "Den Haag"}}},
        "values.exploitation_municipality",
    ),
    # A column that feeds an identifying field feeds nothing else, and a header that names one is no place.
    "surname column as reporting unit": (mapped(reporting_unit="Achternaam") | {"units": UNITS}, "columns.reporting_unit"),
    "surname column as municipality": (mapped(exploitation_municipality="Achternaam"), "columns.exploitation_municipality"),
    "birth date column as sector": (mapped(exploitation_sector="Geboortedatum"), "columns.exploitation_sector"),
    "notes column as sector": (mapped(notes="Opmerkingen", exploitation_sector="Opmerkingen"), "columns.exploitation_sector"),
    "header `surname` as reporting unit": (mapped(reporting_unit="surname") | {"units": UNITS}, "columns.reporting_unit"),
    "header `bsn` as municipality": (mapped(exploitation_municipality="bsn"), "columns.exploitation_municipality"),
    "header `Date of birth` as country": (mapped(exploitation_country="Date of birth"), "columns.exploitation_country"),
    "unknown scope": ({"scope": "global"}, "scope"),
}


@pytest.mark.parametrize("changes,key", BROKEN.values(), ids=list(BROKEN))
def test_wrong_definition_stops_the_run_naming_file_and_key(changes, key, tmp_path, monkeypatch, pseudonym_key) -> None:
    document = yaml.safe_load(PROEF.read_text(encoding="utf-8")) | changes
    partners = tmp_path / "partners"
    partners.mkdir()
    (partners / "broken.yaml").write_text(yaml.safe_dump(document, allow_unicode=True), encoding="utf-8")
    monkeypatch.setenv("VICTIM_INTAKE_PARTNERS", str(partners))
    with pytest.raises(DefinitionError) as wrong:
        load_definitions(partners)
    assert "broken.yaml" in str(wrong.value) and f"`{key}`" in str(wrong.value)

    (tmp_path / "inbox").mkdir()
    code, output = run_cli("run", "--inbox", str(tmp_path / "inbox"))
    assert code == 2
    assert "broken.yaml" in output and f"`{key}`" in output


@pytest.mark.usefixtures("prefect_server", "vault_key")
def test_partner_declared_only_in_yaml_loads(tmp_path, monkeypatch, pseudonym_key, isolated_settings) -> None:
    """Done-when: a CSV with `;`, cp1252, Dutch country names and dd-mm-yyyy dates, no code change."""
    partners = tmp_path / "partners"
    partners.mkdir()
    (partners / "proef.yaml").write_bytes(PROEF.read_bytes())
    monkeypatch.setenv("VICTIM_INTAKE_PARTNERS", str(partners))
    inbox = tmp_path / "inbox" / "proef"
    inbox.mkdir(parents=True)
    (inbox / "levering.csv").write_bytes(
        "Dossier;Achternaam;Voornamen;Geboortedatum;Geslacht;Nationaliteit;Datum melding;Vorm\r\n"
        "P-1;Wiśniewska;Zoë;02-04-1999;Vrouw;Verenigde Staten;14-03-2025;Seksuele uitbuiting\r\n"
        "P-2;Dumitrescu;Ion;11-11-2008;Man;Roemenië;15-03-2025;Arbeidsuitbuiting\r\n"
        .replace("ś", "s").encode("cp1252")
    )
    code, output = run_cli("run", "--inbox", str(tmp_path / "inbox"))
    assert code == 0, output
    engine = sa.create_engine(f"sqlite:///{isolated_settings / 'warehouse.sqlite'}")
    with engine.connect() as connection:
        rows = connection.execute(sa.text(
            "SELECT source, source_kind, nationality, gender, exploitation_type, reported_on, registration_year, "
            "birth_year, age_group, is_minor, person_id IS NOT NULL FROM registrations ORDER BY reported_on"
        )).all()
    engine.dispose()
    assert [tuple(row) for row in rows] == [
        ("proef", "other", "USA", "female", "sexual", "2025-03-14", 2025, 1999, "23-29", 0, 1),
        ("proef", "other", "ROU", "male", "labour", "2025-03-15", 2025, 2008, "12-17", 1, 1),
    ]
