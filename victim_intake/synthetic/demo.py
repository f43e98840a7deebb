"""`write_demo_inbox`: a complete synthetic inbox plus the truth about it."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from victim_intake.synthetic.people import draw_people
from victim_intake.synthetic.police_feed import write_police_feed
from victim_intake.synthetic.police_reports import first_report_years
from victim_intake.synthetic.truth import Truth, write_truth


@dataclass(frozen=True)
class DemoSummary:
    """What `write_demo_inbox` wrote; counts agree with the truth file."""

    files: list[Path]  # data files written (not manifests)
    records: int
    invalid_records: int
    persons: int  # distinct true persons among valid records
    registrations: int  # distinct valid registrations (a re-delivery counts once)
    truth_path: Path


def write_demo_inbox(
    inbox: Path,
    persons: int = 5000,
    seed: int = 7,
    truth_path: Path | None = None,
    files: int = 7,
    gzip: bool = False,
) -> DemoSummary:
    """Write a synthetic police feed for `persons` invented persons into `inbox`.

    The same arguments give byte-identical files. The truth file (default: `<inbox>.truth.csv`
    beside the inbox) must lie outside the inbox, where the pipeline would try to load it.
    """
    inbox = Path(inbox)
    truth_path = Path(truth_path) if truth_path is not None else inbox.parent / f"{inbox.name}.truth.csv"
    if persons < 1 or files < 1:
        raise ValueError("persons and files must be at least 1")
    if truth_path.resolve().is_relative_to(inbox.resolve()):
        raise ValueError("the truth file must lie outside the inbox")

    # One independent stream per stage, so adding a source later leaves the earlier ones unchanged.
    people_rng, police_rng = np.random.default_rng(seed).spawn(2)
    # Persons are first seen at the rate that makes all police reports follow the published volumes.
    people = draw_people(people_rng, persons, first_report_years())
    paths, police = write_police_feed(police_rng, people, inbox / "police", files, gzip)
    parts = [police]
    write_truth(truth_path, parts)
    return _summarise(paths, parts, truth_path)


def _summarise(paths: list[Path], parts: list[Truth], truth_path: Path) -> DemoSummary:
    valid_persons = np.concatenate([part.person[part.valid] for part in parts])
    return DemoSummary(
        files=paths,
        records=sum(len(part.valid) for part in parts),
        invalid_records=sum(int(np.count_nonzero(~part.valid)) for part in parts),
        persons=len(pd.unique(valid_persons)),
        # Registration numbers are unique within a source only.
        registrations=sum(len(pd.unique(part.source_record_id[part.valid])) for part in parts),
        truth_path=truth_path,
    )
