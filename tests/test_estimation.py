"""Multiple-systems estimation: SparseMSE's published results, validation, warehouse and command.

Every table here is a published aggregate count (no personal data). Histories are written as
strings of 0/1 in list order, e.g. "10100" = on the first and third list only.
"""

from __future__ import annotations

import json
import re
import sqlite3
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import typer
from scipy.stats import norm, poisson
from sqlalchemy import create_engine, text
from typer.testing import CliRunner

from estimation import (
    OverlapTable,
    OverlapTableError,
    bootstrap_stepwise,
    check_model,
    conditional_interval,
    estimate_population,
    fit_model,
    overlap_from_registrations,
    read_overlap_csv,
    select_stepwise,
)
from estimation.intervals import bca_interval, jackknife_acceleration
from estimation.stepwise import overlap_p_values
from victim_intake.commands.estimate import estimate, make_estimate_command

# SparseMSE 2.0.1 dataset `Ned` (= tests/data/ned_overlap_6_lists.csv): the Netherlands,
# 2010-2015, lists I, K, O, P, R, Z.
NED = (
    ("I", "K", "O", "P", "R", "Z"),
    {"101100": 4, "101000": 1, "100101": 4, "100100": 18, "100010": 3, "100001": 16,
     "100000": 352, "011000": 1, "010100": 44, "010001": 4, "010000": 1299, "001110": 2,
     "001101": 7, "001100": 59, "001010": 2, "001001": 57, "001000": 403, "000111": 1,
     "000110": 82, "000101": 125, "000100": 4466, "000011": 2, "000010": 650, "000001": 632},
)  # fmt: skip
# `Ned_5` (= tests/data/ned_overlap_5_lists.csv): I and O merged into IO.
NED_5 = (
    ("IO", "K", "P", "R", "Z"),
    {"10000": 756, "01000": 1299, "00100": 4466, "00010": 650, "00001": 632, "11000": 1,
     "10100": 81, "10010": 5, "10001": 73, "01100": 44, "01001": 4, "00110": 82, "00101": 125,
     "00011": 2, "10110": 2, "10101": 11, "00111": 1},
)  # fmt: skip
# The following tables, and SparseMSE's stepwise results on them, are printed in the vignette
# "Reproducing Chan, Silverman and Vincent (2021)" of MultipleSystemsEstimation (the successor of
# SparseMSE; bernardsilverman/MultipleSystemsEstimation, docs/articles/reproduce-2021.md, and
# docs/reference/estimate_population_stepwise.md for Korea); the counts are read off the `$fit$y`
# printouts there.
WESTERN = (
    ("A", "B", "C", "D", "E"),
    {"10000": 52, "01000": 90, "00100": 114, "10100": 4, "01100": 6, "00010": 45, "10010": 2,
     "01010": 1, "01110": 1, "00001": 21, "10001": 5, "10101": 1, "00011": 3},
)  # fmt: skip
NEW_ORLEANS = (
    ("A", "B", "C", "D", "E", "F", "G", "H"),
    {"10000000": 25, "01000000": 5, "00100000": 70, "10100000": 1, "00010000": 33,
     "10010000": 2, "00110000": 2, "00001000": 6, "10001000": 1, "00101000": 1, "00011000": 2,
     "10011000": 1, "00000100": 6, "01000100": 1, "00000010": 6, "00100010": 1, "10100010": 1,
     "00000001": 21, "00001001": 1},
)  # fmt: skip
KOREA = (("A", "B", "C"), {"100": 5, "010": 5, "110": 54, "001": 41, "101": 6, "111": 12})
# UK 2013 NRM data (bernardsilverman/modslavmse, R/UKdat.R) with PF and NCA merged: `UKdat_5`.
UK_5 = (
    ("LA", "NG", "PFNCA", "GO", "GP"),
    {"10000": 54, "01000": 463, "00100": 995, "00010": 695, "00001": 316, "11000": 15,
     "10100": 19, "10010": 3, "01100": 62, "01010": 19, "01001": 1, "00110": 76, "00101": 11,
     "00011": 8, "11100": 1, "11010": 1, "01110": 4, "11110": 1},
)  # fmt: skip
# Chan, Silverman and Vincent (2021), Table 2 (SparseMSE's `Artificial_3`).
ARTIFICIAL_3 = (("A", "B", "C"), {"100": 40, "010": 30, "001": 20, "110": 6})


def frame(data: tuple[tuple[str, ...], dict[str, int]]) -> pd.DataFrame:
    lists, histories = data
    rows = [[int(flag) for flag in history] + [count] for history, count in histories.items()]
    return pd.DataFrame(rows, columns=[*lists, "count"])


def table(data: tuple[tuple[str, ...], dict[str, int]]) -> OverlapTable:
    return OverlapTable.from_frame(frame(data))


def pair_names(data: OverlapTable, pairs: tuple[tuple[int, int], ...]) -> list[str]:
    return [data.pair_name(pair) for pair in pairs]


# --- the independence model ------------------------------------------------------------------


def test_independence_model_on_ned_gives_about_52823() -> None:
    ned = table(NED)
    model = fit_model(ned)
    assert ned.observed == 8234
    assert model.total == pytest.approx(52_823.46, abs=0.5)
    assert model.pairs == ()


def test_independence_model_on_ned_5() -> None:
    assert fit_model(table(NED_5)).total == pytest.approx(52_923.89, abs=0.5)


def test_conditional_interval_is_sparsemse_wald_interval_on_log_dark_figure() -> None:
    model = fit_model(table(NED))
    lower, upper = conditional_interval(model, 0.95)
    spread = norm.ppf(0.975) * model.log_dark_figure_se
    assert lower == pytest.approx(8234 + np.exp(model.log_dark_figure - spread))
    assert upper == pytest.approx(8234 + np.exp(model.log_dark_figure + spread))
    assert lower < model.total < upper


# --- the stepwise method: SparseMSE's published results ----------------------------------------


@pytest.mark.parametrize(
    ("data", "terms", "total"),
    [
        # reproduce-2021.md, section 4.2: model A:E, point estimate 2483 ($popest 2483.384).
        (WESTERN, ["A:E"], 2483.384),
        # reproduce-2021.md, section 4.1: `NewOrl_fit$popest` 1110.488 with D:E, on Multiple-
        # SystemsEstimation's copy of the data (SparseMSE's own copy gives 1184, per that
        # package's tests/testthat/test-published-point-estimates.R).
        (NEW_ORLEANS, ["D:E"], 1110.488),
        # estimate_population_stepwise.md example: $popest 268.7778, hierarchy "[12,3]".
        (KOREA, ["A:B"], 268.7778),
        # MSETools README (Binette and Steorts), `estimates(sparsemse(UK))` with SparseMSE 2.0.1:
        # N.hat 11312.990. Their `UK` is the five-list table: its independence estimate, 13444.13
        # in the same README, is the five-list one.
        (UK_5, ["LA:NG", "NG:GP", "PFNCA:GP", "LA:PFNCA", "GO:GP", "NG:GO"], 11312.990),
    ],
)
def test_stepwise_reproduces_sparsemse_published_estimates(data, terms, total) -> None:
    data_table = table(data)
    model = select_stepwise(data_table)
    assert pair_names(data_table, model.pairs) == terms
    assert model.total == pytest.approx(total, abs=0.01)


def test_independence_on_uk_5_matches_msetools() -> None:
    assert fit_model(table(UK_5)).total == pytest.approx(13444.13, abs=0.01)


def test_stepwise_on_ned() -> None:
    # No published SparseMSE stepwise figure for `Ned` exists; these figures were checked against
    # SparseMSE 2.0.1's own R/routines.R (stepwisefit, estimatepopulation.0), run in R 4.2.2 with
    # lpSolve 5.6.18 on 2026-11-29 on tests/data/ned_overlap_6_lists.csv.
    # `estimatepopulation.0(Ned, method="stepwise", quantiles=c(0.025,0.975))` printed
    # 2.5% 92439.8581114, point est. 111139.3712304, 97.5% 133991.4670643, with the formula
    # count ~ I + K + O + P + R + Z + O:Z + P:Z + I:Z + P:R + O:P + K:O and empty overlaps K:R, I:K.
    # Selection path in R: O:Z, P:Z, I:Z, P:R and O:P (p-values 1e-33 .. 1e-9), then K:R and
    # I:K, which share no person (structural zeros), then K:O (p = 0.015); K:Z stops at p = 0.041.
    ned = table(NED)
    model = select_stepwise(ned)
    assert pair_names(ned, model.pairs) == ["O:Z", "P:Z", "I:Z", "P:R", "O:P", "K:R", "I:K", "K:O"]
    assert pair_names(ned, model.empty_pairs) == ["K:R", "I:K"]
    assert model.total == pytest.approx(111_139.37, abs=0.5)
    assert conditional_interval(model) == pytest.approx((92_439.9, 133_991.5), abs=1)


def test_stepwise_on_ned_5() -> None:
    # Checked as `Ned` above (SparseMSE 2.0.1's routines.R, R 4.2.2, 2026-11-29) on
    # tests/data/ned_overlap_5_lists.csv: `estimatepopulation.0(Ned_5, method="stepwise",
    # quantiles=c(0.025,0.975))` printed 2.5% 98675.4322695, point est. 121521.6137123,
    # 97.5% 150138.9112621, with count ~ IO + K + P + R + Z + IO:Z + P:Z + P:R + IO:P + IO:K
    # and empty overlap K:R (entered fifth, before IO:K; K:Z stops at p = 0.0695).
    ned_5 = table(NED_5)
    model = select_stepwise(ned_5)
    assert pair_names(ned_5, model.pairs) == ["IO:Z", "P:Z", "P:R", "IO:P", "K:R", "IO:K"]
    assert pair_names(ned_5, model.empty_pairs) == ["K:R"]
    assert model.total == pytest.approx(121_521.61, abs=0.5)
    assert conditional_interval(model) == pytest.approx((98_675.4, 150_138.9), abs=1)


def test_overlap_p_values_are_the_smaller_poisson_tail() -> None:
    observed = np.array([0, 3, 10, 40])
    expected = np.array([2.5, 3.2, 4.0, 20.0])
    both_tails = np.minimum(poisson.cdf(observed, expected), poisson.sf(observed - 1, expected))
    np.testing.assert_allclose(overlap_p_values(observed, expected), both_tails)


# --- existence and identifiability (SparseMSE's checkident) ------------------------------------


@pytest.mark.parametrize(
    ("pairs", "exists", "identifiable"),
    [
        # Chan, Silverman and Vincent (2021), Table 3 / SparseMSE's Artificial_3 documentation.
        (((0, 1), (0, 2), (1, 2)), True, False),
        (((0, 1),), False, True),
        (((0, 1), (0, 2)), False, True),
        (((0, 2), (1, 2)), True, True),
        ((), True, True),
    ],
)
def test_check_model_on_artificial_3(pairs, exists, identifiable) -> None:
    data = table(ARTIFICIAL_3)
    verdict = check_model(data.counts, data.n_lists, pairs)
    assert (verdict.exists, verdict.identifiable) == (exists, identifiable)


# --- intervals ---------------------------------------------------------------------------------


def test_bca_reduces_to_the_percentile_interval_without_bias_or_acceleration() -> None:
    replicates = norm.ppf((np.arange(1, 10_001) - 0.5) / 10_000)
    lower, upper = bca_interval(replicates, estimate=0.0, acceleration=0.0)
    assert (lower, upper) == pytest.approx((-1.96, 1.96), abs=0.01)


def test_bca_is_undefined_when_all_replicates_fall_on_one_side() -> None:
    assert bca_interval(np.array([5.0, 6.0, 7.0]), estimate=1.0, acceleration=0.0) is None


def test_jackknife_acceleration_weights_each_history_by_its_persons() -> None:
    assert jackknife_acceleration(np.array([1.0, 2.0, 3.0]), np.array([1, 1, 1])) == 0.0
    estimates, weights = np.array([10.0, 11.0, 15.0]), np.array([3, 1, 1])
    residuals = np.average(estimates, weights=weights) - estimates
    expected = np.sum(weights * residuals**3) / (6 * np.sum(weights * residuals**2) ** 1.5)
    assert jackknife_acceleration(estimates, weights) == pytest.approx(expected)


def test_bootstrap_repeats_selection_and_is_reproducible() -> None:
    ned_5 = table(NED_5)
    estimate_total = select_stepwise(ned_5).total
    first = bootstrap_stepwise(ned_5, estimate_total, replicates=25, seed=7)
    second = bootstrap_stepwise(ned_5, estimate_total, replicates=25, seed=7)
    np.testing.assert_array_equal(first.replicates, second.replicates)
    assert first.failed == 0
    # Model selection varies between replicates, so do the totals.
    assert len(np.unique(np.round(first.replicates))) > 5
    assert first.interval is not None
    assert first.interval[0] < first.interval[1]


# --- the overlap table -------------------------------------------------------------------------


def test_read_overlap_csv_matches_the_published_table(tmp_path: Path) -> None:
    path = tmp_path / "ned.csv"
    frame(NED).to_csv(path, index=False)
    assert np.array_equal(read_overlap_csv(path).counts, table(NED).counts)
    assert read_overlap_csv(path).lists == NED[0]


# The published tables as CSV files (tests/data/README.md says where they come from).
TEST_DATA = Path(__file__).resolve().parent / "data"


@pytest.mark.parametrize(("name", "data"), [("6", NED), ("5", NED_5)])
def test_embedded_tables_equal_the_published_csv_files(name: str, data) -> None:
    published = read_overlap_csv(TEST_DATA / f"ned_overlap_{name}_lists.csv")
    assert published.lists == data[0]
    assert published.observed == 8234
    assert np.array_equal(published.counts, table(data).counts)


def test_stepwise_on_the_published_ned_5_file() -> None:
    model = select_stepwise(read_overlap_csv(TEST_DATA / "ned_overlap_5_lists.csv"))
    assert model.total == pytest.approx(121_521.61, abs=0.5)


def test_rows_with_the_same_history_are_added_up() -> None:
    data = pd.DataFrame({"A": [1, 1, 0, 1], "B": [0, 0, 1, 1], "count": [2, 3, 4, 1]})
    assert table_counts(OverlapTable.from_frame(data)) == {"10": 5, "01": 4, "11": 1}


def table_counts(data: OverlapTable) -> dict[str, int]:
    return {
        "".join(str(value) for value in row[:-1]): int(row[-1])
        for row in data.to_frame().itertuples(index=False)
    }


@pytest.mark.parametrize(
    ("columns", "message"),
    [
        ({"A": [1, 0], "B": [0, 1], "n": [3, 4]}, "'count' column"),
        ({"A": [1, 1], "count": [3, 4]}, "at least two lists that share persons"),
        ({"A": [1, 2, 1], "B": [0, 1, 1], "count": [3, 4, 1]}, "only 0 or 1 (see row 2)"),
        ({"A": [1, 0, 1], "B": [0, 1, 1], "count": [3, -4, 1]}, "non-negative whole numbers"),
        ({"A": [1, 0, 1], "B": [0, 1, 1], "count": [3, 4.5, 1]}, "non-negative whole numbers"),
        ({"A": [1, 0, 0], "B": [0, 0, 1], "count": [3, 2, 1]}, "persons on no list (see row 2)"),
        ({"A": [1, 1], "B": [0, 0], "C": [0, 1], "count": [3, 4]}, "list(s) B have no persons"),
        ({"A": [1, 0], "B": [0, 1], "count": [3, 4]}, "no person is on more than one list"),
    ],
)
def test_invalid_overlap_tables_are_refused_clearly(columns, message) -> None:
    with pytest.raises(OverlapTableError, match=re.escape(message)):
        OverlapTable.from_frame(pd.DataFrame(columns))


def test_semicolon_csv_with_byte_order_mark_is_read(tmp_path: Path) -> None:
    path = tmp_path / "export.csv"
    path.write_bytes(b"\xef\xbb\xbfA;B;count\r\n1;0;3\r\n0;1;4\r\n1;1;2\r\n")
    data = read_overlap_csv(path)
    assert data.lists == ("A", "B")
    assert table_counts(data) == {"10": 3, "01": 4, "11": 2}


def test_csv_with_text_in_a_list_column_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "bad.csv"
    path.write_text("A,B,count\n1,0,3\nyes,1,2\n1,1,1\n", encoding="utf-8")
    with pytest.raises(OverlapTableError, match=r"'A' must hold only 0 or 1 \(see row 2\)"):
        read_overlap_csv(path)


# --- the warehouse -----------------------------------------------------------------------------

REGISTRATIONS = [
    # person_id, source_kind, registration_year, scope
    ("p1", "police", 2020, "national"),
    ("p1", "police", 2021, "national"),  # same person, same kind, counted once
    ("p1", "fairwork", 2021, "national"),
    ("p2", "police", 2020, "national"),
    ("p3", "fairwork", 2021, "national"),
    ("p4", "care_coordination", 2021, "national"),
    ("p4", "police", 2021, "national"),
    ("p5", "police", 2019, "national"),  # outside the years
    (None, "police", 2020, "national"),  # unlinkable
    (None, "nla", 2020, "national"),  # unlinkable: the kind does not occur among linked persons
    # Rows about victims elsewhere (a partner's reference data): no list of the Dutch estimate.
    ("p1", "ctdc", 2021, "reference"),
    ("p6", "ctdc", 2020, "reference"),
    ("p6", "kmar", 2019, "reference"),
]


def make_warehouse(url: str) -> None:
    engine = create_engine(url)
    with engine.begin() as connection:
        connection.execute(
            text(
                "CREATE TABLE registrations (registration_id INTEGER PRIMARY KEY, person_id TEXT, "
                "source_kind TEXT, registration_year INTEGER, scope TEXT NOT NULL)"
            )
        )
        connection.execute(
            text(
                "INSERT INTO registrations (person_id, source_kind, registration_year, scope) "
                "VALUES (:person, :kind, :year, :scope)"
            ),
            [{"person": p, "kind": k, "year": y, "scope": s} for p, k, y, s in REGISTRATIONS],
        )
    engine.dispose()


def test_overlap_from_registrations_counts_each_distinct_person_once(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'warehouse.sqlite'}"
    make_warehouse(url)
    engine = create_engine(url)
    with engine.connect() as connection:
        overlap = overlap_from_registrations(connection, 2020, 2021)
    engine.dispose()
    assert list(overlap.columns) == ["care_coordination", "fairwork", "police", "count"]
    rows = {tuple(row[:-1]): row[-1] for row in overlap.itertuples(index=False)}
    # p1: fairwork+police; p2: police; p3: fairwork; p4: care_coordination+police.
    assert rows == {(0, 1, 1): 1, (0, 0, 1): 1, (0, 1, 0): 1, (1, 0, 1): 1}
    assert overlap["count"].sum() == 4


def test_overlap_from_registrations_with_one_source_kind(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'warehouse.sqlite'}"
    make_warehouse(url)
    engine = create_engine(url)
    with engine.connect() as connection:
        overlap = overlap_from_registrations(connection, 2019, 2019)
    engine.dispose()
    assert list(overlap.columns) == ["police", "count"]


# --- the whole report --------------------------------------------------------------------------


def test_report_warns_about_instability_and_sparse_overlaps_on_ned() -> None:
    report = estimate_population(table(NED), replicates=0)
    assert report.bootstrap is None
    warnings = " ".join(report.warnings)
    assert "differ by a factor of 2.1" in warnings
    assert "share fewer than 5 persons (I:K 0" in warnings


def test_report_warns_when_lists_barely_overlap() -> None:
    sparse = (("A", "B", "C"), {"100": 400, "010": 300, "001": 200, "110": 5, "011": 3})
    report = estimate_population(table(sparse), replicates=0)
    assert any("Lists barely overlap" in warning for warning in report.warnings)


# --- the command -------------------------------------------------------------------------------


def cli(command=estimate) -> typer.Typer:
    app = typer.Typer()

    @app.callback()
    def main() -> None:
        """Stand-in for the main app, so that `estimate` is a subcommand as it will be."""

    app.command("estimate")(command)
    return app


runner = CliRunner()


@pytest.fixture
def ned_csv(tmp_path: Path) -> Path:
    path = tmp_path / "ned.csv"
    frame(NED).to_csv(path, index=False)
    return path


def test_command_prints_both_models_with_intervals_and_warnings(ned_csv: Path) -> None:
    result = runner.invoke(cli(), ["estimate", "--overlap", str(ned_csv), "--bootstrap", "10"])
    assert result.exit_code == 0, result.output
    for expected in ("Independence", "52,823", "111,139", "O:Z", "K:R*", "BCa", "Warning:"):
        assert expected in result.stdout


def test_command_json_output(ned_csv: Path) -> None:
    args = ["estimate", "--overlap", str(ned_csv), "--bootstrap", "10", "--seed", "3", "--json"]
    result = runner.invoke(cli(), args)
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["source"] == {"overlap_file": str(ned_csv)}
    assert report["observed"] == 8234
    assert report["independence"]["estimate"] == pytest.approx(52_823.46, abs=0.5)
    assert report["stepwise"]["estimate"] == pytest.approx(111_139.37, abs=0.5)
    assert report["stepwise"]["empty_pairs"] == ["K:R", "I:K"]
    assert report["stepwise"]["bootstrap"]["replicates"] == 10
    assert report["stepwise"]["bootstrap"]["seed"] == 3
    assert len(report["stepwise"]["bca_interval"]) == 2


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--from", "2020", "--to", "2021", "--overlap", "OVERLAP"], "not both"),
        ([], "give --from and --to"),
        (["--from", "2020"], "give --from and --to"),
        (["--from", "2022", "--to", "2021"], "after --to"),
        (["--overlap", "OVERLAP", "--bootstrap", "-1"], "--bootstrap"),
    ],
)
def test_command_usage_errors_exit_2(ned_csv: Path, args: list[str], message: str) -> None:
    args = [str(ned_csv) if arg == "OVERLAP" else arg for arg in args]
    result = runner.invoke(cli(), ["estimate", *args])
    assert result.exit_code == 2
    assert message in result.output


def test_command_refuses_an_invalid_table_with_exit_2(tmp_path: Path) -> None:
    path = tmp_path / "bad.csv"
    path.write_text("A,B,count\n1,0,3\n0,1,-2\n1,1,1\n", encoding="utf-8")
    result = runner.invoke(cli(), ["estimate", "--overlap", str(path)])
    assert result.exit_code == 2
    assert "non-negative whole numbers" in result.output


def test_command_reads_the_warehouse_through_the_injected_source() -> None:
    asked = []

    def source(year_from: int, year_to: int) -> pd.DataFrame:
        asked.append((year_from, year_to))
        return frame(NED_5)

    app = cli(make_estimate_command(source))
    args = ["estimate", "--from", "2010", "--to", "2015", "--bootstrap", "0", "--json"]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    assert asked == [(2010, 2015)]
    report = json.loads(result.stdout)
    assert report["source"] == {"registration_years": [2010, 2015]}
    assert report["stepwise"]["bca_interval"] is None


def test_command_needs_two_source_kinds_that_share_persons() -> None:
    one_kind = pd.DataFrame({"police": [1], "count": [12]})
    app = cli(make_estimate_command(lambda year_from, year_to: one_kind))
    result = runner.invoke(app, ["estimate", "--from", "2024", "--to", "2024"])
    assert result.exit_code == 2
    assert "MSE needs at least two lists that share persons" in result.output
    assert "1 source kind(s) (police)" in result.output


def test_command_uses_the_configured_warehouse(tmp_path: Path, monkeypatch) -> None:
    url = f"sqlite:///{tmp_path / 'warehouse.sqlite'}"
    make_warehouse(url)
    monkeypatch.setenv("VICTIM_INTAKE_DATABASE_URL", url)
    args = ["estimate", "--from", "2020", "--to", "2021", "--bootstrap", "0", "--json"]
    result = runner.invoke(cli(), args)
    # Four persons, two of them on two lists: enough for the independence model.
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["lists"] == ["care_coordination", "fairwork", "police"]
    assert report["observed"] == 4


def test_command_reports_a_missing_warehouse_with_exit_2(tmp_path: Path, monkeypatch) -> None:
    missing = tmp_path / "absent.sqlite"
    monkeypatch.setenv("VICTIM_INTAKE_DATABASE_URL", f"sqlite:///{missing}")
    result = runner.invoke(cli(), ["estimate", "--from", "2020", "--to", "2021"])
    assert result.exit_code == 2
    assert "no warehouse at" in result.output
    assert not missing.exists()


def test_command_reports_an_unreadable_warehouse_with_exit_2(tmp_path: Path, monkeypatch) -> None:
    database = tmp_path / "empty.sqlite"
    sqlite3.connect(database).close()  # a database without the relation
    monkeypatch.setenv("VICTIM_INTAKE_DATABASE_URL", f"sqlite:///{database}")
    result = runner.invoke(cli(), ["estimate", "--from", "2020", "--to", "2021"])
    assert result.exit_code == 2
    assert "cannot read registrations" in result.output
    assert "no such table: registrations" in result.output
