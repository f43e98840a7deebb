"""Confidence intervals for the total: conditional on the model, and BCa over the bootstrap."""

from __future__ import annotations

import numpy as np
from scipy.stats import norm

from estimation.loglinear import FittedModel

CONDITIONAL_METHOD = (
    "Wald interval for the log dark figure given the selected model (as SparseMSE's "
    "estimatepopulation.0; not profile likelihood); ignores the uncertainty of model choice"
)
BCA_METHOD = (
    "multinomial resamples of the observed cells with the stepwise selection repeated in every "
    "replicate; acceleration from the delete-one jackknife (as SparseMSE's estimatepopulation)"
)


def conditional_interval(model: FittedModel, level: float = 0.95) -> tuple[float, float]:
    """Observed persons plus a log-normal interval for the dark figure, the model taken as given."""
    return wald_interval(model.observed, model.log_dark_figure, model.log_dark_figure_se, level)


def wald_interval(observed: int, log_dark_figure: float, se: float, level: float = 0.95) -> tuple[float, float]:
    """Observed persons plus exp(log dark figure -/+ z se)."""
    spread = norm.ppf(0.5 + level / 2) * se
    return observed + float(np.exp(log_dark_figure - spread)), observed + float(np.exp(log_dark_figure + spread))


def jackknife_acceleration(estimates: np.ndarray, weights: np.ndarray) -> float:
    """BCa acceleration from delete-one-person estimates, one per distinct history.

    `weights[i]` persons share history i, so the estimate without any one of them is `estimates[i]`;
    each residual is counted that many times (SparseMSE's `estimatepopulation`).
    """
    residuals = np.average(estimates, weights=weights) - estimates
    spread = np.sum(weights * residuals**2)
    if spread == 0:
        return 0.0
    return float(np.sum(weights * residuals**3) / (6 * spread**1.5))


def bias_correction(replicates: np.ndarray, estimate: float) -> float:
    """BCa z0: the normal quantile of the share of replicates below the estimate."""
    return float(norm.ppf(np.mean(replicates < estimate)))


def bca_interval(
    replicates: np.ndarray, estimate: float, acceleration: float, level: float = 0.95
) -> tuple[float, float] | None:
    """BCa limits (DiCiccio and Efron 1996), or None when every replicate lies on one side."""
    z0 = bias_correction(replicates, estimate)
    if not np.isfinite(z0):
        return None
    alphas = norm.ppf([(1 - level) / 2, (1 + level) / 2]) + z0
    adjusted = norm.cdf(z0 + alphas / (1 - acceleration * alphas))
    # R's quantile type 8, which SparseMSE's bcaconfvalues uses.
    lower, upper = np.quantile(replicates, adjusted, method="median_unbiased")
    return float(lower), float(upper)
