"""Bayesian model averaging over decomposable graphical models (Madigan and York 1997; R's dga).

For every decomposable graph on the lists, and every candidate number n0 of unseen persons, the
marginal likelihood of the completed 2^t table has a closed form under the hyper-Dirichlet prior
(prior counts `delta` per cell): a product over the graph's cliques divided by one over its
separators of Dirichlet-multinomial terms of the marginal tables, as dga's `bma.cr` computes it,
with dga's default prior 1/N on the total. A perfect elimination order turns cliques and
separators into families: a vertex with its earlier neighbours over those neighbours alone, which
gives the same product. The posterior of the total averages over all graphs with equal prior
weight. There are 822 decomposable graphs on five lists and about 18,000 on six, so this cross-check
runs on at most five lists: with more, the smallest lists are merged first.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from itertools import combinations

import numpy as np
from scipy.special import gammaln, logsumexp

from estimation.table import OverlapTable

MAX_DGA_LISTS = 5
# Candidate totals: this many evenly spaced values of the dark figure.
GRID_POINTS = 4000


@dataclass(frozen=True)
class BMAResult:
    """Posterior summary of the total, the lists used (after merging) and the best graph."""

    lists: tuple[str, ...]
    merged: tuple[str, ...]
    median: float
    interval: tuple[float, float]
    graphs: int
    best_graph: tuple[str, ...]
    best_weight: float
    upper_tail: float  # posterior mass in the top 1 % of the grid: large means the grid is too short


@cache
def decomposable_graphs(n_lists: int) -> tuple[tuple[tuple[int, tuple[int, ...]], ...], ...]:
    """Every decomposable graph on `n_lists` vertices, as families (vertex, its earlier neighbours)
    in a perfect elimination order."""
    edges = list(combinations(range(n_lists), 2))
    graphs = []
    for mask in range(2 ** len(edges)):
        neighbours = [set() for _ in range(n_lists)]
        for bit, (i, j) in enumerate(edges):
            if mask >> bit & 1:
                neighbours[i].add(j)
                neighbours[j].add(i)
        families = _families(neighbours)
        if families is not None:
            graphs.append(families)
    return tuple(graphs)


def _families(neighbours: list[set[int]]) -> tuple[tuple[int, tuple[int, ...]], ...] | None:
    """Maximum cardinality search: in a chordal graph, each vertex's earlier neighbours form a
    clique; if they ever do not, the graph is not chordal (Tarjan and Yannakakis 1984)."""
    order: list[int] = []
    weight = [0] * len(neighbours)
    families = []
    while len(order) < len(neighbours):
        vertex = max((v for v in range(len(neighbours)) if v not in order), key=lambda v: (weight[v], -v))
        earlier = tuple(sorted(neighbours[vertex] & set(order)))
        if any(b not in neighbours[a] for a, b in combinations(earlier, 2)):
            return None
        families.append((vertex, earlier))
        order.append(vertex)
        for other in neighbours[vertex]:
            weight[other] += 1
    return tuple(families)


def bma_estimate(table: OverlapTable, delta: float | None = None, level: float = 0.95, upper: float | None = None) -> BMAResult:
    """Model-averaged posterior of the total; `delta` defaults to 2^-t, `upper` (largest dark
    figure considered) to fifty times the observed persons."""
    table, merged = merge_smallest(table, MAX_DGA_LISTS)
    t = table.n_lists
    delta = 2.0**-t if delta is None else delta
    upper = 50.0 * table.observed if upper is None else upper
    missing = np.unique(np.round(np.linspace(0, upper, GRID_POINTS)))
    observed = table.observed
    full = np.concatenate([[0], table.counts]).astype(float)  # index = history code
    codes = np.arange(2**t)
    log_ml = {}
    for subset in range(2**t):
        members = [i for i in range(t) if subset >> i & 1]
        log_ml[subset] = _component(full, codes, members, missing, delta, t)
    graphs = decomposable_graphs(t)
    scores = np.empty((len(graphs), len(missing)))
    for g, families in enumerate(graphs):
        score = np.zeros(len(missing))
        for vertex, earlier in families:
            parents = sum(1 << i for i in earlier)
            score += log_ml[parents | 1 << vertex] - log_ml[parents]
        scores[g] = score
    total = observed + missing
    # Multinomial coefficient of the completed table and dga's prior 1/N on the total.
    scores += gammaln(total + 1) - gammaln(missing + 1) - gammaln(table.counts + 1).sum() - np.log(total)
    scores -= logsumexp(scores)
    weights = np.exp(scores)
    posterior = weights.sum(axis=0)
    cumulative = np.cumsum(posterior)
    low, median, high = (float(total[np.searchsorted(cumulative, q)]) for q in ((1 - level) / 2, 0.5, (1 + level) / 2))
    best = int(np.argmax(weights.sum(axis=1)))
    edges = sorted({(min(v, p), max(v, p)) for v, earlier in graphs[best] for p in earlier})
    return BMAResult(
        lists=table.lists,
        merged=merged,
        median=median,
        interval=(low, high),
        graphs=len(graphs),
        best_graph=tuple(f"{table.lists[i]}:{table.lists[j]}" for i, j in edges),
        best_weight=float(weights.sum(axis=1)[best]),
        upper_tail=float(posterior[missing >= 0.99 * upper].sum()),
    )


def _component(full: np.ndarray, codes: np.ndarray, members: list[int], missing: np.ndarray, delta: float, t: int) -> np.ndarray:
    """Log Dirichlet-multinomial likelihood of the marginal table over `members`, for each n0.

    The unseen persons fall in the marginal cell where every member list is 0; prior counts are
    delta times the number of full cells each marginal cell gathers, as in dga's MakeCompMatrix.
    """
    alpha = delta * 2 ** (t - len(members))
    marginal_code = np.zeros(len(codes), dtype=np.int64)
    for position, i in enumerate(members):
        marginal_code |= ((codes >> i) & 1) << position
    marginal = np.bincount(marginal_code, weights=full, minlength=2 ** len(members))
    cells = np.repeat(marginal[None, :], len(missing), axis=0)
    cells[:, 0] += missing
    total = full.sum() + missing
    prior_total = delta * 2**t
    return (gammaln(cells + alpha).sum(axis=1) - len(marginal) * gammaln(alpha)) + gammaln(prior_total) - gammaln(total + prior_total)


def merge_smallest(table: OverlapTable, most: int) -> tuple[OverlapTable, tuple[str, ...]]:
    """Merge the two smallest lists until at most `most` remain; the merged lists' new names."""
    merged: list[str] = []
    while table.n_lists > most:
        totals = table.list_totals()
        a, b = sorted(sorted(totals), key=lambda name: totals[name])[:2]
        table = _merge(table, a, b)
        merged.append(f"{a}+{b}")
    return table, tuple(name for name in merged if name in table.lists)


def _merge(table: OverlapTable, a: str, b: str) -> OverlapTable:
    i, j = table.lists.index(a), table.lists.index(b)
    codes = np.arange(1, 2**table.n_lists)
    on_either = ((codes >> i) | (codes >> j)) & 1
    others = [k for k in range(table.n_lists) if k not in (i, j)]
    lists = [f"{a}+{b}", *(table.lists[k] for k in others)]
    new_codes = on_either.copy()
    for position, k in enumerate(others, start=1):
        new_codes |= ((codes >> k) & 1) << position
    counts = np.bincount(new_codes, weights=table.counts, minlength=2 ** len(lists))[1:]
    return OverlapTable(tuple(lists), counts.astype(np.int64))
