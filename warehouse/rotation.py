"""Pseudonym key rotation: every registration and person re-pseudonymised through the vault.

One transaction opens every vault entry, recomputes registration ids, identifier links and
person ids under the new key version, rewrites registrations, links and vault, records the new
key's fingerprint and audits it. Persons are carried over as they are (the partition of
registrations into persons is kept exactly), so linkage survives rotation, including links that
were made by a report since erased.
"""

from __future__ import annotations

import io
from dataclasses import dataclass

import pandas as pd
import pyarrow as pa
import pyarrow.json as pa_json
from sqlalchemy import Connection, Engine, bindparam, delete, exists, func, select, update

from pseudonyms.encodings import name_encodings as name_encodings_of
from pseudonyms.identity import registration_ids
from pseudonyms.keys import LoadedKey
from pseudonyms.person_identities import VAULT_FIELDS, identifier_links, own_person_ids, vault_payloads
from store.bulk import bulk_insert
from store.clock import utc_now
from store.locks import lock_loads
from store.privacy_tables import link_decisions, person_links, vault_identities
from store.qualified import qualified_name, temporary_table
from store.tables import key_fingerprints, registrations
from vault.entries import associated_data, audit, vault_rows
from vault.owners import Ownership, settle
from vault.sealing import unseal_many
from warehouse.ledger import KeyMismatch
from warehouse.marts import mark_all_stale, refresh_marts

_STAGE = "stage_rotation"


class RotationImpossible(Exception):
    """Some registrations have no vault entry, so they could not be re-pseudonymised."""


@dataclass(frozen=True)
class Rotated:
    registrations: int
    persons: int
    links: int
    version: int


_PAYLOAD_SCHEMA = pa.schema([(field, pa.string()) for field in VAULT_FIELDS])


def open_entries(rows: list, vault_key: bytes) -> pd.DataFrame:
    """Vault rows (registration_id, person_id, sealed, source) -> identifying fields, in memory."""
    frame = pd.DataFrame([tuple(row) for row in rows], columns=["registration_id", "person_id", "sealed", "source"], dtype=object)
    payloads = unseal_many(
        vault_key,
        [bytes(sealed) for sealed in frame["sealed"].tolist()],
        [associated_data(registration) for registration in frame["registration_id"].tolist()],
    )
    # Each payload is one JSON object on one line: parsed in one call, every field as text.
    opened = (
        pa_json.read_json(
            io.BytesIO("\n".join(payloads).encode("utf-8")),
            parse_options=pa_json.ParseOptions(explicit_schema=_PAYLOAD_SCHEMA, unexpected_field_behavior="error"),
        ).to_pandas().set_axis(frame.index)
        if payloads
        else pd.DataFrame({field: pd.Series(dtype="str") for field in VAULT_FIELDS})
    )
    opened["birth_date"] = pd.to_datetime(opened["birth_date"])
    return pd.concat([frame.drop(columns=["sealed"]), opened], axis=1)


def new_person_ids(entries: pd.DataFrame, links: pd.DataFrame, new: LoadedKey) -> pd.Series:
    """Old person id -> new one. A person keeps its members: its new id is the candidate of its
    smallest new identifier; a person without identifiers (a placeholder date, a name without a
    birth date, a steward's split), or whose smallest identifier another person shares, takes the
    own person id of its smallest new registration id."""
    smallest = links.dropna(subset=["person_id"]).sort_values("identifier").drop_duplicates("person_id")
    shared = smallest["identifier"].duplicated(keep=False)
    by_identifier = smallest[~shared.to_numpy()].set_index("person_id")["candidate_person_id"]
    placed = entries.dropna(subset=["person_id"]).sort_values("new_registration_id").drop_duplicates("person_id")
    by_registration = pd.Series(own_person_ids(placed["new_registration_id"], new.material, new.version).to_numpy(), index=placed["person_id"].to_numpy())
    return by_identifier.combine_first(by_registration)


def renumber_decisions(connection: Connection, new_registration_ids: pd.Series) -> None:
    """Stewards' decisions follow their registrations to the new registration ids (old -> new)."""
    decided = set(connection.execute(select(link_decisions.c.registration_id)).scalars())
    moves = [{"old_id": old, "new_id": new} for old, new in new_registration_ids.items() if old in decided]
    if moves:
        connection.execute(
            update(link_decisions).where(link_decisions.c.registration_id == bindparam("old_id")).values(registration_id=bindparam("new_id")),
            moves,
        )


def rotate_pseudonyms(engine: Engine, old: LoadedKey, new: LoadedKey, vault_key: bytes) -> Rotated:
    """Re-pseudonymise the whole warehouse from key `old` to key `new` in one transaction."""
    with engine.begin() as connection:
        # Not while a load links or writes: its links would carry the old key's pseudonyms.
        lock_loads(connection)
        recorded = connection.execute(
            select(key_fingerprints.c.fingerprint).where(key_fingerprints.c.purpose == "pseudonym").with_for_update()
        ).scalar_one_or_none()
        if recorded is not None and recorded != old.fingerprint:
            raise KeyMismatch(f"the warehouse uses pseudonym key {recorded}, not the configured {old.fingerprint}")
        # NOT EXISTS, not NOT IN: PostgreSQL turns it into a hash anti-join, whereas a NOT IN
        # subquery too large for work_mem is scanned again for every registration (minutes at 1M).
        without_vault = connection.execute(
            select(func.count()).select_from(registrations).where(
                ~exists().where(vault_identities.c.registration_id == registrations.c.registration_id)
            )
        ).scalar_one()
        if without_vault:
            raise RotationImpossible(f"{without_vault} registration(s) have no vault entry and cannot be re-keyed")
        rows = connection.execute(
            select(
                vault_identities.c.registration_id, vault_identities.c.person_id, vault_identities.c.sealed, registrations.c.source
            ).join(registrations, registrations.c.registration_id == vault_identities.c.registration_id)
        ).all()
        entries = open_entries(rows, vault_key)
        del rows  # a million result rows, no longer needed while the rest is built
        entries = entries.sort_values("registration_id", ignore_index=True)
        entries["new_registration_id"] = pd.concat(
            [registration_ids(source, group["source_record_id"], new.material) for source, group in entries.groupby("source")]
        ).reindex(entries.index) if len(entries) else pd.Series(dtype="str")
        links = identifier_links(entries, entries["new_registration_id"], new.material, new.version)
        links = links.assign(person_id=links["registration_id"].map(entries.set_index("new_registration_id")["person_id"]))
        new_person = new_person_ids(entries, links, new)
        entries["new_person_id"] = entries["person_id"].map(new_person)

        connection.execute(temporary_table(connection, _STAGE, "old_id text, new_id text, new_person text"))
        # Rows are written in key order throughout: a B-tree filled in order appends to its last
        # page instead of splitting pages all over the index for random pseudonym keys.
        bulk_insert(
            connection,
            _STAGE,
            entries[["registration_id", "new_registration_id", "new_person_id"]].set_axis(["old_id", "new_id", "new_person"], axis=1).sort_values("old_id"),
        )
        connection.exec_driver_sql(
            f"UPDATE registrations SET registration_id = m.new_id, person_id = m.new_person "
            f"FROM {_STAGE} m WHERE registrations.registration_id = m.old_id"
        )
        if connection.dialect.name == "sqlite":
            connection.exec_driver_sql(f"DROP TABLE temp.{_STAGE}")
        # The marts hold person pseudonyms: recompute them under the new key in the same transaction.
        mark_all_stale(connection)
        refresh_marts(connection)

        persons = entries["new_person_id"].astype(object).where(entries["new_person_id"].notna(), None)
        connection.execute(delete(vault_identities))
        bulk_insert(
            connection,
            qualified_name(connection, vault_identities),
            vault_rows(
                vault_key,
                pd.DataFrame({"registration_id": entries["new_registration_id"], "payload": vault_payloads(entries)}),
                links,
                name_encodings_of(entries, entries["new_registration_id"], new.material),
                new.version,
            ).assign(person_id=persons.to_numpy()).sort_values("registration_id"),
        )
        # Each identifier goes to the person of its first registration (in new registration id
        # order); an override only where its rows disagree.
        connection.execute(delete(person_links))
        fresh = links.dropna(subset=["person_id"]).drop_duplicates("identifier")
        carried = links.assign(person_id=links["person_id"].map(new_person))[["identifier", "registration_id", "person_id"]]
        settle(
            connection,
            links[["identifier", "kind"]].assign(key_version=new.version),
            fresh.set_index("identifier")["person_id"].map(new_person),
            Ownership(carried, pd.Series(dtype=object)),
        )
        renumber_decisions(connection, entries.set_index("registration_id")["new_registration_id"])
        connection.execute(
            update(key_fingerprints)
            .where(key_fingerprints.c.purpose == "pseudonym")
            .values(fingerprint=new.fingerprint, recorded_at=utc_now())
        )
        outcome = Rotated(len(entries), int(new_person.size), len(fresh), new.version)
        audit(
            connection,
            "rotate",
            reason=f"pseudonym key {old.fingerprint} v{old.version} -> {new.fingerprint} v{new.version}",
            detail=f"{outcome.registrations} registration(s), {outcome.persons} person(s), {outcome.links} link(s) re-keyed",
        )
    return outcome

