"""One estimate per registration year: each year a closed population of its own.

Pooling years strains the closed-population assumption (a person reported in 2020 by the police and
in 2023 by a shelter counts as an overlap, though nobody could have caught them both in one year),
so each year is estimated from the persons of that year alone, with the lists and covariates of
that year. A year without an estimable table gets its reason instead of a figure.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pandas as pd

from estimation.covariate_report import CovariateEstimate, estimate_with_covariates
from estimation.errors import EstimationError, OverlapTableError
from estimation.overlap import YEAR_COLUMN
from estimation.population import MSEReport, estimate_population
from estimation.strata import StratifiedTable
from estimation.table import COUNT_COLUMN, OverlapTable


@dataclass(frozen=True)
class YearEstimate:
    """The estimates of one registration year, or why there are none."""

    year: int
    report: MSEReport | None
    covariates: CovariateEstimate | None
    error: str | None

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        found: dict[str, Any] = {"year": self.year, "error": self.error}
        if self.report is not None:
            found |= self.report.to_dict()
        if self.covariates is not None:
            found["covariates"] = self.covariates.to_dict()
        return found


def estimate_by_year(
    frame: pd.DataFrame, covariates: tuple[str, ...], *, replicates: int, covariate_replicates: int, seed: int, min_cell: int
) -> list[YearEstimate]:
    """Estimates for every year of a frame with a `registration_year` column (one row per year)."""
    results = []
    for year, rows in frame.groupby(YEAR_COLUMN, sort=True):
        year_frame = rows.drop(columns=[YEAR_COLUMN]).reset_index(drop=True)
        lists_frame = year_frame.drop(columns=list(covariates))
        # Source kinds without persons this year are no list of this year's estimate.
        present = [name for name in lists_frame.columns if name == COUNT_COLUMN or (lists_frame[name].astype(int) * lists_frame[COUNT_COLUMN]).sum() > 0]
        year_frame = year_frame[[*present, *covariates]]
        try:
            report = estimate_population(OverlapTable.from_frame(year_frame[present]), replicates=replicates, seed=seed)
        except (OverlapTableError, EstimationError) as exc:
            results.append(YearEstimate(int(year), None, None, str(exc)))
            continue
        stratified = None
        error = None
        if covariates:
            try:
                table = StratifiedTable.from_frame(year_frame, covariates)
                stratified = estimate_with_covariates(table, replicates=covariate_replicates, seed=seed, min_cell=min_cell)
            except (OverlapTableError, EstimationError) as exc:
                error = f"covariate model: {exc}"
        results.append(YearEstimate(int(year), report, stratified, error))
    return results
