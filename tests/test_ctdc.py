"""The CTDC exchange format: the documented mapping rules, both layouts, and a 50,000-row load."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import sqlalchemy as sa
from typer.testing import CliRunner

from schemas import ctdc
from schemas.partner_definition import load_definitions
from victim_intake.cli import app
from victim_intake.synthetic.ctdc_files import write_ctdc_file


def run_cli(*arguments: str) -> tuple[int, str]:
    result = CliRunner().invoke(app, list(arguments))
    if result.exception and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result.exit_code, result.output


def flags(**set_flags: str) -> pd.DataFrame:
    row = {name: "0" for name in ctdc.GLOBAL_FLAGS} | set_flags
    return pd.DataFrame([row])


@pytest.mark.parametrize(
    "set_flags,expected",
    [
        ({}, "unknown"),
        ({"isForcedLabour": "-99", "isSexualExploit": "-99"}, "unknown"),
        ({"isSexualExploit": "1"}, "sexual"),
        ({"isForcedLabour": "1"}, "labour"),
        ({"isForcedLabour": "1", "typeOfLabourBegging": "1"}, "begging"),
        ({"isForcedLabour": "1", "typeOfLabourIllicitActivities": "1"}, "criminal"),
        ({"isForcedLabour": "1", "typeOfLabourBegging": "1", "typeOfLabourIllicitActivities": "1"}, "labour"),
        ({"isOrganRemoval": "1"}, "organ_removal"),
        ({"isForcedMarriage": "1"}, "other"),
        ({"isSexualExploit": "1", "isForcedLabour": "1"}, "other"),
        ({"isSexAndLabour": "1"}, "other"),
    ],
)
def test_exploitation_type_from_flags(set_flags: dict, expected: str) -> None:
    assert ctdc.exploitation_types(flags(**set_flags), "ctdc_global").tolist() == [expected]


def test_synthetic_layout_flags_are_one_or_empty() -> None:
    frame = pd.DataFrame({"isForcedLabour": ["1", None, None], "isSexualExploit": [None, "1", None], "isOtherExploit": [None, None, None]})
    assert ctdc.exploitation_types(frame, "ctdc_synthetic").tolist() == ["labour", "sexual", "unknown"]


def test_age_bins_map_only_where_they_fit_one_group() -> None:
    frame = pd.DataFrame({"ageBroad": ["0--8", "9--17", "18--20", "21--23", "27--29", "30--38", "48+", "-99", None]})
    group, minor = ctdc.age_groups(frame)
    assert group.tolist() == ["0-11", "unknown", "18-22", "unknown", "23-29", "30-39", "unknown", "unknown", "unknown"]
    assert minor.tolist() == [True, True, False, False, False, False, False, pd.NA, pd.NA]


def direct_counts(path: Path, partner: str) -> pd.Series:
    """Rows per (year, canonical gender) counted straight from the file, leaving out unknown countries."""
    frame = pd.read_csv(path, dtype=str, keep_default_na=False)
    valid = frame[~frame["citizenship"].isin(["ZZ", "ZZZ"])]
    genders = load_definitions()[partner].values["gender"]
    keys = pd.DataFrame({"registration_year": valid["yearOfRegistration"].astype(int), "gender": valid["gender"].map(genders)})
    return keys.value_counts().sort_index()


def warehouse_counts(url: str, source: str) -> pd.Series:
    engine = sa.create_engine(url)
    with engine.connect() as connection:
        stored = pd.read_sql(sa.text("SELECT registration_year, gender, person_id FROM registrations WHERE source = :s"), connection, params={"s": source})
    engine.dispose()
    assert stored["person_id"].isna().all()
    return stored[["registration_year", "gender"]].value_counts().sort_index()


@pytest.mark.usefixtures("prefect_server", "pseudonym_key", "vault_key")
@pytest.mark.parametrize("partner,layout,rows", [("ctdc", "ctdc_global", 50_000), ("ctdc-synthetic", "ctdc_synthetic", 2_000)])
def test_ctdc_file_loads_with_counts_of_the_file(partner, layout, rows, tmp_path, isolated_settings) -> None:
    path = tmp_path / "inbox" / partner / f"{partner}.csv"
    truth = write_ctdc_file(np.random.default_rng(5), path, rows, layout, partner)
    started = time.perf_counter()
    code, output = run_cli("run", "--inbox", str(tmp_path / "inbox"))
    seconds = time.perf_counter() - started
    assert code == 0, output
    url = f"sqlite:///{isolated_settings / 'warehouse.sqlite'}"
    stored = warehouse_counts(url, partner)
    assert int(stored.sum()) == int(truth.valid.sum())
    pd.testing.assert_series_equal(stored, direct_counts(path, partner), check_names=False)
    print(f"{partner}: {rows:,} rows, `victim-intake run` took {seconds:.1f} s")

    # A new snapshot replaces everything the source delivered before.
    path.unlink()
    smaller = write_ctdc_file(np.random.default_rng(6), path.with_name("next.csv"), 100, layout, partner)
    assert run_cli("run", "--inbox", str(tmp_path / "inbox"))[0] == 0
    assert int(warehouse_counts(url, partner).sum()) == int(smaller.valid.sum())
