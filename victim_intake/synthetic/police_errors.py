"""Invalid police records: about 2 % of the reports get exactly one problem, named in the truth file."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd

from schemas.vocabulary import MAX_PLAUSIBLE_AGE
from victim_intake.synthetic.identifiers import break_bsns, draw_bsns
from victim_intake.synthetic.police_reports import LAST_SIGNAL, Table

PROBLEMS: tuple[str, ...] = (
    "unknown_unit",
    "future_date",
    "bad_bsn",
    "unknown_form",
    "birth_after_signal",
    "bad_gender",
    "bad_country",
    "duplicate_id",
)
INVALID_SHARE = 0.02
# Police regions from before the 2013 reorganisation still turn up in old export templates.
FORMER_UNITS = (
    "Haaglanden",
    "Kennemerland",
    "Brabant-Noord",
    "Gelderland-Midden",
    "Hollands Midden",
    "Twente",
)
# Offences that are not trafficking, filed under it by mistake.
OTHER_OFFENCES = ("mensensmokkel", "huiselijk geweld")
BAD_GENDERS = ("Q", "Z", "?")
BAD_COUNTRY = "XXX"
FUTURE_YEAR = "2099"  # not a leap year: 29 February becomes the 28th
MAX_DAYS_BORN_TOO_LATE = 3650


def inject_problems(rng: np.random.Generator, table: Table) -> Table:
    """A copy of `table` (in chronological order) with invalid records and their `problem` set."""
    table = {name: column.copy() for name, column in table.items()}
    size = len(table["nominal"])
    # A duplicate_id spoils two records, the other problems one.
    slots = round(size * INVALID_SHARE * len(PROBLEMS) / (len(PROBLEMS) + 1))
    # The same number of each problem; the first in the list take any remainder.
    count = {kind: slots // len(PROBLEMS) + (i < slots % len(PROBLEMS)) for i, kind in enumerate(PROBLEMS)}

    first, second = _same_day_pairs(rng, table["nominal"], count["duplicate_id"])
    table["registratie_id"][second] = table["registratie_id"][first]
    table["problem"][first] = table["problem"][second] = "duplicate_id"

    intact = np.ones(size, dtype=bool)
    intact[first] = intact[second] = False
    for kind, spoil in _SPOILERS.items():
        candidates = np.flatnonzero(intact & _suitable(kind, table))
        rows = rng.choice(candidates, size=min(count[kind], len(candidates)), replace=False)
        intact[rows] = False
        spoil(rng, table, rows)
        table["problem"][rows] = kind
    return table


def _suitable(kind: str, table: Table) -> np.ndarray:
    """Records that `kind` can spoil without breaking a second rule."""
    if kind == "future_date":
        # A 2099 signal must not also make the person implausibly old.
        return table["geboortedatum"] >= str(int(FUTURE_YEAR) - MAX_PLAUSIBLE_AGE)
    return np.ones(len(table["geboortedatum"]), dtype=bool)


def _same_day_pairs(rng: np.random.Generator, day: np.ndarray, wanted: int) -> tuple[np.ndarray, np.ndarray]:
    """Up to `wanted` disjoint pairs of neighbouring records of one day (so of one export file)."""
    candidates = np.flatnonzero(day[1:] == day[:-1])
    first = np.sort(rng.choice(candidates, size=min(wanted, len(candidates)), replace=False))
    # Neighbouring picks would share a record: keep the first of each run.
    first = first[np.diff(first, prepend=-2) > 1]
    return first, first + 1


def _pick(rng: np.random.Generator, options: tuple[str, ...], size: int) -> np.ndarray:
    return np.array(options, dtype=object)[rng.integers(0, len(options), size)]


def _unknown_unit(rng: np.random.Generator, table: Table, rows: np.ndarray) -> None:
    table["eenheid"][rows] = _pick(rng, FORMER_UNITS, len(rows))


def _future_date(rng: np.random.Generator, table: Table, rows: np.ndarray) -> None:
    table["datum_signaal"][rows] = [
        FUTURE_YEAR + ("-02-28" if day.endswith("02-29") else day[4:]) for day in table["datum_signaal"][rows]
    ]


def _bad_bsn(rng: np.random.Generator, table: Table, rows: np.ndarray) -> None:
    bsn = table["bsn"][rows]
    missing = pd.isna(bsn)
    bsn[missing] = draw_bsns(rng, int(missing.sum()))
    table["bsn"][rows] = break_bsns(rng, bsn)


def _unknown_form(rng: np.random.Generator, table: Table, rows: np.ndarray) -> None:
    table["vorm"][rows] = _pick(rng, OTHER_OFFENCES, len(rows))


def _birth_after_signal(rng: np.random.Generator, table: Table, rows: np.ndarray) -> None:
    # Born after the signal but no later than the day after the last one, so the birth date is not
    # also in the future for whoever runs the pipeline.
    signal = table["nominal"][rows]
    room = np.minimum((LAST_SIGNAL - signal).astype(np.int64) + 1, MAX_DAYS_BORN_TOO_LATE)
    born = signal + rng.integers(1, room + 1)
    table["geboortedatum"][rows] = np.datetime_as_string(born, unit="D")


def _bad_gender(rng: np.random.Generator, table: Table, rows: np.ndarray) -> None:
    table["geslacht"][rows] = _pick(rng, BAD_GENDERS, len(rows))


def _bad_country(rng: np.random.Generator, table: Table, rows: np.ndarray) -> None:
    table["nationaliteit"][rows] = BAD_COUNTRY


# Every problem but duplicate_id, which needs a pair of records.
_SPOILERS: dict[str, Callable[[np.random.Generator, Table, np.ndarray], None]] = {
    "unknown_unit": _unknown_unit,
    "future_date": _future_date,
    "bad_bsn": _bad_bsn,
    "unknown_form": _unknown_form,
    "birth_after_signal": _birth_after_signal,
    "bad_gender": _bad_gender,
    "bad_country": _bad_country,
}
