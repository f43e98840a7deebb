"""The report as one self-contained HTML file: inline CSS and SVG charts, no scripts, no links out."""

from __future__ import annotations

from html import escape

from reporting import labels
from reporting.charts import bar_chart, grouped_columns
from reporting.layout import grid, printable
from reporting.methods import Freshness, freshness_rows, methods_paragraphs
from reporting.tables import Report, ReportTable, key

_STYLE = """
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:2rem auto;max-width:60rem;color:#1b1b1b;line-height:1.45;padding:0 1rem}
h1{font-size:1.6rem;color:#123c5a}h2{font-size:1.2rem;margin-top:2rem;color:#123c5a}
table{border-collapse:collapse;margin:.5rem 0 1rem;font-size:.9rem}
th,td{border-bottom:1px solid #ccc;padding:.25rem .6rem;text-align:right}
th:first-child,td:first-child{text-align:left}
thead th{border-bottom:2px solid #123c5a}
tr.total td{font-weight:bold;border-top:2px solid #123c5a}
svg{max-width:100%;height:auto;display:block;margin:.5rem 0 1rem}
svg .label{font-size:12px;fill:#1b1b1b}svg .value{font-size:11px;fill:#444}
.note{color:#555;font-size:.9rem}.warning{background:#fde2e1;padding:.5rem 1rem;border-left:4px solid #b00}
nav ul{columns:2;font-size:.9rem}
"""


def _table(header: list[str], rows: list[list[str]], total_rows: int = 0) -> str:
    head = "".join(f"<th>{escape(cell)}</th>" for cell in header)
    body = []
    for index, row in enumerate(rows):
        total = ' class="total"' if index >= len(rows) - total_rows else ""
        body.append(f"<tr{total}>" + "".join(f"<td>{escape(cell)}</td>" for cell in row) + "</tr>")
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"


def _shown(report: Report, cell, language: str) -> tuple[int | None, str]:
    value = report.published(cell)
    return value, labels.word(language, "suppressed") if value is None else labels.number(language, value)


def _table_named(report: Report, name: str) -> ReportTable:
    return next(table for table in report.tables if table.name == name)


def _charts(report: Report, language: str) -> list[str]:
    forms = _table_named(report, "exploitation_type")
    form_bars = []
    for code, cells in zip(forms.rows, forms.cells, strict=True):
        value, shown = _shown(report, cells[1], language)
        form_bars.append((printable(labels.category(language, "exploitation_type", code)), value, shown))
    nationality = _table_named(report, "nationality")
    nationality_bars = []
    for code, cells in zip(nationality.rows, nationality.cells, strict=True):
        value, shown = _shown(report, cells[1], language)
        nationality_bars.append((printable(labels.category(language, "nationality", code)), value, shown))
    series = [
        (labels.word(language, measure), [_shown(report, key(measure, year), language) for year in report.years])
        for measure in ("registrations", "persons")
    ]
    return [
        (
            labels.word(language, "chart_forms", year=report.year),
            bar_chart(labels.word(language, "chart_forms", year=report.year), form_bars),
        ),
        (
            labels.word(language, "chart_trend", first=report.years[0], last=report.years[-1]),
            grouped_columns(
                labels.word(language, "chart_trend", first=report.years[0], last=report.years[-1]),
                [str(year) for year in report.years],
                series,
            ),
        ),
        (
            labels.word(language, "chart_nationality", year=report.year),
            bar_chart(labels.word(language, "chart_nationality", year=report.year), nationality_bars),
        ),
    ]


def render_html(report: Report, freshness: list[Freshness], language: str, top: int, generated: str, draft: bool = False) -> str:
    title = labels.word(language, "title", year=report.year)
    grids = [grid(report, table, language) for table in report.tables]
    if draft:
        title = f"{labels.word(language, 'draft_mark')}: {title}"
    body = [f"<h1>{escape(title)}</h1>"]
    if draft:
        body.append(f'<p class="warning draft">{escape(labels.word(language, "draft"))}</p>')
    body.append(f'<p class="note">{escape(labels.word(language, "generated", when=generated))}</p>')
    paragraphs = methods_paragraphs(report, language, top)
    if report.min_cell <= 1:
        body.append(f'<p class="warning">{escape(paragraphs[0])}</p>')
    contents = "".join(f'<li><a href="#{item.name}">{escape(item.title)}</a></li>' for item in grids)
    body.append(f"<nav><h2>{escape(labels.word(language, 'contents'))}</h2><ul>{contents}</ul></nav>")
    for chart_title, svg in _charts(report, language):
        body.append(f"<h2>{escape(chart_title)}</h2>{svg}")
    for item in grids:
        body.append(f'<h2 id="{item.name}">{escape(item.title)}</h2>{_table(item.header, item.rows, item.total_rows)}')
    body.append(f'<p class="note">{escape(labels.word(language, "legend"))}</p>')
    body.append(f"<h2>{escape(labels.word(language, 'methods'))}</h2>")
    body += [f"<p>{escape(paragraph)}</p>" for paragraph in paragraphs]
    header, rows = freshness_rows(freshness, language)
    body.append(f"<h3>{escape(labels.word(language, 'freshness'))}</h3>{_table(header, rows)}")
    return (
        f'<!DOCTYPE html><html lang="{language}"><head><meta charset="utf-8">'
        f'<meta name="viewport" content="width=device-width, initial-scale=1">'
        # No network at all: a published report must not call out when it is opened.
        f"<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'; img-src data:\">"
        f"<title>{escape(title)}</title><style>{_STYLE}</style></head><body>{''.join(body)}</body></html>\n"
    )
