"""Synthetic warehouse rows, drawn vectorised: for report tests and the million-row benchmark.

Rows look like pseudonymised registrations (random hex pseudonyms, canonical codes); nothing in
them was ever a person. Several sources report some of the same persons, and a share of rows
comes without a person pseudonym, as CTDC exchange rows do.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from schemas.canonical import REGISTRATION_COLUMNS
from schemas.codelists.catalogue import municipalities, police_units, sectors
from schemas.codelists.matching import UNKNOWN
from schemas.vocabulary import AGE_GROUPS, EXPLOITATION_TYPES, GENDERS

_KINDS = ("police", "care_coordination", "fairwork", "nla", "kmar", "ctdc")
_KIND_WEIGHTS = (0.31, 0.28, 0.24, 0.07, 0.06, 0.04)
_NATIONALITIES = ("NLD", "POL", "NGA", "ROU", "BGR", "UKR", "UGA", "HUN", "VNM", "CHN", "PHL", "IND", "SLE", "ERI", "UNK")
_NATIONALITY_WEIGHTS = np.array([20, 18, 15, 10, 8, 6, 5, 4, 3, 3, 2, 2, 2, 1, 1], dtype=float)
_FORM_WEIGHTS = (0.42, 0.38, 0.12, 0.03, 0.005, 0.03, 0.015)
_GENDER_WEIGHTS = (0.70, 0.28, 0.005, 0.015)
_COUNTRIES = ("NLD", "BEL", "DEU", "UNK")


def synthetic_registrations(rows: int, years: range, seed: int = 1, persons: int | None = None) -> pd.DataFrame:
    """`rows` registrations over `years`, of about `persons` distinct persons (default rows * 0.9)."""
    rng = np.random.default_rng(seed)
    persons = persons or max(1, int(rows * 0.9))
    person = rng.integers(0, persons, size=rows)
    # A person's own characteristics are drawn once per person, so sources agree on them.
    nationality_of = rng.choice(len(_NATIONALITIES), size=persons, p=_NATIONALITY_WEIGHTS / _NATIONALITY_WEIGHTS.sum())
    gender_of = rng.choice(len(GENDERS), size=persons, p=_GENDER_WEIGHTS)
    birth_year_of = rng.integers(1960, 2012, size=persons)
    kind = np.array(_KINDS)[rng.choice(len(_KINDS), size=rows, p=_KIND_WEIGHTS)]
    year = rng.choice(np.array(list(years)), size=rows)
    reported_on = pd.to_datetime(year.astype(str), format="%Y") + pd.to_timedelta(rng.integers(0, 365, size=rows), unit="D")
    age = year - birth_year_of[person]
    bounds = np.array([upper for _, upper in AGE_GROUPS])
    age_group = np.array([name for name, _ in AGE_GROUPS])[np.searchsorted(bounds, age)]
    person_id = pd.Series(np.char.add("p", person.astype(str)), dtype="str")
    person_id[kind == "ctdc"] = None
    units = np.array([unit.code for unit in police_units()] + [UNKNOWN])
    places = np.array([municipality.code for municipality in municipalities()] + [UNKNOWN])
    sector_codes = np.array([sector.code for sector in sectors()] + [UNKNOWN])
    frame = pd.DataFrame(
        {
            "registration_id": [f"r{seed}-{index}" for index in range(rows)],
            "source": kind,
            "source_kind": kind,
            "scope": "national",
            "reporting_unit": units[rng.integers(0, len(units), size=rows)],
            "reported_on": reported_on,
            "registration_year": year,
            "person_id": person_id,
            "birth_year": birth_year_of[person],
            "age_at_report": age,
            "age_group": age_group,
            "is_minor": age < 18,
            "gender": np.array(GENDERS)[gender_of[person]],
            "nationality": np.array(_NATIONALITIES)[nationality_of[person]],
            "exploitation_type": np.array(EXPLOITATION_TYPES)[rng.choice(len(EXPLOITATION_TYPES), size=rows, p=_FORM_WEIGHTS)],
            "exploitation_country": np.array(_COUNTRIES)[rng.choice(len(_COUNTRIES), size=rows, p=(0.9, 0.04, 0.04, 0.02))],
            "exploitation_sector": sector_codes[rng.integers(0, len(sector_codes), size=rows)],
            "exploitation_municipality": places[rng.integers(0, len(places), size=rows)],
            "b8_reflection_offered": None,
            "report_filed": None,
            "source_exported_at": None,
            "batch_id": "synthetic",
        }
    )
    return frame[[spec.name for spec in REGISTRATION_COLUMNS]]
