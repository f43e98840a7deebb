"""Labels come from data (reporting units, countries, sources): in every format a label is printed
as text, never as a formula, a link, an image, a tag or a broken table."""

from __future__ import annotations

import csv
import re

import pytest
from published_tables import read_csv, read_html, read_markdown
from test_flow_end_to_end import run_cli
from test_report import warehouse_with

from disclosure import neutralise_formula
from victim_intake.synthetic.registrations import synthetic_registrations
from warehouse.marts import DIMENSION_NAMES

# What a source could have typed as its reporting unit, and what a reader must see.
HOSTILE = {
    "-2+3+cmd|' /C calc'!A0": "'-2+3+cmd|' /C calc'!A0",
    '=HYPERLINK("http://evil.example","open")': '\'=HYPERLINK("http://evil.example","open")',
    "@SUM(A1:A9)": "'@SUM(A1:A9)",
    " =1+1": "' =1+1",
    "<script>alert(1)</script>": "<script>alert(1)</script>",
    "Noord|Zuid": "Noord|Zuid",
    "[x](javascript:alert(1))": "[x](javascript:alert(1))",
    "![i](http://evil.example/i.png)": "![i](http://evil.example/i.png)",
    "**bold** _it_ `code` &amp; \\": "**bold** _it_ `code` &amp; \\",
}
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


@pytest.fixture
def warehouse(isolated_settings):
    frame = synthetic_registrations(600, range(2024, 2025), seed=3, persons=500)
    for number, unit in enumerate(HOSTILE):
        frame.loc[frame.index[number * 12 : (number + 1) * 12], "reporting_unit"] = unit
    warehouse_with(f"sqlite:///{isolated_settings / 'warehouse.sqlite'}", frame).dispose()


def units(tables) -> list[str]:
    table = next(table for table in tables if table.name == "reporting_unit")
    return [row[0] for row in table.rows]


def write(tmp_path, output: str):
    target = tmp_path / ("tables" if output == "csv" else f"report.{output}")
    code, printed = run_cli("report", "--year", "2024", "--lang", "en", "--format", output, "--out", str(target))
    assert code == 0, printed
    return target


def test_csv_neutralises_formulas_in_labels(tmp_path, warehouse) -> None:
    folder = write(tmp_path, "csv")
    assert set(HOSTILE.values()) <= set(units(read_csv(folder)))
    cells = [cell for path in folder.glob("*.csv") for row in csv.reader(path.open(encoding="utf-8")) for cell in row]
    assert not [cell for cell in cells if cell.lstrip(" \u00a0").startswith(FORMULA_STARTS)]


def test_markdown_escapes_labels_and_neutralises_formulas(tmp_path, warehouse) -> None:
    path = write(tmp_path, "md")
    text = path.read_text(encoding="utf-8")
    tables = read_markdown(path, ["overview", "trend_exploitation_type", *DIMENSION_NAMES])
    # Every row has as many cells as the header: a pipe in a label does not split it.
    assert all(len(row) == len(table.header) for table in tables for row in table.rows)
    # Read back without the escapes, every label is exactly the neutralised text.
    assert set(HOSTILE.values()) <= set(units(tables))
    for raw in ("<script>", "](javascript:", "![i]", "**bold**", "`code`", "| Zuid"):
        assert raw not in text, raw
    # An entity or tag would be read by a Markdown renderer: neither starts unescaped.
    assert not re.search(r"(?<!\\)[&<]", text)
    assert "\\<script\\>" in text and "\\[x\\]\\(javascript:alert\\(1\\)\\)" in text and "Noord\\|Zuid" in text


def test_html_escapes_labels_and_neutralises_formulas(tmp_path, warehouse) -> None:
    path = write(tmp_path, "html")
    page = path.read_text(encoding="utf-8")
    assert "<script" not in page and "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert 'href="javascript' not in page and "<img" not in page
    assert set(HOSTILE.values()) <= set(units(read_html(path)))


@pytest.mark.parametrize(
    "text",
    [
        "-2+3+cmd|' /C calc'!A0",
        "=HYPERLINK(\"http://evil.example\")",
        "@SUM(A1)",
        " =1+1",
        "\u00a0=1+1",
        "\u200b=1+1",
        "\n=1+1",
        "\uff1d1+1",
        "  +31 20 555",
    ],
)
def test_formulas_after_white_space_or_in_wide_forms_are_neutralised(text: str) -> None:
    assert neutralise_formula(text) == "'" + text


@pytest.mark.parametrize("value", [-3, 2.5, 0, "1234", "12,5", "Noord-Holland", "0-11", "50+", "'=already"])
def test_numbers_and_plain_text_pass(value) -> None:
    assert neutralise_formula(value) == value
