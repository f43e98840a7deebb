"""One step of a load: link the batch to persons, apply merges everywhere, fill the vault."""

from __future__ import annotations

import pandas as pd
from sqlalchemy import Connection, bindparam, delete, select, update

from linkage.known_encodings import ReachedEncodings
from linkage.resolution import DEFAULT_MAX_PERSON_REGISTRATIONS, Resolution, link_batch, merge_parameters, settle_links
from pseudonyms.person_identities import PersonIdentities
from store.privacy_tables import vault_identities
from store.tables import registrations as registrations_table
from vault.entries import store_batch
from vault.owners import keep_owners


def assign_persons(
    connection: Connection,
    identities: PersonIdentities,
    registrations: pd.DataFrame,
    max_registrations: int | None = DEFAULT_MAX_PERSON_REGISTRATIONS,
    reached: ReachedEncodings | None = None,
) -> tuple[pd.DataFrame, Resolution]:
    """The batch's registrations with their linked `person_id`, after recording merges, vault rows
    and the owners of its identifiers in `connection`'s transaction; and the resolution (its counts).
    `reached`: the stored encodings of the load's earlier parts, kept up to date here."""
    resolution = link_batch(connection, identities, max_registrations, reached)
    if resolution.merged:
        # Registrations and vault rows alike: a vault row is sealed to its registration, so it moves as it is.
        for table in (registrations_table, vault_identities):
            connection.execute(
                update(table).where(table.c.person_id == bindparam("absorbed")).values(person_id=bindparam("survivor")),
                merge_parameters(resolution.merged),
            )
    store_batch(connection, identities, resolution.person_of_registration)
    if reached is not None:
        reached.wrote(identities.encodings, identities.payloads["registration_id"], resolution.person_of_registration, resolution.merged)
    settle_links(connection, identities, resolution)
    persons = registrations["registration_id"].map(resolution.person_of_registration)
    return registrations.assign(person_id=persons.astype("str").where(persons.notna())), resolution


def forget_source(connection: Connection, source: str) -> None:
    """Vault rows of every registration `source` delivered (before a snapshot replaces them):
    nothing identifying outlives its registration. Their identifiers keep their owners."""
    delivered = select(registrations_table.c.registration_id).where(registrations_table.c.source == source)
    with keep_owners(connection, registrations=delivered):
        connection.execute(delete(vault_identities).where(vault_identities.c.registration_id.in_(delivered)))
