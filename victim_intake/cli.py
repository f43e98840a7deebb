"""The `victim-intake` command line."""

from __future__ import annotations

import atexit
import gc
from pathlib import Path
from typing import Annotated

import typer
from rich.text import Text

from config import private_files
from config.settings import SettingsError, current
from victim_intake.commands.common import console, errors, usage_error, warehouse_engine
from victim_intake.commands.display import Field, clean, plain, print_records, severity
from victim_intake.commands.estimate import estimate
from victim_intake.commands.export import export
from victim_intake.commands.ingest import run
from victim_intake.commands.keys_rotate import keys_rotate
from victim_intake.commands.persons import persons_app
from victim_intake.commands.privacy import erase, purge, reveal
from victim_intake.commands.quarantine_export import quarantine_export
from victim_intake.commands.quarantine_replay import quarantine_replay
from victim_intake.commands.report import report
from victim_intake.commands.rerun import rerun
from victim_intake.commands.status import status

# Registered before any command imports Prefect, so it runs after Prefect's exit handlers (the
# temporary server's stop included): the interpreter's last garbage collection then skips the
# objects of the imported libraries, about a second, for memory the operating system takes back.
atexit.register(gc.freeze)

app = typer.Typer(help="Nightly intake of presumed-victim registrations.", no_args_is_help=True, add_completion=False)
keys_app = typer.Typer(help="Key management: create keys and show their fingerprints.", no_args_is_help=True)
quarantine_app = typer.Typer(help="Rows that failed validation, with the rule they broke.", no_args_is_help=True)
app.add_typer(keys_app, name="keys")
app.add_typer(quarantine_app, name="quarantine")
app.add_typer(persons_app, name="persons")
app.command("estimate")(estimate)
app.command("export")(export)
app.command("status")(status)
app.command("rerun")(rerun)
app.command("reveal")(reveal)
app.command("erase")(erase)
app.command("purge")(purge)
app.command("export")(export)
keys_app.command("rotate")(keys_rotate)
quarantine_app.command("replay")(quarantine_replay)
quarantine_app.command("export")(quarantine_export)
app.command("report")(report)
app.command("run")(run)


@app.callback()
def private_by_default() -> None:
    """Nightly intake of presumed-victim registrations."""
    # Before any command creates anything: every file it (or a process it starts) writes is 0600,
    # every folder 0700. Then one warning about what others can already read under the home.
    private_files.restrict()
    # A bad variable stops every command at once with its one-line message (exit 2), before any work.
    try:
        settings = current()
    except SettingsError as error:
        raise usage_error(str(error)) from None
    warning = private_files.exposure_warning(settings.home, settings.prefect_folder.resolve())
    if warning:
        errors.print(Text.assemble(("warning:", "bold yellow"), " ", clean(warning)))

@app.command()
def demo(
    inbox: Annotated[Path | None, typer.Option(help="Folder to write into (default: the configured inbox).")] = None,
    persons: Annotated[
        int, typer.Option(min=1, help="Number of distinct synthetic persons the police report (partners also report victims the police never met).")
    ] = 5000,
    seed: Annotated[int, typer.Option(help="Seed: the same seed writes the same files.")] = 7,
    files: Annotated[int, typer.Option(min=1, help="Number of daily police export files.")] = 7,
    gzip: Annotated[bool, typer.Option(help="Write the feed as .ndjson.gz.")] = False,
    truth: Annotated[Path | None, typer.Option(help="Truth file (default: next to the inbox, never inside it).")] = None,
    if_empty: Annotated[bool, typer.Option("--if-empty", help="Do nothing when the inbox already holds files.")] = False,
    hard_variants: Annotated[
        float,
        typer.Option(
            min=0.0, max=1.0,
            help="Share of plainly spelt repeat reports given a typo, transliteration, a name in Cyrillic or Chinese script, or swapped day and month.",
        ),
    ] = 0.1,
) -> None:
    """Write a realistic synthetic inbox (synthetic people only) and a truth file for tests."""
    from victim_intake.synthetic import write_demo_inbox

    target = (inbox or current().inbox_folder).resolve()
    if if_empty and target.is_dir() and any(path.is_file() for path in target.rglob("*")):
        console.print(plain(f"Inbox {target} already holds files; no demo data written."))
        return
    if truth is not None and truth.resolve().is_relative_to(target):
        raise usage_error("the truth file must lie outside the inbox, or the pipeline would read it")
    summary = write_demo_inbox(
        target, persons=persons, seed=seed, truth_path=truth, files=files, gzip=gzip, hard_variant_share=hard_variants
    )
    console.print(
        plain(
            f"Wrote {summary.records:,} synthetic police records ({summary.invalid_records:,} invalid on purpose) "
            f"of {summary.persons:,} persons in {len(summary.files)} files under {target}."
        )
    )
    if summary.partner_files:
        console.print(
            f"Wrote {summary.partner_records:,} partner rows ({summary.partner_invalid_records:,} invalid on purpose) "
            f"in {len(summary.partner_files)} partner files."
        )
    console.print(plain(f"Truth file: {summary.truth_path}"))
    victims = sum(counts[0] for counts in summary.population.values())
    reported = sum(counts[1] for counts in summary.population.values())
    console.print(
        plain(
            f"The synthetic population holds {victims:,} victims, {reported:,} of them reported: true sizes per year in "
            f"{summary.population_path}, the perfectly linked overlap table in {summary.overlap_path}."
        )
    )


@keys_app.command("init")
def keys_init(
    demo: Annotated[bool, typer.Option(help="Say loudly that new keys are for demo data only.")] = False,
) -> None:
    """Create the pseudonym and vault keys (256 bits, mode 0600) if missing; print fingerprints only."""
    from rich.panel import Panel

    from pseudonyms.keys import KEY_PURPOSES, init_keys

    settings = current()
    given = settings.key_variables()
    if all(variable in given for variable in KEY_PURPOSES.values()):
        console.print("Keys come from the environment; no key file was created.")
        return
    key_files = init_keys(settings.keys_dir)
    for key_file in key_files:
        note = "created" if key_file.created else "exists, kept"
        console.print(plain(f"{key_file.purpose:10} {key_file.fingerprint}  {key_file.path} ({note})"))
    if demo and any(key_file.created for key_file in key_files):
        console.print(
            Panel(
                f"DEMO KEYS were just created under {settings.keys_dir}. They are for synthetic demo "
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
            key = load_key(purpose, current().keys_dir)
        except KeyConfigError as error:
            console.print(Text.assemble(f"{purpose:10} ", ("missing", "red"), ": ", clean(error)))
            continue
        console.print(plain(f"{purpose:10} {key.fingerprint}  from {key.origin}"))


@quarantine_app.command("list")
def quarantine_list() -> None:
    """Quarantined rows (errors: held back) and warnings (rows loaded with a value no code list
    knows, stored as `unknown`) per file and rule; no values."""
    from warehouse.database import create_tables
    from warehouse.migration_inputs import migration_inputs
    from warehouse.steward import quarantine_summary

    create_tables(warehouse_engine(), migration_inputs())
    fields = (Field("batch"), Field("file"), Field("severity"), Field("column"), Field("rule"), Field("rows", numeric=True))
    rows = [
        [
            plain(entry["batch_id"][:12]), plain(entry["file_name"]), severity(entry["severity"]), plain(entry["column_name"]),
            plain(entry["rule"]), plain(f"{entry['rows']:,}"),
        ]
        for entry in quarantine_summary(warehouse_engine())
    ]
    print_records(console, "Quarantine: errors (rows held back) and warnings (rows loaded, the value stored as unknown)", fields, rows)
    console.print("Show a batch's rows with `victim-intake quarantine show BATCH_ID` (add --values to open the values).")


@quarantine_app.command("show")
def quarantine_show(
    batch_id: Annotated[str, typer.Argument(help="Batch id (or its first characters).")],
    values: Annotated[
        bool, typer.Option("--values", help="Also open and show the offending values (personal data; needs the vault key and --reason; audited).")
    ] = False,
    reason: Annotated[
        str | None, typer.Option("--reason", help="With --values: lawful purpose and case reference; never names or numbers of a person.")
    ] = None,
) -> None:
    """Every entry of one batch, errors and warnings: row number, column, rule and the source's record id."""
    from warehouse.database import create_tables
    from warehouse.migration_inputs import migration_inputs
    from warehouse.steward import quarantine_entries

    if reason is not None and not values:
        raise usage_error("--reason goes with --values")
    if values and reason is None:
        raise usage_error("--values opens personal data: state the lawful purpose with --reason (the opening is audited)")
    create_tables(warehouse_engine(), migration_inputs())
    if values:
        from victim_intake.commands.quarantine_values import print_values

        print_values(console, batch_id, reason)
        return
    entries = quarantine_entries(warehouse_engine(), batch_id)
    if not entries:
        raise usage_error(f"no quarantined rows for batch {batch_id!r} (see `victim-intake quarantine list`)")
    fields = (Field("file"), Field("row", numeric=True), Field("severity"), Field("column"), Field("rule"), Field("source record id"))
    rows = [
        [
            plain(entry["file_name"]), plain(entry["row_number"] or "-"), severity(entry["severity"]), plain(entry["column_name"]),
            plain(entry["rule"]), plain(entry["source_record_id"]),
        ]
        for entry in entries
    ]
    print_records(console, f"Quarantine of batch {clean(batch_id)}", fields, rows)
