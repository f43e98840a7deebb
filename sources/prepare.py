"""What every source's validated part becomes before the load: a prepared part.

Keyed pseudonyms replace the identifying fields (`pseudonyms.pseudonymise`), the linkage input
is computed with the approximate matches among the part's own records, the vault rows are made
and sealed (none of this needs the database), and the warnings' text is sealed under the vault
key. A prepared part holds no clear value; it may wait for the load in the spool
(`sources.spool`), encrypted all the same.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import pandas as pd

from linkage.approximate import own_matches
from pseudonyms.keys import LoadedKey
from pseudonyms.person_identities import PersonIdentities, person_identities
from pseudonyms.pseudonymise import to_registrations
from schemas.canonical import registration_schema
from schemas.validation import SchemaViolation, split_valid
from sources.contract import Source, Validated
from vault.entries import sealed_identities
from vault.quarantine_seal import seal_values


@dataclass(frozen=True, repr=False)  # holds personal data: never shown in a log or traceback
class PreparedPart:
    """One part of a file, ready for the warehouse: its rows, quarantine entries and linkage input."""

    registrations: pd.DataFrame
    quarantined: pd.DataFrame  # as `Validated.quarantined`, with `sealed_value` for `value`
    identities: PersonIdentities


def registrations_of(source: Source, validated: Validated, batch_id: str, key: bytes) -> pd.DataFrame:
    """The part's registrations, checked against the published contract."""
    registrations = to_registrations(
        validated.records,
        source=source.id,
        source_kind=source.kind,
        key=key,
        batch_id=batch_id,
        exported_at=validated.exported_at,
        scope=source.scope,
    )
    # A source that states no export time: typed as text, so that even an empty batch keeps its contract.
    registrations["source_exported_at"] = registrations["source_exported_at"].astype("str")
    if validated.decided is not None:
        registrations[list(validated.decided.columns)] = validated.decided
    # Last gate before the warehouse: exactly the published columns, with canonical values.
    if split_valid(registrations, registration_schema()).failures.shape[0]:
        raise SchemaViolation("pseudonymised rows break the registration contract (a bug: report it)")
    return registrations


def batch_identities(records: pd.DataFrame, registration_ids: pd.Series, key: LoadedKey, vault_key: bytes) -> PersonIdentities:
    """Keyed identifiers, encodings and sealed vault rows of `records` (same index as the ids), and
    the approximate matches among them: made here, they are time the load no longer spends. The
    matches are found before the vault rows are made, so that their temporaries and the rows'
    sealed values (Python bytes, most of a part's memory) are not held at the same time."""
    identities = person_identities(records, registration_ids, key=key.material, key_version=key.version, vault_key=vault_key)
    if not identities.encodings.empty:
        identities = dataclasses.replace(identities, own_matches=own_matches(identities.encodings))
    return sealed_identities(identities)


def sealed_quarantine(quarantined: pd.DataFrame, batch_id: str, vault_key: bytes) -> pd.DataFrame:
    """The entries with their offending text sealed under the vault key; the clear `value` goes."""
    if quarantined["value"].notna().any():
        return seal_values(quarantined, batch_id, vault_key)
    return quarantined.drop(columns="value")


def prepared_part(source: Source, validated: Validated, batch_id: str, key: LoadedKey, vault_key: bytes) -> PreparedPart:
    """Pseudonymise one validated part: registrations, sealed quarantine entries and linkage input."""
    registrations = registrations_of(source, validated, batch_id, key.material)
    return PreparedPart(
        registrations,
        sealed_quarantine(validated.quarantined, batch_id, vault_key),
        batch_identities(validated.records, registrations["registration_id"], key, vault_key),
    )
