"""Forward stepwise choice of two-list terms by Poisson p-values (SparseMSE's `stepwisefit`).

Chan, Silverman and Vincent (2021), section 3.2: start from main effects; each round, compare for
every pair not yet in the model the observed number of persons on both lists with its expected
value under the current model; add the most significant pair while its p-value is below the
threshold, skipping pairs whose addition fails the existence or identifiability test. A pair with
no common person enters as a structural zero (its cells are removed), not as a column.
"""

from __future__ import annotations

import numpy as np
from scipy.special import pdtr, pdtrc

from estimation.design import Pair, cell_structure, pair_overlaps
from estimation.existence import check_model
from estimation.loglinear import FittedModel, fit_model
from estimation.table import OverlapTable

# The threshold Chan, Silverman and Vincent recommend after their simulation study (section 4.3).
DEFAULT_THRESHOLD = 0.02


def select_stepwise(table: OverlapTable, threshold: float = DEFAULT_THRESHOLD) -> FittedModel:
    """The model chosen by the stepwise method, fitted; its `pairs` are in order of entry."""
    if not 0.0 < threshold < 1.0:
        raise ValueError("the p-value threshold must lie strictly between 0 and 1")
    structure = cell_structure(table.n_lists)
    observed_overlaps = pair_overlaps(table.counts, table.n_lists)
    model = fit_model(table, ())
    while len(model.pairs) < len(structure.pairs):
        p_values = overlap_p_values(observed_overlaps, structure.pair_cells.T @ model.fitted)
        chosen = _most_significant_admissible(table, model.pairs, p_values, threshold)
        if chosen is None:
            break
        model = fit_model(table, (*model.pairs, chosen), start=model)
    return model


def overlap_p_values(observed: np.ndarray, expected: np.ndarray) -> np.ndarray:
    """One-sided Poisson p-value of each observed overlap: the smaller of its two tails.

    As SparseMSE: min(P(X <= n), P(X >= n)) for X ~ Poisson(expected). The bare Poisson
    distribution functions are used because this runs in every round of every bootstrap replicate.
    """
    lower = pdtr(observed, expected)
    # P(X >= 0) is 1; pdtrc is undefined below 0.
    upper = np.where(observed > 0, pdtrc(np.maximum(observed - 1, 0), expected), 1.0)
    return np.minimum(lower, upper)


def _most_significant_admissible(
    table: OverlapTable, model_pairs: tuple[Pair, ...], p_values: np.ndarray, threshold: float
) -> Pair | None:
    """The pair SparseMSE would add next, or None when the search stops.

    SparseMSE checks every candidate, sets the p-value of failing ones to 1 and takes the first
    minimum. Walking the candidates in (p-value, position) order and stopping at the first that
    passes gives the same pair with far fewer linear programs.
    """
    pairs = cell_structure(table.n_lists).pairs
    candidates = [k for k, pair in enumerate(pairs) if pair not in model_pairs]
    for k in sorted(candidates, key=lambda k: (p_values[k], k)):
        if p_values[k] >= threshold:
            return None
        if check_model(table.counts, table.n_lists, (*model_pairs, pairs[k])).ok:
            return pairs[k]
    return None
