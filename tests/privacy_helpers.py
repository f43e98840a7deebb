"""Direct loads of hand-made canonical records (synthetic people only), without a flow run."""

from __future__ import annotations

import uuid

import pandas as pd
from batch_loads import load_batch
from sqlalchemy import Engine, text

from pseudonyms.person_identities import person_identities
from pseudonyms.pseudonymise import to_registrations
from schemas.canonical import RECORD_FIELDS
from store.clock import utc_now
from vault.entries import sealed_identities
from vault.quarantine_seal import seal_values
from warehouse.database import create_tables
from warehouse.ledger import BatchRecord, start_run
from warehouse.load import loading

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
    quarantined: pd.DataFrame | None = None,
    exported_at: str | None = None,
    max_person_registrations: int | None = 50,
) -> str:
    """Load the rows as one batch of a new file, with `quarantined` entries (row_number,
    column_name, rule, source_record_id and the offending `value`, sealed here); returns the batch id."""
    create_tables(engine)
    records = canonical(rows)
    run_id = uuid.uuid4().hex
    start_run(engine, run_id)
    batch = BatchRecord(uuid.uuid4().hex, run_id, source, "hand-made.ndjson", uuid.uuid4().hex, utc_now())
    registrations = to_registrations(
        records, source=source, source_kind="police", key=key, batch_id=batch.batch_id, exported_at=exported_at
    )
    identities = sealed_identities(
        person_identities(records, registrations["registration_id"], key=key, key_version=key_version, vault_key=vault_key)
    )
    if quarantined is None:
        entries = pd.DataFrame(columns=["row_number", "column_name", "rule", "source_record_id"])
    else:
        entries = seal_values(quarantined, batch.batch_id, vault_key)
    rows_in = len(rows) + (quarantined["row_number"].nunique() if quarantined is not None else 0)
    load_batch(engine, batch, registrations, entries, rows_in, identities=identities, replace_source=source if snapshot else None,
               max_person_registrations=max_person_registrations)
    return batch.batch_id


def load_in_parts(engine: Engine, parts: list[list[dict]], *, key: bytes, vault_key: bytes, source: str = "police") -> None:
    """Load the rows as one file of several parts (`parts`), each part linked against the persons
    and encodings of the earlier ones, in one transaction."""
    create_tables(engine)
    run_id = uuid.uuid4().hex
    start_run(engine, run_id)
    batch = BatchRecord(uuid.uuid4().hex, run_id, source, "hand-made.ndjson", uuid.uuid4().hex, utc_now())
    empty = pd.DataFrame(columns=["row_number", "column_name", "rule", "source_record_id"])
    with loading(engine, batch) as load:
        for rows in parts:
            records = canonical(rows)
            registrations = to_registrations(records, source=source, source_kind="police", key=key, batch_id=batch.batch_id, exported_at=None)
            identities = person_identities(records, registrations["registration_id"], key=key, key_version=1, vault_key=vault_key)
            load.add(registrations, empty, sealed_identities(identities))
        load.finish(sum(len(rows) for rows in parts))


def persons(engine: Engine) -> dict[str, str]:
    """source_record_id is not stored: registration id -> person id."""
    with engine.connect() as connection:
        return dict(connection.execute(text("SELECT registration_id, person_id FROM registrations")).all())
