"""The report as Markdown: every text escaped, so data can add no link, image, HTML or formatting."""

from __future__ import annotations

from reporting import labels
from reporting.layout import Grid, grid, printable
from reporting.methods import Freshness, freshness_rows, methods_paragraphs
from reporting.tables import Report

# Characters with a meaning inside a Markdown line (CommonMark and GitHub's tables): emphasis,
# code, links and images, raw HTML and entities, strikethrough, table pipes, headings and maths.
# A backslash makes any of them a literal character.
_SPECIAL = frozenset("\\`*_[]()<>!~&|#$")


def escape(text: str) -> str:
    """Text as a Markdown line prints it literally (also a cell of a table)."""
    return "".join("\\" + character if character in _SPECIAL else character for character in printable(text))


def _table(header: list[str], rows: list[list[str]], bold_last: int = 0) -> list[str]:
    out = ["| " + " | ".join(escape(cell) for cell in header) + " |"]
    out.append("|" + "|".join(["---"] + ["---:"] * (len(header) - 1)) + "|")
    for index, row in enumerate(rows):
        cells = [escape(cell) for cell in row]
        if index >= len(rows) - bold_last:
            cells = [f"**{cell}**" if cell else cell for cell in cells]
        out.append("| " + " | ".join(cells) + " |")
    return out


def render_markdown(report: Report, freshness: list[Freshness], language: str, top: int, generated: str, draft: bool = False) -> str:
    title = labels.word(language, "title", year=report.year)
    if draft:
        title = f"{labels.word(language, 'draft_mark')}: {title}"
    lines = [f"# {escape(title)}", ""]
    if draft:
        lines += [f"> **{escape(labels.word(language, 'draft'))}**", ""]
    lines += [escape(labels.word(language, "generated", when=generated)), ""]
    grids: list[Grid] = [grid(report, table, language) for table in report.tables]
    for item in grids:
        lines += [f"## {escape(item.title)}", "", *_table(item.header, item.rows, item.total_rows), ""]
    lines += [escape(labels.word(language, "legend")), "", f"## {escape(labels.word(language, 'methods'))}", ""]
    for paragraph in methods_paragraphs(report, language, top):
        lines += [escape(paragraph), ""]
    header, rows = freshness_rows(freshness, language)
    lines += [f"### {escape(labels.word(language, 'freshness'))}", "", *_table(header, rows), ""]
    return "\n".join(lines)
