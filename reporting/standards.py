"""The statistics the registry owes (Eurostat's delivery, UNODC's table), from the marts, protected with the report.

A delivery's cells are keyed as the report keys its own: ("persons", year, pairs) with the
standard's dimensions (`sex`, `age`, `citizen`, `exploitation`, `schemas.standards`). Each of them
is a sum of the report's cells: the persons of a form group and sex are the sum of the form by
gender crossing over the forms and genders behind those codes, and so on for age (form by minor)
and citizenship (nationality by form). `standard_lines` writes those sums down, through latent
margins (form group by sex, by age, by citizenship), so that the attacker of `disclosure` who holds
a delivery and the reports of its year sees everything one tells about the other: a delivery is
protected jointly with the reports before it, and a report with the deliveries before it.
UNODC's girls, boys, women and men by form, the Eurostat groups of form, sex and age and the
report's form by gender and form by minor crossings are all sums of one latent layer, persons by
form, gender and minor (`ATOM`), so they meet there.
"""

from __future__ import annotations

import csv
import io
import itertools
from collections.abc import Iterable

import pandas as pd
from sqlalchemy import Connection, text

from disclosure import Line
from reporting.tables import Key, ReportTable, YearCounts, fold_size, key, with_category
from schemas import standards
from schemas.vocabulary import EXPLOITATION_TYPES, GENDERS

EUROSTAT = "eurostat"
DIMENSIONS = tuple(standards.DIMENSIONS)  # sex, age, citizen, exploitation
# Crossed with `exploitation`, each is one of the report's crossings with the form of exploitation.
MARGINS = ("sex", "age", "citizen")
UNODC = "unodc"
# The finest sums both the standards and the report's crossings are made of: persons by form,
# gender and minor (latent: never published, written down so that every table's sums meet).
ATOM = ("exploitation_type", "gender", "minor")
_MINOR = ("minor", "adult", "unknown")
EUROSTAT_COLUMNS = (*DIMENSIONS, "value", "flag")
_DUTCH = {"dutch": ("NAT",), "non_dutch": ("EU27_2020_FOR", "NEU27_2020_FOR"), "unknown": (standards.UNKNOWN,)}


def _is_standard(cell: Key) -> bool:
    return len(cell[2]) == len(DIMENSIONS) and {dimension for dimension, _ in cell[2]} == set(DIMENSIONS)


def read_standard_counts(connection: Connection, first: int, last: int) -> dict[Key, int]:
    """Every cell of the standards' tables and of the sums that tie them to the report, of the years
    (only what occurs), from `mart_person_years`."""
    marts = [standards.DIMENSIONS[dimension][0] for dimension in DIMENSIONS]
    rows = connection.execute(
        text(
            f"SELECT registration_year, {', '.join(marts)}, COUNT(*) FROM mart_person_years "
            f"WHERE registration_year BETWEEN :first AND :last GROUP BY registration_year, {', '.join(marts)}"
        ),
        {"first": first, "last": last},
    ).all()
    frame = pd.DataFrame(rows, columns=["year", *marts, "count"])
    for dimension, mart in zip(DIMENSIONS, marts, strict=True):
        frame[dimension] = frame[mart].map(lambda category, dimension=dimension: standards.code(dimension, category))
    frame["unodc"] = [standards.unodc_person(gender, minor) for gender, minor in zip(frame["gender"], frame["minor"], strict=True)]
    groupings = [
        list(DIMENSIONS),
        *(["exploitation", margin] for margin in MARGINS),
        ["exploitation", "sex", "age"],
        list(ATOM),
        ["exploitation_type", "unodc"],
        ["unodc"],
        ["citizen"],
    ]
    values: dict[Key, int] = {}
    for grouping in groupings:
        for found in frame.groupby(["year", *grouping])["count"].sum().reset_index().itertuples(index=False):
            values[key("persons", int(found[0]), *zip(grouping, found[1:-1], strict=True))] = int(found[-1])
    return values


def combinations() -> list[tuple[str, ...]]:
    """Every combination of the standard's codes, in output order."""
    return list(itertools.product(*(standards.DIMENSIONS[dimension][1] for dimension in DIMENSIONS)))


def eurostat_table(year: int) -> ReportTable:
    """The delivery as a table of one column: every combination, those without a person included
    (the file leaves them out, which publishes their zero)."""
    rows = combinations()
    return ReportTable(
        name=EUROSTAT,
        kind="standard",
        row_dimension="combination",
        column_dimension="measure",
        rows=["|".join(row) for row in rows],
        columns=["persons"],
        cells=[[key("persons", year, *zip(DIMENSIONS, row, strict=True))] for row in rows],
    )


def unodc_table(year: int) -> ReportTable:
    """Persons by form and girls, boys, women and men, with the form totals of the report."""
    return ReportTable(
        name=UNODC,
        kind="crossing",
        row_dimension="exploitation_type",
        column_dimension=UNODC,
        rows=list(EXPLOITATION_TYPES),
        columns=list(standards.UNODC_PERSONS),
        cells=[
            [key("persons", year, ("exploitation_type", form), (UNODC, person)) for person in standards.UNODC_PERSONS]
            for form in EXPLOITATION_TYPES
        ],
        row_totals=[key("persons", year, ("exploitation_type", form)) for form in EXPLOITATION_TYPES],
        column_totals=[key("persons", year, (UNODC, person)) for person in standards.UNODC_PERSONS],
        grand_total=key("persons", year),
    )


def _atoms(year: int, forms: Iterable[str], genders: Iterable[str], minors: Iterable[str]) -> tuple[Key, ...]:
    return tuple(
        key("persons", year, ("exploitation_type", form), ("gender", gender), ("minor", minor))
        for form, gender, minor in itertools.product(forms, genders, minors)
    )


def atom_lines(year: int) -> list[Line]:
    """The report's form by gender and form by minor crossings as sums of the latent atoms."""
    lines = [
        Line(key("persons", year, ("exploitation_type", form), ("gender", gender)), _atoms(year, [form], [gender], _MINOR))
        for form, gender in itertools.product(EXPLOITATION_TYPES, GENDERS)
    ]
    return lines + [
        Line(key("persons", year, ("exploitation_type", form), ("minor", minor)), _atoms(year, [form], GENDERS, [minor]))
        for form, minor in itertools.product(EXPLOITATION_TYPES, _MINOR)
    ]


def unodc_lines(cells: Iterable[Key]) -> list[Line]:
    """Each UNODC cell among `cells` as the sum of its atoms."""
    lines = []
    for cell in cells:
        pairs = dict(cell[2])
        if cell[0] == "persons" and len(pairs) == 2 and UNODC in pairs and "exploitation_type" in pairs:
            parts = [
                atom for atom, (gender, minor) in zip(
                    _atoms(cell[1], [pairs["exploitation_type"]], GENDERS, _MINOR), itertools.product(GENDERS, _MINOR), strict=True
                )
                if standards.unodc_person(gender, minor) == pairs[UNODC]
            ]
            lines.append(Line(cell, tuple(parts)))
    return lines


def _nationalities(counts: YearCounts) -> tuple[str, ...]:
    """Every nationality the year holds, and every member state of EU27_2020."""
    return tuple(sorted(set(counts.persons("nationality")) | set(standards.EU27_2020) | {standards.UNKNOWN}))


def standard_lines(cells: Iterable[Key], nationalities: Iterable[str]) -> list[Line]:
    """The sums that tie each year's standard cells among `cells` to the report's cells: the year's
    persons, the form groups by sex, age and citizenship (latent margins, each the sum of standard
    cells and the sum of crossing cells), and Dutch or not."""
    nationalities = tuple(nationalities)
    by_year: dict[int, list[Key]] = {}
    for cell in cells:
        if _is_standard(cell):
            by_year.setdefault(cell[1], []).append(cell)
    lines = []
    for year, found in sorted(by_year.items()):
        found.sort(key=repr)
        codes = {cell: dict(cell[2]) for cell in found}
        lines.append(Line(key("persons", year), tuple(found)))
        for margin in MARGINS:
            mart = standards.DIMENSIONS[margin][0]
            for form, value in itertools.product(standards.DIMENSIONS["exploitation"][1], standards.DIMENSIONS[margin][1]):
                total = key("persons", year, ("exploitation", form), (margin, value))
                parts = tuple(cell for cell in found if codes[cell]["exploitation"] == form and codes[cell][margin] == value)
                lines.append(Line(total, parts))
                crossing = tuple(
                    key("persons", year, ("exploitation_type", category), (mart, other))
                    for category in standards.categories("exploitation", form)
                    for other in standards.categories(margin, value, nationalities)
                )
                if crossing:
                    lines.append(Line(total, crossing))
        # Form group by sex and age: the sums UNODC's girls, boys, women and men are made of too.
        joint = ("exploitation", "sex", "age")
        for group in itertools.product(*(standards.DIMENSIONS[name][1] for name in joint)):
            total = key("persons", year, *zip(joint, group, strict=True))
            lines.append(Line(total, tuple(cell for cell in found if tuple(codes[cell][name] for name in joint) == group)))
            lines.append(Line(total, _atoms(year, *(standards.categories(name, code) for name, code in zip(joint, group, strict=True)))))
        for group, values in _DUTCH.items():
            lines.append(Line(key("persons", year, ("dutch", group)), tuple(cell for cell in found if codes[cell]["citizen"] in values)))
    return lines


def citizen_lines(cells: Iterable[Key], nationalities: Iterable[str]) -> list[Line]:
    """Each citizenship group's persons among `cells` (the report's reference tables) as the sum of
    the nationality rows behind it."""
    nationalities = tuple(nationalities)
    return [
        Line(cell, tuple(key("persons", cell[1], ("nationality", code)) for code in standards.categories("citizen", cell[2][0][1], nationalities)))
        for cell in cells
        if cell[0] == "persons" and len(cell[2]) == 1 and cell[2][0][0] == "citizen"
    ]


def linked_lines(cells: set[Key], counts: YearCounts) -> list[Line]:
    """The sums that tie the standards' cells of `counts`'s year among `cells` to the report's:
    `standard_lines`, `unodc_lines`, the crossings as sums of the atoms, and, as they name single
    countries, what every "other" nationality row is the sum of (the countries after the named ones)."""
    own = [cell for cell in cells if cell[1] == counts.year]
    lines = standard_lines(own, _nationalities(counts)) + unodc_lines(own) + citizen_lines(own, _nationalities(counts))
    if not lines:
        return []
    lines += atom_lines(counts.year)
    ranking = counts.rankings["nationality"]
    for cell in sorted(cells, key=repr):
        named = fold_size(dict(cell[2]).get("nationality", ""))
        if cell[0] == "persons" and cell[1] == counts.year and named is not None:
            lines.append(Line(cell, tuple(with_category(cell, "nationality", code) for code in ranking[named:])))
    return lines


def earlier_lines(values: dict[Key, int]) -> list[Line]:
    """`standard_lines` for an earlier state of the data, whose cells `values` holds: the latent
    margins it lacks are added to `values` as the sums of its standard cells; only lines whose
    every cell the state holds are kept."""
    nationalities = {code for cell in values for dimension, code in cell[2] if dimension == "nationality" and fold_size(code) is None}
    nationalities |= {standards.UNKNOWN, *standards.EU27_2020}
    lines = standard_lines(list(values), nationalities) + unodc_lines(list(values)) + citizen_lines(list(values), nationalities)
    for line in lines:
        if line.total not in values and all(part in values for part in line.parts) and _is_standard_sum(line):
            values[line.total] = sum(values[part] for part in line.parts)
    return [line for line in lines if all(cell in values for cell in (line.total, *line.parts))]


def _is_standard_sum(line: Line) -> bool:
    return bool(line.parts) and all(_is_standard(part) for part in line.parts)


def eurostat_csv(table: ReportTable, values: dict[Key, int], hidden: frozenset) -> str:
    """The delivery: one row per combination with persons (no totals); `c` flags a cell the
    registry's suppression hides, which the receiver must not publish."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(EUROSTAT_COLUMNS)
    for row, (cell,) in zip(table.rows, table.cells, strict=True):
        if values[cell] > 0:
            writer.writerow([*row.split("|"), values[cell], "c" if cell in hidden else ""])
    return out.getvalue()


def standard_tables(standard: str, year: int) -> list[ReportTable]:
    """The tables a standard publishes or delivers about `year`."""
    return {EUROSTAT: [eurostat_table(year)], UNODC: [unodc_table(year)]}[standard]


def tables_csv(report) -> str:
    """Published tables as one long CSV: table, measure, row, column (`total` for a margin) and
    the value, `x` where suppressed."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(("table", "measure", "row", "column", "value"))
    for table in report.tables:
        for row, column, cell in table.positions():
            value = report.published(cell)
            writer.writerow((
                table.name, cell[0], table.rows[row] if row >= 0 else "total", table.columns[column] if column >= 0 else "total",
                "x" if value is None else value,
            ))
    return out.getvalue()
