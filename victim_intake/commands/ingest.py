"""`victim-intake run`: the nightly flow now, with the checks before it and the summary after it."""

from __future__ import annotations

from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Annotated

import typer

from config.private_files import make_private_dir
from config.settings import current
from victim_intake.commands.common import EXIT_FAILED_FILES, console, errors, usage_error, warehouse_engine
from victim_intake.commands.display import Field, plain, print_records

_SUMMARY_FIELDS = (
    Field("file"), Field("source"), Field("state"),
    Field("rows in", numeric=True), Field("loaded", numeric=True), Field("new", numeric=True),
    Field("quarantined", numeric=True), Field("warnings", numeric=True), Field("ignored, older export", numeric=True), Field("reason"),
)
_STATE_STYLES = {"loaded": "green", "failed": "bold red", "skipped": "dim"}


def print_summary(title: str, results) -> None:
    """One line (or, on a narrow console, one block) per file of the run, with its counts and reason."""
    rows = [
        [
            plain(result.file),
            plain(result.source),
            plain(result.state, _STATE_STYLES[result.state]),
            *(plain("" if value is None else f"{value:,}") for value in
              (result.rows_in, result.rows_loaded, result.rows_new, result.rows_quarantined, result.rows_warned, result.rows_ignored_older)),
            plain(result.reason),
        ]
        for result in results
    ]
    print_records(console, title, _SUMMARY_FIELDS, rows)


def counting_totals() -> Future:
    """The warehouse's totals (`warehouse.steward.totals`), counted in a thread of their own: the
    distinct persons take a pass over an index of every registration, which overlaps what the
    command waits for meanwhile (the temporary server recording the run)."""
    from warehouse.steward import totals

    pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="totals")
    counted = pool.submit(totals, warehouse_engine())
    pool.shutdown(wait=False)
    return counted


def print_totals(counted: Future | None = None) -> None:
    """What the warehouse holds, as counted by `counting_totals`, or counted now."""
    from warehouse.steward import totals

    held = counted.result() if counted is not None else totals(warehouse_engine())
    console.print(plain(f"Warehouse: {current().shown_warehouse_url}"), overflow="fold")
    console.print(
        f"It holds {held.registrations:,} registrations of {held.persons:,} persons from {held.files_loaded:,} files; "
        f"{held.quarantined_rows:,} rows quarantined."
    )
    if held.warned_rows:
        console.print(
            f"{held.warned_rows:,} loaded rows have a warning: a place, sector or unit no code list knows is stored as "
            "`unknown`; `victim-intake quarantine list` shows them."
        )


def file_warnings(results) -> list[str]:
    """What the run noticed about loaded files' columns, once per file."""
    return [f"file {result.file} ({result.source}): {note}" for result in results for note in result.notes]


def print_source_warnings(results=()) -> None:
    from victim_intake.commands.status import print_warnings
    from warehouse.monitoring import configured_expectations, linkage_warnings, source_warnings

    engine = warehouse_engine()
    print_warnings(file_warnings(results) + source_warnings(engine, configured_expectations(current())) + linkage_warnings(engine), errors)


def check_home_writable() -> None:
    """A read-only or full home folder is a configuration problem, said plainly before any work."""
    import tempfile

    settings = current()
    home = settings.home
    # Prefect's folder is under the home unless the operator configured it elsewhere.
    writes_home = settings.warehouse_url.startswith("sqlite") or settings.prefect_home is None
    if not writes_home:
        return
    try:
        make_private_dir(home)
        with tempfile.TemporaryFile(dir=home):
            pass
    except OSError as error:
        raise usage_error(
            f"cannot write to {home} ({error.strerror}): the home folder holds the SQLite warehouse, keys and "
            "Prefect's files; make it writable (and check the disk has space) or point VICTIM_INTAKE_HOME elsewhere"
        ) from None


def check_configuration() -> None:
    """Keys and partner definitions, the usual mistakes of a first run: exit 2 within a moment,
    before Prefect's temporary server is started."""
    from pseudonyms.keys import KeyConfigError, load_key
    from schemas.partner_definition import DefinitionError, load_definitions

    try:
        settings = current()
        load_definitions(settings.partners)
        for purpose in ("pseudonym", "vault"):
            load_key(purpose, settings.keys_dir)
    except (KeyConfigError, DefinitionError) as error:
        raise usage_error(str(error)) from None


def check_warehouse() -> None:
    """The warehouse migrated and built with the configured keys; problems become exit 2."""
    from sqlalchemy.exc import ArgumentError, DBAPIError

    from flows.nightly import prepare_warehouse
    from pseudonyms.keys import KeyConfigError
    from warehouse.ledger import KeyMismatch

    try:
        prepare_warehouse()
    except (KeyConfigError, KeyMismatch) as error:
        raise usage_error(str(error)) from None
    except ArgumentError:
        raise usage_error("VICTIM_INTAKE_DATABASE_URL is not a valid SQLAlchemy URL") from None
    except DBAPIError as error:
        first_line = str(error.orig).strip().splitlines()[0] if error.orig else type(error).__name__
        raise usage_error(f"cannot use the warehouse {current().shown_warehouse_url}: {first_line}") from None


def preflight() -> None:
    """Configuration problems become exit 2 before a flow run starts."""
    check_configuration()
    check_warehouse()


def run(
    inbox: Annotated[Path | None, typer.Option(help="Inbox to read (default: the configured inbox).")] = None,
) -> None:
    """Run the nightly ingestion flow now (a real Prefect flow run) and print a summary."""
    from victim_intake import prefect_env

    check_home_writable()
    prefect_env.configure()
    target = (inbox or current().inbox_folder).resolve()
    if not target.is_dir():
        raise usage_error(f"inbox {target} does not exist (write a synthetic one with `victim-intake demo`)")
    from victim_intake.temporary_server import EarlyServer

    check_configuration()
    # Prefect's temporary server (seconds of start-up) starts while the warehouse is checked, not after.
    server = EarlyServer()
    check_warehouse()
    from flows.nightly import nightly_ingest, prepared_by_caller
    from victim_intake.commands.progress import file_progress

    with file_progress(errors, "nightly-ingest"), server.ready(), prepared_by_caller():
        state = nightly_ingest(inbox=str(target), return_state=True)
        counted = counting_totals()
        server.settle(state.state_details.flow_run_id)
    results = state.result(raise_on_failure=False)
    if isinstance(results, BaseException):
        raise usage_error(f"the flow run crashed: {results}")
    print_summary("Nightly ingestion", results)
    print_totals(counted)
    print_source_warnings(results)
    if state.is_failed():
        errors.print(
            "[bold red]Some files failed[/]: fix the cause named above (`victim-intake status` shows the next "
            "step), then run `victim-intake rerun --failed`."
        )
        raise typer.Exit(EXIT_FAILED_FILES)
