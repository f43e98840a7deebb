"""The linkage and vault input of a batch, with the configured keys (shared by every source's tasks)."""

from __future__ import annotations

import dataclasses

import pandas as pd

from flows.resources import configured_key
from linkage.approximate import own_matches
from pseudonyms.person_identities import PersonIdentities, person_identities


def batch_identities(records: pd.DataFrame, registration_ids: pd.Series) -> PersonIdentities:
    """Keyed identifiers, encodings and vault plaintext of `records` (same index as the ids), and
    the approximate matches among them: found here, they need no database, and where the batch is
    prepared ahead (`flows.ahead`) that is time the load no longer spends."""
    key = configured_key("pseudonym")
    identities = person_identities(
        records,
        registration_ids,
        key=key.material,
        key_version=key.version,
        vault_key=configured_key("vault").material,
    )
    if identities.encodings.empty:
        return identities
    return dataclasses.replace(identities, own_matches=own_matches(identities.encodings))
