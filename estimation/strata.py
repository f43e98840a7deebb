"""The stratified overlap table: persons per capture history within each stratum of covariates.

Grain: one count per (stratum, non-empty capture history). A stratum is a combination of covariate
values that occurs among the observed persons (gender, minor, ...); histories are coded as in
`OverlapTable`, so `counts[s, code - 1]` is the number of persons of stratum s seen on exactly the
lists of `code`.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from estimation.errors import OverlapTableError
from estimation.table import COUNT_COLUMN, OverlapTable, frame_from_csv

# A covariate value left empty in a table is a value of its own, as the marts count it.
UNKNOWN_VALUE = "unknown"


@dataclass(frozen=True, eq=False)
class StratifiedTable:
    """Counts of persons per stratum of covariates and capture history (aggregate data only)."""

    lists: tuple[str, ...]
    covariates: tuple[str, ...]
    strata: pd.DataFrame  # one row per stratum, one text column per covariate
    counts: np.ndarray  # (strata, 2**lists - 1)

    def __post_init__(self) -> None:
        expected = (len(self.strata), 2 ** len(self.lists) - 1)
        if self.counts.shape != expected:
            raise ValueError(f"expected counts of shape {expected}")
        frozen = np.array(self.counts, dtype=np.int64)
        frozen.setflags(write=False)
        object.__setattr__(self, "counts", frozen)
        # Model matrices of this table's cells, built once per treatment of its sparse parts.
        object.__setattr__(self, "design_cache", {})

    @property
    def n_lists(self) -> int:
        """Number of lists (sources)."""
        return len(self.lists)

    @property
    def observed(self) -> int:
        """Distinct persons seen on at least one list."""
        return int(self.counts.sum())

    def pooled(self) -> OverlapTable:
        """The same persons without covariates: the list-only overlap table."""
        return OverlapTable(self.lists, self.counts.sum(axis=0))

    def with_counts(self, counts: np.ndarray) -> StratifiedTable:
        """The same lists and strata with other cell counts (bootstrap and jackknife tables)."""
        return StratifiedTable(self.lists, self.covariates, self.strata, counts.reshape(self.counts.shape))

    def without_empty_strata(self) -> StratifiedTable:
        """The strata that hold persons (a bootstrap resample can leave a small stratum empty)."""
        persons = self.counts.sum(axis=1) > 0
        if persons.all():
            return self
        return StratifiedTable(self.lists, self.covariates, self.strata[persons].reset_index(drop=True), self.counts[persons])

    def stratum_names(self) -> list[str]:
        """"gender=female, minor=adult" for each stratum."""
        return [", ".join(f"{name}={value}" for name, value in zip(self.covariates, row, strict=True)) for row in self.strata.itertuples(index=False)]

    @classmethod
    def from_frame(cls, frame: pd.DataFrame, covariates: tuple[str, ...]) -> StratifiedTable:
        """Validate a frame with 0/1 list columns, the `covariates` columns and `count`.

        Every other column is a list. Rows of the same stratum and history are added up; strata
        without persons are left out.
        """
        frame = frame.rename(columns=lambda name: str(name).strip())
        missing = [name for name in covariates if name not in frame.columns]
        if missing:
            raise OverlapTableError(f"covariate column(s) {', '.join(missing)} not in the table")
        if len(set(covariates)) != len(covariates) or COUNT_COLUMN in covariates:
            raise OverlapTableError("covariates must be distinct columns other than 'count'")
        list_frame = frame.drop(columns=list(covariates))
        # Validates the list columns and counts, and that the lists share persons at all.
        pooled = OverlapTable.from_frame(list_frame)
        lists = pooled.lists
        flags = list_frame[list(lists)].apply(pd.to_numeric).to_numpy(dtype=np.int64)
        codes = flags @ (1 << np.arange(len(lists)))
        values = frame[list(covariates)].astype("string").fillna(UNKNOWN_VALUE).apply(lambda column: column.str.strip())
        values = values.mask(values == "", UNKNOWN_VALUE).astype(str)
        long = values.assign(_code=codes, _count=pd.to_numeric(list_frame[COUNT_COLUMN]).to_numpy(dtype=np.int64))
        long = long[long["_count"] > 0]
        strata = long[list(covariates)].drop_duplicates().sort_values(list(covariates), ignore_index=True)
        index = pd.MultiIndex.from_frame(strata) if len(covariates) > 1 else pd.Index(strata[covariates[0]])
        keys = pd.MultiIndex.from_frame(long[list(covariates)]) if len(covariates) > 1 else pd.Index(long[covariates[0]])
        rows = index.get_indexer(keys)
        counts = np.zeros((len(strata), 2 ** len(lists) - 1), dtype=np.int64)
        np.add.at(counts, (rows, long["_code"].to_numpy() - 1), long["_count"].to_numpy())
        return cls(lists, tuple(covariates), strata, counts)


def read_stratified_csv(path: Path, covariates: tuple[str, ...]) -> StratifiedTable:
    """Read and validate a published overlap table with covariate columns (CSV)."""
    return StratifiedTable.from_frame(frame_from_csv(path), covariates)
