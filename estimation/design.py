"""Model matrices of the Poisson log-linear models: main effects plus chosen two-list terms.

As in SparseMSE's `buildmodel`, a pair of lists in the model that shares no person gets no column:
its parameter is minus infinity (extended maximum likelihood), which is the same as removing every
cell containing both lists from the data.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from itertools import combinations

import numpy as np

Pair = tuple[int, int]


@dataclass(frozen=True, eq=False)
class CellStructure:
    """The capture histories of t lists and which pairs of lists each history contains."""

    histories: np.ndarray
    pairs: tuple[Pair, ...]
    pair_cells: np.ndarray

    def pair_index(self, pair: Pair) -> int:
        """Position of a pair in `pairs`, in SparseMSE's order (1,2), (1,3), ..., (t-1,t)."""
        return self.pairs.index(pair)


@dataclass(frozen=True, eq=False)
class Design:
    """Model matrix over the cells kept in the fit, and the pairs fitted as minus infinity."""

    matrix: np.ndarray
    kept: np.ndarray
    empty_pairs: tuple[Pair, ...]


@cache
def cell_structure(n_lists: int) -> CellStructure:
    """Histories (one row per non-empty history, coded as in `OverlapTable`) and pair indicators."""
    codes = np.arange(1, 2**n_lists)
    histories = ((codes[:, None] >> np.arange(n_lists)) & 1).astype(float)
    pairs = tuple(combinations(range(n_lists), 2))
    pair_cells = np.column_stack([histories[:, i] * histories[:, j] for i, j in pairs])
    for array in (histories, pair_cells):
        array.setflags(write=False)
    return CellStructure(histories, pairs, pair_cells)


def pair_overlaps(counts: np.ndarray, n_lists: int) -> np.ndarray:
    """Persons on both lists of each pair, whatever other lists they are on (SparseMSE's N*)."""
    return cell_structure(n_lists).pair_cells.T @ counts


def build_design(counts: np.ndarray, n_lists: int, pairs: tuple[Pair, ...]) -> Design:
    """Intercept, one main effect per list, one column per overlapping pair in `pairs`."""
    structure = cell_structure(n_lists)
    overlaps = pair_overlaps(counts, n_lists)
    kept = np.ones(len(counts), dtype=bool)
    columns = [np.ones(len(counts)), *structure.histories.T]
    empty: list[Pair] = []
    for pair in pairs:
        index = structure.pair_index(pair)
        cells = structure.pair_cells[:, index]
        if overlaps[index] == 0:
            kept &= cells == 0
            empty.append(pair)
        else:
            columns.append(cells)
    return Design(np.column_stack(columns)[kept], kept, tuple(empty))
