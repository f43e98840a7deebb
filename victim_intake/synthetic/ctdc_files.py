"""Synthetic files in the two CTDC exchange layouts: anonymous persons, no identifiers at all.

Values follow the layouts' code lists (the global dataset's 63 columns and the synthetic
dataset's, `schemas.ctdc`); a few rows carry a country code ISO does not know, which the pipeline
must quarantine naming the column.
"""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pycountry

from config.private_files import make_private_dir
from schemas import ctdc
from victim_intake.synthetic.truth import Truth

YEARS = (2017, 2018, 2019, 2020)
SYNTHETIC_YEARS = (2021, 2022, 2023)
GLOBAL_GENDERS = ("Female", "Male", "Transgender/NonConforming", "Unknown")
SYNTHETIC_GENDERS = ("Woman", "Man", "Trans/Transgender/NonConforming", "Unknown")
GENDER_WEIGHTS = np.array([0.70, 0.27, 0.01, 0.02])
COUNTRIES = ("UA", "RO", "PH", "NG", "NA", "MD", "ID", "US", "NL", "BG", "00")
UNKNOWN_CODE = "ZZ"  # not an ISO 3166 code
PROBLEM_SHARE = 0.002


def _alpha3(code: str) -> str:
    return "" if code == "00" else pycountry.countries.get(alpha_2=code).alpha_3


def ctdc_rows(rng: np.random.Generator, rows: int, layout: str) -> tuple[list[list[str]], np.ndarray]:
    """Header and rows of a CTDC file in `layout`; the second value marks the rows made invalid."""
    synthetic = layout == "ctdc_synthetic"
    columns = ctdc.SYNTHETIC_COLUMNS if synthetic else ctdc.GLOBAL_COLUMNS
    values: dict[str, np.ndarray] = {}
    flag_values = np.array(["1", ""] if synthetic else ["0", "1", "-99"], dtype=object)
    flag_weights = np.array([0.3, 0.7] if synthetic else [0.6, 0.3, 0.1])
    for name in columns:
        values[name] = flag_values[rng.choice(len(flag_values), rows, p=flag_weights)]
    values["yearOfRegistration"] = np.array(SYNTHETIC_YEARS if synthetic else YEARS, dtype=object)[rng.integers(0, 3 if synthetic else 4, rows)].astype(str)
    genders = SYNTHETIC_GENDERS if synthetic else GLOBAL_GENDERS
    values["gender"] = np.array(genders, dtype=object)[rng.choice(4, rows, p=GENDER_WEIGHTS)]
    bins = np.array([*ctdc.AGE_BINS, "-99"], dtype=object)
    values["ageBroad"] = bins[rng.integers(0, len(bins), rows)]
    codes = np.array(COUNTRIES, dtype=object)
    citizenship = codes[rng.integers(0, len(codes), rows)]
    exploitation = codes[rng.integers(0, len(codes), rows)]
    if synthetic:
        citizenship = np.array([_alpha3(c) for c in citizenship], dtype=object)
        exploitation = np.array([_alpha3(c) for c in exploitation], dtype=object)
        values["traffickMonths"] = np.array(["0--12 (0-1 yr)", "12--24 (1-2 yrs)", ""], dtype=object)[rng.integers(0, 3, rows)]
    else:
        values["Datasource"] = np.array(["Case Management", "Hotline"], dtype=object)[rng.integers(0, 2, rows)]
        for text in ("meansOfControlConcatenated", "typeOfExploitConcatenated", "typeOfLabourConcatenated", "typeOfSexConcatenated", "RecruiterRelationship"):
            values[text] = np.full(rows, "-99", dtype=object)
        for status in ("majorityStatus", "majorityStatusAtExploit", "majorityEntry"):
            values[status] = np.array(["Adult", "Minor", "-99"], dtype=object)[rng.integers(0, 3, rows)]
    invalid = rng.random(rows) < PROBLEM_SHARE
    citizenship[invalid] = UNKNOWN_CODE if not synthetic else "ZZZ"
    values["citizenship"] = citizenship
    values["CountryOfExploitation"] = exploitation
    body = [list(row) for row in zip(*(values[name].tolist() for name in columns), strict=True)]
    return [list(columns), *body], invalid


def write_ctdc_file(rng: np.random.Generator, path: Path, rows: int, layout: str, source: str) -> Truth:
    """Write a CTDC CSV; the truth has an empty person for every row (no identifiers to link)."""
    table, invalid = ctdc_rows(rng, rows, layout)
    make_private_dir(path.parent)
    with path.open("w", encoding="utf-8", newline="") as out:
        csv.writer(out, lineterminator="\n").writerows(table)
    lines = np.arange(2, rows + 2)
    return Truth(
        source=source,
        file=np.full(rows, path.name, dtype=object),
        line=lines,
        # The pipeline keys CTDC rows by their row number in the file (they carry no id).
        source_record_id=lines.astype(str).astype(object),
        person=np.full(rows, "", dtype=object),
        valid=~invalid,
        problem=np.where(invalid, "unknown_country", "").astype(object),
        variant=np.full(rows, "none", dtype=object),
    )
