"""The analyst tier: `analyst_registrations`, its marts, the levels reached, the tier's secret, and the roles.

Creates the analyst relations of `warehouse/analyst_tier.py` (filled by the first mart refresh
after the upgrade, which `create_tables` runs: the tier counts as behind while it holds fewer rows
than the national registrations) and the vault table `tier_secrets` with a random secret for the
tier's person keys. On PostgreSQL, `warehouse.access.grant_tiers` then takes from the analyst role
what migrations 0003 and 0006 granted (`registrations` and the exact marts, which hold person
pseudonyms and exact counts) and grants it the analyst relations only, under the role names the
environment configures (`VICTIM_INTAKE_ANALYST_ROLE`, `VICTIM_INTAKE_STEWARD_ROLE`).

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-05
"""

from __future__ import annotations

import datetime as dt
import secrets

import sqlalchemy as sa
from alembic import op

from config.settings import current
from warehouse.access import grant_tiers

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None

_YEAR = "year of the report"
_MEASURE = "`registrations` or `persons` (distinct persons of the year)"
_DIMENSIONS = (
    "exploitation_type, source_kind, age, gender, nationality, exploitation_country, exploitation_place, "
    "exploitation_sector, reporting_unit, reported"
)
_QUASI = {
    "age": "age group, `minor`/`adult`, `unknown` or `*`, at the level the tier reached",
    "gender": "gender, or `*`",
    "nationality": "nationality (ISO alpha-3), `NLD`/`other_eu`/region of the world, `NLD`/`other_eu`/`non_eu`, `UNK` or `*`",
    "exploitation_country": "country of exploitation, generalised as `nationality`",
    "exploitation_place": "municipality (CBS code), safety region (`VRxx`), police unit (`PE-xx`), `unknown` or `*`",
    "exploitation_sector": "sector code, sector group, `unknown` or `*`",
    "reporting_unit": "reporting unit code, `unknown` or `*`",
    "reported": "month (`YYYY-MM`) or quarter (`YYYY-Qn`) of the report, `unknown` or `*`",
}


def _schema() -> str | None:
    # SQLite has no schemas: the engine maps `vault` away and the tables sit in the main file.
    return "vault" if op.get_bind().dialect.name == "postgresql" else None


def upgrade() -> None:
    op.create_table(
        "analyst_registrations",
        sa.Column("registration_year", sa.Integer(), nullable=False, comment=_YEAR),
        sa.Column(
            "analyst_person", sa.Text(), nullable=False,
            comment="the person's key in this tier and year: keyed apart from `person_id`, different in every year",
        ),
        sa.Column("source_kind", sa.Text(), nullable=False, comment="category of the reporting source"),
        sa.Column("exploitation_type", sa.Text(), nullable=False, comment="form of exploitation"),
        *(
            sa.Column(name, sa.Text(), nullable=False, comment=f"{comment}; the person's, from their first registration of the year")
            for name, comment in _QUASI.items()
        ),
        sa.Column("b8_reflection_offered", sa.Boolean(), comment="B8 reflection period offered; null when unknown"),
        sa.Column("report_filed", sa.Boolean(), comment="the victim filed a report (aangifte); null when unknown"),
        comment="One row per national registration, quasi-identifiers generalised and suppressed so that every "
        "combination of them covers at least K persons in its year (VICTIM_INTAKE_ANALYST_K).",
    )
    op.create_index("ix_analyst_registrations_year", "analyst_registrations", ["registration_year"])
    op.create_table(
        "analyst_yearly_counts",
        sa.Column("registration_year", sa.Integer(), primary_key=True, comment=_YEAR),
        sa.Column("measure", sa.Text(), primary_key=True, comment=_MEASURE),
        sa.Column("dimension", sa.Text(), primary_key=True, comment=f"a column of `analyst_registrations`: {_DIMENSIONS}"),
        sa.Column("category", sa.Text(), primary_key=True, comment="value of the dimension in the analyst tier"),
        sa.Column("count", sa.Integer(), nullable=False, comment="registrations or distinct persons"),
        comment="Counts of the analyst tier per registration year, measure, dimension and category that occurs.",
    )
    op.create_table(
        "analyst_yearly_crossings",
        sa.Column("registration_year", sa.Integer(), primary_key=True, comment=_YEAR),
        sa.Column("measure", sa.Text(), primary_key=True, comment=_MEASURE),
        sa.Column("row_dimension", sa.Text(), primary_key=True, comment="first dimension: exploitation_type, nationality"),
        sa.Column("row_category", sa.Text(), primary_key=True, comment="value of the first dimension"),
        sa.Column("column_dimension", sa.Text(), primary_key=True, comment="second dimension: age, exploitation_type, gender"),
        sa.Column("column_category", sa.Text(), primary_key=True, comment="value of the second dimension"),
        sa.Column("count", sa.Integer(), nullable=False, comment="registrations or distinct persons with both values"),
        comment="Crossings of two dimensions of the analyst tier per registration year and measure.",
    )
    op.create_table(
        "analyst_tier_levels",
        sa.Column("registration_year", sa.Integer(), primary_key=True, comment=_YEAR),
        sa.Column("quasi_identifier", sa.Text(), primary_key=True, comment="a quasi-identifier column of `analyst_registrations`"),
        sa.Column("level", sa.Integer(), nullable=False, comment="level of its hierarchy the tier shows (0 finest; the same in every year)"),
        sa.Column("level_name", sa.Text(), nullable=False, comment="what that level shows (`*`: not shown)"),
        sa.Column("k", sa.Integer(), nullable=False, comment="the K the tier was built with"),
        sa.Column("persons", sa.Integer(), nullable=False, comment="persons of the year"),
        sa.Column(
            "generalised", sa.Integer(), nullable=False,
            comment="persons whose value is shown coarser than at level 0 (not counting the suppressed)",
        ),
        sa.Column("suppressed", sa.Integer(), nullable=False, comment="persons whose quasi-identifiers are all suppressed (`*`)"),
        comment="How far each quasi-identifier was generalised and how many persons were suppressed, per year.",
    )
    schema = _schema()
    secrets_table = op.create_table(
        "tier_secrets",
        sa.Column("purpose", sa.String(32), primary_key=True, comment="`analyst_person`: the key of the analyst tier's person keys"),
        sa.Column("secret", sa.Text(), nullable=False, comment="hex of 32 random bytes"),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        schema=schema,
        comment="Random secrets that key what a tier shows apart from the steward's pseudonyms (created by migration 0013).",
    )
    op.bulk_insert(secrets_table, [{"purpose": "analyst_person", "secret": secrets.token_bytes(32).hex(), "created_at": dt.datetime.now(dt.UTC)}])
    settings = current()
    grant_tiers(op.get_bind(), settings.analyst_role, settings.steward_role)


def downgrade() -> None:
    op.drop_table("tier_secrets", schema=_schema())
    for table in ("analyst_tier_levels", "analyst_yearly_crossings", "analyst_yearly_counts", "analyst_registrations"):
        op.drop_table(table)
