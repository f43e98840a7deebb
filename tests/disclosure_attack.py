"""An attacker on published tables, written apart from the disclosure module it tests."""

from __future__ import annotations

import numpy as np
from scipy.optimize import Bounds, LinearConstraint, milp

from disclosure import Line


def attack(values: dict, lines: list[Line], hidden: frozenset) -> dict:
    """An attacker written apart from the module: one variable per cell of the publication.

    Published cells are fixed to their value, suppressed cells are whole numbers from 1 up (zeros
    are never suppressed, so the attacker may know that), and every line holds. Returns the
    least and greatest value each suppressed cell can take.
    """
    keys = list(values)
    position = {key: index for index, key in enumerate(keys)}
    matrix = np.zeros((len(lines), len(keys)))
    for row, line in enumerate(lines):
        matrix[row, position[line.total]] = 1
        for part in line.parts:
            matrix[row, position[part]] -= 1
    low = np.array([1.0 if key in hidden else values[key] for key in keys])
    high = np.array([1e6 if key in hidden else values[key] for key in keys])
    constraint = LinearConstraint(matrix, 0, 0)
    found = {}
    for key in hidden:
        objective = np.zeros(len(keys))
        objective[position[key]] = 1
        bounds = Bounds(low, high)
        least = milp(objective, constraints=constraint, bounds=bounds, integrality=np.ones(len(keys)))
        most = milp(-objective, constraints=constraint, bounds=bounds, integrality=np.ones(len(keys)))
        assert least.success and most.success
        found[key] = (round(least.fun), round(-most.fun))
    return found


def rank_attack(values: dict, lines: list[Line], hidden: frozenset) -> set:
    """Linear algebra alone: a cell is determined when its unit vector lies in the row space."""
    unknowns = sorted(hidden, key=repr)
    matrix = np.array(
        [
            [(1 if key == line.total else 0) - line.parts.count(key) for key in unknowns]
            for line in lines
        ],
        dtype=float,
    )
    rank = np.linalg.matrix_rank(matrix) if unknowns else 0
    determined = set()
    for index, key in enumerate(unknowns):
        unit = np.zeros((1, len(unknowns)))
        unit[0, index] = 1
        if np.linalg.matrix_rank(np.vstack([matrix, unit])) == rank:
            determined.add(key)
    return determined
