"""Tables that hold the additional information of the pseudonymisation, apart from analyst relations.

On PostgreSQL they live in their own schema (`vault`) that the analyst role is not granted; on
SQLite the schema is mapped away (`database.make_engine`) and the tables sit beside the others.
"""

from __future__ import annotations

from sqlalchemy import Column, DateTime, Integer, String, Table, Text

from warehouse.tables import metadata

VAULT_SCHEMA = "vault"

person_links = Table(
    "person_links",
    metadata,
    Column("identifier", String(32), primary_key=True, comment="keyed pseudonym of one strong identifier"),
    Column("kind", String(8), nullable=False, comment="name (name + birth date) | bsn | vnr"),
    Column("person_id", String(48), nullable=False, index=True),
    Column("key_version", Integer, nullable=False, comment="version of the pseudonym key that made it"),
    Column("linked_at", DateTime(timezone=True), nullable=False),
    schema=VAULT_SCHEMA,
    comment="Which person each keyed identifier belongs to: the memory of linkage across batches.",
)

vault_identities = Table(
    "vault_identities",
    metadata,
    Column("registration_id", Text, primary_key=True),
    Column("person_id", String(48), index=True, comment="null when the registration names no one"),
    Column("sealed", Text, nullable=False, comment="hex of nonce, AES-256-GCM ciphertext and tag of the identifying fields"),
    Column("sealed_at", DateTime(timezone=True), nullable=False),
    schema=VAULT_SCHEMA,
    comment="Identifying fields of each registration, sealed under the vault key (person id as associated data).",
)

privacy_audit = Table(
    "privacy_audit",
    metadata,
    Column("audit_id", Integer, primary_key=True, autoincrement=True),
    Column("at", DateTime(timezone=True), nullable=False),
    Column("actor", String(128), nullable=False, comment="operating-system user or VICTIM_INTAKE_ACTOR"),
    Column("action", String(16), nullable=False, comment="reveal | erase | purge | rotate"),
    Column("person_id", String(48)),
    Column("reason", Text, comment="the lawful purpose given; refused when it quotes revealed values"),
    Column("detail", Text, comment="counts only, never values"),
    schema=VAULT_SCHEMA,
    comment="Every re-identification, erasure, purge and key rotation: who, when, why.",
)

name_encodings = Table(
    "name_encodings",
    metadata,
    Column("registration_id", Text, primary_key=True),
    Column("person_id", String(48), nullable=False, index=True),
    Column("birth_key", String(32), nullable=False, index=True, comment="keyed birth date"),
    Column("swapped_key", String(32), comment="keyed birth date with day and month swapped"),
    Column("bloom", Text, nullable=False, comment="keyed Bloom filter of the name's bigrams (hex)"),
    Column("key_version", Integer, nullable=False),
    schema=VAULT_SCHEMA,
    comment="Keyed encodings of each registration's name and birth date, for approximate matching.",
)
