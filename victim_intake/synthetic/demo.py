"""`write_demo_inbox`: a complete synthetic inbox plus the truth about it."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np
import pandas as pd

from schemas.partner_definition import load_definitions
from victim_intake.synthetic.ctdc_files import write_ctdc_file
from victim_intake.synthetic.partner_files import MAX_REPORT_DELAY_DAYS, PLANS, write_partner_files
from victim_intake.synthetic.people import People, draw_people
from victim_intake.synthetic.police_feed import write_police_feed
from victim_intake.synthetic.police_reports import first_report_years
from victim_intake.synthetic.population import (
    REFERRAL,
    draw_unmet,
    overlap_path,
    population_by_year,
    population_path,
    true_overlap,
    write_population,
)
from victim_intake.synthetic.truth import Truth, write_truth


@dataclass(frozen=True)
class DemoSummary:
    """What `write_demo_inbox` wrote; counts agree with the truth file.

    The first five counts are about the police feed; `partner_*` about the partner files.
    """

    files: list[Path]  # police data files written (not manifests)
    records: int
    invalid_records: int
    persons: int  # distinct true persons among valid records
    registrations: int  # distinct valid registrations (a re-delivery counts once)
    truth_path: Path
    partner_files: list[Path] = field(default_factory=list)
    partner_records: int = 0
    partner_invalid_records: int = 0
    population_path: Path | None = None
    overlap_path: Path | None = None  # the overlap table of the reported persons, perfectly linked
    population: dict[int, tuple[int, int, int]] = field(default_factory=dict)  # year -> victims, reported, met by police


def write_demo_inbox(
    inbox: Path,
    persons: int = 5000,
    seed: int = 7,
    truth_path: Path | None = None,
    files: int = 7,
    gzip: bool = False,
    partners: bool = True,
    hard_variant_share: float = 0.0,
) -> DemoSummary:
    """Write a synthetic police feed for `persons` invented persons into `inbox`, and (with
    `partners`) one file for every shipped partner, reporting some of the same persons and some
    victims the police never met.

    The `persons` are the victims the police met; behind them stands a synthetic population of
    known size in which most victims are never reported (`population`); its true sizes per year
    go beside the truth file (`<inbox>.population.csv`), and so does the overlap table a perfect
    linkage of the reported persons would give (`<inbox>.overlap.csv`).

    The same arguments give byte-identical files. The truth file (default: `<inbox>.truth.csv`
    beside the inbox) must lie outside the inbox, where the pipeline would try to load it.
    `hard_variant_share` of the repeat reports spelt plainly get a hard variant (typo,
    transliteration, day and month swapped, a name in Cyrillic or Chinese script) that only
    approximate matching links. Persons whose birth day is unknown are registered on 1 January
    (`birth_day_unknown` in the truth file).
    """
    inbox = Path(inbox)
    truth_path = Path(truth_path) if truth_path is not None else inbox.parent / f"{inbox.name}.truth.csv"
    if persons < 1 or files < 1:
        raise ValueError("persons and files must be at least 1")
    if truth_path.resolve().is_relative_to(inbox.resolve()):
        raise ValueError("the truth file must lie outside the inbox")

    # One independent stream per stage, so adding a source later leaves the earlier ones unchanged.
    # Spawned children depend only on their position, so the fourth leaves the first three unchanged.
    people_rng, police_rng, partner_rng, hard_rng, population_rng = np.random.default_rng(seed).spawn(5)
    # Persons are first seen at the rate that makes all police reports follow the published volumes.
    years = first_report_years()
    people = draw_people(people_rng, persons, years)
    unmet_rng, referral_rng = population_rng.spawn(2)
    unmet = draw_unmet(unmet_rng, people, years)
    paths, police = write_police_feed(police_rng, people, inbox / "police", files, gzip, hard_rng, hard_variant_share)
    partner_paths, partner_parts = _write_partners(partner_rng, people, inbox, (referral_rng, unmet, REFERRAL)) if partners else ([], [])
    unknown_days = np.concatenate([people.key[people.birth_day_unknown], unmet.key[unmet.birth_day_unknown]])
    write_truth(truth_path, [police, *partner_parts], frozenset(unknown_days.tolist()))
    sizes = population_by_year(people, unmet, [police, *partner_parts])
    write_population(population_path(truth_path), sizes)
    overlap = true_overlap(people, unmet, [police, *partner_parts])
    with overlap_path(truth_path).open("w", encoding="utf-8", newline="") as out:
        overlap.to_csv(out, index=False, lineterminator="\n")
    return replace(
        _summarise(paths, [police], truth_path),
        partner_files=partner_paths,
        partner_records=sum(len(part.valid) for part in partner_parts),
        partner_invalid_records=sum(int(np.count_nonzero(~part.valid)) for part in partner_parts),
        population_path=population_path(truth_path),
        overlap_path=overlap_path(truth_path),
        population=sizes,
    )


def _write_partners(
    rng: np.random.Generator, people: People, inbox: Path, unmet: tuple[np.random.Generator, People, float]
) -> tuple[list[Path], list[Truth]]:
    """Files of every shipped partner; CTDC files hold about one anonymous row per ten persons."""
    definitions = load_definitions()
    # The export day follows from the data (not the clock), so a seed always writes the same bytes.
    last_signal = people.first_seen.max().astype(dt.date) + dt.timedelta(days=MAX_REPORT_DELAY_DAYS + 1)
    export_day = min(last_signal, dt.date.today())
    identified, ctdc_rng = rng.spawn(2)
    named = [definitions[partner] for partner in PLANS]
    paths, parts = write_partner_files(identified, people, named, inbox, export_day, unmet)
    anonymous = [definition for definition in definitions.values() if definition.layout]
    for definition, child in zip(anonymous, ctdc_rng.spawn(len(anonymous)), strict=True):
        path = inbox / definition.id / f"{definition.id}-{export_day.isoformat()}.csv"
        parts.append(write_ctdc_file(child, path, max(20, len(people) // 10), definition.layout, definition.id))
        paths.append(path)
    return paths, parts


def _summarise(paths: list[Path], parts: list[Truth], truth_path: Path) -> DemoSummary:
    valid_persons = np.concatenate([part.person[part.valid] for part in parts])
    return DemoSummary(
        files=paths,
        records=sum(len(part.valid) for part in parts),
        invalid_records=sum(int(np.count_nonzero(~part.valid)) for part in parts),
        # Anonymous rows (CTDC) have an empty person: they are nobody to link.
        persons=len(pd.unique(valid_persons[valid_persons != ""])),
        # Registration numbers are unique within a source only.
        registrations=sum(len(pd.unique(part.source_record_id[part.valid])) for part in parts),
        truth_path=truth_path,
    )
