"""Does a model have a finite, identifiable maximum likelihood estimate? (SparseMSE's `checkident`)

Existence is the linear-programming test of Fienberg and Rinaldo (2012) that SparseMSE runs with
lpSolve: the estimate exists iff some strictly positive table has the same sufficient statistics
as the observed one. Identifiability asks for a model matrix of full column rank.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np
from scipy import sparse
from scipy.optimize import linprog

from estimation.design import Pair, build_design

# The LP is run on the 0/1 support (see `check_model`), so its optimum is at most 1; an optimum
# this close to zero is zero within the solver's own feasibility tolerance (1e-7).
_POSITIVE_MARGIN = 1e-6


@dataclass(frozen=True)
class ModelCheck:
    """Outcome of both tests (SparseMSE's error code: 1 = does not exist, 2 = not identifiable)."""

    exists: bool
    identifiable: bool

    @property
    def ok(self) -> bool:
        """True when the model can be fitted and its dark figure is finite and unique."""
        return self.exists and self.identifiable


def check_model(counts: np.ndarray, n_lists: int, pairs: tuple[Pair, ...]) -> ModelCheck:
    """Check the model with main effects and `pairs` against the observed cell counts."""
    # Both tests depend on the data only through which cells are non-zero: the sufficient
    # statistics of any table with a given support lie in the same face of the marginal cone.
    # Keying the cache on the support makes the bootstrap, whose replicates share a handful of
    # supports, solve each linear program once.
    # The order in which terms entered does not change the model, so it is not part of the key.
    support = np.asarray(counts) > 0
    return _check_support(support.tobytes(), n_lists, tuple(sorted(pairs)))


@lru_cache(maxsize=16384)
def _check_support(support: bytes, n_lists: int, pairs: tuple[Pair, ...]) -> ModelCheck:
    indicator = np.frombuffer(support, dtype=bool).astype(float)
    design = build_design(indicator, n_lists, pairs)
    identifiable = bool(np.linalg.matrix_rank(design.matrix) == design.matrix.shape[1])
    return ModelCheck(has_positive_solution(design.matrix, indicator[design.kept]), identifiable)


def has_positive_solution(matrix: np.ndarray | sparse.spmatrix, observed: np.ndarray) -> bool:
    """Is there x > 0 with matrix.T @ x == matrix.T @ observed?

    SparseMSE maximises s subject to A x = A n, x >= s. Writing x = s + z with z >= 0 gives the same
    optimum with equality constraints only: maximise s subject to A (s 1 + z) = A n. A sparse
    `matrix` (the covariate model's) stays sparse for the solver.
    """
    constraints = matrix.T
    statistics = constraints @ observed
    row_sums = np.asarray(constraints.sum(axis=1)).ravel()
    if sparse.issparse(constraints):
        equality = sparse.hstack([sparse.csr_matrix(row_sums[:, None]), constraints], format="csr")
    else:
        equality = np.column_stack([row_sums, constraints])
    objective = np.zeros(equality.shape[1])
    objective[0] = -1.0
    result = linprog(objective, A_eq=equality, b_eq=statistics, bounds=(0, None), method="highs")
    return bool(result.status == 0 and -result.fun > _POSITIVE_MARGIN)
