"""The report as CSV: one file per table, every cell neutralised against formula injection."""

from __future__ import annotations

import csv
import io
from pathlib import Path

from disclosure import neutralise_csv_cell
from reporting import labels
from reporting.layout import grid
from reporting.methods import methods_paragraphs
from reporting.private_files import private_folder, write_private
from reporting.tables import Report


def write_csv_tables(report: Report, language: str, folder: Path, top: int, draft: bool = False) -> list[Path]:
    """Write `<year>_<table>.csv` files into `folder` (`<year>_draft_<table>.csv` for a draft); returns their paths.

    A draft or an internal report (--min-cell 0) starts every file with a row that says so.
    """
    private_folder(folder)
    banner = []
    if draft:
        banner.append([labels.word(language, "draft")])
    if report.min_cell <= 1:
        banner.append([methods_paragraphs(report, language, top)[0]])
    written = []
    for table in report.tables:
        item = grid(report, table, language, plain=True)
        path = folder / f"{report.year}_{'draft_' if draft else ''}{item.name}.csv"
        text = io.StringIO()
        writer = csv.writer(text)
        for row in [*banner, item.header, *item.rows]:
            writer.writerow([neutralise_csv_cell(cell) for cell in row])
        write_private(path, text.getvalue())
        written.append(path)
    return written
