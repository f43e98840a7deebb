"""k-anonymity by full-domain generalisation and local suppression: the search over the lattice.

Pure numpy over one row per person and year. Every quasi-identifier has a hierarchy of levels
(`warehouse.hierarchies`); a node of the lattice gives each one a level, the same in every year.
At a node, persons whose class (year and generalised quasi-identifiers) holds fewer than K persons
are suppressed (all their quasi-identifiers become `*`); a year whose suppressed persons would
number from 1 to K-1 suppresses a few more, taken from classes larger than K, so that the class of
the suppressed holds at least K persons too. A node is acceptable when no year suppresses more
than its budget (a share of its persons, and at least K).

Information loss (the measure the search minimises): a person's loss is the mean over the
quasi-identifiers of level / top level (0 shown as finely as the tier shows it, 1 not shown), and
1 for a suppressed person; the node's loss is the mean over persons. With full-domain
generalisation that is `h + s (1 - h)`, where `h` is the node's mean normalised height and `s` the
share suppressed, so `h` is a lower bound of a node's loss. The search visits nodes in order of
`h` (ties by the levels themselves) and stops at the first node whose `h` reaches the best loss
found: like ARX's OLA it prunes with a bound instead of visiting the whole lattice, and it is
deterministic. The top node (every quasi-identifier `*`) needs no suppression in a year of at
least K persons, so an acceptable node always exists. Years of fewer than K persons are
suppressed whole and take no part in the choice.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

# Mixed-radix keys stay below this; past it the partial key is renumbered densely.
_KEY_LIMIT = 2**62


@dataclass(frozen=True)
class Scheme:
    """The chosen node and what it costs."""

    levels: tuple[int, ...]
    suppressed: np.ndarray  # bool per person
    loss: float
    nodes_visited: int


def class_ids(columns: Sequence[np.ndarray], rows: int) -> np.ndarray:
    """A dense class number per row for the combination of integer `columns`."""
    key = np.zeros(rows, np.int64)
    span = 1
    for column in columns:
        width = int(column.max()) + 1 if rows else 1
        if span * width >= _KEY_LIMIT:
            key = np.unique(key, return_inverse=True)[1].astype(np.int64)
            span = int(key.max()) + 1
        key = key * width + column
        span *= width
    return np.unique(key, return_inverse=True)[1].astype(np.int64) if rows else key


def class_sizes(ids: np.ndarray) -> np.ndarray:
    """Size of each row's class."""
    return np.bincount(ids)[ids] if len(ids) else ids


class Lattice:
    """The persons' level-0 codes and the hierarchies' level maps, with the year of each person."""

    def __init__(self, years: np.ndarray, codes: Sequence[np.ndarray], maps: Sequence[Sequence[np.ndarray]], k: int, share: float):
        self.years = years
        self.codes = codes
        self.maps = maps  # maps[q][level][level-0 code] = code at that level
        self.k = k
        year_values, self.year_index = np.unique(years, return_inverse=True)
        self.persons = np.bincount(self.year_index, minlength=len(year_values))
        # The suppressed of a year form a class of their own, which must hold K persons: a year
        # may always suppress K, or else one small year (the current one, early in January) would
        # force every year's quasi-identifiers to the top.
        self.budget = np.maximum(np.floor(self.persons * share).astype(np.int64), k)
        self.small = self.persons < k  # years suppressed whole
        self.tops = tuple(len(levels) - 1 for levels in maps)

    def ids(self, levels: Sequence[int]) -> np.ndarray:
        columns = [self.year_index, *(self.maps[q][level][self.codes[q]] for q, level in enumerate(levels))]
        return class_ids(columns, len(self.years))

    def outliers(self, ids: np.ndarray) -> np.ndarray:
        return (class_sizes(ids) < self.k) | self.small[self.year_index]

    def suppressed_per_year(self, outliers: np.ndarray) -> np.ndarray:
        """Persons each year suppresses at a node, counting the padding up to K."""
        counted = np.bincount(self.year_index[outliers], minlength=len(self.persons))
        return np.where((counted > 0) & (counted < self.k) & ~self.small, self.k, counted)

    def height(self, levels: Sequence[int]) -> float:
        return float(np.mean([level / top for level, top in zip(levels, self.tops, strict=True)])) if self.tops else 0.0

    def search(self, order: np.ndarray) -> Scheme:
        """The acceptable node of least loss; `order` ranks persons for the padding (deterministic)."""
        nodes = sorted(itertools.product(*(range(top + 1) for top in self.tops)), key=lambda node: (self.height(node), node))
        counted = ~self.small[self.year_index]
        total = max(int(counted.sum()), 1)
        best: tuple[float, tuple[int, ...]] | None = None
        visited = 0
        for node in nodes:
            height = self.height(node)
            if best is not None and height >= best[0]:
                break
            visited += 1
            per_year = self.suppressed_per_year(self.outliers(self.ids(node)))
            if np.any((per_year > self.budget) & ~self.small):
                continue
            share = float(per_year[~self.small].sum()) / total
            loss = height + share * (1 - height)
            if best is None or loss < best[0]:
                best = (loss, node)
        assert best is not None  # the top node is always acceptable
        ids = self.ids(best[1])
        return Scheme(best[1], self._padded(ids, self.outliers(ids), order), best[0], visited)

    def _padded(self, ids: np.ndarray, outliers: np.ndarray, order: np.ndarray) -> np.ndarray:
        """Suppress more persons in years with 1 to K-1 suppressed, from classes larger than K
        (largest first, then by `order`), so the suppressed of every year number 0 or at least K."""
        suppressed = outliers.copy()
        counted = np.bincount(self.year_index[outliers], minlength=len(self.persons))
        sizes = class_sizes(ids)
        for year in np.flatnonzero((counted > 0) & (counted < self.k) & ~self.small):
            donors = np.flatnonzero((self.year_index == year) & (sizes > self.k))
            arrangement = np.lexsort((order[donors], ids[donors], -sizes[donors]))
            donors = donors[arrangement]
            # Rank within the class: a class gives at most size - K persons, so it keeps K.
            starts = np.r_[0, np.flatnonzero(np.diff(ids[donors])) + 1]
            rank = np.arange(len(donors)) - np.repeat(starts, np.diff(np.r_[starts, len(donors)]))
            donors = donors[rank < sizes[donors] - self.k]
            needed = self.k - counted[year]
            if len(donors) < needed:
                suppressed[self.year_index == year] = True
            else:
                suppressed[donors[:needed]] = True
        return suppressed
