"""A rich progress bar over the files of a run started from the command line."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn


@contextmanager
def file_progress(console: Console, title: str) -> Iterator[None]:
    """Show files done / files to do while the block runs; disappears when it ends."""
    from flows.progress import listening

    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    with Progress(*columns, console=console, transient=True) as progress:
        bar = progress.add_task(title, total=None)

        def advance(done: int, total: int, file_name: str) -> None:
            progress.update(bar, completed=done, total=total, description=f"{title}: {file_name}")

        with listening(advance):
            yield
