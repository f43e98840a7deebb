"""How much the estimate depends on the model and the lists: one row per alternative.

Rows: independence; SparseMSE's stepwise choice; the hierarchical model with two-list terms that
has the lowest BIC; the covariate model (when covariates are given); the Bayesian average over
decomposable graphical models (`estimation.dga`); and the stepwise estimate with each list left out
in turn. Intervals are the models' conditional 95 % intervals (the posterior 95 % interval for the
average); none of them carries the uncertainty of choosing among the rows.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from itertools import combinations
from typing import Any

import numpy as np
import statsmodels.api as sm
from statsmodels.tools.sm_exceptions import PerfectSeparationWarning

from estimation.covariate_model import model_terms, select_covariate_stepwise
from estimation.design import Pair, build_design, cell_structure
from estimation.dga import MAX_DGA_LISTS, bma_estimate
from estimation.errors import EstimationError, OverlapTableError
from estimation.existence import check_model
from estimation.intervals import conditional_interval, wald_interval
from estimation.loglinear import FittedModel, fit_model
from estimation.stepwise import select_stepwise
from estimation.strata import StratifiedTable
from estimation.table import OverlapTable

# Up to this many lists every subset of pairs is tried (2^6 = 64 models for four lists); above, a
# search adds or removes one pair at a time while that lowers the BIC.
EXHAUSTIVE_BIC_LISTS = 4
# Posterior mass in the top 1 % of the candidate totals above which the average's interval is cut off.
UPPER_TAIL_WARNING = 0.001


@dataclass(frozen=True)
class SensitivityRow:
    """One alternative estimate."""

    model: str
    estimate: float | None
    interval: tuple[float, float] | None
    note: str

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {"model": self.model, "estimate": self.estimate, "interval": None if self.interval is None else list(self.interval), "note": self.note}


def bic(table: OverlapTable, model: FittedModel) -> float:
    """BIC of a fitted model: -2 log-likelihood + parameters x log(observed persons).

    A pair fitted as a structural zero counts as a parameter (its value is minus infinity).
    """
    design = build_design(table.counts, table.n_lists, model.pairs)
    kept = table.counts[design.kept].astype(float)
    log_likelihood = sm.families.Poisson().loglike(kept, model.fitted[design.kept])
    parameters = design.matrix.shape[1] + len(design.empty_pairs)
    return float(-2 * log_likelihood + parameters * np.log(table.observed))


def select_bic(table: OverlapTable) -> FittedModel:
    """The model of main effects and two-list terms with the lowest BIC among those that exist."""
    pairs = cell_structure(table.n_lists).pairs
    if table.n_lists <= EXHAUSTIVE_BIC_LISTS:
        candidates = [subset for size in range(len(pairs) + 1) for subset in combinations(pairs, size)]
        return min((fitted for subset in candidates if (fitted := _fit_or_none(table, subset)) is not None), key=lambda m: bic(table, m))
    best = fit_model(table, ())
    best_bic = bic(table, best)
    while True:
        neighbours = [tuple(p for p in best.pairs if p != pair) if pair in best.pairs else (*best.pairs, pair) for pair in pairs]
        fitted = [m for subset in neighbours if (m := _fit_or_none(table, subset)) is not None]
        scored = sorted(((bic(table, m), i) for i, m in enumerate(fitted)), key=lambda item: item)
        if not scored or scored[0][0] >= best_bic:
            return best
        best_bic, best = scored[0][0], fitted[scored[0][1]]


def _fit_or_none(table: OverlapTable, pairs: tuple[Pair, ...]) -> FittedModel | None:
    if not check_model(table.counts, table.n_lists, pairs).ok:
        return None
    try:
        return fit_model(table, pairs)
    except EstimationError:
        return None


def sensitivity_rows(table: OverlapTable, stratified: StratifiedTable | None) -> list[SensitivityRow]:
    """The sensitivity table of `table` (and of `stratified`, for the covariate model)."""
    with warnings.catch_warnings():
        # Saturated models (all pairs of three lists, two lists alone) fit exactly, and statsmodels
        # warns about their zero residual degrees of freedom; the existence checks have run.
        warnings.simplefilter("ignore", RuntimeWarning)
        warnings.simplefilter("ignore", PerfectSeparationWarning)
        return _rows(table, stratified)


def _rows(table: OverlapTable, stratified: StratifiedTable | None) -> list[SensitivityRow]:
    rows = [_model_row("independence", table, fit_model(table, ()))]
    rows.append(_model_row("stepwise (SparseMSE, p < 0.02)", table, select_stepwise(table)))
    search = "every subset of pairs" if table.n_lists <= EXHAUSTIVE_BIC_LISTS else "pairs added or removed one at a time"
    rows.append(_model_row(f"lowest BIC ({search})", table, select_bic(table)))
    if stratified is None:
        rows.append(SensitivityRow("covariate model", None, None, "not fitted: give --covariates"))
    else:
        try:
            model = select_covariate_stepwise(stratified)
            interval = wald_interval(model.observed, model.log_dark_figure, model.log_dark_figure_se)
            terms = [term for term in model_terms(stratified, model) if ":" in term]
            rows.append(SensitivityRow(f"covariate model ({', '.join(stratified.covariates)})", model.total, interval, ", ".join(terms)))
        except EstimationError as exc:
            rows.append(SensitivityRow("covariate model", None, None, str(exc)))
    bma = bma_estimate(table)
    merged = f"; smallest lists merged to reach {MAX_DGA_LISTS}: {', '.join(bma.merged)}" if bma.merged else ""
    if bma.upper_tail > UPPER_TAIL_WARNING:
        merged += "; the posterior reaches the largest total considered, so its upper end is too low"
    rows.append(
        SensitivityRow(
            "Bayesian average of decomposable graphical models (as dga)",
            bma.median,
            bma.interval,
            f"posterior median over {bma.graphs} graphs; likeliest graph {', '.join(bma.best_graph) or 'independence'} "
            f"({bma.best_weight:.0%}){merged}",
        )
    )
    if table.n_lists >= 3:
        for k, name in enumerate(table.lists):
            rows.append(_without(table, k, name))
    return rows


def _without(table: OverlapTable, k: int, name: str) -> SensitivityRow:
    codes = np.arange(1, 2**table.n_lists)
    kept = [i for i in range(table.n_lists) if i != k]
    new_codes = sum((((codes >> i) & 1) << position) for position, i in enumerate(kept))
    counts = np.bincount(new_codes, weights=table.counts, minlength=2 ** len(kept))[1:].astype(np.int64)
    try:
        smaller = OverlapTable.from_frame(OverlapTable(tuple(table.lists[i] for i in kept), counts).to_frame())
        return _model_row(f"stepwise without {name}", smaller, select_stepwise(smaller))
    except (OverlapTableError, EstimationError) as exc:
        return SensitivityRow(f"stepwise without {name}", None, None, str(exc))


def _model_row(label: str, table: OverlapTable, model: FittedModel) -> SensitivityRow:
    terms = [f"{table.pair_name(pair)}{'*' if pair in model.empty_pairs else ''}" for pair in model.pairs]
    return SensitivityRow(label, model.total, conditional_interval(model), ", ".join(terms) or "no two-list terms")

