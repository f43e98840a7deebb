"""The truth file: what every synthetic record really is, for tests and benchmarks of the pipeline."""

from __future__ import annotations

import csv
from collections.abc import Sequence
from dataclasses import dataclass
from itertools import repeat
from pathlib import Path

import numpy as np

from config.private_files import make_private_dir

TRUTH_COLUMNS = ("source", "file", "line", "source_record_id", "person", "valid", "problem", "variant", "birth_day_unknown")


@dataclass(frozen=True)
class Truth:
    """The records one source wrote: one entry per record in every array."""

    source: str
    file: np.ndarray  # data file name
    line: np.ndarray  # 1-based line in that file
    source_record_id: np.ndarray
    person: np.ndarray  # true person key
    valid: np.ndarray  # bool
    problem: np.ndarray  # problem code, "" when valid
    variant: np.ndarray  # spelling variant of the name, "none" when spelt as the person's own


def write_truth(path: Path, parts: Sequence[Truth], birth_day_unknown: frozenset[str] = frozenset()) -> None:
    """Write the truth CSV (header `TRUTH_COLUMNS`, booleans as true/false). `birth_day_unknown`:
    the persons registered on 1 January because their birth day is unknown."""
    make_private_dir(path.parent)
    with path.open("w", newline="", encoding="utf-8") as out:
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(TRUTH_COLUMNS)
        for part in parts:
            writer.writerows(
                zip(
                    repeat(part.source),
                    part.file.tolist(),
                    part.line.tolist(),
                    part.source_record_id.tolist(),
                    part.person.tolist(),
                    np.where(part.valid, "true", "false").tolist(),
                    part.problem.tolist(),
                    part.variant.tolist(),
                    ["true" if person in birth_day_unknown else "false" for person in part.person.tolist()],
                )
            )
