"""The overlap table: how many distinct persons appear on each combination of lists.

Grain: one count per non-empty capture history (combination of lists). A history is coded as an
integer whose bit i is set when the person is on list i; counts are stored at index code - 1, so
the all-zero history (the dark figure, never observed) has no slot.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from estimation.errors import OverlapTableError

COUNT_COLUMN = "count"
# 2**12 - 1 = 4095 cells: well beyond the source kinds of the registry, and keeps the stepwise
# search (one linear program per candidate pair) fast.
MAX_LISTS = 12
# How many offending rows an error message names before it stops listing.
_ROWS_NAMED = 5


@dataclass(frozen=True, eq=False)
class OverlapTable:
    """Counts of persons per capture history over named lists (aggregate data only)."""

    lists: tuple[str, ...]
    counts: np.ndarray

    def __post_init__(self) -> None:
        expected = 2 ** len(self.lists) - 1
        if self.counts.shape != (expected,):
            raise ValueError(f"expected {expected} cell counts for {len(self.lists)} lists")
        # One table is fitted many times over (stepwise rounds, checks): freeze what they all read.
        frozen = np.array(self.counts, dtype=np.int64)
        frozen.setflags(write=False)
        object.__setattr__(self, "counts", frozen)

    @property
    def n_lists(self) -> int:
        """Number of lists (sources)."""
        return len(self.lists)

    @property
    def observed(self) -> int:
        """Distinct persons seen on at least one list."""
        return int(self.counts.sum())

    @property
    def on_several_lists(self) -> int:
        """Persons seen on two or more lists: the overlap the whole method rests on."""
        codes = np.arange(1, 2**self.n_lists)
        several = np.array([int(code).bit_count() >= 2 for code in codes])
        return int(self.counts[several].sum())

    def list_totals(self) -> dict[str, int]:
        """Persons on each list, whatever other lists they are on."""
        codes = np.arange(1, 2**self.n_lists)
        return {
            name: int(self.counts[(codes >> i) & 1 == 1].sum()) for i, name in enumerate(self.lists)
        }

    def pair_name(self, pair: tuple[int, int]) -> str:
        """Display name of a pair of lists, as SparseMSE writes it ("P:Z")."""
        return f"{self.lists[pair[0]]}:{self.lists[pair[1]]}"

    def with_counts(self, counts: np.ndarray) -> OverlapTable:
        """The same lists with other cell counts (bootstrap and jackknife tables)."""
        return OverlapTable(self.lists, counts)

    def to_frame(self) -> pd.DataFrame:
        """The observed histories as a frame: one 0/1 column per list plus `count`."""
        codes = np.flatnonzero(self.counts) + 1
        frame = pd.DataFrame({name: (codes >> i) & 1 for i, name in enumerate(self.lists)})
        frame[COUNT_COLUMN] = self.counts[codes - 1]
        return frame

    @classmethod
    def from_frame(cls, frame: pd.DataFrame) -> OverlapTable:
        """Validate a frame with one 0/1 column per list and a `count` column.

        Rows with the same history are added up, as SparseMSE's `tidylists` does.
        """
        frame = frame.rename(columns=lambda name: str(name).strip())
        names = list(frame.columns)
        if COUNT_COLUMN not in names:
            raise OverlapTableError(
                f"the overlap table needs a '{COUNT_COLUMN}' column next to one 0/1 column per list"
            )
        lists = [name for name in names if name != COUNT_COLUMN]
        _check_list_columns(lists)
        if frame.empty:
            raise OverlapTableError("the overlap table has no rows")

        flags = np.column_stack([_flags(frame[name], name) for name in lists])
        counts = _counts(frame[COUNT_COLUMN])
        codes = flags @ (1 << np.arange(len(lists)))
        unobservable = (codes == 0) & (counts > 0)
        if unobservable.any():
            raise OverlapTableError(
                f"a count is given for persons on no list (see {_rows(unobservable)}); they cannot "
                "be observed: their number is what MSE estimates"
            )
        cells = np.bincount(codes, weights=counts, minlength=2 ** len(lists))[1:]
        table = cls(tuple(lists), cells.astype(np.int64))
        _check_estimable_in_principle(table)
        return table


def read_overlap_csv(path: Path) -> OverlapTable:
    """Read and validate a published overlap table (CSV, like SparseMSE's `Ned`).

    Semicolons are accepted as separators too (the CSV of a Dutch spreadsheet), as is a byte
    order mark.
    """
    return OverlapTable.from_frame(frame_from_csv(path))


def frame_from_csv(path: Path) -> pd.DataFrame:
    """The CSV as a frame of text, with a comma or semicolon separator and an optional BOM."""
    try:
        with open(path, encoding="utf-8-sig") as handle:
            header = handle.readline()
        separator = ";" if header.count(";") > header.count(",") else ","
        # Read as text so that validation, not the parser, decides what a bad value is.
        frame = pd.read_csv(
            path, dtype=str, sep=separator, encoding="utf-8-sig", skipinitialspace=True
        )
    except (OSError, UnicodeDecodeError, pd.errors.ParserError, pd.errors.EmptyDataError) as exc:
        raise OverlapTableError(f"cannot read {path}: {exc}") from exc
    return frame


def _check_list_columns(lists: list[str]) -> None:
    if len(lists) < 2:
        raise OverlapTableError(
            f"MSE needs at least two lists that share persons; the table has {len(lists)} list "
            "column(s)"
        )
    if len(lists) > MAX_LISTS:
        raise OverlapTableError(f"at most {MAX_LISTS} lists are supported, got {len(lists)}")
    duplicated = sorted({name for name in lists if lists.count(name) > 1})
    if duplicated or any(not name for name in lists):
        raise OverlapTableError(f"list columns need distinct, non-empty names: {duplicated}")


def _flags(column: pd.Series, name: str) -> np.ndarray:
    values = pd.to_numeric(column, errors="coerce").to_numpy(dtype=float)
    bad = ~np.isin(values, (0.0, 1.0))
    if bad.any():
        raise OverlapTableError(f"list column '{name}' must hold only 0 or 1 (see {_rows(bad)})")
    return values.astype(np.int64)


def _counts(column: pd.Series) -> np.ndarray:
    values = pd.to_numeric(column, errors="coerce").to_numpy(dtype=float)
    bad = ~np.isfinite(values) | (values < 0) | (values != np.round(values))
    if bad.any():
        raise OverlapTableError(
            f"'{COUNT_COLUMN}' must hold non-negative whole numbers (see {_rows(bad)})"
        )
    return values.astype(np.int64)


def _rows(mask: np.ndarray) -> str:
    """Name offending data rows, 1-based, as a person reading the file would count them."""
    rows = [str(row + 1) for row in np.flatnonzero(mask)]
    shown = ", ".join(rows[:_ROWS_NAMED]) + (", ..." if len(rows) > _ROWS_NAMED else "")
    return f"row{'s' if len(rows) > 1 else ''} {shown}"


def _check_estimable_in_principle(table: OverlapTable) -> None:
    if table.observed == 0:
        raise OverlapTableError("the overlap table counts no persons")
    empty = [name for name, total in table.list_totals().items() if total == 0]
    if empty:
        raise OverlapTableError(f"list(s) {', '.join(empty)} have no persons; leave them out")
    if table.on_several_lists == 0:
        raise OverlapTableError(
            "no person is on more than one list: MSE needs at least two lists that share persons"
        )
