"""`victim-intake status`: recent runs and files, newest first, with the reason and the next step."""

from __future__ import annotations

import json
import sys
from typing import Annotated

import typer
from rich.console import Console
from rich.text import Text

from config.settings import current
from victim_intake.commands.display import Field, clean, plain, print_records

console = Console()

_STATE_STYLES = {"loaded": "green", "completed": "green", "failed": "bold red", "running": "yellow"}
_RUN_FIELDS = (
    Field("run"), Field("started"), Field("finished"), Field("state"),
    Field("files loaded", numeric=True), Field("files failed", numeric=True), Field("reason"),
)
_BATCH_FIELDS = (
    Field("batch"), Field("finished"), Field("source"), Field("file"), Field("state"),
    Field("rows in", numeric=True), Field("loaded", numeric=True), Field("quarantined", numeric=True), Field("warnings", numeric=True),
    Field("ignored, older export", numeric=True), Field("reason"), Field("next step"),
)


def _count(value: object) -> Text:
    return plain("" if value is None else f"{value:,}")


def _run_row(run: dict) -> list[Text]:
    finished = str(run["finished_at"])[:19] if run["finished_at"] else "not finished (running, or interrupted)"
    return [
        plain(run["run_id"][:12]), plain(str(run["started_at"])[:19]), plain(finished),
        plain(run["state"], _STATE_STYLES.get(run["state"], "")),
        _count(run["files_loaded"]), _count(run["files_failed"]), plain(run["reason"]),
    ]


def _batch_row(batch: dict) -> list[Text]:
    return [
        plain(batch["batch_id"][:12]), plain(str(batch["finished_at"])[:19]), plain(batch["source"]),
        plain(batch["file_name"]), plain(batch["state"], _STATE_STYLES.get(batch["state"], "")),
        *(_count(batch[key]) for key in ("rows_in", "rows_loaded", "rows_quarantined", "rows_warned", "rows_ignored_older")),
        plain(batch["reason"]), plain(batch["next_step"] if batch["state"] != "loaded" or batch["rules_changed"] else ""),
    ]


def gather(limit: int, runs: int) -> dict:
    """Runs, batches (each with its next step) and source warnings, as plain data."""
    from store.engines import shared_engine
    from warehouse.database import create_tables
    from warehouse.migration_inputs import migration_inputs
    from warehouse.monitoring import configured_expectations, linkage_warnings, source_warnings
    from warehouse.reruns import outstanding_failures
    from warehouse.steward import next_step, recent_batches, recent_runs

    settings = current()
    engine = shared_engine(settings.warehouse_url)
    create_tables(engine, migration_inputs())
    outstanding = {ref.batch_id for ref in outstanding_failures(engine)}
    batches = recent_batches(engine, limit)
    today = _todays_rules()
    for batch in batches:
        batch["next_step"] = next_step(batch["state"], batch["reason"], batch["batch_id"] in outstanding)
        batch["rules_changed"] = rules_changed(batch, today)
        if batch["rules_changed"]:
            batch["next_step"] = f"rules changed since load: try `victim-intake quarantine replay {batch['batch_id'][:12]}`"
    return {
        "runs": recent_runs(engine, runs),
        "batches": batches,
        "outstanding_failures": len(outstanding),
        "warnings": source_warnings(engine, configured_expectations(settings)) + linkage_warnings(engine),
    }


def _todays_rules() -> dict[str, str]:
    """Today's rules fingerprint per source (the shipped definitions when the configured ones do not load)."""
    from schemas.partner_definition import DefinitionError, load_definitions
    from schemas.rules import current_fingerprints

    try:
        definitions = load_definitions(current().partners)
    except DefinitionError:
        definitions = load_definitions()
    return current_fingerprints(definitions)


def rules_changed(batch: dict, today: dict[str, str]) -> bool | None:
    """Whether the rules or code lists changed since the quarantined rows or warnings of a batch's
    chain (the batch, the first batch and their replays: a replay of any means the same rows) were
    last judged: True, False, or None when the chain holds none that stand (or its rules were not
    recorded). Judged per chain: a batch a replay took over may still hold its warnings."""
    if batch["state"] != "loaded" or not batch["chain_standing"] or batch["chain_fingerprint"] is None:
        return None
    return batch["chain_fingerprint"] != today.get(batch["source"])


def print_warnings(warnings: list[str], out: Console) -> None:
    for warning in warnings:
        out.print(Text.assemble(("warning:", "bold yellow"), " ", clean(warning)))


def status(
    limit: Annotated[int, typer.Option(min=1, help="How many batches to show.")] = 50,
    runs: Annotated[int, typer.Option(min=1, help="How many runs to show.")] = 10,
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output: {runs, batches, outstanding_failures, warnings}.")] = False,
) -> None:
    """Recent runs and files with their state, counts, failure reason and next step, newest first."""
    from sqlalchemy.exc import DBAPIError

    from victim_intake.commands.common import usage_error

    try:
        report = gather(limit, runs)
    except DBAPIError as error:
        first_line = str(error.orig).strip().splitlines()[0] if error.orig else type(error).__name__
        raise usage_error(f"cannot read the warehouse {current().shown_warehouse_url}: {first_line}") from None
    if as_json:
        json.dump(report, sys.stdout, default=str, indent=2)
        sys.stdout.write("\n")
        return
    print_records(console, "Runs, newest first", _RUN_FIELDS, [_run_row(run) for run in report["runs"]])
    print_records(console, "Files (batches), newest first", _BATCH_FIELDS, [_batch_row(batch) for batch in report["batches"]])
    print_warnings(report["warnings"], console)
    if report["outstanding_failures"]:
        console.print(
            f"[bold red]{report['outstanding_failures']} file(s) failed and are not loaded yet.[/] "
            "Fix the cause named under 'next step', then run `victim-intake rerun --failed`."
        )
    elif report["batches"]:
        console.print("No failed file is waiting for a rerun.")
    replayable = len({batch["chain"] for batch in report["batches"] if batch["rules_changed"]})
    if replayable:
        console.print(
            f"[bold yellow]{replayable} batch(es) (with their replays) hold quarantined rows or warnings whose definition or code list changed since they "
            "loaded.[/] `victim-intake quarantine replay BATCH_ID` loads the rows that pass now (see 'next step')."
        )
