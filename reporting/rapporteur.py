"""The tables of the National Rapporteur's victim monitor that the warehouse can answer.

- `rapporteur_sector_group`: registrations by form of exploitation and sector group (the group of
  the sector list, `schemas/codelists/sector_groups.csv`; `unknown` when no sector is known);
- `rapporteur_border`: persons by form and domestic (Dutch nationality, exploited in the
  Netherlands) or cross-border (a known other nationality, or a known country of exploitation
  abroad); `unknown` when neither can be told;
- `rapporteur_b8_by_source`, `rapporteur_b8_by_unit`: registrations by source kind and by reporting
  unit, and whether a B8/3 reflection period was offered;
- `rapporteur_report_by_source`, `rapporteur_report_by_unit`: the same for a report filed (aangifte).

Each table's row totals are the cells of the report's own one-way tables (registrations or persons
by form, source kind, unit), and the B8 and report columns' totals are shared by the tables by
source and by unit, so the tables' sums tie them to each other and to the report.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable

import numpy as np
import pandas as pd
from sqlalchemy import Connection, text

from reporting.tables import Key, ReportTable, YearCounts, key
from schemas.codelists.catalogue import sector_groups, sectors
from schemas.vocabulary import EXPLOITATION_TYPES

RAPPORTEUR = "rapporteur"
UNKNOWN = "unknown"
BORDER = ("domestic", "cross_border", UNKNOWN)
B8 = ("offered", "not_offered", UNKNOWN)
REPORT_FILED = ("filed", "not_filed", UNKNOWN)
# The dimensions only these tables have: a memory holding one needs their counts.
DIMENSIONS = ("sector_group", "border", "b8", "report_filed")
_NETHERLANDS = "NLD"
_UNKNOWN_COUNTRY = "UNK"


def border(nationality: pd.Series, country: pd.Series) -> pd.Series:
    """Domestic, cross-border or unknown, from alpha-3 nationality and country of exploitation."""
    domestic = nationality.eq(_NETHERLANDS) & country.eq(_NETHERLANDS)
    abroad = ~nationality.isin([_NETHERLANDS, _UNKNOWN_COUNTRY]) | ~country.isin([_NETHERLANDS, _UNKNOWN_COUNTRY])
    found = pd.Series(UNKNOWN, index=nationality.index, dtype="str")
    found[abroad] = "cross_border"
    found[domestic] = "domestic"
    return found


def yes_no(values: pd.Series, words: tuple[str, str, str]) -> pd.Series:
    """Yes, no or unknown as words (SQLite returns 1 and 0, PostgreSQL true and false, both null)."""
    known = values.notna()
    yes = values.where(known, 0).astype(int).astype(bool)
    return pd.Series(np.where(~known, words[2], np.where(yes, words[0], words[1])), index=values.index, dtype="str")


def read_rapporteur_counts(connection: Connection, year: int) -> dict[Key, int]:
    """The cells of the tables and their column totals, of one year's national registrations."""
    rows = connection.execute(
        text(
            "SELECT exploitation_type, exploitation_sector, source_kind, reporting_unit, b8_reflection_offered, report_filed, COUNT(*) "
            "FROM registrations WHERE scope = 'national' AND registration_year = :year GROUP BY exploitation_type, exploitation_sector, "
            "source_kind, reporting_unit, b8_reflection_offered, report_filed"
        ),
        {"year": year},
    ).all()
    frame = pd.DataFrame(rows, columns=["exploitation_type", "sector", "source_kind", "reporting_unit", "b8", "report_filed", "count"])
    group_of = {sector.code: sector.group for sector in sectors()}
    frame["sector_group"] = frame["sector"].map(group_of).fillna(UNKNOWN)
    frame["b8"] = yes_no(frame["b8"], B8)
    frame["report_filed"] = yes_no(frame["report_filed"], REPORT_FILED)
    values = _grouped(frame, "registrations", year, [
        ["exploitation_type", "sector_group"], ["sector_group"],
        ["source_kind", "b8"], ["reporting_unit", "b8"], ["b8"],
        ["source_kind", "report_filed"], ["reporting_unit", "report_filed"], ["report_filed"],
    ])
    persons = connection.execute(
        text(
            "SELECT exploitation_type, nationality, exploitation_country, COUNT(*) FROM mart_person_years WHERE registration_year = :year "
            "GROUP BY exploitation_type, nationality, exploitation_country"
        ),
        {"year": year},
    ).all()
    people = pd.DataFrame(persons, columns=["exploitation_type", "nationality", "country", "count"])
    people["border"] = border(people["nationality"], people["country"])
    return values | _grouped(people, "persons", year, [["exploitation_type", "border"], ["border"]])


def _grouped(frame: pd.DataFrame, measure: str, year: int, groupings: list[list[str]]) -> dict[Key, int]:
    values: dict[Key, int] = {}
    for grouping in groupings:
        for found in frame.groupby(grouping)["count"].sum().reset_index().itertuples(index=False):
            values[key(measure, year, *zip(grouping, found[:-1], strict=True))] = int(found[-1])
    return values


def _present(counts: YearCounts, dimension: str, earlier_rows: dict[str, set[str]]) -> list[str]:
    """The categories of a dimension with registrations in the year, and those a release showed
    before (a row once published stays, its absence would say it fell to zero)."""
    found = {pairs[0][1] for measure, _, pairs in counts.raw if measure == "registrations" and len(pairs) == 1 and pairs[0][0] == dimension}
    return sorted(found | earlier_rows.get(dimension, set()), key=lambda code: (code == UNKNOWN, code))


def _crossing(name: str, measure: str, year: int, row: str, rows: list[str], column: str, columns: tuple[str, ...]) -> ReportTable:
    return ReportTable(
        name=name,
        kind="crossing",
        row_dimension=row,
        column_dimension=column,
        rows=list(rows),
        columns=list(columns),
        cells=[[key(measure, year, (row, r), (column, c)) for c in columns] for r in rows],
        row_totals=[key(measure, year, (row, r)) for r in rows],
        column_totals=[key(measure, year, (column, c)) for c in columns],
        grand_total=key(measure, year),
    )


def rapporteur_tables(counts: YearCounts, earlier_rows: dict[str, set[str]]) -> list[ReportTable]:
    """The monitor's tables of the year."""
    year = counts.year
    groups = (*(group.code for group in sector_groups()), UNKNOWN)
    sources, units = (_present(counts, dimension, earlier_rows) for dimension in ("source_kind", "reporting_unit"))
    tables = [
        _crossing(f"{RAPPORTEUR}_sector_group", "registrations", year, "exploitation_type", list(EXPLOITATION_TYPES), "sector_group", groups),
        _crossing(f"{RAPPORTEUR}_border", "persons", year, "exploitation_type", list(EXPLOITATION_TYPES), "border", BORDER),
    ]
    for (column, codes, word), (row, rows) in itertools.product(
        (("b8", B8, "b8"), ("report_filed", REPORT_FILED, "report")), (("source_kind", sources), ("reporting_unit", units))
    ):
        suffix = "source" if row == "source_kind" else "unit"
        tables.append(_crossing(f"{RAPPORTEUR}_{word}_by_{suffix}", "registrations", year, row, rows, column, codes))
    return tables


def released_before(values: Iterable[Key]) -> bool:
    """Whether cells released before (a year's memory) hold one of these tables' dimensions."""
    return any(dimension in DIMENSIONS for cell in values for dimension, _ in cell[2])
