"""Canonical records (with identities) -> warehouse registrations (pseudonyms, generalised ages)."""

from __future__ import annotations

import pandas as pd

from pseudonyms.generalise import age_at, age_groups, minor_flags
from pseudonyms.identity import registration_ids
from schemas.canonical import REGISTRATION_COLUMNS


def to_registrations(
    records: pd.DataFrame,
    *,
    source: str,
    source_kind: str,
    key: bytes,
    batch_id: str,
    exported_at: str | None,
    scope: str = "national",
) -> pd.DataFrame:
    """Replace every identifying field by keyed pseudonyms and generalised ages.

    The result holds exactly the warehouse columns, so no personal field can travel further.
    `scope` is `national`, or `reference` for a source about victims elsewhere (CTDC).
    """
    birth = records["birth_date"]
    # Sources without birth dates may state an age; it serves the age columns just as well.
    age = age_at(birth, records["reported_on"]).fillna(records["age"].astype("Int64"))
    registrations = pd.DataFrame(
        {
            "registration_id": registration_ids(source, records["source_record_id"], key),
            "source": source,
            "source_kind": source_kind,
            "scope": scope,
            # Resolved by linkage in the load transaction (`person_identities` -> `warehouse.load`).
            "person_id": pd.Series(pd.NA, index=records.index, dtype="str"),
            "birth_year": birth.dt.year.astype("Int64"),
            "age_at_report": age,
            "age_group": age_groups(age),
            "is_minor": minor_flags(age),
            "source_exported_at": exported_at,
            "batch_id": batch_id,
        },
        index=records.index,
    )
    for column in ("reporting_unit", "reported_on", "registration_year", "gender", "nationality",
                   "exploitation_type", "exploitation_country", "exploitation_sector",
                   "exploitation_municipality", "b8_reflection_offered", "report_filed"):
        registrations[column] = records[column]
    return registrations[[spec.name for spec in REGISTRATION_COLUMNS]]
