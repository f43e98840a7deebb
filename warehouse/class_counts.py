"""Persons in classes of fewer than K, per year, at any node of the lattice: one integer per person.

A node's class of a person is its year and its quasi-identifiers' codes at the node's levels. The
codes combine into one integer key per person, the year its most significant digit, so the persons
of a year are contiguous once the keys are sorted. Where the keys span few values they are counted
with one `np.bincount`; else they are sorted, and a class is a run of equal keys.

The key is built from few lookups: the year and the quasi-identifiers are packed into groups whose
level-0 codes combine into a small index, and a group's table gives, for every index, the group's
code at the node's levels (tables kept per group and levels).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

# Largest combined index of a group's level-0 codes (the length of its lookup tables).
_GROUP_SPAN = 1 << 16
# Keys stay below this; past it the partial key is renumbered densely (order kept).
KEY_LIMIT = 2**62
# Keys spanning at most this many values per person are counted without sorting.
_DENSE_PER_PERSON = 4


class ClassCounter:
    """The persons' level-0 codes, grouped; counts persons in small classes at a node."""

    def __init__(self, year_index: np.ndarray, years: int, codes: Sequence[np.ndarray], maps: Sequence[Sequence[np.ndarray]], k: int):
        """`codes[q]`: level-0 code per person; `maps[q][level]`: level-0 code -> code at that level."""
        self.k = k
        self.years = years
        self.persons = len(year_index)
        # Persons per year, cumulated: where each year's persons end among keys sorted by year first.
        self.year_ends = np.cumsum(np.bincount(year_index, minlength=years))
        # The year as a quasi-identifier of one level, so it packs into the first group like the others.
        columns = [np.asarray(year_index, np.int64), *(np.asarray(column, np.int64) for column in codes)]
        self.maps = [[np.arange(max(years, 1))], *([np.asarray(level, np.int64) for level in levels] for levels in maps)]
        self.cards = [[int(level.max()) + 1 if len(level) else 1 for level in levels] for levels in self.maps]
        self.groups: list[list[int]] = []
        for q in range(len(columns)):
            if self.groups and np.prod([self.cards[p][0] for p in self.groups[-1]], dtype=float) * self.cards[q][0] <= _GROUP_SPAN:
                self.groups[-1].append(q)
            else:
                self.groups.append([q])
        # Per group, each person's combined index, and the combined level-0 codes an index stands for:
        # every combination, or only those that occur where they are fewer (small tiers).
        self.indexes, self.combined = [], []
        for group in self.groups:
            index = np.zeros(self.persons, np.int64)
            for q in group:
                index = index * self.cards[q][0] + columns[q]
            span = int(np.prod([self.cards[q][0] for q in group]))
            if span > self.persons:
                combined, index = np.unique(index, return_inverse=True)
            else:
                combined = np.arange(span, dtype=np.int64)
            self.indexes.append(index.astype(np.int64))
            self.combined.append(combined)
        self.tables: dict[tuple[int, tuple[int, ...]], tuple[np.ndarray, int]] = {}
        # One key and one code per person, reused at every node: the search judges thousands of
        # nodes, and fresh arrays of a million integers each time cost page faults (the loads have
        # large blocks mapped afresh and unmapped when freed: `config.memory`).
        self._key = np.empty(self.persons, np.int64)
        self._code = np.empty(self.persons, np.int64)

    def _table(self, g: int, levels: tuple[int, ...]) -> tuple[np.ndarray, int]:
        """Group `g`'s index -> its code at `levels` (one level per member), and the codes' span."""
        found = self.tables.get((g, levels))
        if found is None:
            group = self.groups[g]
            digits = self.combined[g].copy()
            table, width = np.zeros(len(digits), np.int64), 1
            for q, level in zip(reversed(group), reversed(levels), strict=True):
                digit = digits % self.cards[q][0]
                digits //= self.cards[q][0]
                table += self.maps[q][level][digit] * width
                width *= self.cards[q][level]
            found = self.tables[(g, levels)] = (table, width)
        return found

    def sorts(self, node: Sequence[int]) -> bool:
        """Whether `node`'s keys span too many values to be counted with one bincount: counting them
        takes a sort, an order of magnitude slower."""
        levels, span = (0, *node), 1
        for g, group in enumerate(self.groups):
            span *= self._table(g, tuple(levels[q] for q in group))[1]
        return span > _DENSE_PER_PERSON * self.persons

    def under_k(self, node: Sequence[int]) -> np.ndarray:
        """Persons of each year in classes of fewer than K persons at `node` (one level per quasi-identifier)."""
        if not self.persons:
            return np.zeros(self.years, np.int64)
        levels = (0, *node)
        key, code, span, renumbered = self._key, self._code, 1, False
        key.fill(0)
        for g, group in enumerate(self.groups):
            table, width = self._table(g, tuple(levels[q] for q in group))
            if width == 1:
                continue
            if span * width >= KEY_LIMIT:
                key[:] = np.unique(key, return_inverse=True)[1]
                span, renumbered = int(key.max()) + 1, True
            np.take(table, self.indexes[g], out=code, mode="clip")  # "raise" would copy through a buffer
            if span == 1:
                key[:] = code
            else:
                key *= width
                key += code
            span *= width
        if not renumbered and span <= _DENSE_PER_PERSON * self.persons:
            # The year is the key's most significant digit: one row of counts per year.
            sizes = np.bincount(key, minlength=span).reshape(self.years, -1)
            return np.where(sizes < self.k, sizes, 0).sum(axis=1)
        key.sort()
        starts = np.flatnonzero(np.r_[True, key[1:] != key[:-1]])
        sizes = np.diff(np.r_[starts, self.persons])
        small = sizes < self.k
        # Renumbering keeps the keys' order, so the persons of a year stay contiguous after sorting.
        year = np.searchsorted(self.year_ends, starts[small], side="right")
        return np.bincount(year, weights=sizes[small], minlength=self.years).astype(np.int64)
