"""Indexes that let a night with nothing new check the warehouse without reading its rows.

`registrations(source, scope)`: each partner's least and greatest stored scope
(`warehouse.scopes`). `registrations(scope, registration_year)`: the national registrations per
year, which the marts and the analyst tier are checked against (`warehouse.marts.stale_years`).
`vault_identities(registration_id)` over the rows that re-encoding must complete only (an older
encoding scheme, or no keyed identifiers yet, as migration 0013 leaves them): empty once they
are completed, so every run finds that out in one lookup (`warehouse.reencoding`).

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-05
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None

# Encoding scheme 2 is the current one (`pseudonyms.encodings.ENCODING_SCHEME`).
_INCOMPLETE = "scheme <> 2 OR key_version IS NULL"


def _schema() -> str | None:
    # SQLite has no schemas: the engine maps `vault` away and the tables sit in the main file.
    return "vault" if op.get_bind().dialect.name == "postgresql" else None


def upgrade() -> None:
    op.create_index("ix_registrations_source_scope", "registrations", ["source", "scope"])
    op.create_index("ix_registrations_scope_year", "registrations", ["scope", "registration_year"])
    where = sa.text(_INCOMPLETE)
    op.create_index(
        "ix_vault_identities_incomplete", "vault_identities", ["registration_id"], schema=_schema(),
        sqlite_where=where, postgresql_where=where,
    )


def downgrade() -> None:
    op.drop_index("ix_vault_identities_incomplete", table_name="vault_identities", schema=_schema())
    op.drop_index("ix_registrations_scope_year", table_name="registrations")
    op.drop_index("ix_registrations_source_scope", table_name="registrations")
