"""A synthetic file shaped like extracts of the CTDC global dataset that circulate (no real data).

Such an extract keeps 7 of the release's 63 columns, adds columns of its own (coordinates, country
names, alpha-3 codes), writes the flags as floats (`0.0`, `1.0`) and leaves `-99` blank; some rows
are identical, as k-anonymised rows are.
"""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pandas as pd
import pycountry

from config.private_files import make_private_dir

COLUMNS = (
    "yearOfRegistration", "gender", "ageBroad", "citizenship", "isForcedLabour", "isSexualExploit", "CountryOfExploitation",
)
ADDED = ("latitude", "longitude", "CitizenshipName", "CountryOfExploitationName", "citizenship_alpha3", "CountryOfExploitation_alpha3")
YEARS = (2005, 2009, 2013, 2016, 2018)
GENDERS = ("Female", "Male", "")
AGES = ("0--8", "9--17", "18--20", "21--23", "24--26", "27--29", "30--38", "39--47", "48+", "")
COUNTRIES = ("UA", "RO", "PH", "NG", "MD", "ID", "US", "HR", "GB", "")
FLAGS = ("0.0", "1.0", "")


def _country(code: str, attribute: str) -> str:
    return getattr(pycountry.countries.get(alpha_2=code), attribute) if code else ""


def extract_frame(rng: np.random.Generator, rows: int) -> pd.DataFrame:
    """The extract's rows as text; a tenth of them repeat an earlier row exactly."""

    def pick(values: tuple[str, ...]) -> np.ndarray:
        return np.array(values, dtype=object)[rng.integers(0, len(values), rows)]

    frame = pd.DataFrame(
        {
            "yearOfRegistration": pick(tuple(map(str, YEARS))),
            "gender": pick(GENDERS),
            "ageBroad": pick(AGES),
            "citizenship": pick(COUNTRIES),
            "isForcedLabour": pick(FLAGS),
            "isSexualExploit": pick(FLAGS),
            "CountryOfExploitation": pick(COUNTRIES),
        }
    )
    repeats = rng.random(rows) < 0.1
    repeats[0] = False
    sources = rng.integers(0, np.arange(rows).clip(min=1))
    frame.loc[repeats] = frame.iloc[sources[repeats]].to_numpy()
    frame["latitude"] = np.where(frame["CountryOfExploitation"] == "", "", "48.38")
    frame["longitude"] = np.where(frame["CountryOfExploitation"] == "", "", "31.17")
    frame["CitizenshipName"] = frame["citizenship"].map(lambda code: _country(code, "name"))
    frame["CountryOfExploitationName"] = frame["CountryOfExploitation"].map(lambda code: _country(code, "name"))
    frame["citizenship_alpha3"] = frame["citizenship"].map(lambda code: _country(code, "alpha_3"))
    frame["CountryOfExploitation_alpha3"] = frame["CountryOfExploitation"].map(lambda code: _country(code, "alpha_3"))
    return frame


def write_extract(rng: np.random.Generator, path: Path, rows: int) -> pd.DataFrame:
    """Write the extract as CSV (the added columns between the extract's own); returns its rows."""
    frame = extract_frame(rng, rows)
    order = [*COLUMNS[:4], ADDED[2], ADDED[4], *COLUMNS[4:], ADDED[3], ADDED[5], ADDED[0], ADDED[1]]
    make_private_dir(path.parent)
    with path.open("w", encoding="utf-8", newline="") as out:
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(order)
        writer.writerows(frame[order].itertuples(index=False))
    return frame
