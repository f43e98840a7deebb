"""Membership of text values in a set of text values, and their codes, computed in Arrow.

pandas' `isin` on Arrow-backed text turns every value of the set into a Python scalar first: with a
million identifiers that is seconds per call inside the load. Arrow hashes both sides in C++.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc


def arrow_text(values: pd.Series | pd.Index | Iterable[str | None]) -> pa.Array:
    """Text values as one Arrow array, without a Python object per value where pandas holds them in Arrow."""
    if not isinstance(values, pd.Series | pd.Index):
        values = pd.Series(list(values), dtype=object)
    if isinstance(values.dtype, pd.StringDtype):
        array = pa.array(values.array)
    else:
        array = pa.array(values.to_numpy(dtype=object), pa.string(), from_pandas=True)
    return array.combine_chunks() if isinstance(array, pa.ChunkedArray) else array


def is_in(values: pd.Series | pd.Index, value_set: pd.Series | pd.Index | Iterable[str | None]) -> np.ndarray:
    """For each of `values`, whether it is one of `value_set` (as `isin`, nulls equal to nulls)."""
    return pc.is_in(arrow_text(values), value_set=arrow_text(value_set)).to_numpy(zero_copy_only=False)


def positions_in(values: pd.Series | pd.Index, value_set: pa.Array) -> np.ndarray:
    """For each of `values`, its position in `value_set` (-1: not there)."""
    array = arrow_text(values)
    found = pc.index_in(array, value_set=value_set.cast(array.type)).to_numpy(zero_copy_only=False)
    return np.nan_to_num(found, nan=-1).astype(np.int64)


def sorted_unique(*columns: pd.Series | pd.Index) -> pa.Array:
    """The distinct non-null values of the columns, in sorted order (UTF-8 byte order, which is
    the order of Python's string comparison)."""
    values = pa.chunked_array([arrow_text(column).cast(pa.string()) for column in columns], pa.string())
    distinct = pc.unique(values.combine_chunks()).drop_null()
    return distinct.take(pc.array_sort_indices(distinct))


def text_codes(values: pd.Series | pd.Index, *, ordered: bool) -> tuple[np.ndarray, pa.Array]:
    """Each value's position among the distinct non-null values (-1: null), and those values: a
    factorize hashed in Arrow; `ordered`: the values in sorted order (UTF-8 byte order)."""
    encoded = pc.dictionary_encode(arrow_text(values))
    indices = encoded.indices.fill_null(-1).to_numpy()
    if not ordered:
        return indices.astype(np.int64), encoded.dictionary
    order = pc.array_sort_indices(encoded.dictionary).to_numpy()
    rank = np.full(len(order) + 1, -1, dtype=np.int64)  # the last one: a null's index, -1
    rank[order] = np.arange(len(order))
    return rank[indices], encoded.dictionary.take(order)
