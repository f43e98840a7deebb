"""Approximate matching on keyed encodings: typos, transliterations, swapped day and month.

Candidates share a keyed birth date (as written, or one side's with day and month swapped);
they match when the Dice coefficient of their name Bloom filters reaches a threshold. Tuned on
the demo data for precision >= 0.99 (`bench/linkage_quality.py` prints the figures). A match is
one more edge in the linkage graph, so it links transitively like a shared identifier.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from sqlalchemy import Connection, bindparam, column, select, table, update

from pseudonyms.encodings import bloom_matrix, dice, ones
from warehouse.bulk import bulk_insert, upsert_rows
from warehouse.privacy_tables import name_encodings
from warehouse.qualified import drop_temporary_table, qualified_name, temporary_table

# Same birth date: a typo or transliteration leaves most bigrams in common.
SAME_DATE_THRESHOLD = 0.85
# Day and month swapped: only a (nearly) identical name makes that likely to be one person.
SWAPPED_DATE_THRESHOLD = 0.95
_STAGE = "stage_birth_keys"
_COLUMNS = ["registration_id", "person_id", "birth_key", "swapped_key", "bloom"]


def known_encodings(connection: Connection, batch: pd.DataFrame) -> pd.DataFrame:
    """Stored encodings that share a birth key (as written or swapped) with the batch: one query."""
    keys = pd.concat([batch["birth_key"], batch["swapped_key"]]).dropna().drop_duplicates()
    connection.execute(temporary_table(connection, _STAGE, "birth_key varchar(32)"))
    bulk_insert(connection, _STAGE, pd.DataFrame({"birth_key": keys.to_numpy()}, dtype=object))
    staged = select(table(_STAGE, column("birth_key")).c.birth_key)
    rows = connection.execute(
        select(*(name_encodings.c[name] for name in _COLUMNS)).where(name_encodings.c.birth_key.in_(staged))
    ).all()
    drop_temporary_table(connection, _STAGE)
    # Plain tuples: pandas probes every SQLAlchemy Row for attributes, which is slow.
    return pd.DataFrame([tuple(row) for row in rows], columns=_COLUMNS, dtype=object)


# Candidate pairs gathered and scored at a time: each pair gathers two Bloom filters of 128 bytes,
# so this bounds memory (about 64 MB) however many candidates a bulk load brings.
_PAIRS_PER_CHUNK = 250_000


def _candidate_chunks(mine: np.ndarray, stored: np.ndarray):
    """Pairs (i, j) with mine[i] == stored[j] >= 0, in chunks of about `_PAIRS_PER_CHUNK` pairs.

    A sort and two binary searches instead of a hash join: the pairs are enumerated from index
    ranges, and never more than a chunk of them exists at once.
    """
    order = np.argsort(stored, kind="stable")
    ordered = stored[order]
    first = np.searchsorted(ordered, mine, "left")
    counts = np.where(mine >= 0, np.searchsorted(ordered, mine, "right") - first, 0)
    ends = np.cumsum(counts)
    row = 0
    while row < len(mine):
        # Rows whose pairs fit in one chunk (at least one row, however many candidates it has).
        stop = max(row + 1, int(np.searchsorted(ends, ends[row] - counts[row] + _PAIRS_PER_CHUNK, "right")))
        rows = np.arange(row, min(stop, len(mine)))
        per_row = counts[rows]
        left = np.repeat(rows, per_row)
        offsets = np.arange(len(left)) - np.repeat(np.cumsum(per_row) - per_row, per_row)
        yield left, order[np.repeat(first[rows], per_row) + offsets]
        row = stop


def _matching_pairs(
    matrix: np.ndarray, mine: np.ndarray, stored: np.ndarray, same_record: np.ndarray, threshold: float
) -> tuple[np.ndarray, np.ndarray]:
    """Pairs (row of the batch, row of `matrix`) that share a code and whose Dice coefficient
    reaches `threshold`; `same_record[i]` is the registration code of row i."""
    bit_counts = ones(matrix)
    kept_left, kept_right = [], []
    for left, right in _candidate_chunks(mine, stored):
        a, b = bit_counts[left], bit_counts[right]
        # Dice <= 2 min(a, b) / (a + b): names of very different lengths are dismissed before
        # their filters are gathered.
        plausible = (same_record[left] != same_record[right]) & (2 * np.minimum(a, b) >= threshold * (a + b))
        left, right = left[plausible], right[plausible]
        hits = dice(matrix, bit_counts, left, right) >= threshold
        kept_left.append(left[hits])
        kept_right.append(right[hits])
    empty = np.zeros(0, dtype=np.int64)
    return (np.concatenate(kept_left) if kept_left else empty), (np.concatenate(kept_right) if kept_right else empty)


def matches(batch: pd.DataFrame, known: pd.DataFrame) -> pd.DataFrame:
    """Matching pairs (registration_id of the batch, node) where node is `person:<id>` for a stored
    encoding and `registration:<id>` for another record of the batch."""
    others = pd.concat(
        [batch.assign(node="registration:" + batch["registration_id"]), known.assign(node="person:" + known["person_id"])],
        ignore_index=True,
    )
    matrix = bloom_matrix(others["bloom"])  # decoded once; the batch's records are its first rows
    # Candidates are joined on integer codes, not on the 32-character keys: millions of pairs at
    # bulk-load sizes, and only the few that match are turned back into ids.
    size = len(batch)
    codes, _ = pd.factorize(pd.concat([others["birth_key"], batch["birth_key"], batch["swapped_key"]], ignore_index=True))
    registration_codes, _ = pd.factorize(others["registration_id"])
    stored = codes[: len(others)]
    pairs = []
    for offset, threshold in ((len(others), SAME_DATE_THRESHOLD), (len(others) + size, SWAPPED_DATE_THRESHOLD)):
        row, row_other = _matching_pairs(matrix, codes[offset : offset + size], stored, registration_codes, threshold)
        pairs.append(
            pd.DataFrame(
                {
                    "registration_id": others["registration_id"].to_numpy()[row],
                    "node": others["node"].to_numpy()[row_other],
                }
            )
        )
    return pd.concat(pairs, ignore_index=True).drop_duplicates()


def store_encodings(connection: Connection, batch: pd.DataFrame, person_of_registration: pd.Series, key_version: int) -> None:
    """Keep the batch's encodings (with their person) for the matching of later batches; a
    re-delivered registration replaces its encoding."""
    if batch.empty:
        return
    rows = batch.assign(person_id=batch["registration_id"].map(person_of_registration), key_version=key_version)
    upsert_rows(connection, qualified_name(connection, name_encodings), rows[[*_COLUMNS, "key_version"]], "registration_id")


def move_merged(connection: Connection, merged: dict[str, str]) -> None:
    """Encodings of absorbed persons now belong to their survivors."""
    if merged:
        connection.execute(
            update(name_encodings)
            .where(name_encodings.c.person_id == bindparam("absorbed"))
            .values(person_id=bindparam("survivor")),
            [{"absorbed": absorbed, "survivor": survivor} for absorbed, survivor in merged.items()],
        )
