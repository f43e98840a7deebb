"""Primary and secondary cell suppression over linked tables of counts, across releases.

Cells are identified by hashable keys, so a cell that appears in several tables (the persons
with labour exploitation in 2024 are a row of the form table and the row total of the form by
gender table) is one unknown everywhere. A `Line` says that a published total is the sum of its
parts: every row and column of a table with margins, and the margins themselves.

The rule: a cell from 1 to K-1 is suppressed (primary); then further cells are suppressed
(secondary) until the attacker of `disclosure.attacker`, who holds every release of the same
year, cannot pin any suppressed cell to one value. A release is protected jointly with what was
published before (`protect`'s `published`, `kept` and `earlier`):

- releases of the same data (other variants, languages, formats) are one state: a cell published
  by any of them is known, a cell suppressed by any of them stays suppressed;
- releases of changed data (a revision) are earlier states: their cells stay suppressed too, and
  a cell whose count changed by 1 to K-1 since any earlier state is suppressed, with further cells
  until no such change can be pinned either, so that comparing two releases isolates no small
  group (an erased person, a late registration). Only the cells of `exempt` (the year's totals)
  may show their change.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass

from disclosure.attacker import Change, Form, Knowledge, Var, cell, change
from disclosure.lines import Line, Order

DEFAULT_MIN_CELL = 10
# A percentage of a small denominator reveals small cells as surely as the cell itself.
MIN_PERCENTAGE_BASE = 50

Key = Hashable


@dataclass(frozen=True)
class Release:
    """Everything published from one earlier state of the data.

    `values` holds the true value of every cell of that state the attacker can name, `lines` the
    equations between them; a cell is `published`, `suppressed`, or neither (latent: never
    printed, but a sum the attacker can write down, such as a coarser "other" row).
    """

    values: Mapping[Key, int]
    lines: Sequence[Line]
    published: frozenset
    suppressed: frozenset
    orders: Sequence[Order] = ()
    maybe_zero: frozenset = frozenset()


class CannotProtect(RuntimeError):
    """No set of suppressions protects the release (earlier releases already give too much away)."""


def _primary(values: Mapping[Key, int], shown: Iterable[Key], min_cell: int) -> set[Key]:
    return {key for key in shown if 0 < values[key] < min_cell}


def _changes(
    states: Sequence[Mapping[Key, int]], group: Callable[[Key], Hashable]
) -> list[Change]:
    """What the attacker is assumed to know of each change between two states: per group of
    cells (a measure), its direction when every cell moved the same way, and its largest size."""
    found = []
    for later in range(1, len(states)):
        for earlier in range(later):
            shared = states[earlier].keys() & states[later].keys()
            steps: dict[Hashable, list[int]] = {}
            for key in shared:
                steps.setdefault(group(key), []).append(states[later][key] - states[earlier][key])
            limits = {}
            for name, moves in steps.items():
                largest = max(abs(move) for move in moves)
                limits[name] = (0 if min(moves) >= 0 else -largest, 0 if max(moves) <= 0 else largest)
            found.append(Change(earlier, later, {key: limits[group(key)] for key in shared}))
    return found


def _cheapest(values: Mapping[Key, int], candidates: Iterable[Key], open_cells: set[Key]) -> Key | None:
    """The smallest non-zero cell the release may still suppress: the least information lost.

    Zeros are never suppressed (the attacker may then assume every suppressed cell is at least 1).
    """
    choices = [key for key in candidates if key in open_cells and values[key] > 0]
    return min(choices, key=lambda key: (values[key], repr(key))) if choices else None


class _Protection:
    """The state of one run of `protect`: what is suppressed, and what the attacker holds."""

    def __init__(self, values, lines, orders, maybe_zero, min_cell, shown, published, kept, earlier, exempt, group) -> None:
        self.values = values
        self.maybe_zero = maybe_zero
        self.lines = lines
        self.orders = [(state, order) for state, release in enumerate(earlier) for order in release.orders]
        self.orders += [(len(earlier), order) for order in orders]
        self.shown = shown
        self.published = published
        self.now = len(earlier)
        self.lines_of: dict[Key, list[Line]] = {}
        for line in lines:
            for key in (line.total, *line.parts):
                self.lines_of.setdefault(key, []).append(line)
        states = [release.values for release in earlier] + [values]
        self.changes = _changes(states, group) if earlier else []
        self.earlier_truth = {(state, key): value for state, release in enumerate(earlier) for key, value in release.values.items()}
        self.earlier_floors = {
            (state, key): 1 if key in release.suppressed and value > 0 and key not in release.maybe_zero else 0
            for state, release in enumerate(earlier)
            for key, value in release.values.items()
            if key not in release.published
        }
        self.ceilings = {state: sum(values_of.values()) + 1 for state, values_of in enumerate(states)}
        self.lines_of_states = [(state, line) for state, release in enumerate(earlier) for line in release.lines]
        self.earlier_forms = [cell(state, key) for (state, key), floor in self.earlier_floors.items() if floor]
        self.kept = kept
        # A cell that changed by 1 to K-1 since an earlier state, and whose change is not already out.
        self.change_forms: dict[Form, Key] = {}
        small_changes = set()
        for state, release in enumerate(earlier):
            for key in release.values.keys() & values.keys():
                if key in exempt or not 0 < abs(values[key] - release.values[key]) < min_cell:
                    continue
                if key in release.published and key in published:
                    continue
                self.change_forms[change(state, self.now, key)] = key
                small_changes.add(key)
        zeros = {key for key in maybe_zero & shown if values[key] == 0}
        self.required = (_primary(values, shown, min_cell) | (kept & shown) | (small_changes & shown) | zeros) - published
        self.hidden = set(self.required)
        self.useless: set[Key] = set()
        self.certified: set[Form] = set()

    def unknown(self) -> set[Key]:
        """Cells of the current state the attacker does not see."""
        return set(self.values) - self.published - (self.shown - self.hidden)

    def open_cells(self) -> set[Key]:
        return self.shown - self.hidden - self.published - self.useless

    def protected(self, unknown: set[Key]) -> set[Key]:
        """Unknown cells whose count must not be pinned: suppressed, and not zero."""
        return {key for key in unknown & (self.hidden | self.kept) if self.values[key] > 0}

    def candidate(self, line: Line) -> Key | None:
        """The cell of the line to suppress next: a part if possible, else its total."""
        open_cells = self.open_cells()
        return _cheapest(self.values, line.parts, open_cells) or _cheapest(self.values, [line.total], open_cells)

    def hide_one_more(self, line: Line) -> bool:
        """Suppress one more cell of the line."""
        choice = self.candidate(line)
        if choice is None:
            return False
        self.hidden.add(choice)
        return True

    def close_single_gaps(self) -> None:
        """No line may hold exactly one protected unknown: it would be its total minus the others."""
        changed = True
        while changed:
            changed = False
            unknown = self.unknown()
            protected = self.protected(unknown)
            for line in self.lines:
                members = [key for key in (line.total, *line.parts) if key in unknown]
                if len(members) == 1 and members[0] in protected and self.hide_one_more(line):
                    changed = True
                    unknown = self.unknown()
                    protected = self.protected(unknown)

    def exposed(self, certify: bool = True) -> tuple[set[Key], set[Form]]:
        """The attacker's verdict: cells of this state, and other quantities, pinned to one value.

        Quantities found free are remembered (more suppression never pins them again) unless
        `certify` is off, for a look at a hypothetical suppression."""
        unknown = self.unknown()
        protected = self.protected(unknown)
        truth = dict(self.earlier_truth)
        truth.update(((self.now, key), value) for key, value in self.values.items())
        floors: dict[Var, int] = dict(self.earlier_floors)
        floors.update(((self.now, key), 1 if key in protected and key not in self.maybe_zero else 0) for key in unknown)
        knowledge = Knowledge(
            truth=truth,
            floors=floors,
            ceilings=self.ceilings,
            lines=[*self.lines_of_states, *((self.now, line) for line in self.lines)],
            changes=self.changes,
            orders=self.orders,
        )
        own = {cell(self.now, key): key for key in protected}
        pinned = knowledge.pinned([*own, *self.earlier_forms, *self.change_forms], self.certified if certify else set())
        return {own[form] for form in pinned if form in own}, pinned - own.keys()

    def widen(self, key: Key) -> list[Line] | None:
        """Make `key` harder to pin: suppress it here if it is shown, else the cheapest cell of a
        line of it. Returns the lines now holding one more unknown, or None when none can."""
        if key in self.open_cells() and self.values[key] > 0:
            self.hidden.add(key)
            return self.lines_of.get(key, [])
        choices = [(choice, line) for line in self.lines_of.get(key, []) if (choice := self.candidate(line)) is not None]
        if not choices:
            return None
        choice, line = min(choices, key=lambda pair: (self.values[pair[0]], repr(pair[0])))
        self.hidden.add(choice)
        return [line, *self.lines_of.get(choice, [])]

    def derived(self) -> set[Key]:
        """Cells of the new tables that earlier releases already give away: pinned even when every
        cell the release could suppress is suppressed. Suppressing them would protect nothing; if a
        cell that must stay unknown is among them, or any other quantity, nothing can protect it."""
        if not self.published and not self.now:
            return set()
        saved = set(self.hidden)
        self.hidden |= {key for key in self.open_cells() if self.values[key] > 0}
        own, other = self.exposed(certify=False)
        self.hidden = saved
        optional = self.shown - self.required
        if other or own - optional:
            raise CannotProtect(
                f"{len(other) + len(own - optional)} small cell(s) or change(s) follow from earlier releases whatever this one suppresses"
            )
        return own

    def run(self) -> frozenset:
        self.useless = self.derived()
        while True:
            self.close_single_gaps()
            own, other = self.exposed()
            if not own and not other:
                return frozenset(self.hidden & self.shown)
            targets = sorted(own, key=repr) + sorted({var[1] for form in other for var, _ in form}, key=repr)
            progress = False
            # One more unknown per line and round: several exposed cells of a line often need just one.
            widened: set[Line] = set()
            for key in targets:
                if any(line in widened for line in self.lines_of.get(key, [])):
                    continue
                lines = self.widen(key)
                if lines is not None:
                    progress = True
                    widened.update(lines)
            if not progress:
                # The exposed cells' own lines are hidden whole: widen any line that holds a hidden cell.
                unknown = self.unknown()
                touching = [line for line in self.lines if any(key in unknown for key in (line.total, *line.parts))]
                if not any(self.hide_one_more(line) for line in touching):
                    raise CannotProtect("cannot protect the tables: every cell that could be suppressed already is")


def protect(
    values: Mapping[Key, int],
    lines: Sequence[Line],
    min_cell: int = DEFAULT_MIN_CELL,
    *,
    orders: Sequence[Order] = (),
    maybe_zero: Iterable[Key] = (),
    shown: Iterable[Key] | None = None,
    published: Iterable[Key] = (),
    kept: Iterable[Key] = (),
    earlier: Sequence[Release] = (),
    exempt: Iterable[Key] = (),
    group: Callable[[Key], Hashable] = lambda key: None,
) -> frozenset[Key]:
    """The cells of `shown` to suppress so that none from 1 to `min_cell`-1 is published or recoverable.

    `values`, `lines` and `orders` describe the current state of the data: the cells this release shows
    (`shown`, default all), and those of earlier releases of the same state (`published` there,
    or suppressed). A zero among `maybe_zero` is suppressed too, so a suppressed cell there tells
    the attacker nothing about being non-zero. `kept` are the cells any earlier release suppressed, `earlier` the releases
    of earlier states, `exempt` the cells whose change between states may be published, and
    `group` puts cells whose changes the attacker may bound together (a measure).
    `min_cell` 0 (or 1) publishes everything: for internal use only.
    """
    if min_cell <= 1:
        return frozenset()
    shown_cells = set(values) if shown is None else set(shown)
    return _Protection(
        values, list(lines), list(orders), set(maybe_zero), min_cell, shown_cells, set(published), set(kept), list(earlier), set(exempt), group
    ).run()


def show_percentage(denominator: int | None, min_cell: int) -> bool:
    """Whether a share of `denominator` may be published at this suppression level."""
    if denominator is None or denominator <= 0:
        return False
    return min_cell <= 1 or denominator >= max(MIN_PERCENTAGE_BASE, 5 * min_cell)
