"""The synthetic population behind the reported persons: most victims are never reported.

The demo's persons are the victims the police met. Behind them stands a population of known size:
each victim is met by the police with a probability that depends on the form of exploitation, on
being a minor and on being Dutch (`police_capture`), so for every person the police met there are
on average (1 - p) / p victims with the same characteristics it did not meet. The partners report
the persons the police met as before (mostly after a referral); the victims the police never met
reach a partner far less often, at `REFERRAL` times the partner's share, each partner on its own.
So the sources are independent given the police's decision and the covariates, which is a
log-linear model with police x partner and source x covariate terms, and the truth is known.
"""

from __future__ import annotations

import csv
from collections.abc import Mapping, Sequence
from dataclasses import fields
from pathlib import Path

import numpy as np
import pandas as pd

from config.private_files import make_private_dir
from victim_intake.synthetic.people import People, draw_more_people
from victim_intake.synthetic.truth import Truth
from victim_intake.synthetic.weights import DUTCH

# Chance that the police meet a victim, by form of exploitation: sexual exploitation is policed
# most (window prostitution is inspected), labour exploitation least.
POLICE_CAPTURE: dict[str, float] = {
    "sexual": 0.30,
    "criminal": 0.20,
    "labour": 0.10,
    "begging": 0.25,
    "other": 0.15,
    "unknown": 0.15,
    "organ_removal": 0.15,
}
MINOR_FACTOR = 1.5  # minors come to notice more often (youth care, schools)
DUTCH_FACTOR = 1.3  # Dutch victims speak the language and know where to go
MAX_CAPTURE = 0.8
# Among victims the police never met, a partner reports this fraction of its usual share.
REFERRAL = 0.3
POPULATION_COLUMNS = ("year", "victims", "reported", "met_by_police")


def is_minor(people: People) -> np.ndarray:
    """Under 18 on the day of the first report."""
    age = (people.first_seen - people.birth_date).astype(np.int64) / 365.25
    return age < 18


def police_capture(people: People) -> np.ndarray:
    """Each person's chance of being met by the police."""
    base = np.array([POLICE_CAPTURE[form] for form in people.exploitation_type.tolist()])
    factor = np.where(is_minor(people), MINOR_FACTOR, 1.0) * np.where(people.nationality == DUTCH, DUTCH_FACTOR, 1.0)
    return np.minimum(base * factor, MAX_CAPTURE)


def draw_unmet(rng: np.random.Generator, met: People, first_seen_years: Mapping[int, float]) -> People:
    """The victims the police did not meet, beside the `met` ones.

    Their number is Poisson with mean the sum of (1 - p) / p over the met persons; their
    characteristics follow the met persons' reweighted by (1 - p) / p, drawn by acceptance from
    fresh persons of the same distribution.
    """
    odds = (1 - police_capture(met)) / police_capture(met)
    wanted = int(rng.poisson(odds.sum()))
    largest = (1 - min(POLICE_CAPTURE.values())) / min(POLICE_CAPTURE.values())
    candidates = draw_more_people(rng, int(wanted * largest / odds.mean() * 1.3) + 100, first_seen_years, met)
    candidate_odds = (1 - police_capture(candidates)) / police_capture(candidates)
    accepted = np.flatnonzero(rng.random(len(candidates)) < candidate_odds / largest)[:wanted]
    chosen = _take(candidates, accepted)
    keys = np.array([f"T{i:07d}" for i in range(len(met) + 1, len(met) + len(accepted) + 1)], dtype=object)
    return People(**{**{f.name: getattr(chosen, f.name) for f in fields(People)}, "key": keys})


def _take(people: People, rows: np.ndarray) -> People:
    return People(**{f.name: getattr(people, f.name)[rows] for f in fields(People)})


def population_path(truth_path: Path) -> Path:
    """Where the true sizes go: beside the truth file (`inbox.truth.csv` -> `inbox.population.csv`)."""
    name = truth_path.name
    stem = name[: -len(".truth.csv")] if name.endswith(".truth.csv") else truth_path.stem
    return truth_path.with_name(f"{stem}.population.csv")


def population_by_year(met: People, unmet: People, parts: Sequence[Truth]) -> dict[int, tuple[int, int, int]]:
    """Per year of first report (or of exploitation coming to light, for the never reported): victims,
    victims with at least one valid report, victims met by the police."""
    reported = set()
    for part in parts:
        reported.update(part.person[part.valid].tolist())
    keys = np.concatenate([met.key, unmet.key])
    years = np.concatenate([met.first_seen, unmet.first_seen]).astype("datetime64[Y]").astype(np.int64) + 1970
    # A set lookup per key: np.isin sorts object arrays of strings, a second per demo inbox.
    was_reported = np.fromiter((key in reported for key in keys), dtype=bool, count=len(keys))
    by_police = np.concatenate([np.ones(len(met), dtype=bool), np.zeros(len(unmet), dtype=bool)])
    return {
        int(year): (int((years == year).sum()), int(was_reported[years == year].sum()), int(by_police[years == year].sum()))
        for year in np.unique(years)
    }


def overlap_path(truth_path: Path) -> Path:
    """Where the perfectly linked overlap table goes: `inbox.truth.csv` -> `inbox.overlap.csv`."""
    return population_path(truth_path).with_name(population_path(truth_path).name.replace(".population.csv", ".overlap.csv"))


def true_overlap(met: People, unmet: People, parts: Sequence[Truth]) -> pd.DataFrame:
    """The overlap table of the reported persons as a perfect linkage would find it: one 0/1
    column per source that names persons, the covariates (`form`, `minor`, `dutch`, `gender`, as
    the warehouse codes them) and `count`. Aggregate counts of synthetic persons only."""
    named = [part for part in parts if (part.person[part.valid] != "").any()]
    everyone = _take(met, np.arange(len(met)))
    keys = np.concatenate([everyone.key, unmet.key])
    nationality = np.concatenate([met.nationality, unmet.nationality])
    frame = pd.DataFrame(
        {
            "form": np.concatenate([met.exploitation_type, unmet.exploitation_type]),
            "minor": np.where(np.concatenate([is_minor(met), is_minor(unmet)]), "minor", "adult"),
            "dutch": np.where(nationality == DUTCH, "dutch", np.where(pd.isna(nationality), "unknown", "non_dutch")),
            "gender": np.concatenate([met.gender, unmet.gender]),
        },
        index=keys,
    )
    for part in named:
        frame[part.source] = frame.index.isin(part.person[part.valid]).astype(np.int64)
    sources = [part.source for part in named]
    seen = frame[frame[sources].sum(axis=1) > 0]
    return seen.groupby([*sources, "form", "minor", "dutch", "gender"], as_index=False).size().rename(columns={"size": "count"})


def write_population(path: Path, sizes: dict[int, tuple[int, int, int]]) -> None:
    """The true sizes per year as CSV (`POPULATION_COLUMNS`)."""
    make_private_dir(path.parent)
    with path.open("w", newline="", encoding="utf-8") as out:
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(POPULATION_COLUMNS)
        writer.writerows([year, *counts] for year, counts in sorted(sizes.items()))
