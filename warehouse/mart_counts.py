"""The marts' arithmetic on registrations read into Arrow: first registrations, and counts.

Pure functions over a table with `registration_year`, `person_key`, `reported_on` (nullable),
`registration_id` and one dictionary-encoded column per dimension; `warehouse.marts` reads that
table and writes the results.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc


def _person_year_starts(table: pa.Table) -> tuple[np.ndarray, np.ndarray]:
    """Row positions ordered by year, person key, `reported_on` (no date last) and
    `registration_id`, and where in that order each person-year starts."""
    order = pc.sort_indices(
        table,
        sort_keys=[
            ("registration_year", "ascending"),
            ("person_key", "ascending"),
            ("reported_on", "ascending", "at_end"),
            ("registration_id", "ascending"),
        ],
    )
    years = table["registration_year"].take(order).to_numpy()
    persons = table["person_key"].take(order).combine_chunks()
    starts = np.ones(len(years), dtype=bool)
    starts[1:] = (years[1:] != years[:-1]) | pc.not_equal(persons[1:], persons[:-1]).to_numpy(zero_copy_only=False)
    return order.to_numpy(), starts


@dataclass(frozen=True)
class PersonYears:
    """Each person's first registration of each year (earliest `reported_on`, no date last, then
    `registration_id`), and which person-year every row belongs to."""

    positions: np.ndarray  # the first registrations' rows, ordered by year and person key
    sizes: np.ndarray  # each person-year's number of registrations
    owners: np.ndarray  # each row's person-year: its index among `positions`


def person_years(table: pa.Table) -> PersonYears:
    """Split `table` into person-years; `positions` come in the order of the person-year mart's
    primary key, so inserting them appends to its index."""
    if table.num_rows == 0:
        return PersonYears(np.empty(0, np.int64), np.empty(0, np.int64), np.empty(0, np.int64))
    order, starts = _person_year_starts(table)
    firsts = np.flatnonzero(starts)
    owners = np.empty(len(order), np.int64)
    owners[order] = np.cumsum(starts) - 1
    return PersonYears(order[firsts], np.diff(np.append(firsts, len(order))), owners)


def dimension_frame(table: pa.Table, dimensions: Sequence[str]) -> pd.DataFrame:
    """Year and dimensions as pandas (categoricals: one small integer per value)."""
    columns = {"registration_year": table["registration_year"].to_numpy()}
    columns |= {name: table[name].combine_chunks().to_pandas() for name in dimensions}
    return pd.DataFrame(columns)


def _counted(years: np.ndarray, columns: list[pd.Series]) -> tuple[np.ndarray, list[np.ndarray], np.ndarray]:
    """Distinct (year, *columns) in order of first occurrence: their years, values and counts.
    Rows with a null in any column are left out, as a pandas group-by leaves them out."""
    year_codes, year_values = pd.factorize(years)
    key = year_codes.astype(np.int64)
    kept = year_codes >= 0
    values = []
    for column in columns:
        codes, distinct = pd.factorize(column)
        key = key * len(distinct) + codes
        kept &= codes >= 0
        values.append((distinct, len(distinct)))
    codes, found = pd.factorize(key[kept])
    counts = np.bincount(codes, minlength=len(found)).astype(np.int64)
    shown = []
    for distinct, width in reversed(values):
        shown.append(np.asarray(distinct, dtype=object)[found % width])
        found = found // width
    return np.asarray(year_values)[found], shown[::-1], counts


def _frame(parts: list[tuple[str, tuple[str, ...], np.ndarray, list[np.ndarray], np.ndarray]], names: Sequence[str], dimensions: Sequence[str]) -> pd.DataFrame:
    """One frame from the parts (measure, dimensions, years, categories, counts)."""
    columns: dict[str, object] = {"registration_year": np.concatenate([years for _, _, years, _, _ in parts])}
    for position, name in enumerate(names):
        columns[name] = pd.array(np.concatenate([shown[position] for _, _, _, shown, _ in parts]), dtype="str")
    columns["count"] = np.concatenate([counts for *_, counts in parts])
    columns["measure"] = pd.array(np.concatenate([np.full(len(counts), measure, dtype=object) for measure, _, _, _, counts in parts]), dtype="str")
    for position, dimension in enumerate(dimensions):
        columns[dimension] = pd.array(np.concatenate([np.full(len(counts), used[position], dtype=object) for _, used, _, _, counts in parts]), dtype="str")
    return pd.DataFrame(columns)


def yearly_counts(frames: dict[str, pd.DataFrame], dimensions: Sequence[str]) -> pd.DataFrame:
    """`mart_yearly_counts` rows: per measure (key of `frames`), year, dimension and category."""
    parts = [
        (measure, (name,), *_counted(frame["registration_year"].to_numpy(), [frame[name]]))
        for measure, frame in frames.items()
        for name in dimensions
    ]
    return _frame(parts, ["category"], ["dimension"])


def yearly_crossings(frames: dict[str, pd.DataFrame], crossings: Sequence[tuple[str, str]]) -> pd.DataFrame:
    """`mart_yearly_crossings` rows: per measure, year, pair of dimensions and pair of categories."""
    parts = [
        (measure, (row, column), *_counted(frame["registration_year"].to_numpy(), [frame[row], frame[column]]))
        for measure, frame in frames.items()
        for row, column in crossings
    ]
    return _frame(parts, ["row_category", "column_category"], ["row_dimension", "column_dimension"])
