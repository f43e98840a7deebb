"""Printing what comes from files, the ledger or the warehouse.

Such values (file names, record ids, reasons) are written by sources and may hold anything: Rich
markup such as `[/Name]`, which would crash the print or restyle the console, escape sequences that
would reach the terminal raw, or bidirectional overrides that would make a name read backwards.
They are printed as plain text (never parsed as markup), with every control or format character
shown as U+FFFD. Lists of records print as a table when the table fits the console's width whole,
and otherwise as one block per record, so that CI logs, cron mail and 80-column terminals stay
readable.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass

from rich.console import Console
from rich.measure import Measurement
from rich.padding import Padding
from rich.table import Table
from rich.text import Text

REPLACEMENT = "\ufffd"
# Unicode categories never printed as they are: control, format (bidi overrides, zero-width
# characters), surrogates, private use, unassigned, and line or paragraph separators.
_UNPRINTABLE = frozenset({"Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp"})
_UNBOUNDED = 1_000_000


def clean(value: object) -> str:
    """The value as one line of printable text; unprintable characters become U+FFFD."""
    text = "" if value is None else str(value)
    if text.isprintable():  # the common case, in C
        return text
    return "".join(REPLACEMENT if unicodedata.category(char) in _UNPRINTABLE else char for char in text)


def plain(value: object, style: str = "") -> Text:
    """A value from a file, the ledger or the warehouse as Rich text that is never parsed as markup."""
    return Text(clean(value), style=style)


def severity(value: str) -> Text:
    """A quarantine entry's severity: an error held its row back, a warning's row loaded."""
    return plain(value, "bold red" if value == "error" else "yellow")


@dataclass(frozen=True)
class Field:
    """One column of a record list: its header, and whether its values are numbers (right-aligned)."""

    header: str
    numeric: bool = False


def print_records(console: Console, title: str, fields: Sequence[Field], rows: Sequence[Sequence[Text]]) -> None:
    """A table when it fits the console whole; otherwise one block per record, headed by its first field.

    The title is plain text too (it may name a batch the user typed)."""
    table = Table(title=plain(title))
    for field in fields:
        table.add_column(field.header, justify="right" if field.numeric else "left")
    for row in rows:
        table.add_row(*row)
    # The natural width of the table, every cell on one line (Measurement.get caps it at the options' width).
    natural = Measurement.get(console, console.options.update(max_width=_UNBOUNDED), table).maximum
    if natural <= console.width:
        console.print(table)
        return
    console.print(plain(title, "bold"))
    for row in rows:
        console.print()
        console.print(row[0], style="bold", overflow="fold")
        block = Table.grid(padding=(0, 2))
        block.add_column(no_wrap=True, style="dim")
        block.add_column(overflow="fold")
        for field, value in zip(fields[1:], row[1:], strict=True):
            if value.plain:
                block.add_row(field.header, value)
        console.print(Padding(block, (0, 0, 0, 2), expand=False))
