"""The demo's partner files: real files in each partner's format, the same persons as the police,
and a truth file that says so."""

from __future__ import annotations

import codecs
import csv
from pathlib import Path

import pandas as pd
import pytest

from connectors.tabular import read_table
from schemas.partner import read_columns
from schemas.partner_definition import load_definitions
from victim_intake.synthetic import write_demo_inbox

# Variants the current canonicalisation undoes; the demo must use no others.
VARIANTS = {"none", "case", "diacritics", "spacing", "given_name_order", "hyphen"}


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory):
    inbox = tmp_path_factory.mktemp("partners") / "inbox"
    summary = write_demo_inbox(inbox, persons=1500, seed=5, files=3)
    truth = pd.read_csv(summary.truth_path, dtype=str, keep_default_na=False)
    return summary, inbox, truth


def test_every_shipped_partner_has_a_file_in_its_format(demo) -> None:
    summary, inbox, _ = demo
    definitions = load_definitions()
    assert {path.parent.name for path in summary.partner_files} == set(definitions)
    for path in summary.partner_files:
        assert path.suffix == f".{definitions[path.parent.name].format}"
    zorg = next((inbox / "zorgcoordinatie").glob("*.csv")).read_bytes()
    assert zorg.decode("cp1252").startswith("Dossiernummer;")
    # Really Windows-1252: names with diacritics are there, and they are not UTF-8.
    assert any(byte > 0x7F for byte in zorg)
    with pytest.raises(UnicodeDecodeError):
        zorg.decode("utf-8")
    assert next((inbox / "fairwork").glob("*.csv")).read_bytes().startswith(codecs.BOM_UTF8)
    assert next((inbox / "nla").glob("*.xlsx")).read_bytes().startswith(b"PK")


def test_truth_matches_every_partner_row(demo) -> None:
    summary, inbox, truth = demo
    definitions = load_definitions()
    for path in summary.partner_files:
        definition = definitions[path.parent.name]
        table = read_table(
            path, read_columns(definition), file_format=definition.format, encoding=definition.encoding,
            delimiter=definition.delimiter, sheet=definition.sheet, date_format=definition.date_format, max_bytes=1 << 30,
        )
        rows = truth[(truth["source"] == definition.id) & (truth["file"] == path.name)]
        assert rows["line"].astype(int).tolist() == table.row_numbers.tolist()
        if definition.layout:
            assert (rows["person"] == "").all()
            assert rows["source_record_id"].tolist() == rows["line"].tolist()
        else:
            assert rows["source_record_id"].tolist() == table.frame[definition.columns["source_record_id"]].tolist()
            assert rows["person"].str.fullmatch(r"T\d{7}").all()
    partner_rows = truth[truth["source"] != "police"]
    assert len(partner_rows) == summary.partner_records
    assert (partner_rows["valid"] == "false").sum() == summary.partner_invalid_records
    assert set(partner_rows["variant"]) <= VARIANTS
    assert {"diacritics", "case", "hyphen"} <= set(partner_rows["variant"])


def test_partners_report_persons_the_police_also_report(demo) -> None:
    _, _, truth = demo
    valid = truth[(truth["valid"] == "true") & (truth["person"] != "")]
    sources = valid.groupby("person")["source"].nunique()
    police = set(valid.loc[valid["source"] == "police", "person"])
    care = set(valid.loc[valid["source"] == "zorgcoordinatie", "person"])
    assert len(police & care) > 0.3 * len(care)
    assert (sources >= 3).sum() > 10


def test_partner_files_leave_the_police_feed_unchanged(tmp_path: Path) -> None:
    with_partners = write_demo_inbox(tmp_path / "a" / "inbox", persons=300, seed=9, files=2)
    police_only = write_demo_inbox(tmp_path / "b" / "inbox", persons=300, seed=9, files=2, partners=False)
    for first, second in zip(sorted((tmp_path / "a" / "inbox" / "police").iterdir()), sorted((tmp_path / "b" / "inbox" / "police").iterdir()), strict=True):
        assert first.read_bytes() == second.read_bytes()
    with police_only.truth_path.open(newline="", encoding="utf-8") as police_truth:
        police_lines = list(csv.reader(police_truth))
    with with_partners.truth_path.open(newline="", encoding="utf-8") as full_truth:
        assert list(csv.reader(full_truth))[: len(police_lines)] == police_lines


def test_the_demo_knows_the_size_of_its_population(tmp_path: Path) -> None:
    from estimation import fit_model
    from estimation.covariate_report import estimate_with_covariates
    from estimation.strata import read_stratified_csv

    summary = write_demo_inbox(tmp_path / "inbox", persons=1500, seed=5, files=2)
    population = pd.read_csv(summary.population_path)
    assert population.columns.tolist() == ["year", "victims", "reported", "met_by_police"]
    assert population["met_by_police"].sum() == 1500
    assert (population["victims"] > population["reported"]).all() and (population["reported"] >= population["met_by_police"]).all()
    victims = population["victims"].sum()
    # Most victims are never reported.
    assert population["reported"].sum() < 0.5 * victims
    truth = pd.read_csv(summary.truth_path, dtype=str, keep_default_na=False)
    reported = truth[(truth["valid"] == "true") & (truth["person"] != "")]["person"].nunique()
    assert population["reported"].sum() == reported
    # Partners also report victims the police never met.
    assert len(set(truth["person"]) - set(truth.loc[truth["source"] == "police", "person"]) - {""}) > 100
    # The perfectly linked overlap table estimates the population with the covariates that drive
    # the police's chance to meet a victim; the list-only independence model does not.
    stratified = read_stratified_csv(summary.overlap_path, ("form", "minor", "dutch", "gender"))
    assert stratified.observed == reported
    estimate = estimate_with_covariates(stratified, replicates=0)
    low, high = estimate.conditional_interval
    assert low <= victims <= high and abs(estimate.estimate / victims - 1) < 0.1
    assert fit_model(stratified.pooled()).total < 0.8 * victims
