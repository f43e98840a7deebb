"""The report as CSV: one file per table, every text cell neutralised against formula injection."""

from __future__ import annotations

import csv
from pathlib import Path

from disclosure import neutralise_csv_cell
from reporting.layout import grid
from reporting.tables import Report


def write_csv_tables(report: Report, language: str, folder: Path) -> list[Path]:
    """Write `<year>_<table>.csv` files into `folder`; returns their paths."""
    folder.mkdir(parents=True, exist_ok=True, mode=0o700)  # reports are for the steward's eyes first
    written = []
    for table in report.tables:
        item = grid(report, table, language, plain=True)
        path = folder / f"{report.year}_{item.name}.csv"
        with path.open("w", encoding="utf-8", newline="") as handle:
            writer = csv.writer(handle)
            for row in [item.header, *item.rows]:
                writer.writerow([neutralise_csv_cell(cell) for cell in row])
        written.append(path)
    return written
