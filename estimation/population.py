"""The whole estimate for one overlap table: both models, their intervals and the warnings."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from estimation.bootstrap import BootstrapResult, bootstrap_stepwise
from estimation.diagnostics import bootstrap_warnings, instability_warnings, overlap_warnings
from estimation.intervals import BCA_METHOD, CONDITIONAL_METHOD, conditional_interval
from estimation.loglinear import FittedModel, fit_model
from estimation.stepwise import DEFAULT_THRESHOLD, select_stepwise
from estimation.table import OverlapTable


@dataclass(frozen=True)
class ModelEstimate:
    """One model's point estimate and conditional interval, with its terms named."""

    pairs: tuple[str, ...]
    empty_pairs: tuple[str, ...]
    total: float
    dark_figure: float
    conditional_interval: tuple[float, float]

    @classmethod
    def of(cls, table: OverlapTable, model: FittedModel, level: float) -> ModelEstimate:
        """Summarise a fitted model of `table`."""
        return cls(
            pairs=tuple(table.pair_name(pair) for pair in model.pairs),
            empty_pairs=tuple(table.pair_name(pair) for pair in model.empty_pairs),
            total=model.total,
            dark_figure=model.dark_figure,
            conditional_interval=conditional_interval(model, level),
        )


@dataclass(frozen=True)
class MSEReport:
    """Independence and stepwise estimates of one table, the bootstrap, and what to beware of."""

    lists: tuple[str, ...]
    observed: int
    on_several_lists: int
    level: float
    threshold: float
    independence: ModelEstimate
    stepwise: ModelEstimate
    bootstrap: BootstrapResult | None
    warnings: tuple[str, ...]

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form (aggregate figures only)."""
        stepwise = _estimate_dict(self.stepwise)
        stepwise["threshold"] = self.threshold
        stepwise["bca_interval"] = None
        stepwise["bootstrap"] = None
        if self.bootstrap is not None:
            stepwise["bca_interval"] = _pair(self.bootstrap.interval)
            stepwise["bootstrap"] = {
                "replicates": len(self.bootstrap.replicates),
                "failed": self.bootstrap.failed,
                "seed": self.bootstrap.seed,
                "acceleration": self.bootstrap.acceleration,
                "bias_correction": self.bootstrap.bias_correction,
            }
        return {
            "lists": list(self.lists),
            "observed": self.observed,
            "on_several_lists": self.on_several_lists,
            "level": self.level,
            "independence": _estimate_dict(self.independence),
            "stepwise": stepwise,
            "interval_methods": {"conditional": CONDITIONAL_METHOD, "bca": BCA_METHOD},
            "warnings": list(self.warnings),
        }


def estimate_population(
    table: OverlapTable,
    *,
    replicates: int = 1000,
    seed: int = 1,
    threshold: float = DEFAULT_THRESHOLD,
    level: float = 0.95,
) -> MSEReport:
    """Independence and stepwise MSE of `table`; `replicates=0` skips the bootstrap.

    Raises `EstimationError` when not even the independence model has an estimate.
    """
    independence = fit_model(table, ())
    stepwise = select_stepwise(table, threshold)
    bootstrap = None
    warnings = overlap_warnings(table) + instability_warnings(independence.total, stepwise.total)
    if replicates:
        bootstrap = bootstrap_stepwise(table, stepwise.total, replicates, seed, threshold, level)
        warnings += bootstrap_warnings(bootstrap)
    return MSEReport(
        lists=table.lists,
        observed=table.observed,
        on_several_lists=table.on_several_lists,
        level=level,
        threshold=threshold,
        independence=ModelEstimate.of(table, independence, level),
        stepwise=ModelEstimate.of(table, stepwise, level),
        bootstrap=bootstrap,
        warnings=tuple(warnings),
    )


def _estimate_dict(estimate: ModelEstimate) -> dict[str, Any]:
    return {
        "pairs": list(estimate.pairs),
        "empty_pairs": list(estimate.empty_pairs),
        "estimate": estimate.total,
        "dark_figure": estimate.dark_figure,
        "conditional_interval": _pair(estimate.conditional_interval),
    }


def _pair(interval: tuple[float, float] | None) -> list[float] | None:
    return None if interval is None else [interval[0], interval[1]]
