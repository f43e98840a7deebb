"""Published equations between cells: a total and the parts it is the sum of."""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from dataclasses import dataclass

Key = Hashable


@dataclass(frozen=True)
class Line:
    """A published equation: `total` is the sum of `parts`."""

    total: Key
    parts: tuple[Key, ...]


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


@dataclass(frozen=True)
class Order:
    """A published ranking: `larger` is at least `smaller` plus `gap` (1 where a tie would have
    put them the other way round)."""

    larger: Key
    smaller: Key
    gap: int = 0
