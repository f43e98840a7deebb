"""Estimates with covariates, per year, and their sensitivity: simulated populations of known size,
the warehouse query against the marts, disclosure of strata, and the command."""

from __future__ import annotations

import json
from dataclasses import replace
from itertools import combinations
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from test_estimation import NED, NED_5, cli, frame, runner, table

from estimation import OverlapTable, fit_model, select_stepwise
from estimation.covariate_model import check_covariate_model, fit_covariate_model, select_covariate_stepwise, sparsity
from estimation.covariate_report import SMALL_STRATA, by_stratum, estimate_with_covariates
from estimation.dga import bma_estimate, decomposable_graphs, merge_smallest
from estimation.errors import OverlapTableError
from estimation.intervals import wald_interval
from estimation.lists import merge_lists, omit_lists
from estimation.overlap import YEAR_COLUMN, stratified_overlap_from_registrations
from estimation.sensitivity import bic, select_bic, sensitivity_rows
from estimation.strata import StratifiedTable
from victim_intake.commands.estimate import make_estimate_command

LISTS = ("police", "care", "nla")
# Minors are caught far more often than adults by every list; within each group the lists are
# independent, so the model with lists x minor is right and the list-only model is not.
CAPTURE = {"minor": (0.45, 0.35, 0.40), "adult": (0.10, 0.08, 0.12)}


def simulated(rng: np.random.Generator, size: int, minor_share: float = 0.3) -> pd.DataFrame:
    """The overlap table by `minor` of a population of `size` persons."""
    minor = rng.random(size) < minor_share
    probabilities = np.where(minor[:, None], CAPTURE["minor"], CAPTURE["adult"])
    caught = rng.random((size, len(LISTS))) < probabilities
    seen = caught.any(axis=1)
    persons = pd.DataFrame(caught[seen].astype(int), columns=list(LISTS))
    persons["minor"] = np.where(minor[seen], "minor", "adult")
    return persons.groupby([*LISTS, "minor"], as_index=False).size().rename(columns={"size": "count"})


# --- the covariate model on simulated populations ---------------------------------------------


def test_covariate_model_recovers_the_population_that_independence_underestimates() -> None:
    rng = np.random.default_rng(2024)
    truth = 3000
    covariate_errors, covered, independence_errors = [], [], []
    for _ in range(100):
        data = simulated(rng, truth)
        stratified = StratifiedTable.from_frame(data, ("minor",))
        model = select_covariate_stepwise(stratified)
        low, high = wald_interval(model.observed, model.log_dark_figure, model.log_dark_figure_se)
        covariate_errors.append(model.total / truth - 1)
        covered.append(low <= truth <= high)
        independence_errors.append(fit_model(stratified.pooled()).total / truth - 1)
    assert abs(np.mean(covariate_errors)) < 0.05
    assert np.mean(covered) >= 0.8
    # Heterogeneous capture makes the lists look positively dependent: the list-only model misses
    # about a third of the population, every time.
    assert np.mean(independence_errors) < -0.25
    assert max(independence_errors) < -0.1


def test_sparse_fit_equals_statsmodels_glm() -> None:
    import statsmodels.api as sm

    from estimation.covariate_model import _design, poisson_irls

    simulated_frame = simulated(np.random.default_rng(9), 3000)
    simulated_frame["dutch"] = np.where(simulated_frame.index % 3 == 0, "dutch", "other")
    data = StratifiedTable.from_frame(simulated_frame, ("minor", "dutch"))
    design = _design(data, ((0, 1),), sparsity(data))
    counts = data.counts.ravel()[design.kept].astype(float)
    params, mu, covariance = poisson_irls(design.matrix, counts)
    reference = sm.GLM(counts, design.matrix.toarray(), family=sm.families.Poisson()).fit()
    np.testing.assert_allclose(params, reference.params, rtol=1e-7, atol=1e-9)
    np.testing.assert_allclose(mu, reference.mu, rtol=1e-7)
    np.testing.assert_allclose(covariance, reference.cov_params(), rtol=1e-5, atol=1e-12)


def test_one_stratum_gives_the_list_only_stepwise_estimate() -> None:
    ned = frame(NED).assign(everyone="all")
    model = select_covariate_stepwise(StratifiedTable.from_frame(ned, ("everyone",)))
    reference = select_stepwise(table(NED))
    assert model.pairs == reference.pairs
    assert model.total == pytest.approx(111_139.37, abs=0.5)
    assert model.log_dark_figure_se == pytest.approx(reference.log_dark_figure_se, rel=1e-6)


def test_a_list_that_reports_nobody_of_a_group_is_a_structural_zero_and_reported() -> None:
    data = simulated(np.random.default_rng(5), 3000)
    # nla reports no minors at all (as a labour inspectorate might).
    data = data[~((data["nla"] == 1) & (data["minor"] == "minor"))]
    stratified = StratifiedTable.from_frame(data, ("minor",))
    found = sparsity(stratified)
    assert found.empty_list_values == ((2, "minor", "minor"),)
    result = estimate_with_covariates(stratified, replicates=0)
    assert "nla reports nobody with minor=minor: its cells there are structural zeros" in result.sparse
    assert "nla:minor" not in result.terms and "police:minor" in result.terms
    assert np.isfinite(result.estimate)


def test_a_group_without_overlap_takes_the_capture_pattern_of_the_commonest_and_is_reported() -> None:
    data = simulated(np.random.default_rng(6), 3000)
    few = pd.DataFrame({"police": [1, 0], "care": [0, 1], "nla": [0, 0], "minor": ["unknown", "unknown"], "count": [4, 3]})
    stratified = StratifiedTable.from_frame(pd.concat([data, few], ignore_index=True), ("minor",))
    found = sparsity(stratified)
    # With its own list x value terms the group's dark figure would be infinite.
    assert check_covariate_model(stratified, (), replace(found, pooled_values=())) == (False, True)
    assert check_covariate_model(stratified, (), found) == (True, True)
    assert found.pooled_values == (("minor", "unknown"),)
    assert found.references["minor"] == "minor"  # the commonest among the observed persons
    result = estimate_with_covariates(stratified, replicates=0)
    assert any("no person with minor=unknown is on two lists" in note for note in result.sparse)
    assert "1 of 3 strata have no person on two lists" in " ".join(result.sparse)
    assert np.isfinite(result.estimate)


# --- strata under disclosure control -------------------------------------------------------------


def strata_table(sizes: dict[str, int]) -> StratifiedTable:
    """One stratum per key, its persons split over three histories of three lists."""
    rows = []
    for name, size in sizes.items():
        share = max(1, size // 4)
        rows += [(1, 0, 0, name, size - 2 * share), (1, 1, 0, name, share), (0, 1, 1, name, share)]
    return StratifiedTable.from_frame(pd.DataFrame(rows, columns=["A", "B", "C", "group", "count"]), ("group",))


@pytest.mark.parametrize(
    ("sizes", "alone"),
    [
        # Two small strata are shown together (7 persons), joined by the next smallest (12) so
        # that the group reaches ten.
        ({"a": 400, "b": 12, "c": 4, "d": 3, "e": 300}, {"group=a", "group=e"}),
        # One small stratum alone could be recovered by subtraction: the next smallest joins it.
        ({"a": 400, "b": 50, "c": 5}, {"group=a"}),
        ({"a": 400, "b": 50}, {"group=a", "group=b"}),
    ],
)
def test_small_strata_are_never_shown_alone(sizes: dict[str, int], alone: set[str]) -> None:
    data = strata_table(sizes)
    rows = by_stratum(data, fit_covariate_model(data), min_cell=10)
    shown = {row["stratum"] for row in rows if not row["stratum"].startswith(SMALL_STRATA)}
    assert shown == alone
    assert all(row["observed"] >= 10 for row in rows)
    assert sum(row["observed"] for row in rows) == sum(sizes.values())
    grouped = [row for row in rows if row["stratum"].startswith(SMALL_STRATA)]
    assert len(grouped) == (0 if len(alone) == len(sizes) else 1)


# --- lists merged, left out; the sensitivity table ----------------------------------------------


def test_merging_i_and_o_of_ned_gives_the_published_ned_5() -> None:
    ned = frame(NED)
    merged = merge_lists(ned, ["I", "O"], list(NED[0]))
    assert list(merged.columns) == ["I+O", "K", "P", "R", "Z", "count"]
    assert np.array_equal(OverlapTable.from_frame(merged).counts, table(NED_5).counts)
    smallest, names = merge_smallest(table(NED), 5)
    assert names == ("I+O",) and np.array_equal(smallest.counts, table(NED_5).counts)


def test_omitting_a_list_forgets_the_persons_only_it_saw() -> None:
    ned = frame(NED)
    without = omit_lists(ned, ["Z"], list(NED[0]))
    assert "Z" not in without.columns
    assert without["count"].sum() == 8234 - 632  # 632 persons were on Z alone
    with pytest.raises(OverlapTableError, match="--omit names lists"):
        omit_lists(ned, ["Q"], list(NED[0]))


def test_decomposable_graphs_are_the_chordal_graphs() -> None:
    # Every graph on three vertices; on four, all but the three 4-cycles; on five, 822 (OEIS A058862).
    assert [len(decomposable_graphs(t)) for t in (2, 3, 4, 5)] == [2, 8, 61, 822]


def test_model_average_covers_an_independent_population() -> None:
    rng = np.random.default_rng(11)
    truth = 5000
    caught = rng.random((truth, 4)) < (0.3, 0.2, 0.25, 0.15)
    seen = caught[caught.any(axis=1)]
    data = pd.DataFrame(seen.astype(int), columns=list("ABCD")).assign(count=1).groupby(list("ABCD"), as_index=False)["count"].sum()
    result = bma_estimate(OverlapTable.from_frame(data))
    assert result.interval[0] <= truth <= result.interval[1]
    assert abs(result.median / truth - 1) < 0.1
    assert result.upper_tail < 1e-3


def test_bic_search_finds_the_lowest_bic() -> None:
    ned_5 = table(NED_5)
    best = select_bic(ned_5)
    # No single pair added or removed lowers it further (the search's stopping rule).
    for pair in combinations(range(5), 2):
        pairs = tuple(p for p in best.pairs if p != pair) if pair in best.pairs else (*best.pairs, pair)
        try:
            neighbour = fit_model(ned_5, pairs)
        except Exception:  # noqa: BLE001 - a neighbour without an estimate is no competitor
            continue
        assert bic(ned_5, neighbour) >= bic(ned_5, best)
    four = table((("A", "B", "C", "D"), {"1000": 40, "0100": 30, "0010": 20, "0001": 25, "1100": 12, "1010": 3, "0110": 2, "0011": 4, "1001": 2}))
    exhaustive = select_bic(four)
    for size in range(7):
        for subset in combinations(combinations(range(4), 2), size):
            try:
                assert bic(four, fit_model(four, subset)) >= bic(four, exhaustive) - 1e-9
            except Exception:  # noqa: BLE001
                continue


def test_sensitivity_rows_on_ned() -> None:
    stratified = StratifiedTable.from_frame(frame(NED).assign(everyone="all"), ("everyone",))
    rows = {row.model: row for row in sensitivity_rows(table(NED), stratified)}
    assert rows["independence"].estimate == pytest.approx(52_823.46, abs=0.5)
    assert rows["stepwise (SparseMSE, p < 0.02)"].estimate == pytest.approx(111_139.37, abs=0.5)
    assert rows["covariate model (everyone)"].estimate == pytest.approx(111_139.37, abs=0.5)
    average = rows["Bayesian average of decomposable graphical models (as dga)"]
    assert "smallest lists merged to reach 5: I+O" in average.note
    assert average.interval[0] < average.estimate < average.interval[1]
    assert {f"stepwise without {name}" for name in NED[0]} <= set(rows)


# --- the warehouse: covariates of a person's first registration, as the marts count them ---------


@pytest.fixture
def edge_rows() -> pd.DataFrame:
    """Registrations with ties on the report date, reports without a date, unknowns, rows without
    a pseudonym and reference rows (the edge cases of the marts' own test)."""
    from victim_intake.synthetic.registrations import synthetic_registrations

    frame = synthetic_registrations(3000, range(2020, 2024), seed=5, persons=1300)
    rng = np.random.default_rng(8)
    rows = len(frame)
    frame["registration_id"] = [f"r{value:05x}" for value in rng.permutation(rows)]
    tied = frame["person_id"].notna() & frame["person_id"].str[-1].isin(["2", "5"])
    frame.loc[tied, "reported_on"] = pd.to_datetime(frame.loc[tied, "registration_year"].astype(str) + "-03-01")
    frame.loc[rng.random(rows) < 0.15, "reported_on"] = pd.NaT
    frame["is_minor"] = frame["is_minor"].astype("boolean")
    frame.loc[rng.random(rows) < 0.1, "is_minor"] = pd.NA
    frame.loc[rng.random(rows) < 0.05, "nationality"] = "UNK"
    frame.loc[rng.random(rows) < 0.03, "scope"] = "reference"
    return frame


COVARIATES = ("gender", "minor", "dutch", "form")


@pytest.mark.parametrize("backend", ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def test_covariates_per_year_are_the_marts_persons(tmp_path, edge_rows, backend) -> None:
    from scratch_db import scratch_url

    from store.bulk import bulk_insert
    from store.engines import make_engine
    from warehouse.database import create_tables
    from warehouse.marts import mart_person_years, refresh_marts

    with scratch_url(backend, tmp_path) as url:
        engine = make_engine(url)
        create_tables(engine)
        with engine.begin() as connection:
            bulk_insert(connection, "registrations", edge_rows)
            refresh_marts(connection)
            yearly = stratified_overlap_from_registrations(connection, 2020, 2023, COVARIATES, per_year=True)
            pooled = stratified_overlap_from_registrations(connection, 2020, 2023, ("minor",))
            marts = pd.read_sql(mart_person_years.select().where(mart_person_years.c.linked), connection)
        engine.dispose()
    marts = marts.rename(columns={"exploitation_type": "form"})
    keys = [YEAR_COLUMN, *COVARIATES]
    expected = marts.groupby(keys).size().rename("count")
    found = yearly.groupby(keys)["count"].sum()
    pd.testing.assert_series_equal(found.sort_index(), expected.sort_index(), check_names=False, check_dtype=False)
    assert {"unknown", "minor", "adult"} <= set(yearly["minor"]) and "unknown" in set(yearly["dutch"])
    # Pooled over the years a person counts once, however many years they were reported in.
    national = edge_rows[(edge_rows["scope"] == "national") & edge_rows["person_id"].notna()]
    assert pooled["count"].sum() == national["person_id"].nunique() < len(marts)
    assert "ctdc" not in pooled.columns  # CTDC rows carry no pseudonym


# --- the command -------------------------------------------------------------------------------


@pytest.fixture
def covariate_csv(tmp_path: Path) -> Path:
    path = tmp_path / "by_minor.csv"
    simulated(np.random.default_rng(13), 4000).to_csv(path, index=False)
    return path


def test_command_json_covariates_section(covariate_csv: Path) -> None:
    args = ["estimate", "--overlap", str(covariate_csv), "--covariates", "minor", "--bootstrap", "0", "--covariate-bootstrap", "20", "--json"]
    result = runner.invoke(cli(), args)
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    section = report["covariates"]
    assert section["covariates"] == ["minor"]
    low, high = section["conditional_interval"]
    assert low < 4000 < high and low < section["estimate"] < high
    assert report["independence"]["conditional_interval"][1] < 0.8 * 4000
    assert section["bootstrap"]["replicates"] == 20 and len(section["bca_interval"]) == 2
    assert section["model"][:4] == ["stratum(minor)", "police", "care", "nla"]
    assert "police:minor" in section["model"]
    assert {row["stratum"] for row in section["by_stratum"]} == {"minor=adult", "minor=minor"}
    assert sum(row["observed"] for row in section["by_stratum"]) == report["observed"]


def test_command_text_with_sensitivity(covariate_csv: Path) -> None:
    args = ["estimate", "--overlap", str(covariate_csv), "--covariates", "minor", "--bootstrap", "0", "--sensitivity"]
    result = runner.invoke(cli(), args)
    assert result.exit_code == 0, result.output
    text = " ".join(result.stdout.split())
    for expected in ("With covariates (minor; 2 strata)", "police:minor", "By stratum", "Sensitivity", "lowest BIC", "without police", "minor=adult"):
        assert expected in text


def test_command_merges_and_omits_lists(covariate_csv: Path) -> None:
    merged = runner.invoke(cli(), ["estimate", "--overlap", str(covariate_csv), "--covariates", "minor", "--bootstrap", "0", "--merge", "care,nla", "--json"])
    assert merged.exit_code == 0, merged.output
    report = json.loads(merged.stdout)
    assert report["lists"] == ["police", "care+nla"] and report["source"]["lists_changed"] == ["merge care,nla"]
    assert "care+nla:minor" in report["covariates"]["model"]
    omitted = runner.invoke(cli(), ["estimate", "--overlap", str(covariate_csv), "--covariates", "minor", "--bootstrap", "0", "--omit", "nla", "--json"])
    report = json.loads(omitted.stdout)
    assert report["lists"] == ["police", "care"] and report["source"]["lists_changed"] == ["omit nla"]
    assert report["observed"] < pd.read_csv(covariate_csv)["count"].sum()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--overlap", "CSV", "--covariates", "age"], "covariate column(s) age not in the table"),
        (["--overlap", "CSV", "--by-year"], "--by-year needs the warehouse"),
        (["--overlap", "CSV", "--omit", "kmar"], "--omit names lists the table does not have"),
        (["--overlap", "CSV", "--merge", "police"], "--merge needs at least two lists"),
    ],
)
def test_command_refuses_bad_covariates_and_lists(covariate_csv: Path, args: list[str], message: str) -> None:
    args = [str(covariate_csv) if arg == "CSV" else arg for arg in args]
    result = runner.invoke(cli(), ["estimate", *args])
    assert result.exit_code == 2
    assert message in result.output


def test_command_by_year_beside_the_pooled_figure() -> None:
    rng = np.random.default_rng(4)
    years = {2021: simulated(rng, 3000), 2022: simulated(rng, 2000)}
    asked = []

    def stratified(year_from: int, year_to: int, covariates: tuple[str, ...], per_year: bool) -> pd.DataFrame:
        asked.append((year_from, year_to, covariates, per_year))
        frames = [data.assign(**{YEAR_COLUMN: year}) for year, data in years.items()]
        combined = pd.concat(frames, ignore_index=True)
        if not per_year:
            combined = combined.drop(columns=[YEAR_COLUMN])
        return combined[[*LISTS, *covariates, *([YEAR_COLUMN] if per_year else []), "count"]]

    app = cli(make_estimate_command(stratified_source=stratified))
    args = ["estimate", "--from", "2021", "--to", "2022", "--by-year", "--covariates", "minor", "--bootstrap", "0", "--json"]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    assert asked == [(2021, 2022, ("minor",), False), (2021, 2022, ("minor",), True)]
    report = json.loads(result.stdout)
    by_year = {year["year"]: year for year in report["by_year"]}
    assert set(by_year) == {2021, 2022}
    for year, truth in ((2021, 3000), (2022, 2000)):
        assert abs(by_year[year]["covariates"]["estimate"] / truth - 1) < 0.15
        assert by_year[year]["observed"] == years[year]["count"].sum()
    assert report["observed"] == sum(data["count"].sum() for data in years.values())
    text = runner.invoke(app, args[:-1])
    assert "2021-2022 pooled" in text.stdout and "By registration year" in text.stdout


def test_command_names_the_covariates_the_warehouse_has(tmp_path: Path, monkeypatch) -> None:
    from test_estimation import make_warehouse

    url = f"sqlite:///{tmp_path / 'warehouse.sqlite'}"
    make_warehouse(url)
    monkeypatch.setenv("VICTIM_INTAKE_DATABASE_URL", url)
    result = runner.invoke(cli(), ["estimate", "--from", "2020", "--to", "2021", "--covariates", "religion"])
    assert result.exit_code == 2
    assert "unknown covariate(s) religion; choose from gender, minor, dutch, form, age_group" in result.output


def test_small_pair_overlaps_are_shown_as_a_band() -> None:
    from estimation.diagnostics import overlap_warnings

    small = table((("A", "B", "C"), {"100": 400, "010": 300, "001": 200, "110": 60, "011": 3, "101": 40}))
    warning = next(text for text in overlap_warnings(small) if "share fewer than 5" in text)
    assert "B:C 1-4" in warning and "B:C 3" not in warning


def test_the_command_hides_strata_below_the_reports_threshold_by_default() -> None:
    import typer.main

    from disclosure import DEFAULT_MIN_CELL
    from victim_intake.commands.estimate import estimate

    app = cli(estimate)
    command = typer.main.get_command(app).commands["estimate"]
    assert next(p.default for p in command.params if p.name == "min_cell") == DEFAULT_MIN_CELL


def test_a_group_whose_own_terms_have_no_estimate_is_pooled_and_reported(tmp_path: Path) -> None:
    # Every person of group "b" is on both lists: with its own list terms the lists would catch all
    # of b (a dark figure of zero, on the boundary: no finite estimate), so b shares a's pattern.
    path = tmp_path / "odd.csv"
    rows = {"A": [1, 0, 1, 1, 1, 0], "B": [0, 1, 1, 1, 0, 1], "group": ["a", "a", "a", "b", "c", "c"], "count": [50, 40, 20, 9, 30, 25]}
    pd.DataFrame(rows).to_csv(path, index=False)
    result = runner.invoke(cli(), ["estimate", "--overlap", str(path), "--covariates", "group", "--bootstrap", "0", "--json"])
    assert result.exit_code == 0, result.output
    section = json.loads(result.stdout)["covariates"]
    assert np.isfinite(section["estimate"])
    assert "with list terms of its own, group=b has no finite estimate; it takes the capture pattern of group=a" in section["sparse"]
