"""`victim-intake report`: the scale-and-nature tables of a year, with small-cell suppression.

Every report that goes out is recorded (`publications`, `published_cells`) before its files are
written, and protected jointly with everything released about its years before. A draft
(`--draft`) and an internal report (`--min-cell 0`) are protected the same way but not recorded.
"""

from __future__ import annotations

from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path
from typing import Annotated, NoReturn

import typer
from rich.console import Console
from rich.text import Text

from config.settings import current
from victim_intake.commands.display import Field, clean, plain, print_records

REPORT_NAME = "scale_and_nature"
# A report is made again when a load or another report changed what it was protected against.
_ATTEMPTS = 3


class Format(StrEnum):
    html = "html"
    md = "md"
    csv = "csv"


class Language(StrEnum):
    nl = "nl"
    en = "en"


class Standard(StrEnum):
    eurostat = "eurostat"
    unodc = "unodc"
    rapporteur = "rapporteur"


def _fail(message: str) -> NoReturn:
    Console(stderr=True, soft_wrap=True).print(Text.assemble(("error:", "bold red"), " ", clean(message)), highlight=False)
    raise typer.Exit(2)


def _target(year: int, output: Format, out: Path | None, draft: bool, standard: Standard | None = None) -> Path:
    """Where to write; a draft always has "draft" in its name."""
    if out is None:
        suffix = "-draft" if draft else ""
        if standard is not None:
            name = f"{standard.value}-{year}{suffix}.csv"
        elif output is Format.csv:
            name = f"report-{year}{suffix}-csv"
        else:
            name = f"report-{year}{suffix}.{output.value}"
        return (current().home / "reports" / name).resolve()
    target = out.resolve()
    if draft and "draft" not in target.name.lower():
        target = target.with_name(f"{target.stem}-draft{target.suffix}")
    return target


def _list_published(year: int | None) -> None:
    from store.engines import make_engine
    from warehouse.database import create_tables
    from warehouse.publications import list_publications

    engine = make_engine(current().warehouse_url)
    create_tables(engine)
    with engine.connect() as connection:
        rows = list_publications(connection, year)
    engine.dispose()
    fields = (
        Field("id"), Field("year"), Field("tables", numeric=True), Field("variant"), Field("published"), Field("by"),
        Field("data"), Field("revision of"),
    )
    records = []
    for row in rows:
        when = row["published_at"]
        when = when.astimezone(UTC) if when.tzinfo else when
        records.append([
            plain(row["publication_id"]),
            plain(row["year"]),
            plain(row["table_count"]),
            plain(
                f"{row['report']}, min-cell {row['min_cell']}" if row["report"] != REPORT_NAME
                else f"top {row['top']}, {row['language']}, {row['format']}, min-cell {row['min_cell']}"
            ),
            plain(when.strftime("%Y-%m-%d %H:%M UTC")),
            plain(row["actor"]),
            plain(row["data_fingerprint"][:12]),
            plain(row["revision_of"] if row["revision_of"] is not None else ""),
        ])
    print_records(Console(), "Published reports" + (f" of {year}" if year is not None else ""), fields, records)
    if not rows:
        Console().print("Nothing was published yet." if year is None else f"Nothing about {year} was published yet.")


def report(
    year: Annotated[int | None, typer.Option("--year", min=1900, max=2100, help="Registration year to report on.")] = None,
    output: Annotated[Format, typer.Option("--format", help="html (one self-contained file), md, or csv (a folder, one file per table).")] = Format.html,
    out: Annotated[Path | None, typer.Option("--out", help="File (html, md) or folder (csv) to write; default under <home>/reports.")] = None,
    min_cell: Annotated[
        int, typer.Option("--min-cell", min=0, help="Suppress cells from 1 to K-1 (and what would reveal them); 0 for internal use only.")
    ] = 10,
    language: Annotated[Language, typer.Option("--lang", help="Language of labels and numbers.")] = Language.nl,
    top: Annotated[int, typer.Option("--top", min=1, help="Nationalities and countries shown by name; the rest is 'other'.")] = 10,
    draft: Annotated[bool, typer.Option("--draft", help="Write a marked preview that is not recorded as published.")] = False,
    list_published: Annotated[bool, typer.Option("--list-published", help="List the reports that went out (of --year, if given) and stop.")] = False,
    standard: Annotated[
        Standard | None,
        typer.Option(
            "--standard",
            help="Write the tables a standard asks for instead, as one CSV file: eurostat (a delivery: every value, cells the "
            "suppression would hide flagged c, recorded even with --min-cell 0), unodc or rapporteur (published tables, "
            "suppressed like the report's).",
        ),
    ] = None,
) -> None:
    """Write the scale-and-nature report of a year: registrations and persons by form, gender, age,
    nationality, source and region, with primary and secondary small-cell suppression, protected
    jointly with every earlier release of the year; the report is recorded as published. With
    --standard, the delivery a statistics office collects (docs/analysts.md), recorded the same way."""
    from sqlalchemy.exc import ArgumentError, SQLAlchemyError

    from disclosure import CannotProtect, InconsistentLines
    from reporting.build import build_report, build_standard, release_cells
    from reporting.csvfiles import write_csv_tables
    from reporting.html import render_html
    from reporting.markdown import render_markdown
    from reporting.methods import read_freshness
    from reporting.private_files import write_private
    from reporting.standards import eurostat_csv, tables_csv
    from reporting.tables import NoRegistrations
    from store.engines import make_engine
    from vault.entries import actor, claimed_actor
    from warehouse.database import create_tables
    from warehouse.marts import year_fingerprints
    from warehouse.migration_inputs import migration_inputs
    from warehouse.publications import Publication, latest_publication_id, lock_publications, record_publication

    settings = current()
    url = settings.warehouse_url
    if url.startswith("sqlite:///") and not Path(url.removeprefix("sqlite:///")).exists():
        _fail(f"no warehouse at {url.removeprefix('sqlite:///')}; load registrations first (victim-intake run)")
    if list_published:
        _list_published(year)
        return
    if year is None:
        _fail("--year is required (or --list-published)")
    # A delivery goes out whole, flags and all: recorded even unsuppressed, so later reports know it.
    recorded = not draft and (min_cell > 1 or standard is Standard.eurostat)
    note = ""
    warning = None
    try:
        engine = make_engine(url)
        # Migrations, then the marts of any stale year (normally a no-op: loads keep them in step).
        create_tables(engine, migration_inputs())
        for _ in range(_ATTEMPTS):
            with engine.connect() as connection:
                if standard is None:
                    built = build_report(connection, year, min_cell, top)
                else:
                    built, warning = build_standard(connection, year, min_cell, standard.value)
                freshness = read_freshness(connection)
            if not recorded:
                break
            with engine.begin() as connection:
                lock_publications(connection)
                if latest_publication_id(connection) != built.last_publication or year_fingerprints(connection, built.years) != built.fingerprints:
                    continue
                publication = Publication(
                    year=year,
                    report=REPORT_NAME if standard is None else standard.value,
                    top=top if standard is None else 0,
                    language=language.value,
                    format=output.value if standard is None else "csv",
                    min_cell=min_cell,
                    table_count=len(built.tables),
                    published_at=datetime.now(UTC),
                    actor=actor(),
                    claimed_actor=claimed_actor(),
                    data_fingerprint=built.fingerprints[year],
                )
                publication_id, revision_of = record_publication(connection, publication, release_cells(built))
                note = f"Recorded as publication {publication_id}" + (f", a revision of publication {revision_of}" if revision_of else "") + "."
                break
        else:
            _fail("the warehouse changed while the report was made (a load or another report); run it again")
        engine.dispose()
    except NoRegistrations as error:
        _fail(str(error))
    except CannotProtect as error:
        _fail(f"{error}; nothing was published (see docs/disclosure.md)")
    except InconsistentLines:
        _fail(
            "the tables recorded as published for this year do not add up to the warehouse's counts "
            "(recorded by an earlier version of victim-intake?); nothing was published (see docs/disclosure.md)"
        )
    except ArgumentError:
        _fail("VICTIM_INTAKE_DATABASE_URL is not a valid SQLAlchemy URL")
    except SQLAlchemyError as error:
        detail = str(getattr(error, "orig", None) or error).strip().splitlines()[0]
        _fail(f"cannot read the warehouse {settings.shown_warehouse_url}: {detail}")

    generated = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    target = _target(year, output, out, draft, standard)
    if standard is not None and standard is not Standard.eurostat:
        write_private(target, tables_csv(built))
        Console().print(plain(f"Wrote {target}"))
    elif standard is not None:
        table = built.tables[0]
        write_private(target, eurostat_csv(table, built.values, built.hidden))
        flagged = sum(1 for (cell,) in table.cells if cell in built.hidden and built.values[cell] > 0)
        Console().print(plain(f"Wrote {target}: {flagged} cell(s) flagged c (not for publication)"))
        if warning:
            Console(stderr=True).print(Text.assemble(("Warning:", "bold yellow"), " ", clean(warning)))
    elif output is Format.csv:
        written = write_csv_tables(built, language.value, target, top, draft)
        Console().print(plain(f"Wrote {len(written)} CSV tables to {target}"))
    else:
        render = render_html if output is Format.html else render_markdown
        write_private(target, render(built, freshness, language.value, top, generated, draft))
        Console().print(plain(f"Wrote {target}"))
    if note:
        Console().print(note)
    elif draft:
        Console().print("[bold yellow]Draft:[/] not recorded as published; the report that goes out may suppress more cells.")
    if min_cell <= 1 and standard is Standard.eurostat:
        Console(stderr=True).print("[bold yellow]Warning:[/] --min-cell 0: no cell is flagged, the receiver may publish every one.")
    elif min_cell <= 1:
        Console(stderr=True).print("[bold yellow]Warning:[/] --min-cell 0: small cells are not suppressed; internal use only; not recorded.")
