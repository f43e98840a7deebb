"""`victim-intake rerun --failed | BATCH_ID`: process failed files again; never duplicates rows."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.console import Console

from victim_intake import settings

console = Console()


def _resolve_batch(prefix: str) -> str:
    """The full id of the batch the steward named, or exit 2 saying why."""
    from victim_intake.cli import _engine, _fail
    from warehouse.reruns import find_batches

    matches = find_batches(_engine(), prefix)
    if not matches:
        raise _fail(f"no batch {prefix!r} (see `victim-intake status` for batch ids)")
    if len(matches) > 1:
        raise _fail(f"batch {prefix!r} is ambiguous: type more of its id (see `victim-intake status`)")
    return matches[0].batch_id


def rerun(
    batch_id: Annotated[str | None, typer.Argument(help="Batch to process again (its id or first characters).")] = None,
    failed: Annotated[bool, typer.Option("--failed", help="Process again every file whose last attempt failed.")] = False,
) -> None:
    """Process failed files again, or the file of one batch; a file already loaded is skipped."""
    from victim_intake import prefect_env
    from victim_intake.cli import (
        EXIT_FAILED_FILES,
        _check_home_writable,
        _fail,
        _preflight,
        _print_totals,
        _summary_table,
        errors,
    )

    if failed == (batch_id is not None):
        raise _fail("give either --failed or a BATCH_ID (see `victim-intake status`)")
    _check_home_writable()
    prefect_env.configure()
    _preflight()
    from warehouse.database import shared_engine
    from warehouse.reruns import outstanding_failures

    if failed and not outstanding_failures(shared_engine(settings.database_url())):
        console.print("Nothing to rerun: no failed file is waiting (see `victim-intake status`).")
        return
    full_id = _resolve_batch(batch_id) if batch_id else None
    from flows.rerun import rerun_failed
    from victim_intake.commands.progress import file_progress

    with file_progress(errors, "rerun-failed"):
        state = rerun_failed(batch_id=full_id, return_state=True)
    results = state.result(raise_on_failure=False)
    if isinstance(results, BaseException):
        raise _fail(f"the flow run crashed: {results}")
    console.print(_summary_table(results))
    _print_totals()
    if state.is_failed():
        errors.print(
            "[bold red]Some files failed again[/]: see the reason and next step in `victim-intake status`, "
            "fix the cause, then run `victim-intake rerun --failed` again."
        )
        raise typer.Exit(EXIT_FAILED_FILES)
