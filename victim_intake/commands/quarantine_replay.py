"""`victim-intake quarantine replay BATCH_ID`: load the quarantined rows that today's rules accept.

Runs in this process, without a Prefect server (the `replay-quarantine` deployment runs the same
replay as a flow). Exit 2, with nothing changed, when the batch is unknown or its file is no
longer in the inbox as it was loaded.
"""

from __future__ import annotations

from typing import Annotated

import typer

from victim_intake.commands.common import EXIT_FAILED_FILES, console, errors, usage_error
from victim_intake.commands.display import plain


def quarantine_replay(
    batch_id: Annotated[str, typer.Argument(help="Batch whose quarantined rows to validate again (its id or first characters).")],
) -> None:
    """Validate a batch's quarantined rows again under today's definitions and code lists; load
    those that pass as a batch of their own, and code in place the warnings a list now knows."""
    from victim_intake import prefect_env

    prefect_env.configure()  # before Prefect is imported: its home under ours, nothing persisted
    from flows.errors import StageFailed, value_free_errors
    from flows.replay import prepare_and_replay
    from pseudonyms.keys import KeyConfigError
    from victim_intake.commands.ingest import check_home_writable, print_totals
    from warehouse.ledger import KeyMismatch
    from warehouse.replay import NotReplayable, ReplayConflict

    check_home_writable()
    try:
        with value_free_errors("replay"):
            result = prepare_and_replay(batch_id)
    except NotReplayable as error:
        # The console is the steward's: here, and only here, the file is named.
        raise usage_error(str(error) + (f" (the file: {error.path})" if error.path else "")) from None
    except (KeyConfigError, KeyMismatch) as error:
        raise usage_error(str(error)) from None
    except (ReplayConflict, StageFailed) as error:
        errors.print(plain(f"Replay failed, nothing was written: {error}", "bold red"))
        raise typer.Exit(EXIT_FAILED_FILES) from None
    if result.batch_id is None:
        console.print(
            plain(
                f"Nothing to replay for batch {result.replayed} ({result.file}): none of its {result.rows_in:,} quarantined row(s) "
                "passes and no warning clears under today's definitions and code lists."
            )
        )
        return
    console.print(
        plain(
            f"Replayed batch {result.replayed} ({result.file}) as batch {result.batch_id}: {result.rows_in:,} quarantined row(s) "
            f"validated again, {result.rows_loaded:,} loaded, {result.rows_quarantined:,} still quarantined, "
            f"{result.rows_ignored_older:,} already stored by a later delivery; {result.warnings_cleared:,} warning(s) cleared."
        )
    )
    print_totals()
