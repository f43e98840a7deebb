"""Disclosure control: an attacker with every published number must not recover a suppressed cell."""

from __future__ import annotations

import numpy as np
import pytest
from disclosure_attack import attack, rank_attack

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


def test_a_program_the_solver_s_presolve_calls_infeasible_is_still_solved() -> None:
    # The attacker's program of a demo report (one cell per column, published lines as rows):
    # feasible, since the true counts solve it, yet scipy's HiGHS's presolve declared it infeasible.
    from pathlib import Path

    from scipy.optimize import Bounds
    from scipy.sparse import csc_array

    from disclosure.attacker import _Program

    stored = np.load(Path(__file__).parent / "data" / "highs_presolve_infeasible.npz")
    program = _Program(csc_array(stored["matrix"]), stored["lower"], stored["upper"], Bounds(stored["low"], stored["high"]))
    for objective in (stored["objective"], -stored["objective"]):
        relaxed = program.solution(objective, np.inf)
        # The integer program itself too (presolved and, if need be, again without presolve).
        for solution in (relaxed, program._integer()):
            assert solution is not None and np.array_equal(solution, np.round(solution))
            matrix = stored["matrix"] @ solution
            assert np.all(matrix >= stored["lower"] - 1e-9) and np.all(matrix <= stored["upper"] + 1e-9)
            assert np.all(solution >= stored["low"]) and np.all(solution <= stored["high"])


@pytest.mark.parametrize("seed", range(25))
def test_the_attacker_pins_exactly_what_every_whole_numbered_solution_agrees_on(seed: int) -> None:
    """`Knowledge.pinned` against all solutions enumerated. Random sums over overlapping cells
    (not a table's margins alone, whose relaxations have whole-numbered corners only), a few
    cells and totals unknown, each unknown a whole number from its floor to the ceiling."""
    from disclosure.attacker import Knowledge, cell

    rng = np.random.default_rng(seed)
    values = {("c", i): int(value) for i, value in enumerate(rng.choice([0, 1, 1, 2, 3], size=6))}
    lines = []
    for number in range(6):
        parts = tuple(("c", int(i)) for i in rng.choice(6, size=int(rng.integers(2, 4)), replace=False))
        values[("sum", number)] = sum(values[part] for part in parts)
        lines.append(Line(("sum", number), parts))
    keys = sorted(values, key=repr)
    hidden = [keys[i] for i in rng.choice(len(keys), size=6, replace=False)]
    floors = {(0, key): (0 if values[key] == 0 else 1) for key in hidden}
    ceiling = max(values[key] for key in hidden) + 2
    knowledge = Knowledge(
        truth={(0, key): value for key, value in values.items()}, floors=floors, ceilings={0: ceiling}, lines=[(0, line) for line in lines]
    )
    ranges = [np.arange(floors[0, key], ceiling + 1) for key in hidden]
    guesses = np.stack([axis.ravel() for axis in np.meshgrid(*ranges, indexing="ij")], axis=1)
    position = {key: index for index, key in enumerate(hidden)}

    def side(keys: list) -> np.ndarray:
        return sum((guesses[:, position[key]] if key in position else values[key]) for key in keys)

    holds = np.ones(len(guesses), dtype=bool)
    for line in lines:
        holds &= side([line.total]) == side(list(line.parts))
    solutions = guesses[holds]
    assert any((solution == [values[key] for key in hidden]).all() for solution in solutions)
    expected = {cell(0, key) for key in hidden if len(set(solutions[:, position[key]])) == 1}
    assert knowledge.pinned([cell(0, key) for key in hidden]) == expected


def test_a_fractional_relaxation_is_settled_by_the_integer_program() -> None:
    """x + y, y + z and x + z at most 1 each: the relaxation's most for x + y + z is 1.5 at
    (1/2, 1/2, 1/2), the integers' most is 1. From the truth (0, 0, 0) a solution of 1 exists;
    from (1, 0, 0) nothing goes beyond 1."""
    from scipy.optimize import Bounds
    from scipy.sparse import csc_array

    from disclosure.attacker import _Program

    matrix = csc_array(np.array([[1.0, 1, 0], [0, 1, 1], [1, 0, 1]]))
    program = _Program(matrix, np.full(3, -np.inf), np.ones(3), Bounds(np.zeros(3), np.full(3, 5.0)))
    objective = -np.ones(3)
    found = program.solution(objective, objective @ np.zeros(3))
    assert found is not None and objective @ found == -1 and np.array_equal(found, np.round(found))
    assert program.solution(objective, objective @ np.array([1.0, 0, 0])) is None
