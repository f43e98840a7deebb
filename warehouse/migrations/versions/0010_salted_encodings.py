"""Salted name encodings, script keys, stewards' linkage decisions and the bound's count.

`vault.name_encodings` gains `scheme` and `script_key`. Re-encoding the stored filters needs the
pseudonym key and the vault key, which a migration does not have (it also runs from commands that
never load keys): every existing encoding is marked scheme 1 (unsalted), is never compared with
salted ones, and is re-encoded from the vault by the first step that runs with both keys after
this migration (`warehouse.reencoding.reencode_stale`, called when a run prepares the warehouse,
and by `keys rotate`). `vault.link_decisions` holds `persons split` / `persons join`;
`ingest_batches.rows_kept_apart` counts the registrations the bound on a person's registrations
kept from name links.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-05
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

VAULT = "vault"
_ACTIONS = "reveal | open_quarantine | erase | purge | rotate | split | join | re-encode"


def _schema() -> str | None:
    # SQLite has no schemas: the engine maps `vault` away and the tables sit in the main file.
    return VAULT if op.get_bind().dialect.name == "postgresql" else None


def upgrade() -> None:
    schema = _schema()
    # Every stored encoding is unsalted (scheme 1) until re-encoded with the keys.
    op.add_column(
        "name_encodings",
        sa.Column("scheme", sa.SmallInteger(), nullable=False, server_default="1",
                  comment="1: bigram positions unsalted (to be re-encoded); 2: salted with the birth year"),
        schema=schema,
    )
    op.add_column(
        "name_encodings",
        sa.Column("script_key", sa.String(32), comment="keyed form of a name written in a lossy script (Han, Arabic, Hebrew)"),
        schema=schema,
    )
    op.add_column(
        "ingest_batches",
        sa.Column("rows_kept_apart", sa.Integer(), comment="registrations not linked by name: the person would have passed the bound"),
    )
    op.create_table(
        "link_decisions",
        sa.Column("decision_id", sa.Integer(), primary_key=True, autoincrement=False, comment="the steward's decision (privacy_audit detail names it)"),
        sa.Column("registration_id", sa.Text(), primary_key=True),
        sa.Column("kind", sa.String(8), nullable=False, comment="apart (persons split) | together (persons join)"),
        sa.Column("side", sa.SmallInteger(), nullable=False, comment="apart: 1 the registrations split off, 2 those left; together: 1"),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=False),
        schema=schema,
        comment="Stewards' corrections of linkage (persons split / join), which later loads respect.",
    )
    op.create_index("ix_link_decisions_registration_id", "link_decisions", ["registration_id"], schema=schema)
    if schema:
        # New rows always state their scheme; only the rows present now take the default.
        op.alter_column("name_encodings", "scheme", server_default=None, schema=schema)
        op.alter_column("privacy_audit", "action", existing_type=sa.String(16), comment=_ACTIONS, schema=schema)
        op.create_table_comment(
            "privacy_audit",
            "Every re-identification, opening of quarantined values, erasure, purge, key rotation, split and join: who, when, why.",
            schema=schema,
        )


def downgrade() -> None:
    schema = _schema()
    if schema:
        op.create_table_comment(
            "privacy_audit", "Every re-identification, opening of quarantined values, erasure, purge and key rotation: who, when, why.", schema=schema
        )
        op.alter_column("privacy_audit", "action", existing_type=sa.String(16), comment="reveal | open_quarantine | erase | purge | rotate", schema=schema)
    op.drop_index("ix_link_decisions_registration_id", "link_decisions", schema=schema)
    op.drop_table("link_decisions", schema=schema)
    op.drop_column("ingest_batches", "rows_kept_apart")
    op.drop_column("name_encodings", "script_key", schema=schema)
    # Salted filters cannot be told from unsalted ones once the column is gone: drop them, a later
    # run re-encodes (or `keys rotate` does).
    op.execute(sa.text(f"DELETE FROM {schema + '.' if schema else ''}name_encodings WHERE scheme <> 1"))
    op.drop_column("name_encodings", "scheme", schema=schema)
