"""What every command shares: the consoles, exit codes, usage errors and the warehouse engine."""

from __future__ import annotations

import typer
from rich.console import Console
from rich.text import Text
from sqlalchemy import Engine

from config.settings import current
from victim_intake.commands.display import clean

console = Console()
errors = Console(stderr=True)

EXIT_FAILED_FILES = 1
EXIT_USAGE = 2


def usage_error(message: str) -> typer.Exit:
    """Print a bad-usage or configuration message; raise the returned exit (status 2)."""
    errors.print(Text.assemble(("error:", "bold red"), " ", clean(message)))
    return typer.Exit(EXIT_USAGE)


def warehouse_engine() -> Engine:
    """The engine of the configured warehouse (shared for the life of the process)."""
    from store.engines import shared_engine

    return shared_engine(current().warehouse_url)
