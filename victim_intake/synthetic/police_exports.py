"""How the police records are cut into daily export files, and which registrations are re-sent."""

from __future__ import annotations

import numpy as np

from victim_intake.synthetic.police_reports import Table, take

REDELIVERY_SHARE = 0.01


def split_into_exports(day: np.ndarray, files: int) -> np.ndarray:
    """Export number of each record (ordered by `day`): near-equal parts that never split a day.

    A day is never split because an export holds everything up to the day before it was made;
    a run with fewer distinct days than `files` gets fewer exports.
    """
    size = len(day)
    wanted = np.arange(1, files) * size // files
    cuts = np.unique(np.searchsorted(day, day[wanted], side="left"))
    return np.searchsorted(cuts[cuts > 0], np.arange(size), side="right")


def add_redeliveries(rng: np.random.Generator, table: Table, export: np.ndarray) -> tuple[Table, np.ndarray]:
    """Re-send ~1 % of the valid registrations, corrected, in a later export.

    Returns the grown table and export numbers, ordered by export and then by signal day (so a
    correction comes first in its export).
    """
    valid = table["problem"] == ""
    eligible = np.flatnonzero(valid & (export < export.max()))
    wanted = min(round(np.count_nonzero(valid) * REDELIVERY_SHARE), len(eligible))
    rows = np.sort(rng.choice(eligible, size=wanted, replace=False))
    copies = take(table, rows)
    # The correction: the victim filed a report after all, or withdrew it.
    copies["aangifte"] = ~copies["aangifte"]
    copies["toelichting"] = copies["toelichting"] + np.where(
        copies["aangifte"], " Correctie: aangifte gedaan.", " Correctie: aangifte ingetrokken."
    )
    later = rng.integers(export[rows] + 1, export.max() + 1)
    grown = {name: np.concatenate([column, copies[name]]) for name, column in table.items()}
    export = np.concatenate([export, later])
    order = np.lexsort((grown["nominal"], export))
    return take(grown, order), export[order]
