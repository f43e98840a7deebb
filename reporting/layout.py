"""A report table as a grid of text: the one layout Markdown, HTML and CSV all print."""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass

from disclosure import neutralise_formula
from reporting import labels
from reporting.tables import Key, Report, ReportTable


@dataclass(frozen=True)
class Grid:
    """Title, header and rows of one table; `total_rows` counts the rows at the bottom that are totals."""

    name: str
    title: str
    header: list[str]
    rows: list[list[str]]
    total_rows: int


def printable(text: str) -> str:
    """Text as every format may print it: control characters become spaces, and a text that a
    spreadsheet would run as a formula gets a leading apostrophe. Each format still escapes it."""
    spaced = "".join(" " if unicodedata.category(character) == "Cc" else character for character in text)
    return str(neutralise_formula(spaced))


def _heading(report: Report, table: ReportTable, language: str) -> str:
    if table.kind == "overview":
        return labels.word(language, "overview")
    if table.kind == "trend":
        return labels.word(language, "trend_forms")
    if table.kind == "reference":
        return labels.word(language, "reference_by", dimension=labels.dimension(language, table.row_dimension))
    if table.kind == "crossing":
        return labels.word(
            language,
            "crossing",
            row=labels.dimension(language, table.row_dimension),
            column=labels.dimension(language, table.column_dimension),
        )
    measures = f"{labels.word(language, 'registrations')} / {labels.word(language, 'persons').lower()}"
    return labels.word(language, "by", measure=measures, dimension=labels.dimension(language, table.row_dimension))


def _row_label(language: str, table: ReportTable, code: str) -> str:
    return code if table.row_dimension == "year" else labels.category(language, table.row_dimension, code)


def _column_label(language: str, table: ReportTable, code: str) -> str:
    if table.column_dimension == "measure":
        return labels.word(language, code)
    return labels.category(language, table.column_dimension, code)


def grid(report: Report, table: ReportTable, language: str, plain: bool = False) -> Grid:
    """The table as text; `plain` writes numbers without thousands separators (for CSV)."""

    def show(cell: Key) -> str:
        value = report.published(cell)
        if value is None:
            return labels.word(language, "suppressed")
        return str(value) if plain else labels.number(language, value)

    def share(cell: Key, total: Key) -> str:
        value = report.share(cell, total)
        return "" if value is None else labels.percentage(language, value)

    first = labels.word(language, "year") if table.row_dimension == "year" else labels.dimension(language, table.row_dimension).capitalize()
    header = [first]
    for code in table.columns:
        header.append(_column_label(language, table, code))
        if table.kind == "one_way":
            header.append(labels.word(language, "share"))
    if table.row_totals is not None:
        header.append(labels.word(language, "total"))

    rows = []
    for index, code in enumerate(table.rows):
        line = [_row_label(language, table, code)]
        for position, cell in enumerate(table.cells[index]):
            line.append(show(cell))
            if table.kind == "one_way":
                line.append(share(cell, table.column_totals[position]))
        if table.row_totals is not None:
            line.append(show(table.row_totals[index]))
        rows.append(line)
    total_rows = 0
    if table.column_totals is not None:
        line = [labels.word(language, "total")]
        for cell in table.column_totals:
            line.append(show(cell))
            if table.kind == "one_way":
                line.append("100" if report.published(cell) else "")
        if table.row_totals is not None:
            line.append(show(table.grand_total) if table.grand_total is not None else "")
        rows.append(line)
        total_rows = 1
    clean = [[printable(cell) for cell in row] for row in rows]
    return Grid(table.name, printable(_heading(report, table, language)), [printable(cell) for cell in header], clean, total_rows)
