"""The estimate with covariates: point, intervals, strata (under disclosure control) and model terms."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from threadpoolctl import threadpool_limits

from estimation.bootstrap import BootstrapResult, bootstrap_selection
from estimation.covariate_model import CovariateFit, model_terms, select_covariate_stepwise
from estimation.design import cell_structure
from estimation.diagnostics import bootstrap_warnings
from estimation.intervals import wald_interval
from estimation.stepwise import DEFAULT_THRESHOLD
from estimation.strata import StratifiedTable

SMALL_STRATA = "other strata"


@dataclass(frozen=True)
class CovariateEstimate:
    """The covariate model's estimate of one stratified table."""

    covariates: tuple[str, ...]
    strata: int
    estimate: float
    dark_figure: float
    conditional_interval: tuple[float, float]
    bootstrap: BootstrapResult | None
    terms: tuple[str, ...]
    empty_pairs: tuple[str, ...]
    by_stratum: tuple[dict[str, Any], ...]
    sparse: tuple[str, ...]
    min_cell: int
    warnings: tuple[str, ...]

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form (aggregate figures only; small strata grouped)."""
        bootstrap = None
        if self.bootstrap is not None:
            bootstrap = {
                "replicates": len(self.bootstrap.replicates),
                "failed": self.bootstrap.failed,
                "seed": self.bootstrap.seed,
                "acceleration": self.bootstrap.acceleration,
                "bias_correction": self.bootstrap.bias_correction,
            }
        return {
            "covariates": list(self.covariates),
            "strata": self.strata,
            "estimate": self.estimate,
            "dark_figure": self.dark_figure,
            "conditional_interval": list(self.conditional_interval),
            "bca_interval": None if self.bootstrap is None or self.bootstrap.interval is None else list(self.bootstrap.interval),
            "bootstrap": bootstrap,
            "model": list(self.terms),
            "empty_pairs": list(self.empty_pairs),
            "sparse": list(self.sparse),
            "min_cell": self.min_cell,
            "by_stratum": [dict(row) for row in self.by_stratum],
            "warnings": list(self.warnings),
        }


def estimate_with_covariates(
    table: StratifiedTable,
    *,
    replicates: int = 1000,
    seed: int = 1,
    threshold: float = DEFAULT_THRESHOLD,
    level: float = 0.95,
    min_cell: int = 10,
) -> CovariateEstimate:
    """The covariate model chosen stepwise, its intervals, and its figures per stratum.

    Raises `EstimationError` when not even the model without two-list terms has an estimate.
    """
    with threadpool_limits(limits=1, user_api="blas"):
        return _estimate(table, replicates, seed, threshold, level, min_cell)


def _estimate(table: StratifiedTable, replicates: int, seed: int, threshold: float, level: float, min_cell: int) -> CovariateEstimate:
    model = select_covariate_stepwise(table, threshold)
    conditional = wald_interval(model.observed, model.log_dark_figure, model.log_dark_figure_se, level)
    bootstrap = None
    warnings: list[str] = []
    if replicates:
        bootstrap = bootstrap_selection(
            table.counts,
            lambda counts: select_covariate_stepwise(table.with_counts(counts), threshold).total,
            model.total,
            replicates,
            seed,
            level,
            jackknife=False,
        )
        warnings += bootstrap_warnings(bootstrap)
    return CovariateEstimate(
        covariates=table.covariates,
        strata=len(table.strata),
        estimate=model.total,
        dark_figure=model.dark_figure,
        conditional_interval=conditional,
        bootstrap=bootstrap,
        terms=tuple(model_terms(table, model)),
        empty_pairs=tuple(f"{table.lists[i]}:{table.lists[j]}" for i, j in model.empty_pairs),
        by_stratum=tuple(by_stratum(table, model, min_cell)),
        sparse=tuple(sparse_notes(table, model)),
        min_cell=min_cell,
        warnings=tuple(warnings),
    )


def sparse_notes(table: StratifiedTable, model: CovariateFit) -> list[str]:
    """Plain words for every sparse part of the data and how the model treats it."""
    notes = [
        f"{table.lists[k]} reports nobody with {covariate}={value}: its cells there are structural zeros"
        for k, covariate, value in model.sparsity.empty_list_values
    ]
    several = cell_structure(table.n_lists).histories.sum(axis=1) >= 2
    for covariate, value in model.sparsity.pooled_values:
        members = (table.strata[covariate] == value).to_numpy()
        if table.counts[members][:, several].sum() == 0:
            reason = f"no person with {covariate}={value} is on two lists"
        else:
            reason = f"with list terms of its own, {covariate}={value} has no finite estimate"
        notes.append(f"{reason}; it takes the capture pattern of {covariate}={model.sparsity.references[covariate]}")
    alone = int((table.counts[:, several].sum(axis=1) == 0).sum())
    if alone:
        notes.append(
            f"{alone} of {len(table.strata)} strata have no person on two lists: their dark figures rest on the capture "
            "pattern of their covariate values, learnt from the other strata"
        )
    return notes


def by_stratum(table: StratifiedTable, model: CovariateFit, min_cell: int) -> list[dict[str, Any]]:
    """Observed persons, dark figure and estimate per stratum, largest first.

    Strata with fewer than `min_cell` observed persons are not shown one by one: they are added
    together, with the next smallest strata until the group holds at least `min_cell` persons and
    more than one stratum, so that no stratum's count can be recovered by subtraction from the
    total.
    """
    observed = table.counts.sum(axis=1)
    order = np.argsort(-observed, kind="stable")
    names = table.stratum_names()
    grouped: list[int] = []
    if (observed < min_cell).any():
        ascending = order[::-1].tolist()
        while ascending and (observed[grouped].sum() < min_cell or len(grouped) < 2 or observed[ascending[0]] < min_cell):
            grouped.append(ascending.pop(0))
    rows = [
        {
            "stratum": names[s],
            "observed": int(observed[s]),
            "dark_figure": float(model.stratum_dark[s]),
            "estimate": float(observed[s] + model.stratum_dark[s]),
        }
        for s in order.tolist()
        if s not in grouped
    ]
    if grouped:
        rows.append(
            {
                "stratum": f"{SMALL_STRATA} ({len(grouped)} strata together: none of fewer than {min_cell} persons is shown alone)",
                "observed": int(observed[grouped].sum()),
                "dark_figure": float(model.stratum_dark[grouped].sum()),
                "estimate": float(observed[grouped].sum() + model.stratum_dark[grouped].sum()),
            }
        )
    return rows
