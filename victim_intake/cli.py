"""The `victim-intake` command line."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from victim_intake import settings
from victim_intake.commands.estimate import estimate
from victim_intake.commands.report import report
from victim_intake.commands.rerun import rerun
from victim_intake.commands.status import status
from victim_intake.commands.keys_rotate import keys_rotate
from victim_intake.commands.privacy import erase, purge, reveal

app = typer.Typer(help="Nightly intake of presumed-victim registrations.", no_args_is_help=True, add_completion=False)
keys_app = typer.Typer(help="Key management: create keys and show their fingerprints.", no_args_is_help=True)
quarantine_app = typer.Typer(help="Rows that failed validation, with the rule they broke.", no_args_is_help=True)
app.add_typer(keys_app, name="keys")
app.add_typer(quarantine_app, name="quarantine")
app.command("estimate")(estimate)
app.command("status")(status)
app.command("rerun")(rerun)
app.command("reveal")(reveal)
app.command("erase")(erase)
app.command("purge")(purge)
keys_app.command("rotate")(keys_rotate)
app.command("report")(report)

console = Console()
errors = Console(stderr=True)

EXIT_FAILED_FILES = 1
EXIT_USAGE = 2


def _fail(message: str) -> typer.Exit:
    errors.print(f"[bold red]error:[/] {message}")
    return typer.Exit(EXIT_USAGE)


def _engine():
    from warehouse.database import shared_engine

    return shared_engine(settings.database_url())


@app.command()
def demo(
    inbox: Annotated[Path | None, typer.Option(help="Folder to write into (default: the configured inbox).")] = None,
    persons: Annotated[int, typer.Option(min=1, help="Number of distinct synthetic persons.")] = 5000,
    seed: Annotated[int, typer.Option(help="Seed: the same seed writes the same files.")] = 7,
    files: Annotated[int, typer.Option(min=1, help="Number of daily police export files.")] = 7,
    gzip: Annotated[bool, typer.Option(help="Write the feed as .ndjson.gz.")] = False,
    truth: Annotated[Path | None, typer.Option(help="Truth file (default: next to the inbox, never inside it).")] = None,
    if_empty: Annotated[bool, typer.Option("--if-empty", help="Do nothing when the inbox already holds files.")] = False,
    hard_variants: Annotated[float, typer.Option(min=0.0, max=1.0, help="Share of plainly spelt repeat reports given a typo, transliteration or swapped day and month.")] = 0.1,
) -> None:
    """Write a realistic synthetic inbox (synthetic people only) and a truth file for tests."""
    from victim_intake.synthetic import write_demo_inbox

    target = (inbox or settings.inbox()).resolve()
    if if_empty and target.is_dir() and any(path.is_file() for path in target.rglob("*")):
        console.print(f"Inbox {target} already holds files; no demo data written.")
        return
    if truth is not None and truth.resolve().is_relative_to(target):
        raise _fail("the truth file must lie outside the inbox, or the pipeline would read it")
    summary = write_demo_inbox(
        target, persons=persons, seed=seed, truth_path=truth, files=files, gzip=gzip, hard_variant_share=hard_variants
    )
    console.print(
        f"Wrote {summary.records:,} synthetic police records ({summary.invalid_records:,} invalid on purpose) "
        f"of {summary.persons:,} persons in {len(summary.files)} files under {target}."
    )
    if summary.partner_files:
        console.print(
            f"Wrote {summary.partner_records:,} partner rows ({summary.partner_invalid_records:,} invalid on purpose) "
            f"in {len(summary.partner_files)} partner files."
        )
    console.print(f"Truth file: {summary.truth_path}")


def _summary_table(results) -> Table:
    table = Table(title="Nightly ingestion")
    # File names must stay whole on a narrow terminal: the reason wraps instead.
    table.add_column("file", no_wrap=True, min_width=max((len(result.file) for result in results), default=4))
    table.add_column("source")
    table.add_column("state", no_wrap=True)
    for column in ("rows in", "loaded", "new", "quarantined"):
        table.add_column(column, justify="right")
    table.add_column("reason", overflow="fold")
    styles = {"loaded": "green", "failed": "bold red", "skipped": "dim"}
    for result in results:
        counts = (result.rows_in, result.rows_loaded, result.rows_new, result.rows_quarantined)
        table.add_row(
            result.file,
            result.source,
            f"[{styles[result.state]}]{result.state}[/]",
            *("" if value is None else f"{value:,}" for value in counts),
            result.reason or "",
        )
    return table


def _print_totals() -> None:
    from warehouse.steward import totals

    held = totals(_engine())
    console.print(
        f"Warehouse {settings.redact_url(settings.database_url())} holds {held.registrations:,} registrations "
        f"of {held.persons:,} persons from {held.files_loaded:,} files; {held.quarantined_rows:,} rows quarantined."
    )


def _print_source_warnings() -> None:
    from victim_intake.commands.status import print_warnings
    from warehouse.monitoring import source_warnings

    print_warnings(source_warnings(_engine(), settings.source_expectations()), errors)


def _check_home_writable() -> None:
    """A read-only or full home folder is a configuration problem, said plainly before any work."""
    import tempfile

    home = settings.home()
    writes_home = settings.database_url().startswith("sqlite") or "PREFECT_HOME" not in os.environ
    if not writes_home:
        return
    try:
        home.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=home):
            pass
    except OSError as error:
        raise _fail(
            f"cannot write to {home} ({error.strerror}): the home folder holds the SQLite warehouse, keys and "
            "Prefect's files; make it writable (and check the disk has space) or point VICTIM_INTAKE_HOME elsewhere"
        ) from None


def _preflight() -> None:
    """Configuration problems become exit 2 before a flow run starts."""
    from flows.nightly import prepare_warehouse
    from pseudonyms.keys import KeyConfigError
    from schemas.partner_definition import DefinitionError, load_definitions
    from sqlalchemy.exc import ArgumentError, DBAPIError
    from warehouse.ledger import KeyMismatch

    try:
        load_definitions(settings.partners_dir())
        prepare_warehouse()
    except (KeyConfigError, KeyMismatch, DefinitionError) as error:
        raise _fail(str(error)) from None
    except ArgumentError:
        raise _fail("VICTIM_INTAKE_DATABASE_URL is not a valid SQLAlchemy URL") from None
    except DBAPIError as error:
        first_line = str(error.orig).strip().splitlines()[0] if error.orig else type(error).__name__
        raise _fail(f"cannot use the warehouse {settings.redact_url(settings.database_url())}: {first_line}") from None


@app.command()
def run(
    inbox: Annotated[Path | None, typer.Option(help="Inbox to read (default: the configured inbox).")] = None,
) -> None:
    """Run the nightly ingestion flow now (a real Prefect flow run) and print a summary."""
    from victim_intake import prefect_env

    _check_home_writable()
    prefect_env.configure()
    target = (inbox or settings.inbox()).resolve()
    if not target.is_dir():
        raise _fail(f"inbox {target} does not exist (write a synthetic one with `victim-intake demo`)")
    _preflight()
    from flows.nightly import nightly_ingest
    from victim_intake.commands.progress import file_progress

    with file_progress(errors, "nightly-ingest"):
        state = nightly_ingest(inbox=str(target), return_state=True)
    results = state.result(raise_on_failure=False)
    if isinstance(results, BaseException):
        raise _fail(f"the flow run crashed: {results}")
    console.print(_summary_table(results))
    _print_totals()
    _print_source_warnings()
    if state.is_failed():
        errors.print(
            "[bold red]Some files failed[/]: fix the cause named above (`victim-intake status` shows the next "
            "step), then run `victim-intake rerun --failed`."
        )
        raise typer.Exit(EXIT_FAILED_FILES)


@keys_app.command("init")
def keys_init(
    demo: Annotated[bool, typer.Option(help="Say loudly that new keys are for demo data only.")] = False,
) -> None:
    """Create the pseudonym and vault keys (256 bits, mode 0600) if missing; print fingerprints only."""
    from rich.panel import Panel

    from pseudonyms.keys import KEY_PURPOSES, init_keys

    if all(os.environ.get(variable) for variable in KEY_PURPOSES.values()):
        console.print("Keys come from the environment; no key file was created.")
        return
    key_files = init_keys(settings.keys_dir())
    for key_file in key_files:
        note = "created" if key_file.created else "exists, kept"
        console.print(f"{key_file.purpose:10} {key_file.fingerprint}  {key_file.path} ({note})")
    if demo and any(key_file.created for key_file in key_files):
        console.print(
            Panel(
                f"DEMO KEYS were just created under {settings.keys_dir()}. They are for synthetic demo "
                "data only. Never load real registrations with them: production keys are created once, "
                "kept in a secrets store and passed as VICTIM_INTAKE_PSEUDONYM_KEY and VICTIM_INTAKE_VAULT_KEY.",
                title="WARNING",
                style="bold yellow",
            )
        )
    elif any(key_file.created for key_file in key_files):
        console.print("Back the key files up securely: without them pseudonyms cannot be recomputed.")


@keys_app.command("fingerprint")
def keys_fingerprint() -> None:
    """Show the fingerprint of each configured key (never the key) and where it comes from."""
    from pseudonyms.keys import KEY_PURPOSES, KeyConfigError, load_key

    for purpose in KEY_PURPOSES:
        try:
            key = load_key(purpose, settings.keys_dir())
        except KeyConfigError as error:
            console.print(f"{purpose:10} [red]missing[/]: {error}")
            continue
        console.print(f"{purpose:10} {key.fingerprint}  from {key.origin}")


@quarantine_app.command("list")
def quarantine_list() -> None:
    """Quarantined rows per file and rule (no values)."""
    from warehouse.database import create_tables
    from warehouse.steward import quarantine_summary

    create_tables(_engine())
    table = Table(title="Quarantine")
    for column in ("batch", "file", "column", "rule", "rows"):
        table.add_column(column)
    for entry in quarantine_summary(_engine()):
        table.add_row(entry["batch_id"][:12], entry["file_name"], entry["column_name"], entry["rule"], str(entry["rows"]))
    console.print(table)
    console.print("Show a batch's rows with `victim-intake quarantine show BATCH_ID`.")


@quarantine_app.command("show")
def quarantine_show(
    batch_id: Annotated[str, typer.Argument(help="Batch id (or its first characters).")],
    values: Annotated[bool, typer.Option("--values", help="Also open and show the offending values (personal data; needs the vault key).")] = False,
) -> None:
    """Every quarantined row of one batch: row number, column, rule and the source's record id."""
    from warehouse.database import create_tables
    from warehouse.steward import quarantine_entries

    create_tables(_engine())
    entries = quarantine_entries(_engine(), batch_id)
    if not entries:
        raise _fail(f"no quarantined rows for batch {batch_id!r} (see `victim-intake quarantine list`)")
    if values:
        from victim_intake.commands.quarantine_values import values_table

        console.print(values_table(entries, batch_id))
        return
    table = Table(title=f"Quarantine of batch {batch_id}")
    for column in ("file", "row", "column", "rule", "source record id"):
        table.add_column(column)
    for entry in entries:
        table.add_row(entry["file_name"], str(entry["row_number"]), entry["column_name"], entry["rule"], entry["source_record_id"] or "")
    console.print(table)
