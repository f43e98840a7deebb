"""`victim-intake rerun --failed | BATCH_ID`: process failed files again; never duplicates rows."""

from __future__ import annotations

from typing import Annotated

import typer

from victim_intake.commands.common import EXIT_FAILED_FILES, console, errors, usage_error, warehouse_engine
from victim_intake.commands.ingest import check_home_writable, preflight, print_summary, print_totals


def _resolve_batch(prefix: str) -> str:
    """The full id of the batch the steward named, or exit 2 saying why."""
    from warehouse.reruns import find_batches

    matches = find_batches(warehouse_engine(), prefix)
    if not matches:
        raise usage_error(f"no batch {prefix!r} (see `victim-intake status` for batch ids)")
    if len(matches) > 1:
        raise usage_error(f"batch {prefix!r} is ambiguous: type more of its id (see `victim-intake status`)")
    return matches[0].batch_id


def rerun(
    batch_id: Annotated[str | None, typer.Argument(help="Batch to process again (its id or first characters).")] = None,
    failed: Annotated[bool, typer.Option("--failed", help="Process again every file whose last attempt failed.")] = False,
) -> None:
    """Process failed files again, or the file of one batch; a file already loaded is skipped."""
    from victim_intake import prefect_env

    if failed == (batch_id is not None):
        raise usage_error("give either --failed or a BATCH_ID (see `victim-intake status`)")
    check_home_writable()
    prefect_env.configure()
    preflight()
    from warehouse.reruns import outstanding_failures

    if failed and not outstanding_failures(warehouse_engine()):
        console.print("Nothing to rerun: no failed file is waiting (see `victim-intake status`).")
        return
    full_id = _resolve_batch(batch_id) if batch_id else None
    from flows.rerun import rerun_failed
    from victim_intake.commands.progress import file_progress
    from victim_intake.temporary_server import EarlyServer

    server = EarlyServer()
    with file_progress(errors, "rerun-failed"), server.ready():
        state = rerun_failed(batch_id=full_id, return_state=True)
        server.settle(state.state_details.flow_run_id)
    results = state.result(raise_on_failure=False)
    if isinstance(results, BaseException):
        raise usage_error(f"the flow run crashed: {results}")
    print_summary("Rerun", results)
    print_totals()
    if state.is_failed():
        errors.print(
            "[bold red]Some files failed again[/]: see the reason and next step in `victim-intake status`, "
            "fix the cause, then run `victim-intake rerun --failed` again."
        )
        raise typer.Exit(EXIT_FAILED_FILES)
