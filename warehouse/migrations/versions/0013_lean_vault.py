"""A lean vault: one row per registration, bytes for every sealed value, key and filter.

`vault.vault_identities` and `vault.name_encodings` become one table keyed by registration id:
the sealed identifying fields (hex text before, bytes now), the keyed identifiers (name + birth
date, BSN, V-number) and the name encoding, all as bytes. `vault.person_links` keeps only the
owners of identifiers that the vault's rows do not tell (`vault.owners`); its identifiers
become bytes and its person may be null (the identifier belongs to no one). The quarantine's
sealed values change from base64 text to bytes, the format the vault uses.

A migration has no pseudonym key, so it cannot compute the rows' keyed identifiers: they stay
null (key version null) and every identifier link is kept as an override, which gives exactly
the owners the links gave before. The first step that runs with both keys
(`warehouse.reencoding.reencode_stale`, when a run prepares the warehouse) computes the keys and
removes the overrides the rows then tell. Everything is moved with one statement per table
(hex and base64 decoded by the database: `decode` on PostgreSQL, a function registered on the
connection on SQLite, whose library before 3.41 has no `unhex`).

The downgrade writes the old tables back from the new ones: encodings and sealed values as hex,
quarantine values as base64, and a link for every identifier the rows tell (overrides to no one
are dropped: the old links could not say that).

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-05
"""

from __future__ import annotations

import base64
import binascii

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None

_KEY_COLUMNS = {"name": "name_key", "bsn": "bsn_key", "vnr": "vnr_key"}
_PARTIAL = ("name_key", "bsn_key", "vnr_key", "birth_key")
_LINKS_COMMENT = (
    "Owners of keyed identifiers that the vault's rows do not tell: an identifier belongs to the person of the "
    "vault rows that carry it when they agree, unless a row here says otherwise (`warehouse.owners`)."
)
_VAULT_COMMENT = (
    "One row per registration: its identifying fields sealed under the vault key (person id as associated data), "
    "its keyed identifiers for linkage and the keyed encoding of its name and birth date for approximate matching."
)
_QUARANTINE_SEALED = "the offending value, AES-GCM sealed under the vault key (nonce, ciphertext and tag); never in clear"


def _schema() -> str | None:
    # SQLite has no schemas: the engine maps `vault` away and the tables sit in the main file.
    return "vault" if op.get_bind().dialect.name == "postgresql" else None


def _name(table: str) -> str:
    schema = _schema()
    return f"{schema}.{table}" if schema else table


def _sqlite_functions() -> None:
    """`unhex`, `hex_text`, `unbase64` and `base64_text` for the statements below, on SQLite (each
    runs inside SQLite's own statement, row by row in C, called back for the value)."""
    raw = op.get_bind().connection.driver_connection

    def unhex(value):
        return None if value is None else binascii.unhexlify(value)

    def hex_text(value):
        return None if value is None else bytes(value).hex()

    def unbase64(value):
        return None if value is None else base64.b64decode(value)

    def base64_text(value):
        return None if value is None else base64.b64encode(bytes(value)).decode("ascii")

    for name, function in (("unhex", unhex), ("hex_text", hex_text), ("unbase64", unbase64), ("base64_text", base64_text)):
        raw.create_function(name, 1, function, deterministic=True)


def _unhex(column: str) -> str:
    return f"decode({column}, 'hex')" if _schema() else f"unhex({column})"


def _hex(column: str) -> str:
    return f"encode({column}, 'hex')" if _schema() else f"hex_text({column})"


def _vault_table(name: str) -> None:
    op.create_table(
        name,
        sa.Column("registration_id", sa.Text(), primary_key=True),
        sa.Column("person_id", sa.String(48), comment="null when the registration names no one"),
        sa.Column("sealed", sa.LargeBinary(), nullable=False, comment="nonce, AES-256-GCM ciphertext and tag of the identifying fields"),
        sa.Column("sealed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("name_key", sa.LargeBinary(), comment="keyed name + birth date (16 bytes); null without both, or a placeholder date"),
        sa.Column("bsn_key", sa.LargeBinary(), comment="keyed BSN"),
        sa.Column("vnr_key", sa.LargeBinary(), comment="keyed V-number"),
        sa.Column(
            "key_version", sa.Integer(),
            comment="version of the pseudonym key of the keys and encoding; null: not computed yet (rows migrated by 0013)",
        ),
        sa.Column("birth_key", sa.LargeBinary(), comment="keyed birth date; null: no name encoding"),
        sa.Column("swapped_key", sa.LargeBinary(), comment="keyed birth date with day and month swapped"),
        sa.Column("bloom", sa.LargeBinary(), comment="keyed Bloom filter of the name's bigrams (128 bytes)"),
        sa.Column("script_key", sa.LargeBinary(), comment="keyed form of a name written in a lossy script (Han, Arabic, Hebrew)"),
        sa.Column(
            "scheme", sa.SmallInteger(),
            comment="of the name encoding: 1 bigram positions unsalted (to be re-encoded); 2 salted with the birth year",
        ),
        schema=_schema(),
        comment=_VAULT_COMMENT,
    )


def _links_table(name: str) -> None:
    op.create_table(
        name,
        sa.Column("identifier", sa.LargeBinary(), primary_key=True, comment="keyed pseudonym of one strong identifier (16 bytes)"),
        sa.Column("kind", sa.String(8), nullable=False, comment="name (name + birth date) | bsn | vnr"),
        sa.Column("person_id", sa.String(48), comment="null: the identifier belongs to no one, whatever vault rows carry it"),
        sa.Column("key_version", sa.Integer(), nullable=False, comment="version of the pseudonym key that made it"),
        sa.Column("linked_at", sa.DateTime(timezone=True), nullable=False),
        schema=_schema(),
        comment=_LINKS_COMMENT,
    )


def _swap(new: str, old: tuple[str, ...], final: str) -> None:
    """Drop the `old` tables and give `new` the name `final`."""
    for table in old:
        op.drop_table(table, schema=_schema())
    op.rename_table(new, final, schema=_schema())
    if _schema():
        # The primary key keeps the name it was created with; give it the table's.
        op.execute(f"ALTER TABLE {_name(final)} RENAME CONSTRAINT {new}_pkey TO {final}_pkey")


def upgrade() -> None:
    schema = _schema()
    if not schema:
        _sqlite_functions()
    _vault_table("vault_rows_0013")
    # Encodings without a vault row (none are written so) have nothing to be completed from: left out.
    op.execute(
        f"INSERT INTO {_name('vault_rows_0013')} (registration_id, person_id, sealed, sealed_at, birth_key, swapped_key, bloom, "
        f"script_key, scheme) SELECT v.registration_id, v.person_id, {_unhex('v.sealed')}, v.sealed_at, {_unhex('e.birth_key')}, "
        f"{_unhex('e.swapped_key')}, {_unhex('e.bloom')}, {_unhex('e.script_key')}, e.scheme "
        f"FROM {_name('vault_identities')} v LEFT JOIN {_name('name_encodings')} e ON e.registration_id = v.registration_id"
    )
    _swap("vault_rows_0013", ("name_encodings", "vault_identities"), "vault_identities")
    op.create_index("ix_vault_identities_person_id", "vault_identities", ["person_id"], schema=schema)
    for column in _PARTIAL:
        where = sa.text(f"{column} IS NOT NULL")
        op.create_index(f"ix_vault_identities_{column}", "vault_identities", [column], schema=schema, sqlite_where=where, postgresql_where=where)

    _links_table("links_0013")
    # Every link stays: the migrated rows carry no keys yet, so each link is an override.
    op.execute(
        f"INSERT INTO {_name('links_0013')} (identifier, kind, person_id, key_version, linked_at) "
        f"SELECT {_unhex('identifier')}, kind, person_id, key_version, linked_at FROM {_name('person_links')}"
    )
    _swap("links_0013", ("person_links",), "person_links")
    op.create_index("ix_person_links_person_id", "person_links", ["person_id"], schema=schema)

    if schema:
        op.execute("ALTER TABLE quarantine ALTER COLUMN sealed_value TYPE bytea USING decode(sealed_value, 'base64')")
        op.alter_column("quarantine", "sealed_value", existing_type=sa.LargeBinary(), comment=_QUARANTINE_SEALED)
    else:
        # SQLite keeps a blob as a blob in a column declared text; the declaration follows.
        op.execute("UPDATE quarantine SET sealed_value = unbase64(sealed_value) WHERE sealed_value IS NOT NULL")
        with op.batch_alter_table("quarantine") as batch:
            batch.alter_column("sealed_value", existing_type=sa.Text(), type_=sa.LargeBinary())


def _old_tables() -> None:
    schema = _schema()
    op.create_table(
        "old_links_0013",
        sa.Column("identifier", sa.String(32), primary_key=True, comment="keyed pseudonym of one strong identifier"),
        sa.Column("kind", sa.String(8), nullable=False, comment="name (name + birth date) | bsn | vnr"),
        sa.Column("person_id", sa.String(48), nullable=False),
        sa.Column("key_version", sa.Integer(), nullable=False, comment="version of the pseudonym key that made it"),
        sa.Column("linked_at", sa.DateTime(timezone=True), nullable=False),
        schema=schema,
        comment="Which person each keyed identifier belongs to: the memory of linkage across batches.",
    )
    op.create_table(
        "old_vault_0013",
        sa.Column("registration_id", sa.Text(), primary_key=True),
        sa.Column("person_id", sa.String(48), comment="null when the registration names no one"),
        sa.Column("sealed", sa.Text(), nullable=False, comment="hex of nonce, AES-256-GCM ciphertext and tag of the identifying fields"),
        sa.Column("sealed_at", sa.DateTime(timezone=True), nullable=False),
        schema=schema,
        comment="Identifying fields of each registration, sealed under the vault key (person id as associated data).",
    )
    op.create_table(
        "name_encodings",
        sa.Column("registration_id", sa.Text(), primary_key=True),
        sa.Column("person_id", sa.String(48), nullable=False),
        sa.Column("birth_key", sa.String(32), nullable=False, comment="keyed birth date"),
        sa.Column("swapped_key", sa.String(32), comment="keyed birth date with day and month swapped"),
        sa.Column("bloom", sa.Text(), nullable=False, comment="keyed Bloom filter of the name's bigrams (hex)"),
        sa.Column("key_version", sa.Integer(), nullable=False),
        sa.Column("scheme", sa.SmallInteger(), nullable=False, comment="1: bigram positions unsalted (to be re-encoded); 2: salted with the birth year"),
        sa.Column("script_key", sa.String(32), comment="keyed form of a name written in a lossy script (Han, Arabic, Hebrew)"),
        schema=schema,
        comment="Keyed encodings of each registration's name and birth date, for approximate matching.",
    )


def downgrade() -> None:
    schema = _schema()
    if not schema:
        _sqlite_functions()
    _old_tables()
    vault, links = _name("vault_identities"), _name("person_links")
    op.execute(
        f"INSERT INTO {_name('old_vault_0013')} (registration_id, person_id, sealed, sealed_at) "
        f"SELECT registration_id, person_id, {_hex('sealed')}, sealed_at FROM {vault}"
    )
    # Rows whose keys were never computed carried their encoding's key version in no column: the
    # links' newest version is the one every row was made with (rotation re-keys them all).
    version = f"coalesce(v.key_version, (SELECT max(key_version) FROM {links}), 1)"
    op.execute(
        f"INSERT INTO {_name('name_encodings')} (registration_id, person_id, birth_key, swapped_key, bloom, key_version, scheme, script_key) "
        f"SELECT v.registration_id, v.person_id, {_hex('v.birth_key')}, {_hex('v.swapped_key')}, {_hex('v.bloom')}, {version}, v.scheme, "
        f"{_hex('v.script_key')} FROM {vault} v WHERE v.birth_key IS NOT NULL AND v.person_id IS NOT NULL"
    )
    # The links as the old table held them: each override naming a person, and every identifier
    # whose rows agree on one person and no override names.
    op.execute(
        f"INSERT INTO {_name('old_links_0013')} (identifier, kind, person_id, key_version, linked_at) "
        f"SELECT {_hex('identifier')}, kind, person_id, key_version, linked_at FROM {links} WHERE person_id IS NOT NULL"
    )
    for kind, column in _KEY_COLUMNS.items():
        op.execute(
            f"INSERT INTO {_name('old_links_0013')} (identifier, kind, person_id, key_version, linked_at) "
            f"SELECT {_hex(f'v.{column}')}, '{kind}', min(v.person_id), max(v.key_version), min(v.sealed_at) FROM {vault} v "
            f"WHERE v.{column} IS NOT NULL AND v.person_id IS NOT NULL "
            f"AND NOT EXISTS (SELECT 1 FROM {links} l WHERE l.identifier = v.{column}) "
            f"GROUP BY v.{column} HAVING count(DISTINCT v.person_id) = 1"
        )
    _swap("old_links_0013", ("person_links",), "person_links")
    op.create_index("ix_person_links_person_id", "person_links", ["person_id"], schema=schema)
    _swap("old_vault_0013", ("vault_identities",), "vault_identities")
    op.create_index("ix_vault_identities_person_id", "vault_identities", ["person_id"], schema=schema)
    op.create_index("ix_name_encodings_person_id", "name_encodings", ["person_id"], schema=schema)
    op.create_index("ix_name_encodings_birth_key", "name_encodings", ["birth_key"], schema=schema)
    if schema:
        op.execute("ALTER TABLE quarantine ALTER COLUMN sealed_value TYPE text USING replace(encode(sealed_value, 'base64'), chr(10), '')")
        op.alter_column(
            "quarantine", "sealed_value", existing_type=sa.Text(),
            comment="the offending value, AES-GCM sealed under the vault key (base64); never in clear",
        )
    else:
        op.execute("UPDATE quarantine SET sealed_value = base64_text(sealed_value) WHERE sealed_value IS NOT NULL")
        with op.batch_alter_table("quarantine") as batch:
            batch.alter_column("sealed_value", existing_type=sa.LargeBinary(), type_=sa.Text())
