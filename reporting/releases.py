"""What went out before about a year, and protecting a new release of it jointly with that.

Every recorded cell (`warehouse.publications`) belongs to a state of its year's data, named by
the fingerprint of the year's marts when it went out. Releases of the same state (other `--top`,
language, format or suppression level) are one body of knowledge: a cell published by one of them
is known, and their "other" rows of different sizes are tied together (`other>3` is the 4th to
10th country plus `other>10`). Releases of another state are a revision's predecessors: the
attacker holds their values too, and knows roughly how the data changed in between.

`protect_year` puts all of it in front of the attacker of `disclosure` and suppresses what the
new release must suppress; a release that adds nothing to what its state already published
(another language or format) takes that state's suppressions without solving anything.
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import Connection

from disclosure import Line, Order, Release, protect, table_lines
from reporting.standards import earlier_lines, linked_lines
from reporting.tables import FOLDED, UNKNOWN_COUNTRY, Key, ReportTable, YearCounts, fold_code, fold_size, key, with_category
from warehouse.marts import MEASURES
from warehouse.publications import released_cells

Signature = tuple[str, tuple[str, ...]]


def cell_text(cell: Key) -> str:
    """A cell's identity as stored in `published_cells.cell`."""
    measure, year, pairs = cell
    return json.dumps([measure, year, [list(pair) for pair in pairs]], ensure_ascii=False, separators=(",", ":"))


def _cell_from_text(stored: str) -> Key:
    measure, year, pairs = json.loads(stored)
    return (measure, int(year), tuple((dimension, code) for dimension, code in pairs))


def normal(line: Line) -> Line:
    """A line with its parts in a fixed order: the same equation, whichever table printed it."""
    return Line(line.total, tuple(sorted(line.parts, key=repr)))


def _signature(cell: Key) -> Signature:
    return (cell[0], tuple(dimension for dimension, _ in cell[2]))


def _folded_signature(cell: Key) -> bool:
    return any(dimension in FOLDED for dimension, _ in cell[2])


@dataclass
class State:
    """Everything released from one state of a year's data."""

    fingerprint: str
    last_published: datetime
    values: dict[Key, int] = field(default_factory=dict)
    lines: set[Line] = field(default_factory=set)
    published: set[Key] = field(default_factory=set)
    suppressed: set[Key] = field(default_factory=set)
    # The tables' kinds of cells it printed, with the --top of the release (folded ones depend on it).
    signatures: set[tuple[Signature, int]] = field(default_factory=set)
    # Per folded dimension, the countries named by the release that named most, in its order.
    rankings: dict[str, list[str]] = field(default_factory=dict)


@dataclass
class YearMemory:
    """Every state of one year's data that something was released from, oldest first."""

    year: int
    states: list[State] = field(default_factory=list)
    releases: int = 0
    # Per folded dimension, the countries each release named for the first time, in its order,
    # with the state of the data it ranked them in: (fingerprint, codes), oldest first.
    segments: dict[str, list[tuple[str, list[str]]]] = field(default_factory=dict)
    # Per dimension, the categories of its one-way table in the first release that showed it.
    first_rows: dict[str, set[str]] = field(default_factory=dict)

    def state(self, fingerprint: str) -> State | None:
        return next((state for state in self.states if state.fingerprint == fingerprint), None)

    def kept(self) -> set[Key]:
        """Cells any release suppressed: they stay suppressed."""
        return set().union(*(state.suppressed for state in self.states))

    def rows(self) -> dict[str, set[str]]:
        """Per dimension, the categories its one-way table showed in any release."""
        found: dict[str, set[str]] = {}
        for state in self.states:
            for _, _, pairs in state.values:
                if len(pairs) == 1:
                    found.setdefault(pairs[0][0], set()).add(pairs[0][1])
        return found

    def rankings(self) -> dict[str, list[str]]:
        """Per folded dimension, the countries named in the release that named most, in its order."""
        found: dict[str, list[str]] = {}
        for state in self.states:
            for dimension, named in state.rankings.items():
                if len(named) > len(found.get(dimension, [])):
                    found[dimension] = named
        return found


def read_memory(connection: Connection, years: Iterable[int]) -> dict[int, YearMemory]:
    """What was released about each of the years, from the steward's publication tables."""
    memories = {int(year): YearMemory(int(year)) for year in years}
    meta, cells = released_cells(connection, years)
    states: dict[tuple[int, str], State] = {}
    parsed: dict[str, Key] = {}
    shown: dict[tuple[int, str], set[tuple[Key, int]]] = {}
    publications: dict[int, set[int]] = {}
    seen: dict[frozenset, tuple] = {}
    for (publication, name), rows in itertools.groupby(cells, key=lambda row: (row[0], row[1])):
        published_at, top = meta[publication]
        by_state: dict[tuple[int, str], list[tuple[int, int, str]]] = {}
        for _, _, row, column, stored, year, fingerprint, value, suppressed in rows:
            state = states.get((year, fingerprint))
            if state is None:
                state = states[year, fingerprint] = State(fingerprint, published_at)
                memories[year].states.append(state)
            state.last_published = max(state.last_published, published_at)
            cell = parsed.get(stored)
            if cell is None:
                cell = parsed[stored] = _cell_from_text(stored)
            state.values[cell] = value
            (state.suppressed if suppressed else state.published).add(cell)
            shown.setdefault((year, fingerprint), set()).add((cell, top))
            publications.setdefault(year, set()).add(publication)
            by_state.setdefault((year, fingerprint), []).append((row, column, stored))
        for (year, fingerprint), positions in by_state.items():
            _remember_table(memories[year], states[year, fingerprint], name, positions, parsed, seen)
    for year, memory in memories.items():
        memory.releases = len(publications.get(year, ()))
        for state in memory.states:
            shapes = {cell: _signature(cell) for cell in state.values}
            state.signatures = {(shapes[cell], top) for cell, top in shown[year, state.fingerprint]}
            # The same cell published by one release and suppressed by a later one is known all the same.
            state.suppressed -= state.published
    return memories


def _remember_table(
    memory: YearMemory, state: State, name: str, positions: list[tuple[int, int, str]], parsed: dict[str, Key], seen: dict
) -> None:
    """Take one recorded table into the memory: its equations, its rows, the countries it names."""
    # Languages and formats repeat the same table: what it says is worked out once.
    content = frozenset(positions)
    if content not in seen:
        placed = sorted((row, column, parsed[stored]) for row, column, stored in positions)
        lines = {normal(line) for line in _recorded_lines(placed)}
        rows = {cell[2][0][1] for _, _, cell in placed if len(cell[2]) == 1 and cell[2][0][0] == name}
        named = [cell[2][0][1] for row, column, cell in placed if row >= 0 and column == 0] if name in FOLDED else []
        seen[content] = (lines, rows, [code for code in named if fold_size(code) is None and code != UNKNOWN_COUNTRY])
    lines, rows, named = seen[content]
    state.lines |= lines
    if rows and name not in memory.first_rows:
        memory.first_rows[name] = rows
    if name in FOLDED:
        if len(named) > len(state.rankings.get(name, [])):
            state.rankings[name] = named
        segments = memory.segments.setdefault(name, [])
        known = sum(len(codes) for _, codes in segments)
        if len(named) > known:
            segments.append((state.fingerprint, named[known:]))


def _recorded_lines(positions: list[tuple[int, int, Key]]) -> list[Line]:
    """The equations of a recorded table, from where its cells stood."""
    at = {(row, column): cell for row, column, cell in positions}
    rows = sorted({row for row, _ in at if row >= 0})
    columns = sorted({column for _, column in at if column >= 0})
    cells = [[at[row, column] for column in columns] for row in rows]
    row_totals = [at[row, -1] for row in rows] if all((row, -1) in at for row in rows) and rows else None
    column_totals = [at[-1, column] for column in columns] if all((-1, column) in at for column in columns) and columns else None
    return table_lines(cells, row_totals, column_totals, at.get((-1, -1)))


def _fold_links(cells: Iterable[Key], rankings: dict[str, list[str]], sizes: dict[str, set[int]]) -> list[Line]:
    """`other>n` = the countries ranked n+1 to m + `other>m`, for consecutive sizes n < m, for
    every kind of cell (measure, crossing) that has an "other" row."""
    lines = []
    for dimension in FOLDED:
        order = rankings.get(dimension, [])
        chain = sorted(sizes.get(dimension, ()))
        patterns = {
            with_category(cell, dimension, "*")
            for cell in cells
            if fold_size(dict(cell[2]).get(dimension, "")) is not None
        }
        for pattern in sorted(patterns, key=repr):
            for smaller, larger in zip(chain, chain[1:], strict=False):
                parts = [with_category(pattern, dimension, code) for code in order[smaller:larger]]
                parts.append(with_category(pattern, dimension, fold_code(larger)))
                lines.append(Line(with_category(pattern, dimension, fold_code(smaller)), tuple(parts)))
    return lines


def _fold_sizes(cells: Iterable[Key]) -> dict[str, set[int]]:
    found: dict[str, set[int]] = {}
    for cell in cells:
        for dimension, code in cell[2]:
            size = fold_size(code)
            if size is not None:
                found.setdefault(dimension, set()).add(size)
    return found


def _orders(memory: YearMemory, counts: YearCounts, fingerprint: str, top: int) -> dict[str, list[Order]]:
    """What the order of the named countries tells, per state: the countries a release names for the
    first time are ranked by persons in the state of its data (ties by code), so each is at least
    the next. A release that names more countries than any before adds such a segment now.
    (`_twins` adds what every one-way table tells: persons never exceed registrations.)"""
    found: dict[str, list[Order]] = {}
    for dimension in FOLDED:
        segments = list(memory.segments.get(dimension, []))
        known = sum(len(codes) for _, codes in segments)
        fresh = counts.rankings[dimension][known:top]
        if fresh:
            segments.append((fingerprint, fresh))
        # Consecutive segments ranked in the same state form one ranking.
        chains: list[tuple[str, list[str]]] = []
        for state, codes in segments:
            if chains and chains[-1][0] == state:
                chains[-1][1].extend(codes)
            else:
                chains.append((state, list(codes)))
        for state, codes in chains:
            for larger, smaller in zip(codes, codes[1:], strict=False):
                order = Order(
                    key("persons", counts.year, (dimension, larger)),
                    key("persons", counts.year, (dimension, smaller)),
                    1 if larger > smaller else 0,
                )
                found.setdefault(state, []).append(order)
    return found


def _twins(cells: Iterable[Key]) -> list[Order]:
    """A category never holds more persons than registrations: each person has at least one."""
    present = set(cells)
    return [
        Order(("registrations", *cell[1:]), cell)
        for cell in sorted(present, key=repr)
        if cell[0] == "persons" and ("registrations", *cell[1:]) in present
    ]


def _fresh(memory: YearMemory, cells: Iterable[Key]) -> frozenset:
    """Cells of crossings in a row or column that the year's first release of its table did not show
    (a country named later, an "other" row of another size, a category new in a revision). Their
    zeros are suppressed too: the first release that showed them had no earlier "other" row or
    count to hide them in, a later one has."""
    return frozenset(
        cell
        for cell in cells
        if len(cell[2]) == 2
        and any(dimension in memory.first_rows and code not in memory.first_rows[dimension] for dimension, code in cell[2])
    )


def _earlier_release(
    state: State, memory: YearMemory, rankings: dict[str, list[str]], sizes: dict[str, set[int]], shown: set[Key], top: int, orders: list[Order]
) -> Release:
    """An earlier state as the attacker sees it: its cells, the coarser "other" rows its releases let
    anyone add up, and the zeros it published by leaving a category out of a table."""
    values = dict(state.values)
    own = _fold_sizes(values)
    wanted = {
        dimension: present | {size for size in sizes.get(dimension, ()) if size < max(present)}
        for dimension, present in own.items()
    }
    for line in reversed(_fold_links(values, rankings, wanted)):
        # Largest first: each coarser row is a sum of rows already known.
        if line.total not in values and all(part in values for part in line.parts):
            values[line.total] = sum(values[part] for part in line.parts)
    lines = set(state.lines) | {
        normal(line) for line in _fold_links(values, rankings, wanted) if all(cell in values for cell in (line.total, *line.parts))
    }
    # A delivery of the state (`reporting.standards`): what ties its cells to the report's.
    lines |= {normal(line) for line in earlier_lines(values)}
    published = set(state.published)
    signatures = {signature for signature, _ in state.signatures}
    for cell in shown - values.keys():
        signature = _signature(cell)
        if (signature, top) in state.signatures or (not _folded_signature(cell) and signature in signatures):
            values[cell] = 0
            published.add(cell)
    usable = [order for order in orders if order.larger in values and order.smaller in values] + _twins(values)
    return Release(values, sorted(lines, key=repr), frozenset(published), frozenset(state.suppressed), usable, _fresh(memory, values))


def protect_year(
    tables: list[ReportTable],
    released: set[Key],
    released_lines: Iterable[Line],
    counts: YearCounts,
    memory: YearMemory,
    fingerprint: str,
    min_cell: int,
    top: int,
) -> frozenset:
    """The cells of `released` (what the new report prints of the year) to suppress.

    `tables` are the year's tables as its own report shows them: they are protected as a whole,
    so that the trend in the report of a later year suppresses exactly what the year's own report
    suppresses. The attacker holds every earlier release of the year, of this state of the data
    and of earlier ones.
    """
    if min_cell <= 1:
        return frozenset()
    year = counts.year
    small = {cell for cell in released if 0 < counts.value(cell) < min_cell}
    state = memory.state(fingerprint)
    kept = memory.kept()
    if state is not None and released <= state.values.keys() and {normal(line) for line in released_lines} <= state.lines:
        # Nothing new: another language, format or a repeat of a release of the same data.
        return frozenset((released & kept) | small)
    shown = {cell for table in tables for cell in table.keys()}
    earlier_states = [other for other in memory.states if other.fingerprint != fingerprint]
    cells = set(shown) | set(state.values if state else ()) | {cell for other in earlier_states for cell in other.values}
    sizes = _fold_sizes(cells)
    links = _fold_links(cells, counts.rankings, sizes)
    links += linked_lines(cells, counts)
    cells |= {cell for line in links for cell in (line.total, *line.parts)}
    values = {cell: counts.value(cell) for cell in cells}
    lines = {normal(line) for table in tables for line in table.lines()} | {normal(line) for line in links}
    lines |= state.lines if state else set()
    orders = _orders(memory, counts, fingerprint, top)
    earlier = [
        _earlier_release(other, memory, counts.rankings, sizes, shown, top, orders.get(other.fingerprint, [])) for other in earlier_states
    ]
    hidden = protect(
        values,
        sorted(lines, key=repr),
        min_cell,
        orders=[order for order in orders.get(fingerprint, []) if order.larger in values and order.smaller in values] + _twins(values),
        maybe_zero=_fresh(memory, values),
        shown=shown,
        published=state.published if state else (),
        kept=kept,
        earlier=earlier,
        exempt={key(measure, year) for measure in MEASURES},
        group=lambda cell: cell[0],
    )
    return frozenset((hidden & released) | small)
