"""The analyst marts' counts: per measure, year and category (or pair of categories), the rows
`warehouse.mart_counts` gives for the marts, in the same order, counted with hash factorisations
and one `np.bincount` per dimension instead of a pandas group-by (whose fixed cost per call was
most of a refresh of a small tier).

Rows come in the order in which each combination first occurs in the frame, as a group-by without
sorting gives them. The frames' columns hold no nulls (the tier's columns are NOT NULL).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd


def _counted(years: np.ndarray, columns: list[pd.Series]) -> tuple[np.ndarray, list[np.ndarray], np.ndarray]:
    """Distinct (year, *columns) in order of first occurrence: their years, values and counts."""
    year_codes, year_values = pd.factorize(years)
    key = year_codes.astype(np.int64)
    values = []
    for column in columns:
        codes, distinct = pd.factorize(column)
        key = key * len(distinct) + codes
        values.append((distinct, len(distinct)))
    codes, found = pd.factorize(key)
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
    """Rows of per measure (key of `frames`), year, dimension and category: `warehouse.mart_counts.yearly_counts`."""
    parts = [
        (measure, (name,), *_counted(frame["registration_year"].to_numpy(), [frame[name]]))
        for measure, frame in frames.items()
        for name in dimensions
    ]
    return _frame(parts, ["category"], ["dimension"])


def yearly_crossings(frames: dict[str, pd.DataFrame], crossings: Sequence[tuple[str, str]]) -> pd.DataFrame:
    """Rows per measure, year, pair of dimensions and pair of categories: `warehouse.mart_counts.yearly_crossings`."""
    parts = [
        (measure, (row, column), *_counted(frame["registration_year"].to_numpy(), [frame[row], frame[column]]))
        for measure, frame in frames.items()
        for row, column in crossings
    ]
    return _frame(parts, ["row_category", "column_category"], ["row_dimension", "column_dimension"])
