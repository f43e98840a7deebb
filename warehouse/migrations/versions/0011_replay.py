"""Replaying quarantined rows: the ledger links a replay to its batch and remembers the rules.

`ingest_batches` gains `replay_of` (the batch a replay validated again), `replayed_by` (the
replay that took over a batch's quarantined rows), `rules_fingerprint` (the definition or
contract and code lists a batch was validated under; batches loaded before stay null: unknown)
and `warnings_cleared`. The unique index on loaded file contents no longer counts replays, which
read a loaded file again on purpose.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-05
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None

_INDEX = "uq_ingest_batches_loaded_file"


def _unique_loaded(where: str) -> None:
    op.drop_index(_INDEX, table_name="ingest_batches")
    op.create_index(_INDEX, "ingest_batches", ["file_sha256"], unique=True, sqlite_where=sa.text(where), postgresql_where=sa.text(where))


def upgrade() -> None:
    op.add_column(
        "ingest_batches",
        sa.Column("replay_of", sa.String(32), comment="a replay: the batch whose quarantined rows it validated again (`quarantine replay`)"),
    )
    op.add_column(
        "ingest_batches",
        sa.Column(
            "replayed_by", sa.String(32),
            comment="the replay batch that took over this batch's quarantined rows; its own rows_quarantined are history",
        ),
    )
    op.add_column(
        "ingest_batches",
        sa.Column(
            "rules_fingerprint", sa.String(64),
            comment="SHA-256 of the rules the rows were validated under: partner definition or police contract, and code lists",
        ),
    )
    op.add_column(
        "ingest_batches",
        sa.Column("warnings_cleared", sa.Integer(), comment="a replay: warnings of loaded rows whose value a code list now knows, coded in place"),
    )
    _unique_loaded("state = 'loaded' AND replay_of IS NULL")


def downgrade() -> None:
    # Replays are folded away: their rows stay, the ledger forgets the link.
    op.execute(sa.text("DELETE FROM quarantine WHERE batch_id IN (SELECT batch_id FROM ingest_batches WHERE replay_of IS NOT NULL)"))
    op.execute(sa.text("DELETE FROM ingest_batches WHERE replay_of IS NOT NULL"))
    _unique_loaded("state = 'loaded'")
    for column in ("warnings_cleared", "rules_fingerprint", "replayed_by", "replay_of"):
        op.drop_column("ingest_batches", column)
