"""The linkage and vault input of a batch, with the configured keys (shared by every source's tasks)."""

from __future__ import annotations

import pandas as pd

from pseudonyms.keys import load_key
from pseudonyms.person_identities import PersonIdentities, person_identities
from victim_intake import settings


def batch_identities(records: pd.DataFrame, registration_ids: pd.Series) -> PersonIdentities:
    """Keyed identifiers, encodings and vault plaintext of `records` (same index as the ids)."""
    key = load_key("pseudonym", settings.keys_dir())
    return person_identities(
        records,
        registration_ids,
        key=key.material,
        key_version=key.version,
        vault_key=load_key("vault", settings.keys_dir()).material,
    )
