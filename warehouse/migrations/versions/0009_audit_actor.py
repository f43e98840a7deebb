"""The audit trail records the operating-system user and, apart, the name an operator claims; the
ledger counts rows ignored because the warehouse holds them from a later export.

`privacy_audit.actor` held `VICTIM_INTAKE_ACTOR` when it was set, else the login name from the
environment (`LOGNAME`, `USER`): either way a name anyone could set. Those values move to the new
column `claimed_actor`; `actor` now holds the user the command runs as (from its user id), which
the rows written before were never given, so they say `(not recorded)`.

`ingest_batches.rows_ignored_older` is new; batches loaded before leave it empty (not counted).

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-15
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

NOT_RECORDED = "(not recorded)"


def _vault_schema() -> str | None:
    # SQLite has no schemas: the engine maps `vault` away and the tables sit in the main file.
    return "vault" if op.get_bind().dialect.name == "postgresql" else None


def upgrade() -> None:
    schema = _vault_schema()
    op.add_column(
        "privacy_audit",
        sa.Column("claimed_actor", sa.String(128), nullable=True, comment="VICTIM_INTAKE_ACTOR as set when the command ran: a name claimed, not verified"),
        schema=schema,
    )
    audit = sa.table("privacy_audit", sa.column("actor", sa.String(128)), sa.column("claimed_actor", sa.String(128)), schema=schema)
    op.execute(audit.update().values(claimed_actor=audit.c.actor, actor=NOT_RECORDED))
    if schema:  # comments exist on PostgreSQL only
        op.alter_column(
            "privacy_audit",
            "actor",
            existing_type=sa.String(128),
            existing_nullable=False,
            comment="operating-system user the command ran as (from its user id)",
            existing_comment="operating-system user or VICTIM_INTAKE_ACTOR",
            schema=schema,
        )
        op.alter_column(
            "privacy_audit",
            "action",
            existing_type=sa.String(16),
            existing_nullable=False,
            comment="reveal | open_quarantine | erase | purge | rotate",
            existing_comment="reveal | erase | purge | rotate",
            schema=schema,
        )
        op.create_table_comment(
            "privacy_audit",
            "Every re-identification, opening of quarantined values, erasure, purge and key rotation: who, when, why.",
            existing_comment="Every re-identification, erasure, purge and key rotation: who, when, why.",
            schema=schema,
        )
    op.add_column(
        "ingest_batches",
        sa.Column(
            "rows_ignored_older",
            sa.Integer(),
            nullable=True,
            comment="rows not applied because the warehouse holds them from a later export (a correction older than the stored row)",
        ),
    )


def downgrade() -> None:
    schema = _vault_schema()
    with op.batch_alter_table("ingest_batches") as batch:
        batch.drop_column("rows_ignored_older")
    audit = sa.table("privacy_audit", sa.column("actor", sa.String(128)), sa.column("claimed_actor", sa.String(128)), schema=schema)
    op.execute(audit.update().where(audit.c.claimed_actor.is_not(None)).values(actor=audit.c.claimed_actor))
    with op.batch_alter_table("privacy_audit", schema=schema) as batch:
        batch.drop_column("claimed_actor")
