"""Multiple-systems estimation of the total number of victims from the overlap of lists.

Computations on aggregate counts, following the R package SparseMSE (Chan, Silverman and Vincent
2021): Poisson log-linear models fitted with statsmodels, SparseMSE's stepwise choice of two-list
terms, and BCa bootstrap intervals that repeat that choice. Beside them (their own modules): the
model with covariates (`covariate_model`, `covariate_report`), estimates per year (`by_year`), and
the sensitivity table (`sensitivity`, with a Bayesian average over decomposable graphical models in
`dga`). `overlap.py` holds the functions that read the warehouse; person pseudonyms never leave
them.
"""

from estimation.bootstrap import BootstrapResult, bootstrap_stepwise
from estimation.errors import EstimationError, OverlapTableError
from estimation.existence import ModelCheck, check_model
from estimation.intervals import bca_interval, conditional_interval
from estimation.loglinear import FittedModel, fit_model
from estimation.overlap import overlap_from_registrations
from estimation.population import ModelEstimate, MSEReport, estimate_population
from estimation.stepwise import DEFAULT_THRESHOLD, select_stepwise
from estimation.table import OverlapTable, read_overlap_csv

__all__ = [
    "DEFAULT_THRESHOLD",
    "BootstrapResult",
    "EstimationError",
    "FittedModel",
    "MSEReport",
    "ModelCheck",
    "ModelEstimate",
    "OverlapTable",
    "OverlapTableError",
    "bca_interval",
    "bootstrap_stepwise",
    "check_model",
    "conditional_interval",
    "estimate_population",
    "fit_model",
    "overlap_from_registrations",
    "read_overlap_csv",
    "select_stepwise",
]
