"""Approximate matching on keyed encodings: typos, transliterations, swapped day and month.

Candidates share a keyed birth date (as written, or one side's with day and month swapped);
they match when the Dice coefficient of their name Bloom filters reaches a threshold. Tuned on
the demo data for precision >= 0.99 (`bench/linkage_quality.py` prints the figures). A match is
one more edge in the linkage graph, so it links transitively like a shared identifier.

Pure: the stored encodings are read from the vault by `linkage.known_encodings`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from pseudonyms.encodings import BLOOM_BITS, bloom_matrix, dice, ones, row_ones

# Same birth date: a typo or transliteration leaves most bigrams in common.
SAME_DATE_THRESHOLD = 0.85
# Day and month swapped: only a (nearly) identical name makes that likely to be one person.
SWAPPED_DATE_THRESHOLD = 0.95
_STORED = ("registration_id", "person_id", "birth_key", "script_key")


@dataclass(frozen=True, repr=False)
class StoredEncodings:
    """Stored encodings that share a birth key with a batch: ids and birth keys, with their Bloom
    filters decoded (one row of `matrix` each)."""

    frame: pd.DataFrame  # registration_id, person_id, birth_key, script_key
    matrix: np.ndarray
    # The row of `matrix` of each row of `frame`; None: the same row. The parts of one load share
    # one matrix of every encoding they reached (`linkage.known_encodings.ReachedEncodings`), and
    # each part's rows are gathered from it once, in the order matching reads them.
    rows: np.ndarray | None = None

    def __len__(self) -> int:
        return len(self.frame)

    def bit_counts(self) -> np.ndarray:
        """Bits set in each row's filter."""
        counted = ones(self.matrix)
        return counted if self.rows is None else counted[self.rows]


_NOTHING_STORED = StoredEncodings(
    pd.DataFrame({name: pd.Series(dtype=object) for name in _STORED}),
    np.zeros((0, BLOOM_BITS // 64), dtype=np.uint64),
)


# Candidate pairs gathered and scored at a time: each pair gathers two Bloom filters of 128 bytes,
# so this bounds memory (about 64 MB) however many candidates a bulk load brings.
_PAIRS_PER_CHUNK = 250_000


@dataclass(frozen=True, repr=False)
class _ByCode:
    """The rows that candidates are drawn from, sorted by their code (birth key): the candidates
    of one birth date lie side by side, so gathering them reads memory in order instead of at
    random (the gather, not the arithmetic, is what a bulk load's millions of pairs cost)."""

    order: np.ndarray  # row of `matrix` at each sorted position
    codes: np.ndarray
    matrix: np.ndarray
    ones: np.ndarray
    records: np.ndarray

    @classmethod
    def of(
        cls, codes: np.ndarray, blocks: list[tuple[np.ndarray, np.ndarray | None]], bit_counts: np.ndarray, records: np.ndarray
    ) -> _ByCode:
        """Sorted from the filters of `blocks` (each a matrix and the rows taken from it, None: all;
        their rows one after the other), gathered straight into place: the blocks are never
        concatenated, which would copy every filter once more."""
        order = np.argsort(codes, kind="stable")
        matrix = np.empty((len(order), blocks[0][0].shape[1]), dtype=blocks[0][0].dtype)
        start = 0
        for block, rows in blocks:
            size = len(block) if rows is None else len(rows)
            positions = np.flatnonzero((order >= start) & (order < start + size))
            taken = order[positions] - start
            matrix[positions] = block[taken if rows is None else rows[taken]]
            start += size
        return cls(order, codes[order], matrix, bit_counts[order], records[order])


def _candidate_chunks(mine: np.ndarray, ordered: np.ndarray):
    """Pairs (i, j) with mine[i] == ordered[j] >= 0 (`ordered` sorted), in chunks of about
    `_PAIRS_PER_CHUNK` pairs, the rows of `mine` taken in the order of their codes.

    Two binary searches instead of a hash join: the pairs are enumerated from index ranges, and
    never more than a chunk of them exists at once. Rows with the same code come one after the
    other, so their candidates are read while still in the cache.
    """
    rows_by_code = np.argsort(mine, kind="stable")
    codes = mine[rows_by_code]
    first = np.searchsorted(ordered, codes, "left")
    counts = np.where(codes >= 0, np.searchsorted(ordered, codes, "right") - first, 0)
    ends = np.cumsum(counts)
    row = 0
    while row < len(mine):
        # Rows whose pairs fit in one chunk (at least one row, however many candidates it has).
        stop = max(row + 1, int(np.searchsorted(ends, ends[row] - counts[row] + _PAIRS_PER_CHUNK, "right")))
        rows = np.arange(row, min(stop, len(mine)))
        per_row = counts[rows]
        offsets = np.arange(per_row.sum()) - np.repeat(np.cumsum(per_row) - per_row, per_row)
        yield np.repeat(rows_by_code[rows], per_row), np.repeat(first[rows], per_row) + offsets
        row = stop


def _matching_pairs(
    matrix: np.ndarray, bit_counts: np.ndarray, mine: np.ndarray, records: np.ndarray, candidates: _ByCode, threshold: float
) -> tuple[np.ndarray, np.ndarray]:
    """Pairs (row of the batch, row of the candidates) whose codes are equal and whose Dice
    coefficient reaches `threshold`: batch row i has code `mine[i]`, its filter in row i of
    `matrix` (bit counts in `bit_counts`), and `records[i]` is its registration code."""
    kept_left, kept_right = [], []
    for left, right in _candidate_chunks(mine, candidates.codes):
        a, b = bit_counts[left], candidates.ones[right]
        # Dice <= 2 min(a, b) / (a + b): names of very different lengths are dismissed before
        # their filters are gathered.
        plausible = (records[left] != candidates.records[right]) & (2 * np.minimum(a, b) >= threshold * (a + b))
        left, right = left[plausible], right[plausible]
        hits = dice(matrix[left], candidates.matrix[right], bit_counts[left], candidates.ones[right]) >= threshold
        kept_left.append(left[hits])
        kept_right.append(candidates.order[right[hits]])
    empty = np.zeros(0, dtype=np.int64)
    return (np.concatenate(kept_left) if kept_left else empty), (np.concatenate(kept_right) if kept_right else empty)


def matches(batch: pd.DataFrame, known: StoredEncodings, own: pd.DataFrame | None = None) -> pd.DataFrame:
    """Matching pairs (registration_id of the batch, node) where node is `person:<id>` for a stored
    encoding and `registration:<id>` for another record of the batch.

    `own`: the pairs among the batch's own records, when `own_matches` found them already (where
    the batch was prepared, ahead of its load); then only the stored encodings are searched here.
    """
    # Rows of the batch first, then the stored ones; the batch's filters are decoded once.
    size = len(batch)
    mine = bloom_matrix(batch["bloom"])
    registration_ids = pd.concat([batch["registration_id"], known.frame["registration_id"]], ignore_index=True)
    # Candidates are joined on integer codes, not on the 32-character keys: millions of pairs at
    # bulk-load sizes, and only the few that match are turned back into ids.
    codes, _ = pd.factorize(
        pd.concat([batch["birth_key"], known.frame["birth_key"], batch["birth_key"], batch["swapped_key"]], ignore_index=True)
    )
    registration_codes, _ = pd.factorize(registration_ids)
    others = size + len(known)
    bit_counts = np.concatenate([ones(mine), known.bit_counts()])
    # The candidates: the batch's rows and the stored ones, or the stored ones only (rows from `first`).
    first = 0 if own is None else size
    stored = (known.matrix, known.rows)
    blocks = [(mine, None), stored] if own is None else [stored]
    candidates = _ByCode.of(codes[first:others], blocks, bit_counts[first:], registration_codes[first:])
    pairs = [] if own is None else [own]
    for offset, threshold in ((others, SAME_DATE_THRESHOLD), (others + size, SWAPPED_DATE_THRESHOLD)):
        row, row_other = _matching_pairs(mine, bit_counts, codes[offset : offset + size], registration_codes, candidates, threshold)
        row_other = row_other + first
        pairs.append(
            pd.DataFrame(
                {
                    "registration_id": registration_ids.iloc[row].to_numpy(dtype=object),
                    "node": _nodes(row_other, size, registration_ids, known.frame["person_id"]),
                }
            )
        )
    return pd.concat(pairs, ignore_index=True).drop_duplicates()


def own_matches(batch: pd.DataFrame) -> pd.DataFrame:
    """The matching pairs among the batch's own records (`matches` without stored encodings):
    they need no database, so they are found while the batch is prepared, ahead of its load.

    The same pairs in the same order as `matches`, each compared once: the same-date candidates a
    birth date at a time, all pairs of its records at once, instead of gathered pair by pair (in a
    bulk load each birth date holds a few dozen records, and the gathering is what costs)."""
    size = len(batch)
    matrix = bloom_matrix(batch["bloom"])
    registration_ids = batch["registration_id"].reset_index(drop=True)
    codes, _ = pd.factorize(pd.concat([batch["birth_key"], batch["swapped_key"]], ignore_index=True))
    records, _ = pd.factorize(registration_ids)
    bit_counts = ones(matrix)
    same = _same_code_pairs(matrix, bit_counts, codes[:size], records, SAME_DATE_THRESHOLD)
    candidates = _ByCode.of(codes[:size], [(matrix, None)], bit_counts, records)
    # Swapping is its own inverse: row i's swapped date is row j's date exactly when j's swapped
    # date is i's. Each pair of dates is searched from its smaller code only, then mirrored.
    swapped_codes = codes[size:]
    row, other = _matching_pairs(
        matrix, bit_counts, np.where(codes[:size] < swapped_codes, swapped_codes, -1), records, candidates, SWAPPED_DATE_THRESHOLD
    )
    row, other = np.concatenate([row, other]), np.concatenate([other, row])
    ordered = np.lexsort((other, row, swapped_codes[row]))
    swapped = row[ordered], other[ordered]
    pairs = [
        pd.DataFrame(
            {
                "registration_id": registration_ids.iloc[row].to_numpy(dtype=object),
                "node": ("registration:" + registration_ids.iloc[other]).to_numpy(dtype=object),
            }
        )
        for row, other in (same, swapped)
    ]
    return pd.concat(pairs, ignore_index=True).drop_duplicates()


# Rows of one size of birth-date group compared at a time: bounds the temporaries (2 MB each).
_ROWS_PER_BLOCK = 16_384


def _same_code_pairs(
    matrix: np.ndarray, bit_counts: np.ndarray, codes: np.ndarray, records: np.ndarray, threshold: float
) -> tuple[np.ndarray, np.ndarray]:
    """Pairs (i, j) of rows with the same code, of other records, whose Dice coefficient reaches
    `threshold`, decided as `_matching_pairs` decides them and in its order (by code, i, j).

    Groups of one size are stacked, rows in index order; comparing every row with the one
    `distance` places further on, for each distance, compares each pair once, on slices of the
    stack rather than filters gathered pair by pair. Dice is symmetric: each pair found gives
    both (i, j) and (j, i)."""
    order = np.argsort(codes, kind="stable")
    starts = np.flatnonzero(np.r_[True, codes[order][1:] != codes[order][:-1]]) if len(codes) else np.zeros(0, dtype=np.int64)
    sizes = np.diff(np.r_[starts, len(codes)])
    lefts, rights = [np.zeros(0, dtype=np.int64)], [np.zeros(0, dtype=np.int64)]
    for size in sorted(set(sizes[sizes > 1].tolist())):
        groups = order[starts[sizes == size][:, None] + np.arange(size)]  # (groups, size)
        per_block = max(1, _ROWS_PER_BLOCK // size)
        for first in range(0, len(groups), per_block):
            block = groups[first : first + per_block]
            filters, ones_of, record_of = matrix[block], bit_counts[block], records[block]
            for distance in range(1, size):
                a, b = ones_of[:, :-distance], ones_of[:, distance:]
                common = row_ones(filters[:, :-distance] & filters[:, distance:])
                hits = (record_of[:, :-distance] != record_of[:, distance:]) & (2 * np.minimum(a, b) >= threshold * (a + b))
                hits &= 2 * common / np.maximum(a + b, 1) >= threshold
                group, row = np.nonzero(hits)
                near, far = block[group, row], block[group, row + distance]
                lefts += [near, far]
                rights += [far, near]
    left, right = np.concatenate(lefts), np.concatenate(rights)
    ordered = np.lexsort((right, left, codes[left]))
    return left[ordered], right[ordered]


def _nodes(rows: np.ndarray, size: int, registration_ids: pd.Series, person_ids: pd.Series) -> np.ndarray:
    """Graph node of each matched row: `registration:<id>` for the batch's first `size` rows,
    `person:<id>` for the stored ones after them (built for the matches only)."""
    nodes = np.empty(len(rows), dtype=object)
    from_batch = rows < size
    nodes[from_batch] = ("registration:" + registration_ids.iloc[rows[from_batch]]).to_numpy(dtype=object)
    nodes[~from_batch] = ("person:" + person_ids.iloc[rows[~from_batch] - size]).to_numpy(dtype=object)
    return nodes
