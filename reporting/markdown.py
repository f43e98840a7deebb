"""The report as Markdown."""

from __future__ import annotations

from reporting import labels
from reporting.layout import Grid, grid
from reporting.methods import Freshness, freshness_rows, methods_paragraphs
from reporting.tables import Report


def _escape(text: str) -> str:
    return text.replace("|", "\\|")


def _table(header: list[str], rows: list[list[str]], bold_last: int = 0) -> list[str]:
    out = ["| " + " | ".join(_escape(cell) for cell in header) + " |"]
    out.append("|" + "|".join(["---"] + ["---:"] * (len(header) - 1)) + "|")
    for index, row in enumerate(rows):
        cells = [_escape(cell) for cell in row]
        if index >= len(rows) - bold_last:
            cells = [f"**{cell}**" if cell else cell for cell in cells]
        out.append("| " + " | ".join(cells) + " |")
    return out


def render_markdown(report: Report, freshness: list[Freshness], language: str, top: int, generated: str) -> str:
    lines = [f"# {labels.word(language, 'title', year=report.year)}", "", labels.word(language, "generated", when=generated), ""]
    grids: list[Grid] = [grid(report, table, language) for table in report.tables]
    for item in grids:
        lines += [f"## {item.title}", "", *_table(item.header, item.rows, item.total_rows), ""]
    lines += [labels.word(language, "legend"), "", f"## {labels.word(language, 'methods')}", ""]
    for paragraph in methods_paragraphs(report, language, top):
        lines += [paragraph, ""]
    header, rows = freshness_rows(freshness, language)
    lines += [f"### {labels.word(language, 'freshness')}", "", *_table(header, rows), ""]
    return "\n".join(lines)
