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
share suppressed, so `h` is a lower bound of a node's loss. The search goes up the lattice layer
by layer (the sum of the levels); a node's classes are rolled up from the class table of a node
one level below it (as ARX does), so most nodes aggregate a few hundred rows, not the persons; a
node whose `h` exceeds the best loss found is skipped with everything above it (a bound, as in
ARX's OLA). Before that, a greedy descent from the top finds unacceptable nodes; every node finer
than one of them is unacceptable too (a finer node leaves at least the same persons in classes
under K) and is skipped unseen, as in OLA's and Flash's predictive tagging: the nodes skipped are
mostly the lowest, whose class tables are the largest. Ties go to the lower `h`, then to the levels themselves: the search is exact and
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
# Rows of class tables kept from one layer of the lattice for the next (memory bound).
_CACHED_ROWS = 4_000_000


@dataclass(frozen=True)
class Scheme:
    """The chosen node and what it costs."""

    levels: tuple[int, ...]
    suppressed: np.ndarray  # bool per person
    loss: float


def class_keys(columns: Sequence[np.ndarray], rows: int) -> np.ndarray:
    """An integer per row, equal for two rows exactly when all `columns` are equal."""
    key = np.zeros(rows, np.int64)
    span = 1
    for column in columns:
        width = int(column.max()) + 1 if rows else 1
        if span * width >= _KEY_LIMIT:
            key = np.unique(key, return_inverse=True)[1].astype(np.int64)
            span = int(key.max()) + 1
        key = key * width + column
        span *= width
    return key


def class_ids(columns: Sequence[np.ndarray], rows: int) -> np.ndarray:
    """A dense class number per row for the combination of integer `columns`."""
    key = class_keys(columns, rows)
    return np.unique(key, return_inverse=True)[1].astype(np.int64) if rows else key


def class_sizes(ids: np.ndarray) -> np.ndarray:
    """Size of each row's class."""
    return np.bincount(ids)[ids] if len(ids) else ids


def _aggregate(columns: np.ndarray, counts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Distinct rows of `columns` with the summed `counts`."""
    _, first, ids = np.unique(class_keys(list(columns.T), len(columns)), return_index=True, return_inverse=True)
    return columns[first], np.bincount(ids, weights=counts).astype(np.int64)


def _rolled(table: tuple[np.ndarray, np.ndarray], mappings: dict[int, np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """A class table with some columns mapped to coarser codes, aggregated again."""
    columns = table[0].copy()
    for column, mapping in mappings.items():
        columns[:, column] = mapping[columns[:, column]]
    return _aggregate(columns, table[1])


def _from_bottom(bottom: np.ndarray, level: np.ndarray) -> np.ndarray:
    """Level-0 code -> code at `level`, from two maps of the stored values' codes."""
    found = np.zeros(int(bottom.max()) + 1 if len(bottom) else 1, np.int64)
    found[bottom] = level
    if not np.array_equal(found[bottom], level):
        raise ValueError("a hierarchy does not nest: a value has two parents")
    return found


def _lower(node: tuple[int, ...], q: int) -> tuple[int, ...]:
    return (*node[:q], node[q] - 1, *node[q + 1 :])


class Lattice:
    """The persons' level-0 codes and the hierarchies' level maps, with the year of each person."""

    def __init__(self, years: np.ndarray, codes: Sequence[np.ndarray], maps: Sequence[Sequence[np.ndarray]], k: int, share: float):
        self.years = years
        # Codes of the level-0 labels (two stored values may share one, such as two spellings of
        # `unknown`), and maps[q][level][level-0 code] = code at that level.
        self.codes = [np.asarray(levels[0])[column] for column, levels in zip(codes, maps, strict=True)]
        self.maps = [[_from_bottom(levels[0], level) for level in levels] for levels in maps]
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

    def padded(self, counted: np.ndarray) -> np.ndarray:
        """Persons each year suppresses, from the persons in its classes under K: padded up to K,
        and 0 for years suppressed whole (they take no part in the choice)."""
        counted = np.where(self.small, 0, counted)
        return np.where((counted > 0) & (counted < self.k), self.k, counted)

    def height(self, levels: Sequence[int]) -> float:
        return float(np.mean([level / top for level, top in zip(levels, self.tops, strict=True)])) if self.tops else 0.0

    def _base(self) -> tuple[np.ndarray, np.ndarray]:
        """The class table at the bottom node: distinct rows of (year, level-0 codes) and their persons."""
        columns = np.column_stack([self.year_index, *self.codes]).astype(np.int32)
        return _aggregate(columns, np.ones(len(columns), np.int64))

    def _steps(self) -> list[list[np.ndarray]]:
        """steps[q][level]: code at level - 1 -> code at level (the hierarchies nest)."""
        steps = []
        for maps in self.maps:
            found = [maps[0]]
            for level in range(1, len(maps)):
                step = np.zeros(int(maps[level - 1].max()) + 1 if len(maps[level - 1]) else 1, np.int64)
                step[maps[level - 1]] = maps[level]
                if not np.array_equal(step[maps[level - 1]], maps[level]):
                    raise ValueError("a hierarchy does not nest: a value has two parents")
                found.append(step)
            steps.append(found)
        return steps

    def _judge(self, node: tuple[int, ...], counts: np.ndarray, years: np.ndarray, total: int) -> float | None:
        """The node's loss, or None when some year suppresses more than its budget."""
        small = counts < self.k
        counted = self.padded(np.bincount(years[small], weights=counts[small], minlength=len(self.persons)).astype(np.int64))
        if np.any(counted > self.budget):
            return None
        height = self.height(node)
        return height + (float(counted.sum()) / total) * (1 - height)

    def _probe(self, base: tuple[np.ndarray, np.ndarray], total: int) -> np.ndarray:
        """Nodes found unacceptable by a greedy descent from the top (each step to the finer
        neighbour of least loss): every node below one of them is unacceptable too, since a finer
        node leaves at least the same persons in classes under K. One row per node."""
        node, found = self.tops, []
        while True:
            step = None
            for q in range(len(node)):
                if not node[q]:
                    continue
                finer = _lower(node, q)
                table = _rolled(base, {column + 1: self.maps[column][level] for column, level in enumerate(finer) if level})
                loss = self._judge(finer, table[1], table[0][:, 0], total)
                if loss is None:
                    found.append(finer)
                elif step is None or (loss, finer) < step:
                    step = (loss, finer)
            if step is None:
                return np.array(found, dtype=np.int64).reshape(len(found), len(self.tops))
            node = step[1]

    def search(self, order: np.ndarray) -> Scheme:
        """The acceptable node of least loss (ties: lower height, then the levels themselves);
        `order` ranks persons for the padding (deterministic).

        Layer by layer (the sum of the levels): a node's classes are rolled up from the smallest
        class table of a node one level below it, kept from the layer before, else from the bottom
        table; nodes above the bound, and nodes below one the probe found unacceptable, are
        skipped."""
        base = self._base()
        steps = self._steps()
        total = max(int((~self.small[self.year_index]).sum()), 1)
        unacceptable = self._probe(base, total)
        width = len(self.tops)
        previous: dict[tuple[int, ...], tuple[np.ndarray, np.ndarray]] = {(0,) * width: base}
        best: tuple[float, float, tuple[int, ...]] | None = None
        layers: dict[int, list[tuple[int, ...]]] = {}
        for node in itertools.product(*(range(top + 1) for top in self.tops)):
            layers.setdefault(sum(node), []).append(node)
        for layer in sorted(layers):
            current: dict[tuple[int, ...], tuple[np.ndarray, np.ndarray]] = {}
            kept = 0
            for node in layers[layer]:
                if best is not None and self.height(node) > best[0]:
                    continue  # its loss is at least its height; so is every node above it
                if len(unacceptable) and np.any(np.all(np.array(node) <= unacceptable, axis=1)):
                    continue  # finer than an unacceptable node
                if layer == 0:
                    table = base
                else:
                    parents = [(len(previous[parent][1]), parent, q) for q in range(width) if node[q] and (parent := _lower(node, q)) in previous]
                    if parents:
                        _, parent, q = min(parents)
                        table = _rolled(previous[parent], {q + 1: steps[q][node[q]]})
                    else:
                        table = _rolled(base, {q + 1: self.maps[q][level] for q, level in enumerate(node) if level})
                if kept + len(table[1]) <= _CACHED_ROWS:
                    current[node] = table
                    kept += len(table[1])
                loss = self._judge(node, table[1], table[0][:, 0], total)
                if loss is not None and (best is None or (loss, self.height(node), node) < best):
                    best = (loss, self.height(node), node)
            previous = current
        assert best is not None  # the top node is always acceptable
        ids = self.ids(best[2])
        return Scheme(best[2], self._padded(ids, self.outliers(ids), order), best[0])

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
