"""Lists merged or left out before an estimate: how much the answer depends on the choice of lists.

Both work on an overlap frame (0/1 list columns, optional covariate columns, `count`), before it is
validated. Merging A and B makes one list "A+B" of the persons on either. Leaving C out forgets C:
a person seen by C alone becomes unseen, and rows that end up on no list are dropped.
"""

from __future__ import annotations

import pandas as pd

from estimation.errors import OverlapTableError
from estimation.table import COUNT_COLUMN


def merge_lists(frame: pd.DataFrame, names: list[str], lists: list[str]) -> pd.DataFrame:
    """`frame` with the list columns `names` replaced by one column named "A+B" (their union)."""
    _known(names, lists, "--merge")
    if len(names) < 2:
        raise OverlapTableError("--merge needs at least two lists, separated by commas")
    merged = "+".join(names)
    flags = frame[names].apply(pd.to_numeric, errors="coerce")
    result = frame.drop(columns=names)
    result.insert(list(frame.columns).index(names[0]), merged, flags.max(axis=1).astype("int64"))
    return result


def omit_lists(frame: pd.DataFrame, names: list[str], lists: list[str]) -> pd.DataFrame:
    """`frame` without the list columns `names`, and without the persons seen only there."""
    _known(names, lists, "--omit")
    remaining = [name for name in lists if name not in names]
    result = frame.drop(columns=names)
    seen = result[remaining].apply(pd.to_numeric, errors="coerce").fillna(0).sum(axis=1) > 0
    return result[seen].reset_index(drop=True)


def _known(names: list[str], lists: list[str], option: str) -> None:
    unknown = [name for name in names if name not in lists]
    if unknown or len(set(names)) != len(names) or COUNT_COLUMN in names:
        raise OverlapTableError(f"{option} names lists the table does not have (or twice): {', '.join(unknown) or ', '.join(names)}; lists: {', '.join(lists)}")
