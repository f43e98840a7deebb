"""The marts' arithmetic on registrations read into Arrow: first registrations, and counts.

Pure functions over a table with `registration_year`, `person_key`, `reported_on` (nullable),
`registration_id` and one dictionary-encoded column per dimension; `warehouse.marts` reads that
table and writes the results.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc


def first_registrations(table: pa.Table) -> tuple[np.ndarray, np.ndarray]:
    """Each person's first registration of each year: earliest `reported_on` (no date last), then
    `registration_id`.

    Returns their row positions in `table`, ordered by year and person key (the order of the
    mart's primary key, so inserting them appends to its index), and each person's number of
    registrations in the year.
    """
    if table.num_rows == 0:
        return np.empty(0, np.int64), np.empty(0, np.int64)
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
    positions = np.flatnonzero(starts)
    sizes = np.diff(np.append(positions, len(years)))
    return order.to_numpy()[positions], sizes


def dimension_frame(table: pa.Table, dimensions: Sequence[str]) -> pd.DataFrame:
    """Year and dimensions as pandas (categoricals: one small integer per value)."""
    columns = {"registration_year": table["registration_year"].to_numpy()}
    columns |= {name: table[name].combine_chunks().to_pandas() for name in dimensions}
    return pd.DataFrame(columns)


def _counted(frame: pd.DataFrame, columns: list[str]) -> pd.DataFrame:
    """Rows by year and `columns`, only combinations that occur, with their `count`."""
    found = frame.groupby(["registration_year", *columns], observed=True, sort=False).size()
    return found[found > 0].rename("count").reset_index()


def yearly_counts(frames: dict[str, pd.DataFrame], dimensions: Sequence[str]) -> pd.DataFrame:
    """`mart_yearly_counts` rows: per measure (key of `frames`), year, dimension and category."""
    parts = [
        _counted(frame, [name]).rename(columns={name: "category"}).assign(measure=measure, dimension=name)
        for measure, frame in frames.items()
        for name in dimensions
    ]
    return _text_columns(pd.concat(parts, ignore_index=True), ["category"])


def yearly_crossings(frames: dict[str, pd.DataFrame], crossings: Sequence[tuple[str, str]]) -> pd.DataFrame:
    """`mart_yearly_crossings` rows: per measure, year, pair of dimensions and pair of categories."""
    parts = [
        _counted(frame, [row, column])
        .rename(columns={row: "row_category", column: "column_category"})
        .assign(measure=measure, row_dimension=row, column_dimension=column)
        for measure, frame in frames.items()
        for row, column in crossings
    ]
    return _text_columns(pd.concat(parts, ignore_index=True), ["row_category", "column_category"])


def _text_columns(frame: pd.DataFrame, names: list[str]) -> pd.DataFrame:
    """Categories of different dimensions share one column: plain text, not a categorical."""
    return frame.astype({name: "str" for name in names})
