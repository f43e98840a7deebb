"""One step of a load: link the batch to persons, apply merges everywhere, fill the vault."""

from __future__ import annotations

import pandas as pd
from sqlalchemy import Connection, bindparam, delete, select, update

from pseudonyms.person_identities import PersonIdentities
from warehouse.approximate import move_merged, store_encodings
from warehouse.linkage import DEFAULT_MAX_PERSON_REGISTRATIONS, Resolution, link_batch, merge_parameters
from warehouse.privacy_tables import name_encodings, vault_identities
from warehouse.tables import registrations as registrations_table
from warehouse.vault import reseal_merged, store_batch


def assign_persons(
    connection: Connection,
    identities: PersonIdentities,
    registrations: pd.DataFrame,
    max_registrations: int | None = DEFAULT_MAX_PERSON_REGISTRATIONS,
) -> tuple[pd.DataFrame, Resolution]:
    """The batch's registrations with their linked `person_id`, after recording links, merges and
    vault entries in `connection`'s transaction; and the resolution (its counts)."""
    resolution = link_batch(connection, identities, max_registrations)
    if resolution.merged:
        connection.execute(
            update(registrations_table)
            .where(registrations_table.c.person_id == bindparam("absorbed"))
            .values(person_id=bindparam("survivor")),
            merge_parameters(resolution.merged),
        )
        reseal_merged(connection, identities.vault_key, resolution.merged)
        move_merged(connection, resolution.merged)
    store_batch(connection, identities, resolution.person_of_registration)
    store_encodings(connection, identities.encodings, resolution.person_of_registration, identities.key_version)
    persons = registrations["registration_id"].map(resolution.person_of_registration)
    return registrations.assign(person_id=persons.astype("str").where(persons.notna())), resolution


def forget_source(connection: Connection, source: str) -> None:
    """Vault entries and name encodings of every registration `source` delivered (before a
    snapshot replaces them): nothing identifying outlives its registration."""
    delivered = select(registrations_table.c.registration_id).where(registrations_table.c.source == source)
    connection.execute(delete(vault_identities).where(vault_identities.c.registration_id.in_(delivered)))
    connection.execute(delete(name_encodings).where(name_encodings.c.registration_id.in_(delivered)))
