"""The log-linear model with covariates: lists, strata, list x covariate and chosen list x list terms.

One Poisson log-linear model over every (stratum, history) cell: a free level per stratum (the
strata are the combinations of covariate values that occur, so their sizes are not smoothed), a
main effect per list, an interaction of every list with every covariate (each list may catch
minors, or Dutch victims, more often than others), and two-list terms chosen by SparseMSE's stepwise
rule on the overlaps summed over strata. The dark figure of a stratum is its fitted cell of persons
on no list, exp(its level); the estimate is the observed persons plus their sum.

Sparse data are handled as SparseMSE handles an empty pair, and reported:
- a list that reports nobody of a covariate value (`nla` and the form `sexual`) gets no column for
  that pair: the cells of that list in those strata are structural zeros;
- a covariate value none of whose persons is on two lists says nothing about how the lists differ
  for it, so it gets no list x value columns: it takes the capture pattern of the commonest value.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field

import numpy as np
import statsmodels.api as sm
from statsmodels.tools.sm_exceptions import PerfectSeparationWarning

from estimation.design import Pair, cell_structure, pair_overlaps
from estimation.errors import EstimationError
from estimation.existence import has_positive_solution
from estimation.stepwise import DEFAULT_THRESHOLD, overlap_p_values
from estimation.strata import StratifiedTable


@dataclass(frozen=True)
class Sparsity:
    """What the data cannot support: empty (list, covariate value) pairs, and values without overlap."""

    empty_list_values: tuple[tuple[int, str, str], ...]  # (list, covariate, value)
    pooled_values: tuple[tuple[str, str], ...]  # (covariate, value)
    references: dict[str, str] = field(default_factory=dict)  # covariate -> its commonest value among the observed


@dataclass(frozen=True, eq=False)
class CovariateFit:
    """A fitted covariate model: its terms, the dark figure per stratum and on the log scale."""

    pairs: tuple[Pair, ...]
    empty_pairs: tuple[Pair, ...]
    sparsity: Sparsity
    observed: int
    stratum_dark: np.ndarray
    log_dark_figure_se: float
    fitted: np.ndarray  # (strata, histories), zero in structural-zero cells
    params: np.ndarray

    @property
    def dark_figure(self) -> float:
        """Estimated persons on none of the lists, summed over the strata."""
        return float(self.stratum_dark.sum())

    @property
    def log_dark_figure(self) -> float:
        """Log of the dark figure."""
        return float(np.log(self.dark_figure))

    @property
    def total(self) -> float:
        """Observed persons plus the dark figure."""
        return self.observed + self.dark_figure


@dataclass(frozen=True, eq=False)
class _Design:
    matrix: np.ndarray
    kept: np.ndarray  # flat (stratum, history) cells kept in the fit
    empty_pairs: tuple[Pair, ...]


def sparsity(table: StratifiedTable) -> Sparsity:
    """Which (list, covariate value) pairs are empty, and which values have no person on two lists."""
    histories = cell_structure(table.n_lists).histories
    on_list = table.counts @ histories  # (strata, lists): persons of the stratum on each list
    several = table.counts[:, histories.sum(axis=1) >= 2].sum(axis=1)
    empty: list[tuple[int, str, str]] = []
    pooled: list[tuple[str, str]] = []
    references: dict[str, str] = {}
    for covariate in table.covariates:
        values = table.strata[covariate].to_numpy()
        persons = {value: int(table.counts[values == value].sum()) for value in np.unique(values)}
        references[covariate] = max(sorted(persons), key=lambda value: persons[value])
        for value in sorted(persons):
            members = values == value
            empty += [(k, covariate, value) for k in range(table.n_lists) if on_list[members, k].sum() == 0]
            if value != references[covariate] and several[members].sum() == 0:
                pooled.append((covariate, value))
    return Sparsity(tuple(empty), tuple(pooled), references)


def _design(table: StratifiedTable, pairs: tuple[Pair, ...], sparse: Sparsity) -> _Design:
    structure = cell_structure(table.n_lists)
    n_strata, n_cells = table.counts.shape
    stratum = np.repeat(np.arange(n_strata), n_cells)
    history = np.tile(structure.histories, (n_strata, 1))  # (flat cells, lists)
    kept = np.ones(n_strata * n_cells, dtype=bool)
    columns = [(stratum == s).astype(float) for s in range(n_strata)]
    columns += list(history.T)
    empty_values = set(sparse.empty_list_values)
    pooled = set(sparse.pooled_values)
    for covariate in table.covariates:
        values = table.strata[covariate].to_numpy()[stratum]
        for value in np.unique(values):
            members = values == value
            for k in range(table.n_lists):
                if (k, covariate, value) in empty_values:
                    kept &= ~(members & (history[:, k] == 1))
                elif value != sparse.references[covariate] and (covariate, value) not in pooled:
                    columns.append(history[:, k] * members)
    overlaps = pair_overlaps(table.counts.sum(axis=0), table.n_lists)
    empty_pairs: list[Pair] = []
    for pair in pairs:
        index = structure.pair_index(pair)
        cells = np.tile(structure.pair_cells[:, index], n_strata)
        if overlaps[index] == 0:
            kept &= cells == 0
            empty_pairs.append(pair)
        else:
            columns.append(cells)
    matrix = np.column_stack(columns)[kept]
    # A column left without a kept cell (all its cells were structural zeros) has no parameter.
    matrix = matrix[:, matrix.any(axis=0)]
    return _Design(matrix, kept, tuple(empty_pairs))


def check_covariate_model(table: StratifiedTable, pairs: tuple[Pair, ...], sparse: Sparsity | None = None) -> tuple[bool, bool]:
    """(exists, identifiable) for the covariate model with `pairs`, as `check_model` for lists alone."""
    sparse = sparse or sparsity(table)
    support = (table.counts > 0).astype(float)
    design = _design(table.with_counts(support), pairs, sparse)
    identifiable = bool(np.linalg.matrix_rank(design.matrix) == design.matrix.shape[1])
    return has_positive_solution(design.matrix, support.ravel()[design.kept]), identifiable


def fit_covariate_model(table: StratifiedTable, pairs: tuple[Pair, ...] = (), sparse: Sparsity | None = None) -> CovariateFit:
    """Fit the covariate model with the two-list terms `pairs`.

    Raises `EstimationError` when it has no finite, identifiable estimate for this table.
    """
    sparse = sparse or sparsity(table)
    exists, identifiable = check_covariate_model(table, pairs, sparse)
    if not (exists and identifiable):
        reason = "has no finite estimate" if not exists else "is not identifiable"
        raise EstimationError(f"the covariate model with {len(pairs)} two-list term(s) {reason} for this table")
    design = _design(table, pairs, sparse)
    counts = table.counts.ravel()[design.kept].astype(float)
    with warnings.catch_warnings():
        # A saturated model (two lists and their covariate terms) fits exactly; statsmodels warns
        # about its zero residual degrees of freedom, but existence and rank were checked above.
        warnings.simplefilter("ignore", RuntimeWarning)
        warnings.simplefilter("ignore", PerfectSeparationWarning)
        result = sm.GLM(counts, design.matrix, family=sm.families.Poisson()).fit()
    if not result.converged:
        raise EstimationError("the fit of the covariate model did not converge")
    n_strata = len(table.strata)
    levels = np.asarray(result.params[:n_strata])
    dark = np.exp(levels)
    # Delta method for the log of a sum of exponentials of the stratum levels.
    covariance = np.asarray(result.cov_params())[:n_strata, :n_strata]
    se = float(np.sqrt(dark @ covariance @ dark) / dark.sum())
    fitted = np.zeros(table.counts.size)
    fitted[design.kept] = result.mu
    return CovariateFit(
        pairs=tuple(pairs),
        empty_pairs=design.empty_pairs,
        sparsity=sparse,
        observed=table.observed,
        stratum_dark=dark,
        log_dark_figure_se=se,
        fitted=fitted.reshape(table.counts.shape),
        params=np.asarray(result.params),
    )


def select_covariate_stepwise(table: StratifiedTable, threshold: float = DEFAULT_THRESHOLD) -> CovariateFit:
    """Two-list terms chosen by SparseMSE's rule, on top of the covariate terms.

    Each round compares the persons on both lists of each pair (summed over strata) with their
    expected number under the current model and adds the most significant pair while p < threshold,
    skipping pairs whose model has no finite, identifiable estimate.
    """
    if not 0.0 < threshold < 1.0:
        raise ValueError("the p-value threshold must lie strictly between 0 and 1")
    sparse = sparsity(table)
    structure = cell_structure(table.n_lists)
    observed = pair_overlaps(table.counts.sum(axis=0), table.n_lists)
    model = fit_covariate_model(table, (), sparse)
    while len(model.pairs) < len(structure.pairs):
        p_values = overlap_p_values(observed, structure.pair_cells.T @ model.fitted.sum(axis=0))
        candidates = [k for k, pair in enumerate(structure.pairs) if pair not in model.pairs]
        chosen = None
        for k in sorted(candidates, key=lambda k: (p_values[k], k)):
            if p_values[k] >= threshold:
                break
            if all(check_covariate_model(table, (*model.pairs, structure.pairs[k]), sparse)):
                chosen = structure.pairs[k]
                break
        if chosen is None:
            break
        model = fit_covariate_model(table, (*model.pairs, chosen), sparse)
    return model


def model_terms(table: StratifiedTable, model: CovariateFit) -> list[str]:
    """The terms of the model, as a statistician writes them."""
    empty = set(model.sparsity.empty_list_values)
    pooled = set(model.sparsity.pooled_values)
    terms = ["stratum(" + " x ".join(table.covariates) + ")", *table.lists]
    for k, name in enumerate(table.lists):
        for covariate in table.covariates:
            values = sorted(set(table.strata[covariate]))
            fitted = [v for v in values if v != model.sparsity.references[covariate] and (covariate, v) not in pooled and (k, covariate, v) not in empty]
            if fitted:
                terms.append(f"{name}:{covariate}")
    pair_terms = [f"{table.lists[i]}:{table.lists[j]}" for i, j in model.pairs]
    return terms + pair_terms

