"""CTDC files as people have them: a few columns of the global release, columns added by others,
flags written as floats, blanks; all of it reference data that no national figure counts."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import sqlalchemy as sa
from ctdc_extract import ADDED, COLUMNS, write_extract
from source_files import read_and_validate
from typer.testing import CliRunner

from schemas import ctdc
from schemas.partner import layout_notes
from schemas.partner_definition import load_definitions
from sources.partner import PartnerSource
from victim_intake.cli import app

ROWS = 3_000


def run_cli(*arguments: str) -> tuple[int, str]:
    result = CliRunner().invoke(app, list(arguments))
    if result.exception and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result.exit_code, result.output


def direct_counts(frame: pd.DataFrame) -> pd.Series:
    """Rows per year and canonical gender, counted straight from the file's text."""
    genders = {"Female": "female", "Male": "male", "": "unknown"}
    keys = pd.DataFrame({"registration_year": frame["yearOfRegistration"].astype(int), "gender": frame["gender"].map(genders)})
    return keys.value_counts().sort_index()


@pytest.fixture
def extract(tmp_path: Path) -> tuple[Path, pd.DataFrame]:
    path = tmp_path / "inbox" / "ctdc" / "extract.csv"
    return path, write_extract(np.random.default_rng(11), path, ROWS)


def test_extract_validates_completely_and_names_its_columns_once(extract) -> None:
    path, frame = extract
    definition = load_definitions()["ctdc"]
    opened, validated = read_and_validate(PartnerSource(definition), path)
    table = opened.table
    assert validated.quarantined.empty
    assert len(validated.records) == ROWS
    # Identical rows are different persons of a k-anonymised release: none is dropped.
    assert frame[list(COLUMNS)].duplicated().sum() > 100

    notes = layout_notes(definition, table.absent, table.headers)
    assert len(notes) == 2
    absent, ignored = notes
    assert absent.startswith("column(s) absent, unknown for every row: ")
    optional = {*ctdc.GLOBAL_FLAGS, *ctdc.sector_columns("ctdc_global")} - {"isForcedLabour", "isSexualExploit"}
    assert set(absent.split(": ")[1].removesuffix(f" and {len(optional) - 20} more").split(", ")) <= optional
    assert absent.endswith(f" and {len(optional) - 20} more")
    assert set(ignored.split(": ")[1].split(", ")) == set(ADDED)
    # Headers only: no cell of the file (a country name, a coordinate) is in a note.
    cells = {value for column in ADDED for value in frame[column] if value}
    assert not any(cell in note for cell in cells for note in notes)

    # Flags written 1.0 count; blank countries are unknown.
    records = validated.records.set_index(validated.records.index)
    sexual_only = frame["isSexualExploit"].eq("1.0") & ~frame["isForcedLabour"].eq("1.0")
    assert (records["exploitation_type"][sexual_only.to_numpy()] == "sexual").all()
    assert int(sexual_only.sum()) == int((records["exploitation_type"] == "sexual").sum())
    assert (records["nationality"][frame["citizenship"].eq("").to_numpy()] == "UNK").all()
    assert (records["nationality"][frame["citizenship"].eq("HR").to_numpy()] == "HRV").all()


@pytest.mark.parametrize("written,expected", [("1", "labour"), ("1.0", "labour"), ("0", "unknown"), ("0.0", "unknown"), ("-99", "unknown"), (None, "unknown")])
def test_flags_as_written_in_either_layout(written, expected) -> None:
    for layout in ("ctdc_global", "ctdc_synthetic"):
        assert ctdc.exploitation_types(pd.DataFrame({"isForcedLabour": [written]}), layout).tolist() == [expected]


def test_a_flag_outside_the_list_is_quarantined(tmp_path) -> None:
    path = tmp_path / "ctdc.csv"
    path.write_text("yearOfRegistration,gender,citizenship,CountryOfExploitation,isForcedLabour\n2016,Female,UA,PL,2.0\n2016,Male,,,1.0\n")
    definition = load_definitions()["ctdc"]
    _, validated = read_and_validate(PartnerSource(definition), path)
    assert validated.quarantined[["row_number", "column_name"]].values.tolist() == [[2, "isForcedLabour"]]
    assert validated.records["exploitation_type"].tolist() == ["labour"]


@pytest.mark.usefixtures("prefect_server", "pseudonym_key", "vault_key")
def test_extract_loads_as_reference_rows_no_national_figure_counts(extract, tmp_path, isolated_settings) -> None:
    path, frame = extract
    code, output = run_cli("run", "--inbox", str(path.parent.parent))
    assert code == 0, output
    assert output.count("column(s) absent, unknown for every row") == 1
    assert output.count("does not know, ignored") == 1

    engine = sa.create_engine(f"sqlite:///{isolated_settings / 'warehouse.sqlite'}")
    with engine.connect() as connection:
        stored = pd.read_sql(sa.text("SELECT registration_year, gender, scope FROM registrations WHERE source = 'ctdc'"), connection)
        national = connection.execute(sa.text("SELECT count(*) FROM mart_person_years")).scalar_one()
    engine.dispose()
    assert len(stored) == ROWS
    assert set(stored["scope"]) == {"reference"}
    counted = stored[["registration_year", "gender"]].value_counts().sort_index()
    pd.testing.assert_series_equal(counted, direct_counts(frame), check_names=False)
    assert national == 0

    code, output = run_cli("report", "--year", "2016", "--out", str(tmp_path / "report.html"))
    assert code == 2
    assert "holds no registrations of 2016" in output
    assert not (tmp_path / "report.html").exists()


@pytest.mark.parametrize(
    "layout,flags,expected",
    [
        ("ctdc_global", {"typeOfLabourConstruction": "1.0"}, "construction"),
        ("ctdc_global", {"typeOfLabourConstruction": "1", "typeOfLabourHospitality": "1"}, "unknown"),
        ("ctdc_global", {"typeOfSexProstitution": "1", "typeOfSexPrivateSexualServices": "1"}, "prostitution_other"),
        ("ctdc_global", {"isForcedLabour": "1", "typeOfLabourBegging": "1"}, "begging"),
        ("ctdc_global", {"typeOfLabourConstruction": "0", "typeOfLabourHospitality": "-99"}, "unknown"),
        ("ctdc_synthetic", {"typeOfSexProstitution": "1"}, "prostitution_other"),
        ("ctdc_synthetic", {"typeOfLabourDomesticWork": "1"}, "domestic_work"),
    ],
)
def test_sector_flags_give_a_sector_of_the_list(tmp_path, layout, flags, expected) -> None:
    partner = "ctdc" if layout == "ctdc_global" else "ctdc-synthetic"
    definition = load_definitions()[partner]
    header = ["yearOfRegistration", "gender", "citizenship", "CountryOfExploitation", *flags]
    gender, country = ("Female", "UA") if layout == "ctdc_global" else ("Woman", "UKR")
    path = tmp_path / "ctdc.csv"
    path.write_text(",".join(header) + "\n" + ",".join(["2016", gender, country, country, *flags.values()]) + "\n")
    _, validated = read_and_validate(PartnerSource(definition), path)
    assert validated.quarantined.empty
    assert validated.records["exploitation_sector"].tolist() == [expected]
