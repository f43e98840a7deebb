"""Vault rows completed from their sealed fields, under the current pseudonym key.

A migration has no keys. Migration 0010 salts the Bloom filters' bit positions
(`pseudonyms.encodings`) and marks the stored filters as scheme 1; migration 0013 folds the name
encodings into the vault's rows, whose keyed identifiers it cannot compute (null key version),
and keeps every identifier link as an override. This step, the first that runs with both keys (a
run preparing the warehouse), opens those rows, computes their keyed identifiers and encodings
again, and keeps each identifier's owner: overrides the rows now tell are removed. One
transaction, audited with counts. Until then filters of the old scheme are never compared.
Finding out that no row is incomplete is one lookup in an index that holds only such rows.
"""

from __future__ import annotations

import pandas as pd
from sqlalchemy import Engine, bindparam, literal_column, or_, select, update

from pseudonyms.encodings import ENCODING_COLUMNS, ENCODING_SCHEME
from pseudonyms.encodings import name_encodings as name_encodings_of
from pseudonyms.keys import LoadedKey
from pseudonyms.person_identities import identifier_links
from store.locks import lock_loads
from store.privacy_tables import vault_identities
from store.tables import registrations
from vault.entries import audit, keyed_columns
from vault.owners import KEY_COLUMNS, keep_owners
from warehouse.rotation import open_entries

# As `ix_vault_identities_incomplete` holds them, with the scheme written into the statement (not
# bound): only then may the database answer from that index, which is empty when nothing is stale.
_INCOMPLETE = or_(vault_identities.c.scheme != literal_column(str(ENCODING_SCHEME)), vault_identities.c.key_version.is_(None))
_COMPLETED = (*KEY_COLUMNS.values(), *ENCODING_COLUMNS[1:], "key_version", "scheme")


def completed_columns(entries: pd.DataFrame, key: LoadedKey) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The keyed columns of opened vault entries (registration_id and the identifying fields), as
    their rows store them; and the keys they carry (identifier, kind, key_version)."""
    links = identifier_links(entries, entries["registration_id"], key.material, key.version)
    encodings = name_encodings_of(entries, entries["registration_id"], key.material)
    columns = keyed_columns(entries["registration_id"], links, encodings, key.version)
    return columns, links[["identifier", "kind"]].assign(key_version=key.version).drop_duplicates("identifier")


def reencode_stale(engine: Engine, key: LoadedKey, vault_key: bytes) -> int:
    """Complete every vault row of an older encoding scheme or without keyed identifiers; returns how many."""
    with engine.connect() as connection:
        if connection.execute(select(vault_identities.c.registration_id).where(_INCOMPLETE).limit(1)).first() is None:
            return 0
    with engine.begin() as connection:
        # Not while a load links: it would compare its filters with half-encoded ones.
        lock_loads(connection)
        rows = connection.execute(
            select(vault_identities.c.registration_id, vault_identities.c.person_id, vault_identities.c.sealed, registrations.c.source)
            .join(registrations, registrations.c.registration_id == vault_identities.c.registration_id)
            .where(_INCOMPLETE)
        ).all()
        entries = open_entries(rows, vault_key)
        # Placeholder birth dates get no encoding: fewer encodings may come back than went.
        columns, keys = completed_columns(entries, key)
        incomplete = select(vault_identities.c.registration_id).where(_INCOMPLETE)
        with keep_owners(connection, registrations=incomplete, adding=keys):
            if len(columns):
                connection.execute(
                    update(vault_identities)
                    .where(vault_identities.c.registration_id == bindparam("target"))
                    .values({name: bindparam(f"new_{name}") for name in _COMPLETED}),
                    [
                        {"target": row["registration_id"], **{f"new_{name}": row[name] for name in _COMPLETED}}
                        for row in columns.astype(object).where(columns.notna(), None).to_dict("records")
                    ],
                )
        encoded = int(columns["scheme"].notna().sum())
        audit(connection, "re-encode", reason=f"vault rows to encoding scheme {ENCODING_SCHEME} with keyed identifiers",
              detail=f"{len(columns)} row(s) completed, {encoded} with a name encoding")
    return len(columns)
