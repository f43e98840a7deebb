"""Primary and secondary cell suppression over linked tables of counts.

Cells are identified by hashable keys, so a cell that appears in several tables (the persons
with labour exploitation in 2024 are a row of the form table and the row total of the form by
gender table) is one unknown everywhere. A `Line` says that a published total is the sum of its
parts: every row and column of a table with margins, and the margins themselves (the row totals
add up to the grand total: totals of totals).

The rule: a cell from 1 to K-1 is suppressed (primary); then further cells are suppressed
(secondary) until an attacker who knows every published value, every line, and that every
suppressed cell is a whole number of at least 1 cannot pin any suppressed cell to one value.
The attacker is an integer program (scipy's HiGHS), the strongest there is for this knowledge.
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np
from scipy.optimize import Bounds, LinearConstraint, milp

DEFAULT_MIN_CELL = 10
# A percentage of a small denominator reveals small cells as surely as the cell itself.
MIN_PERCENTAGE_BASE = 50

Key = Hashable


@dataclass(frozen=True)
class Line:
    """A published equation: `total` is the sum of `parts`."""

    total: Key
    parts: tuple[Key, ...]


def _primary(values: Mapping[Key, int], min_cell: int) -> set[Key]:
    return {key for key, value in values.items() if 0 < value < min_cell}


def _cheapest(values: Mapping[Key, int], candidates: Iterable[Key], hidden: set[Key]) -> Key | None:
    """The smallest non-zero published cell of the candidates: the least information lost.

    Zeros are never suppressed (the attacker may then assume every suppressed cell is at least 1).
    """
    open_cells = [key for key in candidates if key not in hidden and values[key] > 0]
    return min(open_cells, key=lambda key: (values[key], repr(key))) if open_cells else None


def _hide_one_more(values: Mapping[Key, int], line: Line, hidden: set[Key]) -> bool:
    """Suppress one more cell of the line: a part if possible, else its total."""
    choice = _cheapest(values, line.parts, hidden) or _cheapest(values, [line.total], hidden)
    if choice is None:
        return False
    hidden.add(choice)
    return True


def _close_single_gaps(values: Mapping[Key, int], lines: Sequence[Line], hidden: set[Key]) -> None:
    """No line may hold exactly one suppressed cell: it would be its total minus the others."""
    changed = True
    while changed:
        changed = False
        for line in lines:
            members = (line.total, *line.parts)
            if sum(key in hidden for key in members) == 1:
                changed |= _hide_one_more(values, line, hidden)


def _components(lines: Sequence[Line], hidden: set[Key]) -> list[tuple[frozenset, list[Line]]]:
    """Groups of suppressed cells tied together by shared lines, each with the lines that touch it.

    Groups share no line, so each can be attacked on its own: smaller integer programs, and a group
    unchanged since the last round need not be attacked again.
    """
    parent = {key: key for key in hidden}

    def root(key: Key) -> Key:
        while parent[key] != key:
            parent[key] = parent[parent[key]]
            key = parent[key]
        return key

    touching = []
    for line in lines:
        members = [key for key in (line.total, *line.parts) if key in hidden]
        if members:
            touching.append((line, members))
            for other in members[1:]:
                parent[root(other)] = root(members[0])
    groups: dict[Key, tuple[set, list[Line]]] = {}
    for key in hidden:
        groups.setdefault(root(key), (set(), []))[0].add(key)
    for line, members in touching:
        groups[root(members[0])][1].append(line)
    return [(frozenset(keys), group_lines) for keys, group_lines in groups.values()]


def _attack_group(values: Mapping[Key, int], lines: Sequence[Line], unknowns: frozenset, upper: int) -> dict[Key, tuple[int, int]]:
    ordered = sorted(unknowns, key=repr)
    index = {key: position for position, key in enumerate(ordered)}
    rows, right = [], []
    for line in lines:
        row = np.zeros(len(ordered))
        constant = 0.0
        # total - sum(parts) = 0, with published values moved to the right-hand side.
        for key, sign in ((line.total, 1.0), *((part, -1.0) for part in line.parts)):
            if key in index:
                row[index[key]] += sign
            else:
                constant -= sign * values[key]
        if row.any():
            rows.append(row)
            right.append(constant)
    bounds = Bounds(np.ones(len(ordered)), np.full(len(ordered), upper))
    constraints = [LinearConstraint(np.array(rows), right, right)] if rows else []
    integrality = np.ones(len(ordered))
    result = {}
    for key, position in index.items():
        objective = np.zeros(len(ordered))
        objective[position] = 1.0
        low = milp(objective, constraints=constraints, bounds=bounds, integrality=integrality)
        high = milp(-objective, constraints=constraints, bounds=bounds, integrality=integrality)
        if not (low.success and high.success):
            raise RuntimeError("the published lines are inconsistent with the counts")
        result[key] = (round(low.fun), round(-high.fun))
    return result


def intervals(
    values: Mapping[Key, int],
    lines: Sequence[Line],
    hidden: Iterable[Key],
    _memory: dict | None = None,
) -> dict[Key, tuple[int, int]]:
    """For each suppressed cell, the least and greatest whole value consistent with what is published."""
    # A bound the attacker could state too (no cell exceeds everything published put together);
    # it keeps the integer programs bounded.
    upper = sum(values.values()) + 1
    memory = {} if _memory is None else _memory
    result: dict[Key, tuple[int, int]] = {}
    for unknowns, group_lines in _components(lines, set(hidden)):
        if unknowns not in memory:
            memory[unknowns] = _attack_group(values, group_lines, unknowns, upper)
        result |= memory[unknowns]
    return result


def recoverable(
    values: Mapping[Key, int], lines: Sequence[Line], hidden: Iterable[Key], _memory: dict | None = None
) -> set[Key]:
    """Suppressed cells whose value follows exactly from the published values and lines."""
    return {key for key, (low, high) in intervals(values, lines, hidden, _memory).items() if low == high}


def protect(values: Mapping[Key, int], lines: Sequence[Line], min_cell: int = DEFAULT_MIN_CELL) -> frozenset[Key]:
    """The cells to suppress so that none from 1 to `min_cell`-1 is published or recoverable.

    `min_cell` 0 (or 1) publishes everything: for internal use only.
    """
    if min_cell <= 1:
        return frozenset()
    hidden = _primary(values, min_cell)
    lines_of: dict[Key, list[Line]] = {}
    for line in lines:
        for key in (line.total, *line.parts):
            lines_of.setdefault(key, []).append(line)
    memory: dict = {}
    while True:
        _close_single_gaps(values, lines, hidden)
        exposed = recoverable(values, lines, hidden, memory)
        if not exposed:
            return frozenset(hidden)
        progress = False
        for key in sorted(exposed, key=repr):
            # Widen the cell's own lines first: one more unknown there breaks the equation.
            for line in lines_of.get(key, []):
                if _hide_one_more(values, line, hidden):
                    progress = True
                    break
        if not progress:
            # The exposed cells' own lines are hidden whole: widen any line that holds a hidden cell.
            touching = [line for line in lines if any(key in hidden for key in (line.total, *line.parts))]
            if not any(_hide_one_more(values, line, hidden) for line in touching):
                raise RuntimeError("cannot protect the tables: every non-zero cell is already suppressed")


def show_percentage(denominator: int | None, min_cell: int) -> bool:
    """Whether a share of `denominator` may be published at this suppression level."""
    if denominator is None or denominator <= 0:
        return False
    return min_cell <= 1 or denominator >= max(MIN_PERCENTAGE_BASE, 5 * min_cell)


def table_lines(
    cells: Sequence[Sequence[Key]],
    row_totals: Sequence[Key] | None = None,
    column_totals: Sequence[Key] | None = None,
    grand_total: Key | None = None,
) -> list[Line]:
    """The equations a table with margins publishes: rows, columns, and the margins' own sums."""
    lines = []
    if row_totals is not None:
        lines += [Line(total, tuple(row)) for total, row in zip(row_totals, cells, strict=True)]
        if grand_total is not None:
            lines.append(Line(grand_total, tuple(row_totals)))
    if column_totals is not None:
        columns = list(zip(*cells, strict=True)) if cells else []
        lines += [Line(total, tuple(column)) for total, column in zip(column_totals, columns, strict=True)]
        if grand_total is not None:
            lines.append(Line(grand_total, tuple(column_totals)))
    return lines
