"""The memory of disclosure control: `publications` and `published_cells` (steward relations).

Every report that goes out is recorded with its variant, the state of the data it was made from
and every cell with its true value and whether it was suppressed, so that a later report of the
same year is protected jointly with it (`reporting/releases.py`). Nothing is granted to the
analyst role: these relations hold the true values of suppressed cells.

No data moves: reports were not recorded before this revision, so the first report of a year after
the upgrade starts its memory (what went out before cannot be reconstructed from the warehouse).

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-14
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "publications",
        sa.Column("publication_id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("year", sa.Integer(), nullable=False, comment="registration year the report is about"),
        sa.Column("report", sa.String(32), nullable=False, comment="which report: `scale_and_nature`"),
        sa.Column("top", sa.Integer(), nullable=False, comment="nationalities and countries shown by name (--top)"),
        sa.Column("language", sa.String(8), nullable=False, comment="nl | en"),
        sa.Column("format", sa.String(8), nullable=False, comment="html | md | csv"),
        sa.Column("min_cell", sa.Integer(), nullable=False, comment="the suppression level K (--min-cell)"),
        sa.Column("table_count", sa.Integer(), nullable=False, comment="tables in the report"),
        sa.Column("published_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor", sa.String(128), nullable=False, comment="operating-system user the report was made as"),
        sa.Column("claimed_actor", sa.String(128), nullable=True, comment="VICTIM_INTAKE_ACTOR as set when the report was made: a name claimed, not verified"),
        sa.Column(
            "data_fingerprint", sa.String(64), nullable=False, comment="SHA-256 of the year's marts the report was made from"
        ),
        sa.Column(
            "revision_of",
            sa.Integer(),
            sa.ForeignKey("publications.publication_id"),
            comment="the latest earlier publication of the year made from other data, when this one is a revision",
        ),
        comment="One row per report that went out; drafts and --min-cell 0 reports are not recorded.",
    )
    op.create_index("ix_publications_year", "publications", ["year"])
    op.create_table(
        "published_cells",
        sa.Column("publication_id", sa.Integer(), sa.ForeignKey("publications.publication_id"), primary_key=True),
        sa.Column("table_name", sa.String(64), primary_key=True),
        sa.Column("row_position", sa.Integer(), primary_key=True, comment="row in the table; -1 for the row of column totals"),
        sa.Column(
            "column_position", sa.Integer(), primary_key=True, comment="column in the table; -1 for the column of row totals"
        ),
        sa.Column("cell", sa.Text(), nullable=False, comment="what the cell counts: measure, year and categories, as JSON"),
        sa.Column("year", sa.Integer(), nullable=False, comment="the year the cell counts (the trend shows earlier years)"),
        sa.Column(
            "data_fingerprint", sa.String(64), nullable=False, comment="SHA-256 of that year's marts when the cell went out"
        ),
        sa.Column("value", sa.Integer(), nullable=False, comment="the true count, also of a suppressed cell"),
        sa.Column("suppressed", sa.Boolean(), nullable=False),
        comment="One row per cell of every table of every publication, with its true value and whether it was suppressed.",
    )
    op.create_index("ix_published_cells_year", "published_cells", ["year"])


def downgrade() -> None:
    op.drop_index("ix_published_cells_year", table_name="published_cells")
    op.drop_table("published_cells")
    op.drop_index("ix_publications_year", table_name="publications")
    op.drop_table("publications")
