"""What every command shares: the consoles, exit codes, usage errors and the warehouse engine."""

from __future__ import annotations

import re

import typer
from rich.console import Console
from rich.markup import escape
from sqlalchemy import Engine

from victim_intake import settings

console = Console()
errors = Console(stderr=True)

EXIT_FAILED_FILES = 1
EXIT_USAGE = 2
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def shown(value: object) -> str:
    """A value from a file, the ledger or the warehouse, safe to print with Rich: control characters
    removed and markup escaped (empty for null)."""
    return "" if value is None else escape(_CONTROL.sub("", str(value)))


def usage_error(message: str) -> typer.Exit:
    """Print a bad-usage or configuration message; raise the returned exit (status 2)."""
    errors.print(f"[bold red]error:[/] {escape(message)}")
    return typer.Exit(EXIT_USAGE)


def warehouse_engine() -> Engine:
    """The engine of the configured warehouse (shared for the life of the process)."""
    from warehouse.database import shared_engine

    return shared_engine(settings.database_url())
