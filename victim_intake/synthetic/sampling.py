"""Vectorised sampling helpers shared by the synthetic generators."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd


def choose(rng: np.random.Generator, weights: Mapping[str, float], size: int) -> np.ndarray:
    """Draw `size` keys of `weights` with probability proportional to their weight."""
    keys = np.array(list(weights), dtype=object)
    p = np.fromiter(weights.values(), dtype=float)
    return keys[rng.choice(len(keys), size=size, p=p / p.sum())]


def distinct_indices(rng: np.random.Generator, pool_size: int, size: int, count: int) -> np.ndarray:
    """`count` different indices below `pool_size` for each of `size` draws, shape (count, size)."""
    picks: list[np.ndarray] = []
    for k in range(count):
        draw = rng.integers(0, pool_size - k, size)
        # Step over the indices already taken, smallest first: this maps the smaller range one to one
        # onto the untaken indices, so the draw stays uniform without rejection loops.
        for taken in np.sort(np.stack(picks), axis=0) if picks else ():
            draw += draw >= taken
        picks.append(draw)
    return np.stack(picks)


def dates_in_years(rng: np.random.Generator, year_weights: Mapping[int, float], size: int) -> np.ndarray:
    """Days (datetime64[D]) whose year follows `year_weights`, uniform within the year."""
    years = np.array(list(year_weights))
    p = np.fromiter(year_weights.values(), dtype=float)
    year = years[rng.choice(len(years), size=size, p=p / p.sum())] - 1970
    start = year.astype("datetime64[Y]").astype("datetime64[D]")
    length = ((year + 1).astype("datetime64[Y]").astype("datetime64[D]") - start).astype(np.int64)
    return start + (rng.random(size) * length).astype(np.int64)


def recode(values: np.ndarray, mapping: Mapping[str, str]) -> np.ndarray:
    """Translate every value through `mapping` (an object array of the results)."""
    return np.array([mapping[v] for v in values.tolist()], dtype=object)


# The rows of a value that `group_rows` did not find.
NOBODY = np.empty(0, dtype=np.int64)


def group_rows(values: np.ndarray) -> dict[Any, np.ndarray]:
    """Row indices of each distinct value (None left out), found in one pass, not one per value."""
    codes, distinct = pd.factorize(values)
    missing = codes < 0  # sorted first, then dropped
    order = np.argsort(codes, kind="stable")[np.count_nonzero(missing) :]
    bounds = np.cumsum(np.bincount(codes[~missing], minlength=len(distinct)))[:-1]
    return dict(zip(distinct.tolist(), np.split(order, bounds), strict=True))
