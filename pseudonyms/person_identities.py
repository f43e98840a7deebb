"""What the warehouse needs to link a batch's registrations to persons and to fill the vault.

Built from canonical records in memory: keyed identifier pseudonyms (for exact linkage), keyed
name and birth date encodings (for approximate matching), a candidate person pseudonym per
identifier (used when a report starts a new person), and the identifying fields to be sealed
under the vault key (`vault.entries.sealed_identities` seals them while the batch is prepared).
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from pseudonyms.encodings import name_encodings
from pseudonyms.hashing import KeyedHasher, derive_subkey, digest_many
from pseudonyms.identity import IDENTIFIER_PURPOSE, PERSON_PURPOSE, date_texts, identifier_strings, versioned

# The fields kept (sealed) in the vault: enough to re-identify, and to re-pseudonymise on rotation.
VAULT_FIELDS: tuple[str, ...] = ("source_record_id", "surname", "given_names", "birth_date", "bsn", "alien_number")


@dataclass(frozen=True, repr=False)
class PersonIdentities:
    """Linkage input and vault plaintext of one batch. Holds personal data: memory only."""

    links: pd.DataFrame  # registration_id, kind, identifier (keyed), candidate_person_id
    encodings: pd.DataFrame  # registration_id, birth_key, swapped_key, bloom, script_key (approximate matching)
    # registration_id, payload (JSON of VAULT_FIELDS, clear); registration_id only once `vault_rows` holds them sealed.
    payloads: pd.DataFrame
    # registration_id: every registration that names someone; each gets a person, its own
    # (`own_person_ids`) when nothing links it (no identifier, a placeholder birth date, links refused).
    named: pd.DataFrame
    person_subkey: bytes  # the person-id purpose subkey, for those own person ids (made where needed)
    vault_key: bytes | None  # None once `vault_rows` are sealed: a prepared part carries no key
    key_version: int
    # registration_id, node: approximate matches among the batch's own records, where they were
    # found already (while the batch was prepared); None: found with the stored ones at the load.
    own_matches: pd.DataFrame | None = None
    # The batch's vault rows but their person (`vault.entries.vault_rows`), sealed while the batch
    # is prepared (`vault.entries.sealed_identities`); None until then.
    vault_rows: pd.DataFrame | None = None

    def __repr__(self) -> str:  # never show values in tracebacks or logs
        return f"PersonIdentities(<{len(self.payloads)} registrations>, key_version={self.key_version})"

    def own_person_ids(self, registration_ids: pd.Series) -> pd.Series:
        """The person id each of these registrations has when it forms a person on its own."""
        return own_person_ids(registration_ids, self.person_subkey, self.key_version, derived=True)


# How pandas' JSON writer escapes a string (`DataFrame.to_json(force_ascii=False)`): the payloads
# stay the text they always were.
_JSON_ESCAPES = str.maketrans(
    {"\\": "\\\\", '"': '\\"', "/": "\\/", "\b": "\\b", "\f": "\\f", "\n": "\\n", "\r": "\\r", "\t": "\\t"}
    | {chr(code): f"\\u{code:04x}" for code in range(32) if chr(code) not in "\b\f\n\r\t"}
)
_NEEDS_ESCAPE = r'[\\"/\x00-\x1f]'


def _json_strings(values: pd.Series) -> pa.Array:
    """Each value as a JSON string literal, null as `null`. Only the few values holding a character
    JSON escapes go through Python."""
    text = pc.cast(pa.array(values.astype("str").array), pa.large_string())
    text = text.combine_chunks() if isinstance(text, pa.ChunkedArray) else text
    escaped = pc.fill_null(pc.match_substring_regex(text, _NEEDS_ESCAPE), False)
    if pc.any(escaped).as_py():
        rows = pc.filter(text, escaped).to_pylist()
        text = pc.replace_with_mask(text, escaped, pa.array([row.translate(_JSON_ESCAPES) for row in rows], type=text.type))
    quote = pa.scalar('"', pa.large_string())
    return pc.fill_null(pc.binary_join_element_wise(quote, text, quote, pa.scalar("", pa.large_string())), pa.scalar("null", pa.large_string()))


def vault_payloads(records: pd.DataFrame) -> pd.Series:
    """JSON text of each record's identifying fields (dates as ISO text, missing as null), built
    from Arrow string columns: no Python object per row."""
    if records.empty:
        return pd.Series([], index=records.index, dtype="str")
    fields = records[list(VAULT_FIELDS)].assign(birth_date=date_texts(pd.to_datetime(records["birth_date"], errors="coerce")))
    parts: list[pa.Array | pa.Scalar] = []
    for number, field in enumerate(VAULT_FIELDS):
        parts += [pa.scalar(("{" if number == 0 else ",") + f'"{field}":', pa.large_string()), _json_strings(fields[field])]
    payloads = pc.binary_join_element_wise(*parts, pa.scalar("}", pa.large_string()), pa.scalar("", pa.large_string()))
    return pd.Series(pd.array(payloads, dtype="str"), index=records.index)


def named_registrations(records: pd.DataFrame, registration_ids: pd.Series) -> pd.DataFrame:
    """The registrations whose records name someone (a name, BSN or V-number, however written):
    each gets a person, even when nothing links it."""
    written = pd.concat(
        [records[field].astype("str").str.strip().str.len().gt(0) for field in ("surname", "given_names", "bsn", "alien_number")], axis=1
    ).any(axis=1)
    return pd.DataFrame({"registration_id": _text(registration_ids[written.to_numpy()])})


def own_person_ids(registration_ids: pd.Series, key: bytes, key_version: int, *, derived: bool = False) -> pd.Series:
    """The person id a registration has when it forms a person on its own (linked to no one, or
    split off by a steward), under the pseudonym `key` (or its person subkey, `derived`).
    "registration|" begins no identifier string (name|, bsn|, vnr|), so it equals no other person id."""
    hasher = KeyedHasher.of_subkey(key) if derived else KeyedHasher(key, PERSON_PURPOSE)
    return versioned(hasher.digest_series("registration|" + registration_ids), key_version)


def identifier_links(records: pd.DataFrame, registration_ids: pd.Series, key: bytes, key_version: int) -> pd.DataFrame:
    """Keyed identifiers of each registration, with the person pseudonym each would start."""
    strings = identifier_strings(records)
    identifiers, candidates = digest_many(strings["value"], [KeyedHasher(key, IDENTIFIER_PURPOSE), KeyedHasher(key, PERSON_PURPOSE)])
    return pd.DataFrame(
        {
            "registration_id": _text(registration_ids).take(registration_ids.index.get_indexer(strings["row"])),
            "kind": _text(strings["kind"]),
            "identifier": _text(identifiers),
            "candidate_person_id": _text(versioned(candidates, key_version)),
        }
    )


def _text(values: pd.Series) -> pd.api.extensions.ExtensionArray:
    """The values as a text array, to place in a new frame by position (not by index), without a
    Python object per row on the way."""
    return values.astype("str").array


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
            {"registration_id": _text(registration_ids), "payload": _text(vault_payloads(records))}
        ),
        named=named_registrations(records, registration_ids),
        person_subkey=derive_subkey(key, PERSON_PURPOSE),
        vault_key=vault_key,
        key_version=key_version,
    )
