"""One row per national person of a year in the CTDC global layout, k-anonymous, for the global dataset.

Each person has the characteristics of their first registration of the year (earliest report
date, then registration id), as the marts count persons. The quasi-identifiers of CTDC's own
disclosure rule are gender, age bin, citizenship, country of exploitation and year: a row whose
combination of them is shared by fewer than k rows has, in turn, its citizenship, its country of
exploitation, its age bin and its gender replaced by the unknown value of the layout, each step
only for the rows still below k; rows still below k after all four are withheld. The counts of
what was done are returned for the audit, never a value.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import pycountry
from sqlalchemy import Connection, text

from schemas import ctdc

K = 11
QUASI_IDENTIFIERS = ("gender", "ageBroad", "citizenship", "CountryOfExploitation", "yearOfRegistration")
# What is generalised first: the rarest values of a small country's victims go before gender.
_SUPPRESSION_ORDER = (("citizenship", ctdc.UNKNOWN_COUNTRY_CODE), ("CountryOfExploitation", ctdc.UNKNOWN_COUNTRY_CODE),
                      ("ageBroad", ctdc.MISSING), ("gender", ctdc.GLOBAL_GENDERS["unknown"]))


@dataclass(frozen=True)
class CtdcExport:
    """The rows to write, and what the disclosure rule did (counts only)."""

    frame: pd.DataFrame
    persons: int
    suppressed: dict[str, int]
    withheld: int


def first_registrations(connection: Connection, year: int) -> pd.DataFrame:
    """Each national person's first registration of the year: the characteristics CTDC asks for."""
    rows = connection.execute(
        text(
            "SELECT COALESCE(person_id, 'registration:' || registration_id) AS person_key, reported_on, registration_id, gender, "
            "age_at_report, is_minor, nationality, exploitation_country, exploitation_type FROM registrations "
            "WHERE scope = 'national' AND registration_year = :year"
        ),
        {"year": year},
    ).all()
    frame = pd.DataFrame(rows, columns=[
        "person_key", "reported_on", "registration_id", "gender", "age_at_report", "is_minor", "nationality",
        "exploitation_country", "exploitation_type",
    ])
    frame["reported_on"] = pd.to_datetime(frame["reported_on"])
    frame = frame.sort_values(["person_key", "reported_on", "registration_id"], na_position="last")
    return frame.drop_duplicates("person_key").reset_index(drop=True)


def _alpha2(codes: pd.Series) -> pd.Series:
    def convert(code: str) -> str:
        found = pycountry.countries.get(alpha_3=code) if code != "UNK" else None
        return found.alpha_2 if found is not None else ctdc.UNKNOWN_COUNTRY_CODE

    return codes.map({code: convert(code) for code in codes.unique()})


def global_layout(persons: pd.DataFrame, year: int) -> pd.DataFrame:
    """The persons in the 63 columns of the global dataset; what the warehouse does not know is -99."""
    out = pd.DataFrame({name: ctdc.MISSING for name in ctdc.GLOBAL_COLUMNS}, index=persons.index)
    out["yearOfRegistration"] = str(year)
    out["gender"] = persons["gender"].map(ctdc.GLOBAL_GENDERS)
    # SQLite returns 1 and 0, PostgreSQL true and false.
    known = persons["is_minor"].notna()
    minor = persons["is_minor"].where(known, 0).astype(int).astype(bool)
    out["majorityStatus"] = np.where(~known, ctdc.MISSING, np.where(minor, "Minor", "Adult"))
    out["ageBroad"] = [ctdc.age_bin(age) for age in persons["age_at_report"]]
    out["citizenship"] = _alpha2(persons["nationality"])
    out["CountryOfExploitation"] = _alpha2(persons["exploitation_country"])
    form_known = persons["exploitation_type"] != "unknown"
    for flag in ctdc.GLOBAL_FLAGS:
        out.loc[form_known, flag] = "0"
    for form, flags in ctdc.FORM_FLAGS.items():
        for flag in flags:
            out.loc[persons["exploitation_type"] == form, flag] = "1"
    return out


def k_anonymous(frame: pd.DataFrame, k: int = K) -> tuple[pd.DataFrame, dict[str, int], int]:
    """Generalise the quasi-identifiers of rows in groups below k (`_SUPPRESSION_ORDER`); withhold
    what stays below. Returns the rows kept, values replaced per column, and rows withheld."""
    frame = frame.copy()
    suppressed = {}

    def small() -> pd.Series:
        return frame.groupby(list(QUASI_IDENTIFIERS))["yearOfRegistration"].transform("size") < k

    for column, unknown in _SUPPRESSION_ORDER:
        below = small() & (frame[column] != unknown)
        frame.loc[below, column] = unknown
        suppressed[column] = int(below.sum())
    below = small()
    return frame[~below].reset_index(drop=True), suppressed, int(below.sum())


def ctdc_export(connection: Connection, year: int, k: int = K) -> CtdcExport:
    persons = first_registrations(connection, year)
    rows, suppressed, withheld = k_anonymous(global_layout(persons, year), k)
    return CtdcExport(rows, len(persons), suppressed, withheld)
