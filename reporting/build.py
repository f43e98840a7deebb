"""Build the report of a year, protected jointly with every earlier release, and describe it for the record."""

from __future__ import annotations

import pandas as pd
from sqlalchemy import Connection

from disclosure import CannotProtect
from reporting.rapporteur import RAPPORTEUR, rapporteur_tables, read_rapporteur_counts, released_before
from reporting.reference import read_reference_counts, reference_tables
from reporting.releases import YearMemory, cell_text, protect_year, read_memory
from reporting.standards import EUROSTAT, read_standard_counts, standard_tables
from reporting.tables import (
    TOP_COUNTRIES,
    TREND_YEARS,
    History,
    NoRegistrations,
    Report,
    YearCounts,
    key,
    read_counts,
    trend_tables,
    year_tables,
)
from warehouse.marts import year_fingerprints
from warehouse.publications import CELL_COLUMNS, latest_publication_id


def build_report(connection: Connection, year: int, min_cell: int, top: int = TOP_COUNTRIES) -> Report:
    """All tables of `year` and the trend of the years before it, protected.

    Each year's cells are suppressed as that year's own report suppresses them (its tables
    protected together, jointly with what was released about the year before), and the trend shows
    earlier years with exactly that pattern: the reports of two years then publish the same cells
    of a shared year, so putting them side by side reveals nothing that either hides.
    """
    years = list(range(year - TREND_YEARS + 1, year + 1))
    counts = read_counts(connection, years[0], year)
    if key("registrations", year) not in counts:
        raise NoRegistrations(f"the warehouse holds no registrations of {year}")
    years = [each for each in years if key("registrations", each) in counts]
    # The cells of the deliveries of `reporting.standards`: a report is protected jointly with them;
    # and the reference data it sets beside the national figures.
    counts |= read_standard_counts(connection, years[0], year) | read_reference_counts(connection, years[0], year)
    fingerprints = year_fingerprints(connection, years)
    # An unprotected (internal) report is not recorded and needs no memory.
    memories = read_memory(connection, years) if min_cell > 1 else {each: YearMemory(each) for each in years}
    for each in years:
        counts |= _rapporteur_counts(connection, each, memories[each])
    last_publication = latest_publication_id(connection)
    year_counts = {each: YearCounts(counts, each, memories[each].rankings()) for each in years}
    own = {each: year_tables(year_counts[each], top, memories[each].rows()) + reference_tables(year_counts[each]) for each in years}
    published = [*trend_tables(years), *own[year]]
    hidden: set = set()
    values: dict = {}
    for each in years:
        released = {cell for table in published for cell in table.keys() if cell[1] == each}
        lines = [line for table in published for line in table.lines() if line.total[1] == each]
        hidden |= protect_year(own[each], released, lines, year_counts[each], memories[each], fingerprints[each], min_cell, top)
        values |= {cell: year_counts[each].value(cell) for cell in released}
    return Report(
        year, years, published, values, frozenset(hidden), min_cell, fingerprints, _history(memories, fingerprints, year), last_publication
    )


def _rapporteur_counts(connection: Connection, year: int, memory: YearMemory) -> dict:
    """The counts of the rapporteur's tables when a release of the year printed them (every cell
    remembered must have its value now), else none: they cost a scan of the year's registrations."""
    if not released_before(cell for state in memory.states for cell in state.values):
        return {}
    return read_rapporteur_counts(connection, year)


def _history(memories: dict[int, YearMemory], fingerprints: dict[int, str], year: int) -> History:
    changed = {each: [state for state in memory.states if state.fingerprint != fingerprints[each]] for each, memory in memories.items()}
    return History(
        releases=memories[year].releases,
        revised=max((state.last_published for state in changed[year]), default=None),
        revised_years=tuple(each for each in sorted(changed) if each != year and changed[each]),
    )


def release_cells(report: Report) -> pd.DataFrame:
    """Every cell of every table as the report prints it, for the record (`published_cells`)."""
    rows = [
        (table.name, row, column, cell_text(cell), cell[1], report.fingerprints[cell[1]], report.values[cell], cell in report.hidden)
        for table in report.tables
        for row, column, cell in table.positions()
    ]
    return pd.DataFrame(rows, columns=list(CELL_COLUMNS))


def build_standard(connection: Connection, year: int, min_cell: int, standard: str) -> tuple[Report, str | None]:
    """The tables of a standard (`reporting.standards`) for `year`, protected jointly with every
    earlier release of the year, as the report's tables are.

    A Eurostat delivery carries every value and flags the cells the suppression hides; it cannot be
    withheld, so when earlier releases of the year already pin some of its small cells whatever it
    flags, every cell is flagged and the second value says why. The other standards are published
    tables: a release that cannot be protected raises CannotProtect, like the report."""
    counts = read_counts(connection, year, year)
    if key("registrations", year) not in counts:
        raise NoRegistrations(f"the warehouse holds no registrations of {year}")
    counts |= read_standard_counts(connection, year, year) | read_reference_counts(connection, year, year)
    fingerprints = year_fingerprints(connection, [year])
    memory = read_memory(connection, [year])[year] if min_cell > 1 else YearMemory(year)
    if standard == RAPPORTEUR:
        counts |= read_rapporteur_counts(connection, year)
    else:
        counts |= _rapporteur_counts(connection, year, memory)
    last_publication = latest_publication_id(connection)
    year_counts = YearCounts(counts, year, memory.rankings())
    tables = rapporteur_tables(year_counts, memory.rows()) if standard == RAPPORTEUR else standard_tables(standard, year)
    released = {cell for table in tables for cell in table.keys()}
    lines = [line for table in tables for line in table.lines()]
    values = {cell: year_counts.value(cell) for cell in released}
    warning = None
    try:
        # No country is named: no ranking is published (top 0).
        hidden = protect_year(tables, released, lines, year_counts, memory, fingerprints[year], min_cell, 0)
    except CannotProtect as error:
        if standard != EUROSTAT:
            raise
        hidden = frozenset(cell for cell in released if values[cell] > 0)
        warning = f"{error}: every cell is flagged c"
    history = _history({year: memory}, fingerprints, year)
    return Report(year, [year], tables, values, hidden, min_cell, fingerprints, history, last_publication), warning
