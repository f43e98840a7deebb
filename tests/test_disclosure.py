"""Disclosure control: an attacker with every published number must not recover a suppressed cell."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.optimize import Bounds, LinearConstraint, milp

from disclosure import DEFAULT_MIN_CELL, Line, neutralise_csv_cell, protect, show_percentage, table_lines


def grid(name: str, counts: np.ndarray) -> tuple[dict, list[Line]]:
    """Keys and values of a table with row, column and grand totals."""
    rows, columns = counts.shape
    cells = [[(name, i, j) for j in range(columns)] for i in range(rows)]
    values = {cells[i][j]: int(counts[i, j]) for i in range(rows) for j in range(columns)}
    row_totals = [("row", i) for i in range(rows)]
    column_totals = [(name, "column", j) for j in range(columns)]
    values |= {row_totals[i]: int(counts[i].sum()) for i in range(rows)}
    values |= {column_totals[j]: int(counts[:, j].sum()) for j in range(columns)}
    values[("grand",)] = int(counts.sum())
    return values, table_lines(cells, row_totals, column_totals, ("grand",))


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


def random_counts(seed: int) -> np.ndarray:
    """Small registry-like tables: many empty and small cells beside a few large ones."""
    rng = np.random.default_rng(seed)
    shape = tuple(rng.integers(2, 7, size=2))
    return rng.choice([0, 0, 1, 2, 3, 5, 8, 9, 12, 30, 150], size=shape)


@pytest.mark.parametrize("seed", range(40))
def test_no_suppressed_cell_can_be_recovered_from_the_margins(seed: int) -> None:
    values, lines = grid("t", random_counts(seed))
    hidden = protect(values, lines)
    published = {key: value for key, value in values.items() if key not in hidden}
    assert not [value for value in published.values() if 0 < value < DEFAULT_MIN_CELL]
    for key, (least, most) in attack(values, lines, hidden).items():
        assert least < most, f"cell {key} recovered as {least}"
        assert least <= values[key] <= most
    assert rank_attack(values, lines, hidden) == set()


@pytest.mark.parametrize("seed", range(15))
def test_linked_tables_do_not_give_each_other_away(seed: int) -> None:
    """A one-way table that repeats a margin of a two-way table shares its cells' keys."""
    counts = random_counts(seed)
    values, lines = grid("t", counts)
    # The same row totals published again as a one-way table with the same grand total.
    lines += table_lines([[("row", i)] for i in range(counts.shape[0])], None, [("grand",)], None)
    hidden = protect(values, lines)
    assert all(least < most for least, most in attack(values, lines, hidden).values())


def test_a_lone_small_cell_takes_a_partner_in_every_line() -> None:
    counts = np.array([[20, 30, 3], [40, 50, 60], [25, 35, 45]])
    values, lines = grid("t", counts)
    hidden = protect(values, lines)
    assert ("t", 0, 2) in hidden
    # Row 0 and column 2 each need a second suppressed cell, and so does the crossing line.
    assert len([key for key in hidden if key[0] == "t" and len(key) == 3]) >= 4
    assert ("grand",) not in hidden


def test_min_cell_zero_publishes_everything() -> None:
    values, lines = grid("t", np.array([[1, 2], [3, 4]]))
    assert protect(values, lines, min_cell=0) == frozenset()


def test_small_totals_are_suppressed_too() -> None:
    values, lines = grid("t", np.array([[1, 0], [2, 0]]))
    hidden = protect(values, lines)
    assert {key for key, value in values.items() if value > 0} <= hidden


def test_percentages_need_a_large_denominator() -> None:
    assert not show_percentage(30, 10)
    assert show_percentage(50, 10)
    assert show_percentage(3, 0)
    assert not show_percentage(0, 0)


@pytest.mark.parametrize("text", ["=1+1", "+31", "-2", "@SUM(A1)", "\tx", "\rx"])
def test_formula_starts_are_neutralised(text: str) -> None:
    assert neutralise_csv_cell(text) == "'" + text


def test_plain_values_pass() -> None:
    assert neutralise_csv_cell("Noord-Holland") == "Noord-Holland"
    assert neutralise_csv_cell(-3) == -3
