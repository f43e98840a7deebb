"""Fit one Poisson log-linear model to an overlap table (SparseMSE's `modelfit`) with statsmodels.

The intercept is the log of the expected number of persons on no list, so the dark figure is
exp(intercept) and the total is the observed persons plus that.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import statsmodels.api as sm

from estimation.design import Pair, build_design
from estimation.errors import EstimationError
from estimation.existence import check_model
from estimation.table import OverlapTable


@dataclass(frozen=True, eq=False)
class FittedModel:
    """A fitted model: its pair terms, the dark figure on the log scale, and fitted cell means."""

    pairs: tuple[Pair, ...]
    empty_pairs: tuple[Pair, ...]
    observed: int
    log_dark_figure: float
    log_dark_figure_se: float
    fitted: np.ndarray
    params: np.ndarray

    @property
    def dark_figure(self) -> float:
        """Estimated number of persons on none of the lists."""
        return float(np.exp(self.log_dark_figure))

    @property
    def total(self) -> float:
        """Point estimate of the population: observed persons plus the dark figure."""
        return self.observed + self.dark_figure


def fit_model(
    table: OverlapTable, pairs: tuple[Pair, ...] = (), start: FittedModel | None = None
) -> FittedModel:
    """Fit main effects plus the two-list terms `pairs`; `()` is the independence model.

    `start` is a fitted sub-model whose terms come first in `pairs`: its coefficients start the
    iterations, which halves their number in the stepwise search (and in every bootstrap replicate).
    Raises `EstimationError` when the model fails SparseMSE's existence or identifiability test,
    because a fit would then report an infinite or arbitrary dark figure as if it were a number.
    """
    pairs = tuple(pairs)
    verdict = check_model(table.counts, table.n_lists, pairs)
    if not verdict.ok:
        reason = "has no finite estimate" if not verdict.exists else "is not identifiable"
        raise EstimationError(f"the model {_describe(table, pairs)} {reason} for this table")
    design = build_design(table.counts, table.n_lists, pairs)
    start_params = None
    if start is not None:
        # New terms enter at zero, i.e. at the sub-model's own fit.
        start_params = np.zeros(design.matrix.shape[1])
        start_params[: len(start.params)] = start.params
    result = sm.GLM(
        table.counts[design.kept].astype(float), design.matrix, family=sm.families.Poisson()
    ).fit(start_params=start_params)
    if not result.converged:
        raise EstimationError(f"the fit of {_describe(table, pairs)} did not converge")
    fitted = np.zeros(len(table.counts))
    fitted[design.kept] = result.mu
    return FittedModel(
        pairs=pairs,
        empty_pairs=design.empty_pairs,
        observed=table.observed,
        log_dark_figure=float(result.params[0]),
        log_dark_figure_se=float(result.bse[0]),
        fitted=fitted,
        params=np.asarray(result.params),
    )


def _describe(table: OverlapTable, pairs: tuple[Pair, ...]) -> str:
    terms = " + ".join(table.pair_name(pair) for pair in pairs)
    return f"'main effects + {terms}'" if terms else "'main effects only'"
