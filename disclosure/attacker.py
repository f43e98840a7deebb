"""The attacker suppression must defeat: an integer program over every release of the same data.

A variable is a cell in one state of the data (`Var` = (state, key)): the releases made from the
same data share a state; a revision (data changed since) is a state of its own. The attacker
knows every published value, every published equation (`Line`) of every state, that suppressed
cells are whole numbers (at least 1, since zeros are never suppressed, unless a cell is known to
be allowed 0), which cells a published ranking puts above which (`Order`), and, between two states, bounds on how much each cell changed (`Change`): after
one erasure, for instance, that no cell grew and none shrank by more than one person.

A quantity is protected when it can take at least two values: for a cell, its count; for a
change, the difference of a cell between two states. The true values are always one solution,
so one other solution suffices, and each solution found rules out many quantities at once
(HiGHS solves the programs, through highspy).
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable, Mapping
from dataclasses import dataclass

import highspy
import numpy as np
from scipy.optimize import Bounds
from scipy.sparse import csc_array

from disclosure.lines import Line, Order

Key = Hashable
Var = tuple[int, Key]
# A linear form over variables, as sorted (variable, coefficient) pairs: hashable, so it names
# the quantity it measures.
Form = tuple[tuple[Var, int], ...]


def cell(state: int, key: Key) -> Form:
    """The quantity "this cell in this state"."""
    return (((state, key), 1),)


def change(earlier: int, later: int, key: Key) -> Form:
    """The quantity "how much this cell changed from one state to another"."""
    return tuple(sorted((((later, key), 1), ((earlier, key), -1)), key=repr))


@dataclass(frozen=True)
class Change:
    """What the attacker is assumed to know of the change from state `earlier` to `later`:
    for each key both states hold, the least and greatest change of its value."""

    earlier: int
    later: int
    bounds: Mapping[Key, tuple[int, int]]


@dataclass
class Knowledge:
    """Everything the attacker holds, and the truth the protection is checked against.

    `truth` has every variable; those in `floors` are unknown to the attacker (suppressed, or
    never published) with their least possible value, the rest are published. `ceilings` bound
    the unknowns of each state (no cell exceeds everything published put together).
    """

    truth: Mapping[Var, int]
    floors: Mapping[Var, int]
    ceilings: Mapping[int, int]
    lines: Iterable[tuple[int, Line]]
    changes: Iterable[Change] = ()
    orders: Iterable[tuple[int, Order]] = ()

    def pinned(self, forms: Iterable[Form], certified: set[Form] | None = None) -> set[Form]:
        """The forms that take their true value in every solution.

        Forms in `certified` are known to take two values already and are skipped; every form found
        to take two values is added to it (a set of suppressed cells only grows, and more unknowns
        never pin a form that was free, so a certificate stays valid).
        """
        certified = set() if certified is None else certified
        todo = [form for form in dict.fromkeys(forms) if form not in certified]
        if not todo:
            return set()
        system = _System(self)
        pinned: set[Form] = set()
        for variables, group in system.components(todo):
            if not variables:
                pinned |= set(group)
                continue
            free = system.solve_component(variables, group)
            certified |= free
            pinned |= set(group) - free
        return pinned


class InconsistentLines(RuntimeError):
    """The attacker's program has no solution: the published equations contradict the counts."""


class _Program:
    """The program of one group of unknowns, kept in HiGHS between objectives: each solve starts
    from the last optimal basis instead of building and presolving the model again."""

    def __init__(self, matrix: csc_array | None, lower: np.ndarray, upper: np.ndarray, bounds: Bounds) -> None:
        # highspy's `Highs` prints a banner to the process's standard output as it is built; the
        # core class prints nothing once its output is switched off, before any other call.
        self.highs = highspy._Highs()
        self.highs.setOptionValue("output_flag", False)
        size = len(bounds.lb)
        model = highspy.HighsLp()
        model.num_col_ = size
        model.col_cost_ = np.zeros(size)
        model.col_lower_ = np.asarray(bounds.lb, dtype=float)
        model.col_upper_ = np.asarray(bounds.ub, dtype=float)
        if matrix is not None:
            model.num_row_ = matrix.shape[0]
            model.row_lower_ = lower
            model.row_upper_ = upper
            model.a_matrix_.format_ = highspy.MatrixFormat.kColwise
            model.a_matrix_.num_col_ = size
            model.a_matrix_.num_row_ = matrix.shape[0]
            model.a_matrix_.start_ = matrix.indptr
            model.a_matrix_.index_ = matrix.indices
            model.a_matrix_.value_ = matrix.data
        self.highs.passModel(model)
        self.columns = np.arange(size, dtype=np.int32)

    def solution(self, objective: np.ndarray, bound: float) -> np.ndarray | None:
        """A whole-numbered solution that minimises `objective`, or None when none can go below
        `bound`: objectives and bounds are whole numbers here, so a linear relaxation whose optimum
        is not below `bound - 1/2` rules that out without solving the integer program."""
        self.highs.changeColsCost(len(self.columns), self.columns, objective)
        relaxed = self._run()
        if relaxed is None:
            raise InconsistentLines("the published lines are inconsistent with the counts")
        if np.abs(relaxed - np.round(relaxed)).max() <= 1e-6:
            # A whole-numbered optimum of the relaxation is one of the integer program too.
            return np.round(relaxed)
        if objective @ relaxed >= bound - 0.5:
            return None
        return self._integer()

    def _integer(self) -> np.ndarray:
        self.highs.changeColsIntegrality(
            len(self.columns), self.columns, np.full(len(self.columns), highspy.HighsVarType.kInteger)
        )
        try:
            # The true counts are always a solution, so a program declared infeasible is the
            # solver's mistake: presolve has been seen to make it (tests/data/highs_presolve_infeasible.npz).
            for presolve in ("choose", "off"):
                self.highs.setOptionValue("presolve", presolve)
                solution = self._run()
                if solution is not None:
                    return np.round(solution)
            raise InconsistentLines("the published lines are inconsistent with the counts")
        finally:
            self.highs.setOptionValue("presolve", "choose")
            self.highs.changeColsIntegrality(
                len(self.columns), self.columns, np.full(len(self.columns), highspy.HighsVarType.kContinuous)
            )

    def _run(self) -> np.ndarray | None:
        self.highs.run()
        if self.highs.getModelStatus() != highspy.HighsModelStatus.kOptimal:
            return None
        return np.asarray(self.highs.getSolution().col_value)


class _System:
    """The rows and bounds over the unknown variables, with published values moved to the right."""

    def __init__(self, knowledge: Knowledge) -> None:
        self.truth = knowledge.truth
        self.low = dict(knowledge.floors)
        self.high = {var: knowledge.ceilings[var[0]] for var in self.low}
        self.rows: list[tuple[dict[Var, float], float, float]] = []
        for state, line in knowledge.lines:
            self._equation(state, line)
        for state, order in knowledge.orders:
            self._order(state, order)
        for step in knowledge.changes:
            self._change(step)
        self.rows_of: dict[Var, list[int]] = {}
        for number, (coefficients, _, _) in enumerate(self.rows):
            for var in coefficients:
                self.rows_of.setdefault(var, []).append(number)

    def _split(self, state: int, terms: Iterable[tuple[Key, float]]) -> tuple[dict[Var, float], float]:
        """A sum of signed cells of one state, split into the unknowns' coefficients and the
        value of its published cells (which the row moves to its other side)."""
        coefficients: dict[Var, float] = {}
        published = 0.0
        for key, sign in terms:
            var = (state, key)
            if var in self.low:
                coefficients[var] = coefficients.get(var, 0.0) + sign
            else:
                published += sign * self.truth[var]
        return {var: value for var, value in coefficients.items() if value}, published

    def _equation(self, state: int, line: Line) -> None:
        # total - sum(parts) = 0
        coefficients, published = self._split(state, ((line.total, 1.0), *((part, -1.0) for part in line.parts)))
        if coefficients:
            self.rows.append((coefficients, -published, -published))

    def _order(self, state: int, order: Order) -> None:
        # larger - smaller >= gap
        coefficients, published = self._split(state, ((order.larger, 1.0), (order.smaller, -1.0)))
        if coefficients:
            self.rows.append((coefficients, float(order.gap) - published, np.inf))

    def _change(self, step: Change) -> None:
        for key, (least, most) in step.bounds.items():
            before, after = (step.earlier, key), (step.later, key)
            if before in self.low and after in self.low:
                self.rows.append(({after: 1.0, before: -1.0}, float(least), float(most)))
            elif after in self.low:
                self._narrow(after, self.truth[before] + least, self.truth[before] + most)
            elif before in self.low:
                self._narrow(before, self.truth[after] - most, self.truth[after] - least)

    def _narrow(self, var: Var, least: int, most: int) -> None:
        self.low[var] = max(self.low[var], least)
        self.high[var] = min(self.high[var], most)

    def components(self, forms: list[Form]) -> list[tuple[list[Var], list[Form]]]:
        """Groups of unknowns tied by rows or by a form, each with the forms over it. A form
        without unknowns is a published value: its group has no variables."""
        parent = {var: var for var in self.low}

        def root(var: Var) -> Var:
            while parent[var] != var:
                parent[var] = parent[parent[var]]
                var = parent[var]
            return var

        def join(members: list[Var]) -> None:
            for other in members[1:]:
                parent[root(other)] = root(members[0])

        for coefficients, _, _ in self.rows:
            join(list(coefficients))
        unknown_of = {form: [var for var, _ in form if var in self.low] for form in forms}
        for unknown in unknown_of.values():
            join(unknown)
        groups: dict[Var | None, list[Form]] = {}
        for form, unknown in unknown_of.items():
            groups.setdefault(root(unknown[0]) if unknown else None, []).append(form)
        members: dict[Var, list[Var]] = {}
        for var in self.low:
            top = root(var)
            if top in groups:
                members.setdefault(top, []).append(var)
        return [(sorted(members.get(top, []), key=repr), group) for top, group in groups.items()]

    def solve_component(self, variables: list[Var], forms: list[Form]) -> set[Form]:
        """The forms of this group that take another value than their true one in some solution."""
        index = {var: position for position, var in enumerate(variables)}
        numbers = sorted({number for var in variables for number in self.rows_of.get(var, ())})
        data, row_index, column_index, lower, upper = [], [], [], [], []
        for row, number in enumerate(numbers):
            coefficients, least, most = self.rows[number]
            for var, value in coefficients.items():
                data.append(value)
                row_index.append(row)
                column_index.append(index[var])
            lower.append(least)
            upper.append(most)
        matrix = csc_array((data, (row_index, column_index)), shape=(len(numbers), len(variables))) if numbers else None
        bounds = Bounds(
            np.array([self.low[var] for var in variables], dtype=float), np.array([self.high[var] for var in variables], dtype=float)
        )
        program = _Program(matrix, np.array(lower, dtype=float), np.array(upper, dtype=float), bounds)
        truth = np.array([self.truth[var] for var in variables], dtype=float)
        vectors = {}
        for form in forms:
            vector = np.zeros(len(variables))
            for var, coefficient in form:
                if var in index:
                    vector[index[var]] += coefficient
            vectors[form] = vector
        open_forms = dict(vectors)
        free: set[Form] = set()

        def solve(objective: np.ndarray) -> None:
            # Only a solution that moves the objective off its true value can free the forms it pushes.
            solution = program.solution(objective, objective @ truth)
            if solution is None:
                return
            for form, vector in list(open_forms.items()):
                if abs(vector @ (solution - truth)) > 0.5:
                    free.add(form)
                    del open_forms[form]

        # Push every open quantity up at once, then down: most are freed by these two solutions.
        for direction in (-1.0, 1.0):
            if open_forms:
                solve(direction * sum(open_forms.values()))
        while open_forms:
            form, vector = next(iter(open_forms.items()))
            solve(-vector)
            if form in open_forms:
                solve(vector)
            open_forms.pop(form, None)
        return free
