"""Privacy: the vault schema with identifier links, sealed identities, name encodings and the audit.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-29
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

VAULT = "vault"


def _schema() -> str | None:
    # SQLite has no schemas: the engine maps `vault` away and the tables sit in the main file.
    return VAULT if op.get_bind().dialect.name == "postgresql" else None


def upgrade() -> None:
    schema = _schema()
    if schema:
        op.execute(f"CREATE SCHEMA IF NOT EXISTS {schema}")
    op.create_table(
        "person_links",
        sa.Column("identifier", sa.String(32), primary_key=True, comment="keyed pseudonym of one strong identifier"),
        sa.Column("kind", sa.String(8), nullable=False, comment="name (name + birth date) | bsn | vnr"),
        sa.Column("person_id", sa.String(48), nullable=False),
        sa.Column("key_version", sa.Integer(), nullable=False, comment="version of the pseudonym key that made it"),
        sa.Column("linked_at", sa.DateTime(timezone=True), nullable=False),
        schema=schema,
        comment="Which person each keyed identifier belongs to: the memory of linkage across batches.",
    )
    op.create_index("ix_person_links_person_id", "person_links", ["person_id"], schema=schema)
    op.create_table(
        "vault_identities",
        sa.Column("registration_id", sa.Text(), primary_key=True),
        sa.Column("person_id", sa.String(48), comment="null when the registration names no one"),
        sa.Column("sealed", sa.Text(), nullable=False, comment="hex of nonce, AES-256-GCM ciphertext and tag of the identifying fields"),
        sa.Column("sealed_at", sa.DateTime(timezone=True), nullable=False),
        schema=schema,
        comment="Identifying fields of each registration, sealed under the vault key (person id as associated data).",
    )
    op.create_index("ix_vault_identities_person_id", "vault_identities", ["person_id"], schema=schema)
    op.create_table(
        "privacy_audit",
        sa.Column("audit_id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor", sa.String(128), nullable=False, comment="operating-system user or VICTIM_INTAKE_ACTOR"),
        sa.Column("action", sa.String(16), nullable=False, comment="reveal | erase | purge | rotate"),
        sa.Column("person_id", sa.String(48)),
        sa.Column("reason", sa.Text(), comment="the lawful purpose given; refused when it quotes revealed values"),
        sa.Column("detail", sa.Text(), comment="counts only, never values"),
        schema=schema,
        comment="Every re-identification, erasure, purge and key rotation: who, when, why.",
    )
    op.create_table(
        "name_encodings",
        sa.Column("registration_id", sa.Text(), primary_key=True),
        sa.Column("person_id", sa.String(48), nullable=False),
        sa.Column("birth_key", sa.String(32), nullable=False, comment="keyed birth date"),
        sa.Column("swapped_key", sa.String(32), comment="keyed birth date with day and month swapped"),
        sa.Column("bloom", sa.Text(), nullable=False, comment="keyed Bloom filter of the name's bigrams (hex)"),
        sa.Column("key_version", sa.Integer(), nullable=False),
        schema=schema,
        comment="Keyed encodings of each registration's name and birth date, for approximate matching.",
    )
    op.create_index("ix_name_encodings_person_id", "name_encodings", ["person_id"], schema=schema)
    op.create_index("ix_name_encodings_birth_key", "name_encodings", ["birth_key"], schema=schema)


def downgrade() -> None:
    schema = _schema()
    for table in ("name_encodings", "privacy_audit", "vault_identities", "person_links"):
        op.drop_table(table, schema=schema)
    if schema:
        op.execute(f"DROP SCHEMA IF EXISTS {schema}")
