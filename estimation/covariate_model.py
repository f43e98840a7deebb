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
  for it, so it gets no list x value columns: it takes the capture pattern of the commonest value;
  so does, smallest first, any value whose own columns leave the model without a finite,
  identifiable estimate (SparseMSE's linear-programming test on this model's design).

The model is fitted by iteratively reweighted least squares on a sparse design (`poisson_irls`),
which gives statsmodels' GLM estimates many times faster: the bootstrap repeats the whole stepwise
selection in every replicate.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from scipy import sparse
from scipy.linalg import cho_factor, cho_solve
from scipy.special import xlogy

from estimation.design import Pair, cell_structure, pair_overlaps
from estimation.errors import EstimationError
from estimation.existence import has_positive_solution
from estimation.stepwise import DEFAULT_THRESHOLD, overlap_p_values
from estimation.strata import StratifiedTable

_MAX_ITERATIONS = 100
# Relative change of the deviance at which the iterations stop (statsmodels uses 1e-8).
_TOLERANCE = 1e-10


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
    matrix: sparse.csr_matrix  # mostly zeros: one stratum, a few lists and values per cell
    kept: np.ndarray  # flat (stratum, history) cells kept in the fit
    empty_pairs: tuple[Pair, ...]


def sparsity(table: StratifiedTable) -> Sparsity:
    """Which (list, covariate value) pairs are empty, and which values must share the capture
    pattern of the commonest value.

    A value is pooled when none of its persons is on two lists; then, while the model without
    two-list terms still has no finite, identifiable estimate (a list that holds every person of a
    value, values that only occur together), the value with the fewest persons is pooled next.
    """
    histories = cell_structure(table.n_lists).histories
    on_list = table.counts @ histories  # (strata, lists): persons of the stratum on each list
    several = table.counts[:, histories.sum(axis=1) >= 2].sum(axis=1)
    empty: list[tuple[int, str, str]] = []
    pooled: list[tuple[str, str]] = []
    references: dict[str, str] = {}
    sizes: dict[tuple[str, str], int] = {}
    for covariate in table.covariates:
        values = table.strata[covariate].to_numpy()
        persons = {value: int(table.counts[values == value].sum()) for value in np.unique(values)}
        references[covariate] = max(sorted(persons), key=lambda value: persons[value])
        for value in sorted(persons):
            members = values == value
            empty += [(k, covariate, value) for k in range(table.n_lists) if on_list[members, k].sum() == 0]
            if value != references[covariate]:
                sizes[(covariate, value)] = persons[value]
                if several[members].sum() == 0:
                    pooled.append((covariate, value))
    found = Sparsity(tuple(empty), tuple(pooled), references)
    candidates = sorted((key for key in sizes if key not in pooled), key=lambda key: (sizes[key], key))
    while not all(check_covariate_model(table, (), found)) and candidates:
        found = Sparsity(found.empty_list_values, (*found.pooled_values, candidates.pop(0)), references)
    return found


def _design(table: StratifiedTable, pairs: tuple[Pair, ...], sparse_parts: Sparsity) -> _Design:
    structure = cell_structure(table.n_lists)
    n_strata = len(table.strata)
    base, kept = _base_design(table, sparse_parts)
    kept = kept.copy()
    overlaps = pair_overlaps(table.counts.sum(axis=0), table.n_lists)
    empty_pairs: list[Pair] = []
    columns = []
    for pair in pairs:
        index = structure.pair_index(pair)
        cells = np.tile(structure.pair_cells[:, index], n_strata)
        if overlaps[index] == 0:
            kept &= cells == 0
            empty_pairs.append(pair)
        else:
            columns.append(cells)
    matrix = sparse.hstack([base, sparse.csc_matrix(np.column_stack(columns))], format="csc") if columns else base
    matrix = matrix[kept]
    # A column left without a kept cell (all its cells were structural zeros) has no parameter.
    used = np.flatnonzero(matrix.getnnz(axis=0) > 0)
    return _Design(matrix[:, used].tocsr(), kept, tuple(empty_pairs))


def _base_design(table: StratifiedTable, sparse_parts: Sparsity) -> tuple[sparse.csc_matrix, np.ndarray]:
    """Stratum, list and list x value columns over every cell, and the cells that are not
    structural zeros of a list and a value; cached on the table (the stepwise search and every
    existence check reuse them)."""
    key = (sparse_parts.empty_list_values, sparse_parts.pooled_values, tuple(sorted(sparse_parts.references.items())))
    if key in table.design_cache:
        return table.design_cache[key]
    structure = cell_structure(table.n_lists)
    n_strata, n_cells = table.counts.shape
    stratum = np.repeat(np.arange(n_strata), n_cells)
    history = np.tile(structure.histories, (n_strata, 1))  # (flat cells, lists)
    kept = np.ones(n_strata * n_cells, dtype=bool)
    columns = [sparse.csc_matrix((np.ones(len(stratum)), (np.arange(len(stratum)), stratum)), shape=(len(stratum), n_strata))]
    columns.append(sparse.csc_matrix(history))
    empty_values = set(sparse_parts.empty_list_values)
    pooled = set(sparse_parts.pooled_values)
    persons = table.counts.sum(axis=1)
    value_columns = []
    for covariate in table.covariates:
        stratum_values = table.strata[covariate].to_numpy()
        values = stratum_values[stratum]
        for k in range(table.n_lists):
            present = [v for v in np.unique(stratum_values) if (k, covariate, v) not in empty_values]
            # The list's own reference: the commonest value, or, when the list never reports
            # that value, the commonest value it does report (else its main effect would
            # duplicate the sum of its value columns).
            reference = sparse_parts.references[covariate]
            if reference not in present:
                reference = max(present, key=lambda v: (persons[stratum_values == v].sum(), v))
            for value in np.unique(stratum_values):
                members = values == value
                if (k, covariate, value) in empty_values:
                    kept &= ~(members & (history[:, k] == 1))
                elif value != reference and (covariate, value) not in pooled:
                    value_columns.append(history[:, k] * members)
    if value_columns:
        columns.append(sparse.csc_matrix(np.column_stack(value_columns)))
    found = (sparse.hstack(columns, format="csc"), kept)
    table.design_cache[key] = found
    return found


def check_covariate_model(table: StratifiedTable, pairs: tuple[Pair, ...], sparse_parts: Sparsity | None = None) -> tuple[bool, bool]:
    """(exists, identifiable) for the covariate model with `pairs`, as `check_model` for lists alone."""
    sparse_parts = sparse_parts or sparsity(table)
    # The stepwise search checks a model before fitting it: one linear program per model.
    key = ("check", sparse_parts.empty_list_values, sparse_parts.pooled_values, tuple(sorted(sparse_parts.references.items())), tuple(sorted(pairs)))
    if key not in table.design_cache:
        table.design_cache[key] = _check(table, pairs, sparse_parts)
    return table.design_cache[key]


def _check(table: StratifiedTable, pairs: tuple[Pair, ...], sparse_parts: Sparsity) -> tuple[bool, bool]:
    # Existence and rank depend on the data only through which cells are non-zero.
    support = (table.counts > 0).astype(float)
    design = _design(table, pairs, sparse_parts)
    # rank(X'X) = rank(X), on a matrix of parameters x parameters rather than cells x parameters.
    gram = (design.matrix.T @ design.matrix).toarray()
    identifiable = bool(np.linalg.matrix_rank(gram, hermitian=True) == gram.shape[0])
    return has_positive_solution(design.matrix, support.ravel()[design.kept]), identifiable


def fit_covariate_model(
    table: StratifiedTable, pairs: tuple[Pair, ...] = (), sparse_parts: Sparsity | None = None, start: CovariateFit | None = None
) -> CovariateFit:
    """Fit the covariate model with the two-list terms `pairs`; `start`, a fitted model whose pairs
    come first in `pairs`, starts the iterations.

    Raises `EstimationError` when it has no finite, identifiable estimate for this table.
    """
    sparse_parts = sparse_parts or sparsity(table)
    exists, identifiable = check_covariate_model(table, pairs, sparse_parts)
    if not (exists and identifiable):
        reason = "has no finite estimate" if not exists else "is not identifiable"
        raise EstimationError(f"the covariate model with {len(pairs)} two-list term(s) {reason} for this table")
    design = _design(table, pairs, sparse_parts)
    counts = table.counts.ravel()[design.kept].astype(float)
    start_params = None
    if start is not None and len(start.params) <= design.matrix.shape[1]:
        start_params = np.zeros(design.matrix.shape[1])
        start_params[: len(start.params)] = start.params
    params, mu, covariance = poisson_irls(design.matrix, counts, start_params)
    n_strata = len(table.strata)
    dark = np.exp(params[:n_strata])
    # Delta method for the log of a sum of exponentials of the stratum levels.
    block = covariance[:n_strata, :n_strata]
    se = float(np.sqrt(dark @ block @ dark) / dark.sum())
    fitted = np.zeros(table.counts.size)
    fitted[design.kept] = mu
    return CovariateFit(
        pairs=tuple(pairs),
        empty_pairs=design.empty_pairs,
        sparsity=sparse_parts,
        observed=table.observed,
        stratum_dark=dark,
        log_dark_figure_se=se,
        fitted=fitted.reshape(table.counts.shape),
        params=params,
    )


def poisson_irls(matrix: sparse.csr_matrix, counts: np.ndarray, start: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Poisson GLM with log link by iteratively reweighted least squares, on a sparse design.

    The same estimates as statsmodels' GLM (tested), but the weighted normal equations are formed
    from the sparse design: a covariate model has thousands of cells and a hundred or more
    parameters, and each cell touches only a few of them, so this is many times faster, which the
    bootstrap needs. Returns the parameters, the fitted means and the covariance of the parameters.
    """
    transposed = matrix.T.tocsr()
    if start is None:
        mu = (counts + counts.mean()) / 2  # statsmodels' starting means
        eta = np.log(mu)
    else:
        eta = matrix @ start
        mu = np.exp(eta)
    deviance = np.inf
    for _ in range(_MAX_ITERATIONS):
        working = eta + (counts - mu) / mu
        gram = (transposed @ matrix.multiply(mu[:, None])).toarray()
        try:
            factor = cho_factor(gram)
        except np.linalg.LinAlgError as exc:
            raise EstimationError("the covariate model's equations are singular") from exc
        params = cho_solve(factor, transposed @ (mu * working))
        eta = matrix @ params
        mu = np.exp(eta)
        new_deviance = 2 * float(np.sum(xlogy(counts, counts / mu) - (counts - mu)))
        if abs(new_deviance - deviance) <= _TOLERANCE * (abs(new_deviance) + 0.1):
            gram = (transposed @ matrix.multiply(mu[:, None])).toarray()
            return params, mu, cho_solve(cho_factor(gram), np.eye(len(params)))
        deviance = new_deviance
    raise EstimationError("the fit of the covariate model did not converge")


def select_covariate_stepwise(table: StratifiedTable, threshold: float = DEFAULT_THRESHOLD) -> CovariateFit:
    """Two-list terms chosen by SparseMSE's rule, on top of the covariate terms.

    Each round compares the persons on both lists of each pair (summed over strata) with their
    expected number under the current model and adds the most significant pair while p < threshold,
    skipping pairs whose model has no finite, identifiable estimate.
    """
    if not 0.0 < threshold < 1.0:
        raise ValueError("the p-value threshold must lie strictly between 0 and 1")
    # A stratum without persons has a dark figure of 0 and no level to fit.
    table = table.without_empty_strata()
    found = sparsity(table)
    structure = cell_structure(table.n_lists)
    observed = pair_overlaps(table.counts.sum(axis=0), table.n_lists)
    model = fit_covariate_model(table, (), found)
    while len(model.pairs) < len(structure.pairs):
        p_values = overlap_p_values(observed, structure.pair_cells.T @ model.fitted.sum(axis=0))
        candidates = [k for k, pair in enumerate(structure.pairs) if pair not in model.pairs]
        chosen = None
        for k in sorted(candidates, key=lambda k: (p_values[k], k)):
            if p_values[k] >= threshold:
                break
            if all(check_covariate_model(table, (*model.pairs, structure.pairs[k]), found)):
                chosen = structure.pairs[k]
                break
        if chosen is None:
            break
        model = fit_covariate_model(table, (*model.pairs, chosen), found, start=model)
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

