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
share suppressed. Ties go to the lower `h`, then to the levels themselves: the search is exact and
deterministic.

Acceptability is monotone: a coarser node merges classes, so it leaves at most the persons of the
finer node in classes under K, and the padding to K never lowers a count. The search goes down
the lattice layer by layer (the sum of the levels) from the top node, which needs no suppression
in a year of at least K persons and is always acceptable. A node finer than an unacceptable one is
unacceptable and skipped unseen (predictive tagging, as in ARX's OLA and Flash). A node whose loss
cannot beat the best found so far is skipped too: suppression is monotone like acceptability, so
the persons its coarser neighbours suppress bound its loss from below (`_Walk`). Every other node
is judged on the persons themselves, one integer key per person (`warehouse.class_counts`). Years
of fewer than K persons are suppressed whole and take no part in the choice.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from warehouse.class_counts import KEY_LIMIT, ClassCounter


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
        if span * width >= KEY_LIMIT:
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


def _from_bottom(bottom: np.ndarray, level: np.ndarray) -> np.ndarray:
    """Level-0 code -> code at `level`, from two maps of the stored values' codes."""
    found = np.zeros(int(bottom.max()) + 1 if len(bottom) else 1, np.int64)
    found[bottom] = level
    if not np.array_equal(found[bottom], level):
        raise ValueError("a hierarchy does not nest: a value has two parents")
    return found


def _check_nesting(maps: Sequence[np.ndarray]) -> None:
    """Every code at one level has one parent at the next: coarser nodes merge classes, never split them."""
    for finer, coarser in itertools.pairwise(maps):
        step = np.zeros(int(finer.max()) + 1 if len(finer) else 1, np.int64)
        step[finer] = coarser
        if not np.array_equal(step[finer], coarser):
            raise ValueError("a hierarchy does not nest: a value has two parents")


class Lattice:
    """The persons' level-0 codes and the hierarchies' level maps, with the year of each person."""

    def __init__(self, years: np.ndarray, codes: Sequence[np.ndarray], maps: Sequence[Sequence[np.ndarray]], k: int, share: float):
        self.years = years
        # Codes of the level-0 labels (two stored values may share one, such as two spellings of
        # `unknown`), and maps[q][level][level-0 code] = code at that level.
        self.codes = [np.asarray(levels[0])[column] for column, levels in zip(codes, maps, strict=True)]
        self.maps = [[_from_bottom(levels[0], level) for level in levels] for levels in maps]
        for levels in self.maps:
            _check_nesting(levels)
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

    def search(self, order: np.ndarray) -> Scheme:
        """The acceptable node of least loss (ties: lower height, then the levels themselves);
        `order` ranks persons for the padding (deterministic)."""
        width = len(self.tops)
        if self.small.all():
            # Nothing to choose: every node is acceptable and the bottom one loses nothing.
            best = (0.0, 0.0, (0,) * width)
        else:
            best = _Walk(self).best()
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


class _Walk:
    """The search's walk down the lattice, top down and layer by layer.

    A node finer than one found unacceptable is unacceptable and skipped unseen. A node that cannot
    beat the best node found so far is skipped too, unjudged: a finer node suppresses at least as
    many persons in every year, so its loss is at least `h + s (1 - h)` with `s` the most its
    coarser neighbours suppress (their counts, or their own such floor), and its height is exact.
    Floating point keeps that order: every step of the loss is monotone in the count.
    A node skipped so tags nothing finer, so before a node is judged, its unjudged coarser
    neighbours are judged first (one found unacceptable tags it, one found acceptable raises its
    floor); a neighbour whose count takes a sort (`ClassCounter.sorts`) has its own unjudged
    neighbours judged before it, which are cheaper. Every node it leaves out is unacceptable or
    loses more than the node chosen, so the choice is the one judging every node gives.
    """

    def __init__(self, lattice: Lattice):
        self.lattice = lattice
        self.counter = ClassCounter(lattice.year_index, len(lattice.persons), lattice.codes, lattice.maps, lattice.k)
        self.total = max(int((~lattice.small[lattice.year_index]).sum()), 1)
        shape = tuple(top + 1 for top in lattice.tops)
        self.nodes = np.indices(shape).reshape(len(shape), -1).T
        # A node's neighbour one level coarser in quasi-identifier q lies `strides[q]` further on.
        self.strides = np.cumprod((1, *shape[:0:-1]))[::-1]
        self.unacceptable = np.zeros(len(self.nodes), bool)
        self.unjudged = np.zeros(len(self.nodes), bool)
        # Per node and year, at most the persons it suppresses (padded): counted, or its floor.
        self.floor = np.zeros((len(self.nodes), len(lattice.persons)), np.int64)
        self.found: tuple[float, float, tuple[int, ...]] | None = None

    def best(self) -> tuple[float, float, tuple[int, ...]]:
        layers = self.nodes.sum(axis=1)
        for layer in range(int(layers.max()), -1, -1):
            for index in np.flatnonzero(layers == layer):
                self._visit(int(index))
        assert self.found is not None  # the top node is always acceptable
        return self.found

    def _coarser(self, index: int) -> list[int]:
        """The nodes one level coarser in one quasi-identifier."""
        node = self.nodes[index]
        return [index + int(stride) for q, stride in enumerate(self.strides) if node[q] < self.lattice.tops[q]]

    def _node(self, index: int) -> tuple[int, ...]:
        return tuple(int(level) for level in self.nodes[index])

    def _loss(self, index: int, counted: np.ndarray) -> tuple[float, float, tuple[int, ...]]:
        node = self._node(index)
        height = self.lattice.height(node)
        return (height + (float(counted.sum()) / self.total) * (1 - height), height, node)

    def _hopeless(self, index: int) -> bool:
        return self.found is not None and self._loss(index, self.floor[index]) > self.found

    def _visit(self, index: int) -> None:
        for coarser in self._coarser(index):
            np.maximum(self.floor[index], self.floor[coarser], out=self.floor[index])
        if self.unacceptable[index]:
            return
        for coarser in self._coarser(index):
            if self._hopeless(index):
                break
            if self.unjudged[coarser]:
                if not self._judge(coarser):
                    return  # it tagged this node
                np.maximum(self.floor[index], self.floor[coarser], out=self.floor[index])
        if self._hopeless(index):
            self.unjudged[index] = True
        else:
            self._judge(index)

    def _judge(self, index: int) -> bool:
        """Count the node's persons in classes under K; whether it is acceptable."""
        if self.counter.sorts(self._node(index)):
            for coarser in self._coarser(index):
                if self.unjudged[coarser] and not self._judge(coarser):
                    return False
        self.unjudged[index] = False
        if self.unacceptable[index]:
            return False
        counted = self.lattice.padded(self.counter.under_k(self._node(index)))
        if np.any(counted > self.lattice.budget):
            self.unacceptable |= np.all(self.nodes <= self.nodes[index], axis=1)
            return False
        self.floor[index] = counted
        loss = self._loss(index, counted)
        if self.found is None or loss < self.found:
            self.found = loss
        return True
