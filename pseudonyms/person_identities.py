"""What the warehouse needs to link a batch's registrations to persons and to fill the vault.

Built from canonical records in memory: keyed identifier pseudonyms (for exact linkage), keyed
name and birth date encodings (for approximate matching), a candidate person pseudonym per
identifier (used when a report starts a new person), and the identifying fields to be sealed
under the vault key once the person is known.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from pseudonyms.encodings import name_encodings
from pseudonyms.hashing import KeyedHasher, derive_subkey
from pseudonyms.identity import IDENTIFIER_PURPOSE, PERSON_PURPOSE, identifier_strings, versioned

# The fields kept (sealed) in the vault: enough to re-identify, and to re-pseudonymise on rotation.
VAULT_FIELDS: tuple[str, ...] = ("source_record_id", "surname", "given_names", "birth_date", "bsn", "alien_number")


@dataclass(frozen=True, repr=False)
class PersonIdentities:
    """Linkage input and vault plaintext of one batch. Holds personal data: memory only."""

    links: pd.DataFrame  # registration_id, kind, identifier (keyed), candidate_person_id
    encodings: pd.DataFrame  # registration_id, birth_key, swapped_key, bloom, script_key (approximate matching)
    payloads: pd.DataFrame  # registration_id, payload (JSON of VAULT_FIELDS, clear)
    # registration_id: every registration that names someone; each gets a person, its own
    # (`own_person_ids`) when nothing links it (no identifier, a placeholder birth date, links refused).
    named: pd.DataFrame
    person_subkey: bytes  # the person-id purpose subkey, for those own person ids (made where needed)
    vault_key: bytes
    key_version: int
    # registration_id, node: approximate matches among the batch's own records, where they were
    # found already (while the batch was prepared); None: found with the stored ones at the load.
    own_matches: pd.DataFrame | None = None

    def __repr__(self) -> str:  # never show values in tracebacks or logs
        return f"PersonIdentities(<{len(self.payloads)} registrations>, key_version={self.key_version})"

    def own_person_ids(self, registration_ids: pd.Series) -> pd.Series:
        """The person id each of these registrations has when it forms a person on its own."""
        return own_person_ids(registration_ids, self.person_subkey, self.key_version, derived=True)


def vault_payloads(records: pd.DataFrame) -> pd.Series:
    """JSON text of each record's identifying fields (dates as ISO text, missing as null)."""
    fields = records[list(VAULT_FIELDS)].copy()
    fields["birth_date"] = pd.to_datetime(fields["birth_date"], errors="coerce").dt.strftime("%Y-%m-%d")
    if fields.empty:
        return pd.Series([], index=records.index, dtype="str")
    # pandas writes JSON lines in C; a newline inside a value is escaped, so "\n" only ends a record.
    lines = fields.to_json(orient="records", lines=True, force_ascii=False).rstrip("\n").split("\n")
    return pd.Series(lines, index=records.index, dtype="str")


def named_registrations(records: pd.DataFrame, registration_ids: pd.Series) -> pd.DataFrame:
    """The registrations whose records name someone (a name, BSN or V-number, however written):
    each gets a person, even when nothing links it."""
    written = pd.concat(
        [records[field].astype("str").str.strip().str.len().gt(0) for field in ("surname", "given_names", "bsn", "alien_number")], axis=1
    ).any(axis=1)
    return pd.DataFrame({"registration_id": registration_ids[written.to_numpy()].to_numpy()})


def own_person_ids(registration_ids: pd.Series, key: bytes, key_version: int, *, derived: bool = False) -> pd.Series:
    """The person id a registration has when it forms a person on its own (linked to no one, or
    split off by a steward), under the pseudonym `key` (or its person subkey, `derived`).
    "registration|" begins no identifier string (name|, bsn|, vnr|), so it equals no other person id."""
    hasher = KeyedHasher.of_subkey(key) if derived else KeyedHasher(key, PERSON_PURPOSE)
    return versioned(hasher.digest_series("registration|" + registration_ids), key_version)


def identifier_links(records: pd.DataFrame, registration_ids: pd.Series, key: bytes, key_version: int) -> pd.DataFrame:
    """Keyed identifiers of each registration, with the person pseudonym each would start."""
    strings = identifier_strings(records)
    return pd.DataFrame(
        {
            "registration_id": registration_ids.loc[strings["row"]].to_numpy(),
            "kind": strings["kind"].to_numpy(),
            "identifier": KeyedHasher(key, IDENTIFIER_PURPOSE).digest_series(strings["value"]).to_numpy(),
            "candidate_person_id": versioned(
                KeyedHasher(key, PERSON_PURPOSE).digest_series(strings["value"]), key_version
            ).to_numpy(),
        }
    )


def person_identities(
    records: pd.DataFrame,
    registration_ids: pd.Series,
    *,
    key: bytes,
    key_version: int,
    vault_key: bytes,
) -> PersonIdentities:
    """Linkage and vault input for the registrations made from `records` (same index)."""
    return PersonIdentities(
        links=identifier_links(records, registration_ids, key, key_version),
        encodings=name_encodings(records, registration_ids, key),
        payloads=pd.DataFrame(
            {"registration_id": registration_ids.to_numpy(), "payload": vault_payloads(records).to_numpy()}
        ),
        named=named_registrations(records, registration_ids),
        person_subkey=derive_subkey(key, PERSON_PURPOSE),
        vault_key=vault_key,
        key_version=key_version,
    )
