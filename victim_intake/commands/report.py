"""`victim-intake report`: the scale-and-nature tables of a year, with small-cell suppression."""

from __future__ import annotations

from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path
from typing import Annotated, NoReturn

import typer
from rich.console import Console
from rich.markup import escape

from victim_intake import settings


class Format(StrEnum):
    html = "html"
    md = "md"
    csv = "csv"


class Language(StrEnum):
    nl = "nl"
    en = "en"


def _fail(message: str) -> NoReturn:
    Console(stderr=True, soft_wrap=True).print(f"[bold red]error:[/] {escape(message)}", highlight=False)
    raise typer.Exit(2)


def _default_out(year: int, output: Format) -> Path:
    folder = settings.home() / "reports"
    return folder / (f"report-{year}-csv" if output is Format.csv else f"report-{year}.{output.value}")


def report(
    year: Annotated[int, typer.Option("--year", min=1900, max=2100, help="Registration year to report on.")],
    output: Annotated[Format, typer.Option("--format", help="html (one self-contained file), md, or csv (a folder, one file per table).")] = Format.html,
    out: Annotated[Path | None, typer.Option("--out", help="File (html, md) or folder (csv) to write; default under <home>/reports.")] = None,
    min_cell: Annotated[
        int, typer.Option("--min-cell", min=0, help="Suppress cells from 1 to K-1 (and what would reveal them); 0 for internal use only.")
    ] = 10,
    language: Annotated[Language, typer.Option("--lang", help="Language of labels and numbers.")] = Language.nl,
    top: Annotated[int, typer.Option("--top", min=1, help="Nationalities and countries shown by name; the rest is 'other'.")] = 10,
) -> None:
    """Write the scale-and-nature report of a year: registrations and persons by form, gender, age,
    nationality, source and region, with primary and secondary small-cell suppression."""
    from sqlalchemy.exc import ArgumentError, SQLAlchemyError

    from flows.warehouse_inputs import migration_inputs
    from reporting.csvfiles import write_csv_tables
    from reporting.html import render_html
    from reporting.markdown import render_markdown
    from reporting.methods import read_freshness
    from reporting.tables import NoRegistrations, build_report
    from warehouse.database import create_tables, make_engine

    url = settings.database_url()
    if url.startswith("sqlite:///") and not Path(url.removeprefix("sqlite:///")).exists():
        _fail(f"no warehouse at {url.removeprefix('sqlite:///')}; load registrations first (victim-intake run)")
    try:
        engine = make_engine(url)
        # Normally a no-op: migrations are applied and loads keep the marts in step. Catches a
        # warehouse of an earlier release, and rows changed outside a load.
        create_tables(engine, migration_inputs())
        with engine.connect() as connection:
            built = build_report(connection, year, min_cell, top)
            freshness = read_freshness(connection)
        engine.dispose()
    except NoRegistrations as error:
        _fail(str(error))
    except ArgumentError:
        _fail("VICTIM_INTAKE_DATABASE_URL is not a valid SQLAlchemy URL")
    except SQLAlchemyError as error:
        detail = str(getattr(error, "orig", None) or error).strip().splitlines()[0]
        _fail(f"cannot read the warehouse {settings.redact_url(url)}: {detail}")

    generated = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    target = (out or _default_out(year, output)).resolve()
    if output is Format.csv:
        written = write_csv_tables(built, language.value, target)
        Console().print(f"Wrote {len(written)} CSV tables to {target}")
    else:
        render = render_html if output is Format.html else render_markdown
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(render(built, freshness, language.value, top, generated), encoding="utf-8")
        Console().print(f"Wrote {target}")
    if min_cell <= 1:
        Console(stderr=True).print("[bold yellow]Warning:[/] --min-cell 0: small cells are not suppressed; internal use only.")
