"""Where each batch's file was read from (for `victim-intake rerun`) and why a run failed.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-29
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column(
        "ingest_batches",
        sa.Column("file_path", sa.Text(), nullable=True, comment="where the file was read from; used by `rerun`"),
    )
    op.add_column(
        "ingest_runs",
        sa.Column("reason", sa.Text(), nullable=True, comment="why the run failed, in counts; never file content"),
    )


def downgrade() -> None:
    with op.batch_alter_table("ingest_runs") as batch:
        batch.drop_column("reason")
    with op.batch_alter_table("ingest_batches") as batch:
        batch.drop_column("file_path")
