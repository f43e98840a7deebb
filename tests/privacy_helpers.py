"""Direct loads of hand-made canonical records (synthetic people only), without a flow run."""

from __future__ import annotations

import uuid

import pandas as pd
from sqlalchemy import Engine, text

from pseudonyms.person_identities import person_identities
from pseudonyms.pseudonymise import to_registrations
from schemas.canonical import RECORD_FIELDS
from warehouse.database import create_tables
from warehouse.ledger import BatchRecord, start_run, utc_now
from warehouse.load import load_batch

DEFAULTS: dict = {
    "surname": None, "given_names": None, "birth_date": None, "bsn": None, "alien_number": None, "age": None,
    "gender": "female", "nationality": "NLD", "reported_on": "2025-03-14", "registration_year": 2025,
    "exploitation_type": "sexual", "exploitation_country": "NLD", "exploitation_sector": "unknown",
    "exploitation_municipality": "unknown", "reporting_unit": "PE-RT", "b8_reflection_offered": None,
    "report_filed": None,
}


def canonical(rows: list[dict]) -> pd.DataFrame:
    """Canonical records with the dtypes the validation step produces."""
    frame = pd.DataFrame([{**DEFAULTS, **row} for row in rows])[[spec.name for spec in RECORD_FIELDS]]
    for name in ("birth_date", "reported_on"):
        frame[name] = pd.to_datetime(frame[name]).astype("datetime64[us]")
    for name in ("age", "registration_year"):
        frame[name] = frame[name].astype("Int64")
    for name in ("b8_reflection_offered", "report_filed"):
        frame[name] = frame[name].astype("boolean")
    return frame


def load(
    engine: Engine,
    rows: list[dict],
    *,
    key: bytes,
    vault_key: bytes,
    key_version: int = 1,
    source: str = "police",
    snapshot: bool = False,
) -> str:
    """Load the rows as one batch of a new file; returns the batch id."""
    create_tables(engine)
    records = canonical(rows)
    run_id = uuid.uuid4().hex
    start_run(engine, run_id)
    batch = BatchRecord(uuid.uuid4().hex, run_id, source, "hand-made.ndjson", uuid.uuid4().hex, utc_now())
    registrations = to_registrations(
        records, source=source, source_kind="police", key=key, batch_id=batch.batch_id, exported_at=None
    )
    identities = person_identities(
        records, registrations["registration_id"], key=key, key_version=key_version, vault_key=vault_key
    )
    no_quarantine = pd.DataFrame(columns=["row_number", "column_name", "rule", "source_record_id"])
    load_batch(engine, batch, registrations, no_quarantine, len(rows), identities=identities, replace_source=source if snapshot else None)
    return batch.batch_id


def persons(engine: Engine) -> dict[str, str]:
    """source_record_id is not stored: registration id -> person id."""
    with engine.connect() as connection:
        return dict(connection.execute(text("SELECT registration_id, person_id FROM registrations")).all())
