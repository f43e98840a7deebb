"""The Netherlands beside the reference data: the report's comparison with rows in `reference` scope.

Reference rows (such as the CTDC global dataset) describe victims registered elsewhere and are
counted in no national figure. When a year holds some, the report adds one table per
characteristic (form of exploitation, gender, minor or adult, citizenship group) whose name starts
with `reference_`: the year's national persons beside the reference registrations (each an
unlinked row, so a person of its own). The national column repeats the cells of the report's own
one-way tables (the citizenship groups are sums of its nationality rows, `reporting.standards`), and
the reference column is a measure of its own, `reference`: both go through the report's suppression.
"""

from __future__ import annotations

import pandas as pd
from sqlalchemy import Connection, text

from reporting.rapporteur import yes_no
from reporting.tables import Key, ReportTable, YearCounts, key
from schemas import standards
from schemas.vocabulary import EXPLOITATION_TYPES, GENDERS

REFERENCE = "reference"
ROWS: dict[str, tuple[str, ...]] = {
    "exploitation_type": EXPLOITATION_TYPES,
    "gender": GENDERS,
    "minor": ("minor", "adult", "unknown"),
    "citizen": standards.CITIZEN_CODES,
}


def read_reference_counts(connection: Connection, first: int, last: int) -> dict[Key, int]:
    """Reference registrations per year and category of each compared characteristic, with each year's total."""
    rows = connection.execute(
        text(
            "SELECT registration_year, exploitation_type, gender, is_minor, nationality, COUNT(*) FROM registrations "
            "WHERE scope = 'reference' AND registration_year BETWEEN :first AND :last "
            "GROUP BY registration_year, exploitation_type, gender, is_minor, nationality"
        ),
        {"first": first, "last": last},
    ).all()
    frame = pd.DataFrame(rows, columns=["year", "exploitation_type", "gender", "is_minor", "nationality", "count"])
    frame["minor"] = yes_no(frame["is_minor"], ROWS["minor"])
    frame["citizen"] = frame["nationality"].map(standards.citizen)
    values: dict[Key, int] = {}
    for year, total in frame.groupby("year")["count"].sum().items():
        values[key(REFERENCE, int(year))] = int(total)
    for dimension in ROWS:
        for (year, category), count in frame.groupby(["year", dimension])["count"].sum().items():
            values[key(REFERENCE, int(year), (dimension, category))] = int(count)
    return values


def reference_tables(counts: YearCounts) -> list[ReportTable]:
    """The comparison tables of the year, or none when the year holds no reference row."""
    year = counts.year
    if not counts.value(key(REFERENCE, year)):
        return []
    return [
        ReportTable(
            name=f"{REFERENCE}_{dimension}",
            kind=REFERENCE,
            row_dimension=dimension,
            column_dimension="measure",
            rows=list(rows),
            columns=["persons", REFERENCE],
            cells=[[key("persons", year, (dimension, code)), key(REFERENCE, year, (dimension, code))] for code in rows],
            column_totals=[key("persons", year), key(REFERENCE, year)],
        )
        for dimension, rows in ROWS.items()
    ]
