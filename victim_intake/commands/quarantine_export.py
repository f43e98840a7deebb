"""`victim-intake quarantine export --source S [--since DATE] --out FILE [--lang nl|en]`.

For the source's own data manager: one row per problem that still stands (errors no replay
took over, and warnings) with the file, row, column, the source's record id, the rule and advice.
Never a value: the offending values stay sealed in the warehouse. CSV or XLSX by the suffix of
FILE; every text cell that a spreadsheet would run as a formula is made plain text.
"""

from __future__ import annotations

import csv
import datetime as dt
from pathlib import Path
from typing import Annotated

import typer

from victim_intake.commands.common import console, usage_error, warehouse_engine
from victim_intake.commands.display import plain

_HEADERS = {
    "nl": ("bestand", "rij", "kolom", "recordnummer", "soort", "regel", "advies"),
    "en": ("file", "row", "column", "record id", "kind", "rule", "advice"),
}
_KINDS = {"nl": {"error": "fout: rij niet geladen", "warning": "waarschuwing: rij geladen, waarde onbekend"},
          "en": {"error": "error: row not loaded", "warning": "warning: row loaded, value unknown"}}
SUFFIXES = (".csv", ".xlsx")


def _rows(entries: list[dict], language: str) -> list[list[object]]:
    from schemas.advice import advice

    return [
        [
            entry["file_name"], entry["row_number"], entry["column_name"], entry["source_record_id"] or "",
            _KINDS[language][entry["severity"]], entry["rule"], advice(entry["rule"], language),
        ]
        for entry in entries
    ]


def _write_csv(path: Path, header: tuple[str, ...], rows: list[list[object]]) -> None:
    from disclosure.csvsafe import neutralise_csv_cell

    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        writer.writerows([neutralise_csv_cell(cell) for cell in row] for row in rows)


def _write_xlsx(path: Path, header: tuple[str, ...], rows: list[list[object]]) -> None:
    from openpyxl import Workbook

    from disclosure.csvsafe import neutralise_formula

    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet("quarantaine")
    sheet.append(list(header))
    for row in rows:
        sheet.append([neutralise_formula(cell) for cell in row])
    workbook.save(path)


def quarantine_export(
    source: Annotated[str, typer.Option("--source", help="The source whose problems to export (`police` or a partner id).")],
    out: Annotated[Path, typer.Option("--out", help="File to write: .csv or .xlsx.")],
    since: Annotated[
        dt.datetime | None, typer.Option("--since", formats=["%Y-%m-%d"], help="Only files loaded on or after this date (YYYY-MM-DD).")
    ] = None,
    lang: Annotated[str, typer.Option("--lang", help="Language of the headers and advice: nl or en.")] = "nl",
) -> None:
    """Write, for a source's data manager, the rows still held back and the warnings: file, row,
    column, record id, rule and advice; never a value."""
    from warehouse.database import create_tables
    from warehouse.migration_inputs import migration_inputs
    from warehouse.steward import open_entries

    if lang not in _HEADERS:
        raise usage_error("--lang must be nl or en")
    suffix = out.suffix.lower()
    if suffix not in SUFFIXES:
        raise usage_error(f"--out must end in {' or '.join(SUFFIXES)}")
    engine = warehouse_engine()
    create_tables(engine, migration_inputs())
    entries = open_entries(engine, source, since.replace(tzinfo=dt.UTC) if since else None)
    rows = _rows(entries, lang)
    try:
        (_write_xlsx if suffix == ".xlsx" else _write_csv)(out, _HEADERS[lang], rows)
    except OSError as error:
        raise usage_error(f"cannot write {out} ({error.strerror})") from None
    console.print(plain(f"Wrote {len(rows):,} problem(s) of {source} to {out}."))
