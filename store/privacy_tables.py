"""Tables that hold the additional information of the pseudonymisation, apart from analyst relations.

On PostgreSQL they live in their own schema (`vault`) that the analyst role is not granted; on
SQLite the schema is mapped away (`database.make_engine`) and the tables sit beside the others.
"""

from __future__ import annotations

from sqlalchemy import Column, DateTime, Index, Integer, LargeBinary, MetaData, SmallInteger, String, Table, Text, text

VAULT_SCHEMA = "vault"
# Its own metadata: the vault is a schema of its own, created by migration 0005.
vault_metadata = MetaData(schema=VAULT_SCHEMA)

person_links = Table(
    "person_links",
    vault_metadata,
    Column("identifier", LargeBinary, primary_key=True, comment="keyed pseudonym of one strong identifier (16 bytes)"),
    Column("kind", String(8), nullable=False, comment="name (name + birth date) | bsn | vnr"),
    Column("person_id", String(48), comment="null: the identifier belongs to no one, whatever vault rows carry it"),
    Column("key_version", Integer, nullable=False, comment="version of the pseudonym key that made it"),
    Column("linked_at", DateTime(timezone=True), nullable=False),
    Index("ix_person_links_person_id", "person_id"),
    schema=VAULT_SCHEMA,
    # Stored in the database as migration 0013 wrote it (the module has moved since): new words need a migration.
    comment=(
        "Owners of keyed identifiers that the vault's rows do not tell: an identifier belongs to the person of the "
        "vault rows that carry it when they agree, unless a row here says otherwise (`warehouse.owners`)."
    ),
)

# Partial indexes: a registration without a BSN, V-number, or usable name and birth date makes no entry.
_CARRIED = {"name_key": "name_key IS NOT NULL", "bsn_key": "bsn_key IS NOT NULL", "vnr_key": "vnr_key IS NOT NULL", "birth_key": "birth_key IS NOT NULL"}


def _partial_index(name: str, column: str) -> Index:
    where = text(_CARRIED[column])
    return Index(name, column, sqlite_where=where, postgresql_where=where)


# The rows `warehouse.reencoding` must complete: an older encoding scheme than
# `pseudonyms.encodings.ENCODING_SCHEME`, or no keyed identifiers yet (rows migrated by 0013). The
# index holds only them, so that every run finds out in one lookup that there are none, whatever
# wrote the rows. A new scheme changes this text with the migration that makes rows stale.
INCOMPLETE_VAULT_ROWS = "scheme <> 2 OR key_version IS NULL"


vault_identities = Table(
    "vault_identities",
    vault_metadata,
    Column("registration_id", Text, primary_key=True),
    Column("person_id", String(48), comment="null when the registration names no one"),
    Column("sealed", LargeBinary, nullable=False, comment="nonce, AES-256-GCM ciphertext and tag of the identifying fields"),
    Column("sealed_at", DateTime(timezone=True), nullable=False),
    Column("name_key", LargeBinary, comment="keyed name + birth date (16 bytes); null without both, or a placeholder date"),
    Column("bsn_key", LargeBinary, comment="keyed BSN"),
    Column("vnr_key", LargeBinary, comment="keyed V-number"),
    Column("key_version", Integer, comment="version of the pseudonym key of the keys and encoding; null: not computed yet (rows migrated by 0013)"),
    Column("birth_key", LargeBinary, comment="keyed birth date; null: no name encoding"),
    Column("swapped_key", LargeBinary, comment="keyed birth date with day and month swapped"),
    Column("bloom", LargeBinary, comment="keyed Bloom filter of the name's bigrams (128 bytes)"),
    Column("script_key", LargeBinary, comment="keyed form of a name written in a lossy script (Han, Arabic, Hebrew)"),
    Column("scheme", SmallInteger, comment="of the name encoding: 1 bigram positions unsalted (to be re-encoded); 2 salted with the birth year"),
    Index("ix_vault_identities_person_id", "person_id"),
    _partial_index("ix_vault_identities_name_key", "name_key"),
    _partial_index("ix_vault_identities_bsn_key", "bsn_key"),
    _partial_index("ix_vault_identities_vnr_key", "vnr_key"),
    _partial_index("ix_vault_identities_birth_key", "birth_key"),
    Index(
        "ix_vault_identities_incomplete",
        "registration_id",
        sqlite_where=text(INCOMPLETE_VAULT_ROWS),
        postgresql_where=text(INCOMPLETE_VAULT_ROWS),
    ),
    schema=VAULT_SCHEMA,
    comment=(
        "One row per registration: its identifying fields sealed under the vault key (registration id as associated data), "
        "its keyed identifiers for linkage and the keyed encoding of its name and birth date for approximate matching."
    ),
)

privacy_audit = Table(
    "privacy_audit",
    vault_metadata,
    Column("audit_id", Integer, primary_key=True, autoincrement=True),
    Column("at", DateTime(timezone=True), nullable=False),
    Column("actor", String(128), nullable=False, comment="operating-system user the command ran as (from its user id)"),
    Column("claimed_actor", String(128), comment="VICTIM_INTAKE_ACTOR as set when the command ran: a name claimed, not verified"),
    Column("action", String(16), nullable=False, comment="reveal | open_quarantine | erase | purge | rotate | split | join | re-encode"),
    Column("person_id", String(48)),
    Column("reason", Text, comment="the lawful purpose given; refused when it quotes revealed values"),
    Column("detail", Text, comment="counts only, never values"),
    schema=VAULT_SCHEMA,
    comment="Every re-identification, opening of quarantined values, erasure, purge, key rotation, split and join: who, when, why.",
)

link_decisions = Table(
    "link_decisions",
    vault_metadata,
    Column("decision_id", Integer, primary_key=True, comment="the steward's decision (privacy_audit detail names it)"),
    Column("registration_id", Text, primary_key=True),
    Column("kind", String(8), nullable=False, comment="apart (persons split) | together (persons join)"),
    Column("side", SmallInteger, nullable=False, comment="apart: 1 the registrations split off, 2 those left; together: 1"),
    Column("decided_at", DateTime(timezone=True), nullable=False),
    Index("ix_link_decisions_registration_id", "registration_id"),
    schema=VAULT_SCHEMA,
    comment="Stewards' corrections of linkage (persons split / join), which later loads respect.",
)

tier_secrets = Table(
    "tier_secrets",
    vault_metadata,
    Column("purpose", String(32), primary_key=True, comment="`analyst_person`: the key of the analyst tier's person keys"),
    Column("secret", Text, nullable=False, comment="hex of 32 random bytes"),
    Column("created_at", DateTime(timezone=True), nullable=False),
    schema=VAULT_SCHEMA,
    comment="Random secrets that key what a tier shows apart from the steward's pseudonyms (created by migration 0013).",
)
