"""Marts for analysts and the scale-and-nature report (`warehouse/marts.py`), readable by the analyst role.

`mart_person_years`, `mart_yearly_counts` and `mart_yearly_crossings` are filled by
`warehouse.marts.refresh_marts`; an upgraded warehouse that already holds registrations gets them
filled on the first `create_tables` after the upgrade (every year counts as stale while the marts
disagree with `registrations`). `mart_stale_years` is bookkeeping, not granted to analysts.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-29
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

ANALYST_ROLE = "victim_intake_analyst"
MART_RELATIONS = ("mart_person_years", "mart_yearly_counts", "mart_yearly_crossings")
_DIMENSIONS = (
    ("exploitation_type", "form of exploitation"),
    ("gender", "gender"),
    ("age_group", "age group at the report"),
    ("minor", "`minor` (under 18 at the report), `adult` or `unknown`"),
    ("nationality", "nationality, ISO 3166-1 alpha-3 (`UNK` unknown)"),
    ("dutch", "`dutch`, `non_dutch` or `unknown` nationality"),
    ("source_kind", "category of the reporting source"),
    ("reporting_unit", "police unit or region of the reporter"),
    ("exploitation_country", "country of exploitation, ISO alpha-3"),
)
_DIMENSION_NAMES = ", ".join(f"`{name}`" for name, _ in _DIMENSIONS)
_MEASURE = "`registrations` (reports; one person may have several) or `persons` (distinct persons of the year)"


def _year() -> sa.Column:
    return sa.Column("registration_year", sa.Integer(), primary_key=True, comment="year of the report")


def _measure() -> sa.Column:
    return sa.Column("measure", sa.Text(), primary_key=True, comment=_MEASURE)


def upgrade() -> None:
    op.create_table(
        "mart_person_years",
        _year(),
        sa.Column(
            "person_key",
            sa.Text(),
            primary_key=True,
            comment="the person pseudonym, or `registration:` and the registration id when the source carries no identifiers",
        ),
        sa.Column("linked", sa.Boolean(), nullable=False, comment="true for a pseudonymised person, false for an unlinkable registration"),
        sa.Column("registrations", sa.Integer(), nullable=False, comment="registrations of this person in the year, from all sources"),
        *(
            sa.Column(name, sa.Text(), nullable=False, comment=f"{description}, from the person's first registration of the year")
            for name, description in _DIMENSIONS
        ),
        comment="One row per person per registration year; a registration without a person pseudonym is a person of its own.",
    )
    op.create_table(
        "mart_yearly_counts",
        _year(),
        _measure(),
        sa.Column("dimension", sa.Text(), primary_key=True, comment=f"what the count is broken down by: one of {_DIMENSION_NAMES}"),
        sa.Column("category", sa.Text(), primary_key=True, comment="value of the dimension (canonical code; `unknown` or `UNK` when unknown)"),
        sa.Column("count", sa.Integer(), nullable=False, comment="registrations or distinct persons; persons add up to the year's persons over any dimension"),
        comment="One row per registration year, measure, dimension and category that occurs.",
    )
    op.create_table(
        "mart_yearly_crossings",
        _year(),
        _measure(),
        sa.Column("row_dimension", sa.Text(), primary_key=True, comment="first dimension: exploitation_type, nationality"),
        sa.Column("row_category", sa.Text(), primary_key=True, comment="value of the first dimension"),
        sa.Column("column_dimension", sa.Text(), primary_key=True, comment="second dimension: exploitation_type, gender, minor"),
        sa.Column("column_category", sa.Text(), primary_key=True, comment="value of the second dimension"),
        sa.Column("count", sa.Integer(), nullable=False, comment="registrations or distinct persons with both values"),
        comment="One row per registration year, measure, crossing of two dimensions and pair of categories that occurs.",
    )
    op.create_table(
        "mart_stale_years",
        sa.Column("registration_year", sa.Integer(), primary_key=True, comment="a year whose marts must be recomputed"),
        comment="Years loaded since the marts were last refreshed; emptied by every refresh.",
    )
    if op.get_context().dialect.name == "postgresql":
        grants = " ".join(f"GRANT SELECT ON {relation} TO {ANALYST_ROLE};" for relation in MART_RELATIONS)
        op.execute(
            f"""
            DO $$
            BEGIN
                IF EXISTS (SELECT FROM pg_roles WHERE rolname = '{ANALYST_ROLE}') THEN
                    {grants}
                END IF;
            END $$;
            """
        )


def downgrade() -> None:
    for table in ("mart_stale_years", *reversed(MART_RELATIONS)):
        op.drop_table(table)
