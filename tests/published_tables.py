"""A published report read back as its reader sees it: tables of labels and numbers, in any format.

Written apart from the reporting code: the files are parsed as text (csv module, Markdown lines,
HTML elements), labels are turned back into codes by translating every known code both ways, and
each cell is given the identity a reader would give it: measure, year and categories. "other" in
a nationality or country table stays `OTHER`: what it covers is for the attacker to work out.
"""

from __future__ import annotations

import csv
import re
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path

import pycountry

from reporting import labels
from schemas.vocabulary import AGE_GROUPS, EXPLOITATION_TYPES, GENDERS, POLICE_UNITS, SOURCE_KINDS, UNKNOWN_AGE_GROUP

OTHER = "<other>"
FOLDED = ("nationality", "exploitation_country")
MEASURES = ("registrations", "persons")
_CODES = {
    *EXPLOITATION_TYPES, *GENDERS, *SOURCE_KINDS, *POLICE_UNITS, *(name for name, _ in AGE_GROUPS), UNKNOWN_AGE_GROUP,
    "minor", "adult", "unknown", "dutch", "non_dutch", "unknown region", "other",
}


@dataclass
class PublishedTable:
    """A table as printed: its name, header, rows of text, and how many rows at the bottom are totals."""

    name: str
    header: list[str]
    rows: list[list[str]]
    totals: int


@dataclass
class ReadTable:
    """A table as the attacker reads it: each cell's identity and value (None when suppressed)."""

    name: str
    cells: dict[tuple[int, int], tuple[tuple, int | None]]
    total_row: int | None
    total_column: int | None
    named: dict[str, list[str]] = field(default_factory=dict)  # per folded dimension, rows in order


def read_csv(folder: Path) -> list[PublishedTable]:
    tables = []
    for path in sorted(folder.glob("*.csv")):
        rows = list(csv.reader(path.open(encoding="utf-8")))
        name = path.stem.split("_", 1)[1]
        total = 1 if rows[-1][0] in ("Total", "Totaal") else 0
        tables.append(PublishedTable(name, rows[0], rows[1:], total))
    return tables


def _markdown_cells(line: str) -> list[str]:
    """The cells of a table line: split at pipes that are not escaped, bold markers of a total row
    removed, escapes undone."""
    raw_cells, current, escaped = [], "", False
    for character in line.strip()[1:]:
        if escaped:
            current += "\\" + character
            escaped = False
        elif character == "\\":
            escaped = True
        elif character == "|":
            raw_cells.append(current.strip())
            current = ""
        else:
            current += character
    cells = []
    for raw in raw_cells:
        if raw.startswith("**") and raw.endswith("**") and len(raw) >= 4:
            raw = raw[2:-2]
        cells.append(re.sub(r"\\(.)", r"\1", raw))
    return cells


def read_markdown(path: Path, names: list[str]) -> list[PublishedTable]:
    """The tables of a Markdown report, named in the order they appear (the last, freshness, is dropped)."""
    blocks: list[list[str]] = []
    previous = False
    for line in path.read_text(encoding="utf-8").splitlines():
        is_row = line.startswith("|")
        if is_row and not previous:
            blocks.append([])
        if is_row:
            blocks[-1].append(line)
        previous = is_row
    tables = []
    for name, block in zip(names, blocks, strict=False):
        header = _markdown_cells(block[0])
        rows = [_markdown_cells(line) for line in block[2:]]
        total = 1 if block[-1].startswith("| **") else 0
        tables.append(PublishedTable(name, header, rows, total))
    return tables


class _HtmlTables(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tables: list[PublishedTable] = []
        self.name: str | None = None
        self.row: list[str] | None = None
        self.text: str | None = None
        self.header: list[str] = []
        self.rows: list[list[str]] = []
        self.totals = 0

    def handle_starttag(self, tag: str, attributes: list) -> None:
        found = dict(attributes)
        if tag == "h2":
            self.name = found.get("id")
        elif tag == "table":
            self.header, self.rows, self.totals = [], [], 0
        elif tag == "tr":
            self.row = []
            if found.get("class") == "total":
                self.totals += 1
        elif tag in ("td", "th"):
            self.text = ""

    def handle_data(self, data: str) -> None:
        if self.text is not None:
            self.text += data

    def handle_endtag(self, tag: str) -> None:
        if tag in ("td", "th") and self.row is not None:
            self.row.append(self.text.strip())
            self.text = None
        elif tag == "tr" and self.row is not None:
            if self.header:
                self.rows.append(self.row)
            else:
                self.header = self.row
            self.row = None
        elif tag == "table" and self.name:
            self.tables.append(PublishedTable(self.name, self.header, self.rows, self.totals))
            self.name = None


def read_html(path: Path) -> list[PublishedTable]:
    parser = _HtmlTables()
    parser.feed(path.read_text(encoding="utf-8"))
    return parser.tables


def read_report(path: Path, format: str, names: list[str]) -> list[PublishedTable]:
    if format == "csv":
        return read_csv(path)
    if format == "md":
        return read_markdown(path, names)
    return read_html(path)


def _reverse(language: str, dimension: str) -> dict[str, str]:
    if dimension in FOLDED:
        codes = {country.alpha_3 for country in pycountry.countries} | {"UNK"}
    else:
        codes = set(_CODES)
    found = {labels.category(language, dimension, code): code for code in codes}
    if dimension in FOLDED:
        found[labels.word(language, "other")] = OTHER
    return found


def _number(text: str) -> int | None:
    if text == "x":
        return None
    return int(re.sub(r"[.,]", "", text))


def _code(reverse: dict[str, str], label: str) -> str:
    # A label no code list knows (a reporting unit written by a source) is its own identity.
    return reverse.get(label, label)


def read_table(table: PublishedTable, language: str, year: int) -> ReadTable:
    """Give every printed number its identity."""
    measure_of = {labels.word(language, measure): measure for measure in MEASURES}
    cells: dict[tuple[int, int], tuple[tuple, int | None]] = {}
    body = table.rows[: len(table.rows) - table.totals]
    total_row = len(body) if table.totals else None
    if table.name == "overview":
        for row, line in enumerate(body):
            for column, label in enumerate(table.header[1:]):
                cells[row, column] = ((measure_of[label], int(line[0]), ()), _number(line[column + 1]))
        return ReadTable(table.name, cells, None, None)
    if table.name == "trend_exploitation_type":
        reverse = _reverse(language, "exploitation_type")
        forms = [_code(reverse, label) for label in table.header[1:-1]]
        for row, line in enumerate(body):
            each = int(line[0])
            for column, form in enumerate(forms):
                cells[row, column] = (("persons", each, (("exploitation_type", form),)), _number(line[column + 1]))
            cells[row, len(forms)] = (("persons", each, ()), _number(line[-1]))
        return ReadTable(table.name, cells, None, len(forms))
    if "_by_" in table.name:
        row_dimension, column_dimension = table.name.split("_by_")
        row_reverse, column_reverse = _reverse(language, row_dimension), _reverse(language, column_dimension)
        columns = [_code(column_reverse, label) for label in table.header[1:-1]]
        rows = [_code(row_reverse, line[0]) for line in body]
        for row, line in enumerate(table.rows):
            for column, text in enumerate(line[1:]):
                pairs = []
                if row < len(body):
                    pairs.append((row_dimension, rows[row]))
                if column < len(columns):
                    pairs.append((column_dimension, columns[column]))
                cells[row, column] = (("persons", year, tuple(sorted(pairs))), _number(text))
        named = {row_dimension: rows} if row_dimension in FOLDED else {}
        return ReadTable(table.name, cells, total_row, len(columns), named)
    dimension = table.name
    reverse = _reverse(language, dimension)
    rows = [_code(reverse, line[0]) for line in body]
    measures = [(position, measure_of[label]) for position, label in enumerate(table.header[1:]) if label in measure_of]
    for row, line in enumerate(table.rows):
        for column, (position, measure) in enumerate(measures):
            pairs = ((dimension, rows[row]),) if row < len(body) else ()
            cells[row, column] = ((measure, year, pairs), _number(line[position + 1]))
    return ReadTable(table.name, cells, total_row, None, {dimension: rows} if dimension in FOLDED else {})
