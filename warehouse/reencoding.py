"""Name encodings of an older scheme re-encoded from the vault, under the current pseudonym key.

Migration 0010 salts the Bloom filters' bigram positions (`pseudonyms.encodings`); a migration
has no keys, so it marks the stored filters as scheme 1 and this step, the first that runs with
both keys (a run preparing the warehouse), opens their vault entries and encodes them again, in
one transaction, audited with counts. Until then filters of the old scheme are never compared.
"""

from __future__ import annotations

from sqlalchemy import Engine, delete, func, select

from pseudonyms.encodings import ENCODING_SCHEME
from pseudonyms.encodings import name_encodings as name_encodings_of
from pseudonyms.keys import LoadedKey
from warehouse.approximate import store_encodings
from warehouse.locks import lock_loads
from warehouse.privacy_tables import name_encodings, vault_identities
from warehouse.rotation import open_entries
from warehouse.tables import registrations
from warehouse.vault import audit

_STALE = name_encodings.c.scheme != ENCODING_SCHEME


def reencode_stale(engine: Engine, key: LoadedKey, vault_key: bytes) -> int:
    """Re-encode every stored encoding of an older scheme; returns how many were stale."""
    with engine.connect() as connection:
        if not connection.execute(select(func.count()).select_from(name_encodings).where(_STALE)).scalar_one():
            return 0
    with engine.begin() as connection:
        # Not while a load links: it would compare its filters with half-encoded ones.
        lock_loads(connection)
        rows = connection.execute(
            select(vault_identities.c.registration_id, vault_identities.c.person_id, vault_identities.c.sealed, registrations.c.source)
            .join(registrations, registrations.c.registration_id == vault_identities.c.registration_id)
            .where(vault_identities.c.registration_id.in_(select(name_encodings.c.registration_id).where(_STALE)))
        ).all()
        stale = connection.execute(delete(name_encodings).where(_STALE)).rowcount
        entries = open_entries(rows, vault_key)
        # Placeholder birth dates now get no encoding: fewer rows may come back than went.
        encodings = name_encodings_of(entries, entries["registration_id"], key.material).sort_values("registration_id")
        store_encodings(connection, encodings, entries.set_index("registration_id")["person_id"], key.version)
        audit(connection, "re-encode", reason=f"name encodings to scheme {ENCODING_SCHEME}",
              detail=f"{stale} encoding(s) of an older scheme re-encoded as {len(encodings)}")
    return stale
