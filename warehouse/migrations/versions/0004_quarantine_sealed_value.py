"""Partner sources: the quarantine keeps the offending value sealed under the vault key.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-29
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # A warehouse made by `create_all` from tables that already had the column (adopted as 0001) has it.
    if "sealed_value" in {column["name"] for column in sa.inspect(op.get_bind()).get_columns("quarantine")}:
        return
    op.add_column(
        "quarantine",
        sa.Column(
            "sealed_value",
            sa.Text(),
            nullable=True,
            comment="the offending value, AES-GCM sealed under the vault key (base64); never in clear",
        ),
    )


def downgrade() -> None:
    with op.batch_alter_table("quarantine") as batch:
        batch.drop_column("sealed_value")
