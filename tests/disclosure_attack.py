"""An attacker on published tables, written apart from the disclosure module it tests."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from published_tables import FOLDED, OTHER, ReadTable
from scipy.optimize import Bounds, LinearConstraint, milp
from scipy.sparse import csr_array

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
        least, most = (_optimum(sign * objective, constraint, bounds) for sign in (1, -1))
        found[key] = (least, -most)
    return found


def _optimum(objective: np.ndarray, constraint, bounds: Bounds) -> int:
    """The least value of the objective over whole numbers."""
    return round(objective @ _whole_solution(objective, constraint, bounds))


def _whole_solution(objective: np.ndarray, constraint, bounds: Bounds) -> np.ndarray:
    """A whole-numbered point that minimises the objective. The linear relaxation first: when its
    optimum is a whole-numbered point it is the integer optimum too."""
    relaxed = milp(objective, constraints=constraint, bounds=bounds)
    if relaxed.success and np.allclose(relaxed.x, np.round(relaxed.x), atol=1e-6):
        return np.round(relaxed.x)
    exact = milp(objective, constraints=constraint, bounds=bounds, integrality=np.ones(len(objective)))
    assert exact.success
    return np.round(exact.x)


def pinned_sums(sums: dict, actual: dict, constraints, bounds: Bounds) -> list:
    """The named sums (vectors over the variables) that take their actual value in every
    whole-numbered solution. Exact: the actual values are one solution, so a sum is free as soon
    as any solution gives it another value. Two solutions that push every open sum up, then down,
    free most of them at once; each sum left is then minimised and maximised on its own."""
    open_sums = dict(sums)

    def free_by(objective: np.ndarray) -> None:
        solution = _whole_solution(objective, constraints, bounds)
        for name, vector in list(open_sums.items()):
            if round(vector @ solution) != actual[name]:
                del open_sums[name]

    for direction in (1.0, -1.0):
        if open_sums:
            free_by(direction * np.sum(list(open_sums.values()), axis=0))
    pinned = []
    while open_sums:
        name, vector = next(iter(open_sums.items()))
        free_by(vector)
        if name in open_sums:
            free_by(-vector)
        if name in open_sums:
            pinned.append(name)
            del open_sums[name]
    return pinned


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


# --- An attacker holding several published reports of one year --------------------------------

REST = "<rest>"


@dataclass
class Released:
    """One published report as read back from its files; reports of the same data share a state."""

    state: int
    tables: list[ReadTable]


@dataclass
class Verdict:
    """What the attacker pinned: suppressed cells (state, identities covered, value) and changes
    between two states of a cell (identity, earlier state, later state, change)."""

    cells: list[tuple[int, tuple, int]]
    changes: list[tuple[tuple, int, int, int]]


def _replace(identity: tuple, dimension: str, code: str) -> tuple:
    measure, year, pairs = identity
    return (measure, year, tuple(sorted((name, code if name == dimension else old) for name, old in pairs)))


class _Model:
    """Variables are the finest cells the releases let the attacker name, per state: every
    category named anywhere, and REST for the countries never named. "other" in a table is the sum
    of the countries that table does not name."""

    def __init__(self, releases: list[Released]) -> None:
        self.named: dict[str, set[str]] = {}
        for release in releases:
            for table in release.tables:
                for dimension, codes in table.named.items():
                    self.named.setdefault(dimension, set()).update(code for code in codes if code != OTHER)
        self.index: dict[tuple, int] = {}
        self.rows: list[tuple[dict[int, float], float, float]] = []

    def variable(self, state: int, identity: tuple) -> int:
        return self.index.setdefault((state, identity), len(self.index))

    def expression(self, state: int, identity: tuple, table: ReadTable) -> dict[int, float]:
        variants = [identity]
        for dimension, code in identity[2]:
            if code == OTHER:
                covered = sorted(self.named[dimension] - set(table.named.get(dimension, []))) + [REST]
                variants = [_replace(variant, dimension, each) for variant in variants for each in covered]
        return {self.variable(state, variant): 1.0 for variant in variants}

    def add(self, terms: list[tuple[dict[int, float], float]], least: float, most: float) -> None:
        row: dict[int, float] = {}
        for expression, sign in terms:
            for variable, coefficient in expression.items():
                row[variable] = row.get(variable, 0.0) + sign * coefficient
        row = {variable: value for variable, value in row.items() if value}
        if row:
            self.rows.append((row, least, most))


def _table_lines(table: ReadTable) -> list[tuple[tuple[int, int], list[tuple[int, int]]]]:
    """(total, parts) positions of a table's rows and columns."""
    lines = []
    rows = sorted({row for row, _ in table.cells})
    columns = sorted({column for _, column in table.cells})
    if table.total_column is not None:
        for row in rows:
            lines.append(((row, table.total_column), [(row, column) for column in columns if column != table.total_column]))
    if table.total_row is not None:
        for column in columns:
            lines.append(((table.total_row, column), [(row, column) for row in rows if row != table.total_row]))
    return lines


def _rank_segments(releases: list[Released]) -> list[tuple[str, int, list[str], int]]:
    """Per folded dimension, the countries each release names first, in its order: they are ranked by
    persons in the data that release was made from (ties by code)."""
    found = []
    for dimension in FOLDED:
        seen: list[str] = []
        for release in releases:
            for table in release.tables:
                if table.name != dimension:
                    continue
                named = [code for code in table.named[dimension] if code not in (OTHER, "UNK")]
                year = next(iter(table.cells.values()))[0][1]
                if len(named) > len(seen):
                    found.append((dimension, release.state, named[len(seen) :], year))
                    seen = named
    return found


def attack_releases(releases: list[Released], change_bounds: dict | None = None) -> Verdict:
    """Every suppressed cell of every release, and every change of a cell between two states,
    that the published numbers together pin to one value.

    `change_bounds` is what the attacker knows of how the data changed: {(earlier, later):
    {measure: (least, most)}} for the change of every cell (after one erasure, (-1, 0) for persons).
    A change of a year's total is published on purpose and not reported.
    """
    model = _Model(releases)
    suppressed: dict[frozenset, tuple[int, tuple, dict]] = {}
    by_state: dict[int, dict[tuple, dict]] = {}
    # The rows of each dimension's table in the first release that showed it: in rows shown only
    # later, the methods say, zeros of crossings are suppressed too.
    first_rows: dict[str, tuple[set[str], list[str]]] = {}
    for release in releases:
        for table in release.tables:
            rows = {identity[2][0][1] for identity, _ in table.cells.values() if len(identity[2]) == 1 and identity[2][0][0] == table.name}
            if rows and table.name not in first_rows:
                first_rows[table.name] = (rows, table.named.get(table.name, []))

    def fresh(identity: tuple, table: ReadTable) -> bool:
        if len(identity[2]) != 2:
            return False
        for dimension, code in identity[2]:
            if dimension not in first_rows:
                continue
            rows, named = first_rows[dimension]
            if code not in rows or (code == OTHER and table.named.get(dimension) != named):
                return True
        return False

    for release in releases:
        for table in release.tables:
            expressions = {
                position: model.expression(release.state, identity, table) for position, (identity, _) in table.cells.items()
            }
            for position, (identity, value) in table.cells.items():
                expression = expressions[position]
                if value is None:
                    model.add([(expression, 1.0)], 0.0 if fresh(identity, table) else 1.0, np.inf)
                    suppressed.setdefault(frozenset(expression.items()), (release.state, identity, expression))
                else:
                    model.add([(expression, 1.0)], value, value)
                signature = (identity, tuple(sorted((name, tuple(codes)) for name, codes in table.named.items())))
                by_state.setdefault(release.state, {})[signature] = expression
            for total, parts in _table_lines(table):
                model.add([(expressions[total], 1.0), *((expressions[part], -1.0) for part in parts)], 0.0, 0.0)
    for dimension, state, codes, year in _rank_segments(releases):
        for larger, smaller in zip(codes, codes[1:], strict=False):
            model.add(
                [
                    ({model.variable(state, ("persons", year, ((dimension, larger),))): 1.0}, 1.0),
                    ({model.variable(state, ("persons", year, ((dimension, smaller),))): 1.0}, -1.0),
                ],
                1.0 if larger > smaller else 0.0,
                np.inf,
            )
    # Every person of a category has at least one registration in it.
    for (state, identity), variable in list(model.index.items()):
        twin = (state, ("registrations", *identity[1:]))
        if identity[0] == "persons" and twin in model.index:
            model.add([({model.index[twin]: 1.0}, 1.0), ({variable: 1.0}, -1.0)], 0.0, np.inf)
    changes = []
    for (earlier, later), bounds in (change_bounds or {}).items():
        for (state, identity), variable in list(model.index.items()):
            if state == earlier and (later, identity) in model.index:
                least, most = bounds[identity[0]]
                model.add([({model.index[later, identity]: 1.0}, 1.0), ({variable: 1.0}, -1.0)], least, most)
        for signature, expression in by_state.get(later, {}).items():
            if signature in by_state.get(earlier, {}) and signature[0][2]:
                difference = dict(expression)
                for variable, coefficient in by_state[earlier][signature].items():
                    difference[variable] = difference.get(variable, 0.0) - coefficient
                changes.append((signature[0], earlier, later, difference))
    questions = [expression for _, _, expression in suppressed.values()] + [difference for *_, difference in changes]
    pinned = _pinned(model, questions)
    cells = [(state, identity, pinned[index]) for index, (state, identity, _) in enumerate(suppressed.values()) if index in pinned]
    offset = len(suppressed)
    moved = [
        (identity, earlier, later, pinned[offset + index])
        for index, (identity, earlier, later, _) in enumerate(changes)
        if offset + index in pinned and pinned[offset + index] != 0
    ]
    return Verdict(cells, moved)


def _pinned(model: _Model, questions: list[dict[int, float]]) -> dict[int, int]:
    """The questions (linear forms) that take one value in every solution, with that value. Exact:
    a form is pinned when its least and greatest value over the whole-numbered solutions agree."""
    size = len(model.index)
    data, rows, columns, lower, upper = [], [], [], [], []
    for number, (row, least, most) in enumerate(model.rows):
        for variable, value in row.items():
            data.append(value)
            rows.append(number)
            columns.append(variable)
        lower.append(least)
        upper.append(most)
    constraint = LinearConstraint(csr_array((data, (rows, columns)), shape=(len(model.rows), size)), lower, upper)
    bounds = Bounds(np.zeros(size), np.full(size, 1e6))
    vectors = []
    for question in questions:
        vector = np.zeros(size)
        for variable, value in question.items():
            vector[variable] += value
        vectors.append(vector)

    def solve(objective: np.ndarray) -> np.ndarray:
        result = milp(objective, constraints=constraint, bounds=bounds)
        if not (result.success and np.allclose(result.x, np.round(result.x), atol=1e-6)):
            result = milp(objective, constraints=constraint, bounds=bounds, integrality=np.ones(size))
        assert result.success, "the releases contradict each other"
        return np.round(result.x)

    # Cells a published value fixes on its own need no solving.
    fixed: dict[int, float] = {}
    for row, least, most in model.rows:
        if len(row) == 1 and least == most:
            (variable, coefficient), = row.items()
            fixed[variable] = least / coefficient
    pool = [solve(np.zeros(size))]
    # A few solutions pushed in random directions free most quantities at once.
    generator = np.random.default_rng(0)
    open_vectors = [vector for vector in vectors if not all(variable in fixed for variable in np.flatnonzero(vector))]
    for _ in range(6 if open_vectors else 0):
        weights = generator.choice([-1.0, 1.0], size=len(open_vectors))
        pool.append(solve(np.sum([weight * vector for weight, vector in zip(weights, open_vectors, strict=True)], axis=0)))
    pinned = {}
    for index, vector in enumerate(vectors):
        seen = {round(vector @ solution) for solution in pool}
        if all(variable in fixed for variable in np.flatnonzero(vector)):
            pinned[index] = seen.pop()
            continue
        for direction in (-1.0, 1.0):
            if len(seen) > 1:
                break
            pool.append(solve(direction * vector))
            seen.add(round(vector @ pool[-1]))
        if len(seen) == 1:
            pinned[index] = seen.pop()
    return pinned
