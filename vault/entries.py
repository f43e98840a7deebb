"""The re-identification vault: identifying fields sealed per registration, opened only with audit.

One row per registration holds its sealed identifying fields, its keyed identifiers (which
linkage looks up: `vault.owners`) and the keyed encoding of its name (`linkage.approximate`),
all as bytes. Each registration's identifying fields are sealed under the vault key with the
registration id as associated data, so a sealed value moved to another row does not open. The
row's person is linkage's answer, which merges and stewards' decisions change: binding the seal
to the registration rather than the person lets a batch be sealed before it is linked (while it is
prepared, outside the load's transaction) and lets a person move without re-sealing anything.
Revealing a person writes the audit record in the same transaction that reads the vault: no
audit, no values.
"""

from __future__ import annotations

import dataclasses
import os
import pwd
from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np
import orjson
import pandas as pd
import pyarrow as pa
from sqlalchemy import Connection, Engine, insert, select

from config.settings import current
from pseudonyms.encodings import ENCODING_COLUMNS, ENCODING_SCHEME
from pseudonyms.person_identities import PersonIdentities
from store.binary import hex_bytes
from store.bulk import upsert_rows
from store.clock import utc_now
from store.privacy_tables import privacy_audit, vault_identities
from store.qualified import qualified_name, timestamp_text
from store.text_sets import arrow_text, positions_in
from vault.owners import KEY_COLUMNS
from vault.quoted_values import quotes_any
from vault.sealing import seal_many, unseal


class UnknownPerson(Exception):
    """No vault entry holds this person id (never existed, erased, or purged)."""


class ReasonQuotesValues(Exception):
    """The stated reason quotes a value it would open (in any spelling); the audit trail must hold none."""


def associated_data(registration_id: str) -> str:
    """What a sealed entry is bound to: its registration."""
    return f"registration:{registration_id}"


# Payloads sealed at a time: their text and contexts are Python objects only while they are sealed.
_SEALED_PER_CHUNK = 50_000


def seal_frame(key: bytes, payloads: pd.Series, registration_ids: pd.Series) -> list[bytes]:
    """Each payload sealed under `key`, bound to its registration."""
    sealed: list[bytes] = []
    for start in range(0, len(payloads), _SEALED_PER_CHUNK):
        rows = slice(start, start + _SEALED_PER_CHUNK)
        contexts = [associated_data(registration) for registration in registration_ids.iloc[rows].tolist()]
        sealed += seal_many(key, payloads.iloc[rows].tolist(), contexts)
    return sealed


def open_entry(key: bytes, sealed: bytes, registration_id: str) -> dict:
    """The identifying fields of one vault entry."""
    return orjson.loads(unseal(key, bytes(sealed), associated_data(registration_id)))


def _first_positions(registration_ids: pa.Array, owners: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """For the rows naming a registration (`owners`), the first row of each registration found
    among `registration_ids`: (the rows, the registrations' positions)."""
    positions = positions_in(owners, registration_ids)
    rows = np.flatnonzero(positions >= 0)
    _, first = np.unique(positions[rows], return_index=True)
    rows = rows[first]
    return rows, positions[rows]


def _placed(size: int, positions: np.ndarray, values: np.ndarray) -> np.ndarray:
    column = np.full(size, None, dtype=object)
    column[positions] = values
    return column


def keyed_columns(registration_ids: pd.Series, links: pd.DataFrame, encodings: pd.DataFrame, key_version: int) -> pd.DataFrame:
    """The vault's columns of linkage and matching for these registrations: their keyed identifiers
    (`links`: registration_id, kind, identifier) and name encodings (`ENCODING_COLUMNS`) as bytes,
    the key version and the encoding scheme (null without an encoding). A registration with several
    of a kind takes the first. Rows are placed by position, with one hash of the registration ids
    per frame: a million registrations take seconds, not tens of them."""
    size = len(registration_ids)
    ids = arrow_text(registration_ids)
    columns = pd.DataFrame({"registration_id": registration_ids.to_numpy(), "key_version": key_version})
    for kind, column in KEY_COLUMNS.items():
        of_kind = links[(links["kind"] == kind).to_numpy()]
        rows, positions = _first_positions(ids, of_kind["registration_id"])
        columns[column] = _placed(size, positions, hex_bytes(of_kind["identifier"].iloc[rows]))
    rows, positions = _first_positions(ids, encodings["registration_id"])
    for column in ENCODING_COLUMNS[1:]:
        columns[column] = _placed(size, positions, hex_bytes(encodings[column].iloc[rows]))
    encoded = np.zeros(size, dtype=bool)
    encoded[positions] = True
    columns["scheme"] = pd.Series(ENCODING_SCHEME, index=columns.index, dtype="Int16").where(encoded)
    return columns


def vault_rows(vault_key: bytes, payloads: pd.DataFrame, links: pd.DataFrame, encodings: pd.DataFrame, key_version: int) -> pd.DataFrame:
    """The vault rows of registrations, all but their person: `payloads` (registration_id, payload)
    sealed, with their `keyed_columns`. Nothing in them needs the database, so a batch's rows are
    made while it is prepared."""
    registration_ids = payloads["registration_id"]
    sealed = pd.DataFrame({"sealed": seal_frame(vault_key, payloads["payload"], registration_ids), "sealed_at": timestamp_text()})
    return pd.concat([keyed_columns(registration_ids, links, encodings, key_version), sealed], axis=1)


def sealed_identities(identities: PersonIdentities) -> PersonIdentities:
    """`identities` with their vault rows made, and neither the clear payloads nor the vault key
    kept: what a prepared batch carries to its load."""
    if identities.vault_key is None:
        raise ValueError("these identities are sealed already")
    rows = vault_rows(identities.vault_key, identities.payloads, identities.links, identities.encodings, identities.key_version)
    return dataclasses.replace(identities, payloads=identities.payloads[["registration_id"]], vault_rows=rows, vault_key=None)


def store_batch(connection: Connection, identities: PersonIdentities, person_of_registration: pd.Series) -> None:
    """Replace the batch's registrations' vault rows (sealed identifying fields, keyed identifiers
    and name encodings: `sealed_identities`), each with its person."""
    rows = identities.vault_rows
    if rows is None:
        raise ValueError("the batch's vault rows were not made: seal its identities first (sealed_identities)")
    persons = rows["registration_id"].map(person_of_registration)
    rows = rows.assign(person_id=persons.astype(object).where(persons.notna(), None))
    # A re-delivered registration replaces its row.
    upsert_rows(connection, qualified_name(connection, vault_identities), rows, "registration_id")


def actor() -> str:
    """The operating-system user this process runs as, from its user id (not from `USER` or
    `LOGNAME`, which anyone can set); the bare id where the user database has no entry for it."""
    uid = os.getuid()
    try:
        return pwd.getpwuid(uid).pw_name
    except KeyError:
        return f"uid {uid}"


def claimed_actor() -> str | None:
    """`VICTIM_INTAKE_ACTOR`: a name the operator claims (a person behind a service account),
    recorded beside the operating-system user, never instead of it."""
    return current().actor


def audit(connection: Connection, action: str, *, person_id: str | None = None, reason: str | None = None, detail: str = "") -> None:
    connection.execute(
        insert(privacy_audit).values(
            at=utc_now(), actor=actor(), claimed_actor=claimed_actor(), action=action, person_id=person_id, reason=reason, detail=detail
        )
    )


def refuse_quoting(reason: str, values: Iterable[object]) -> None:
    """Refuse a reason that quotes any of `values` in any spelling, spacing or date format."""
    if quotes_any(reason, values):
        raise ReasonQuotesValues("the reason quotes an identifying value; state the purpose and case number only")


@dataclass(frozen=True)
class RevealedEntry:
    """One registration's identifying fields as its source wrote them."""

    registration_id: str
    source: str | None
    fields: dict


def quotes_values(reason: str, entries: list[dict]) -> bool:
    """Whether `reason` quotes an identifying value of these vault entries (their fields), in any
    spelling, spacing or date format; a record id names a case, not a person, and may be cited."""
    return quotes_any(reason, (value for fields in entries for name, value in fields.items() if name != "source_record_id"))


def reveal(engine: Engine, person_id: str, reason: str, vault_key: bytes) -> list[RevealedEntry]:
    """Open a person's vault entries for a lawful `reason`, recording the audit in the same transaction."""
    from store.tables import registrations

    with engine.begin() as connection:
        rows = connection.execute(
            select(vault_identities.c.registration_id, vault_identities.c.sealed, registrations.c.source)
            .select_from(vault_identities.outerjoin(registrations, registrations.c.registration_id == vault_identities.c.registration_id))
            .where(vault_identities.c.person_id == person_id)
            .order_by(registrations.c.reported_on)
        ).all()
        if not rows:
            raise UnknownPerson(f"no vault entry for person {person_id} (never loaded, erased or purged)")
        entries = [
            RevealedEntry(registration_id, source, open_entry(vault_key, sealed, registration_id))
            for registration_id, sealed, source in rows
        ]
        if quotes_values(reason, [entry.fields for entry in entries]):
            raise ReasonQuotesValues("the reason quotes an identifying value; state the purpose and case number only")
        audit(connection, "reveal", person_id=person_id, reason=reason, detail=f"{len(entries)} registration(s) opened")
    return entries
