"""PostgreSQL: a read-only analyst role that sees the analyst relations and nothing else.

`victim_intake_analyst` is a group role without login. Analysts log in with their own role made a
member of it (`GRANT victim_intake_analyst TO alice`). This migration grants it `registrations`:
not the ledger, the quarantine or the key fingerprints, and not any vault table. Every later
migration that adds an analyst relation grants SELECT on it to this role (0006: the marts);
nothing is granted by default, so a new table stays closed to analysts unless its migration opens it.

Creating a role needs CREATEROLE; a warehouse owner without it gets a notice and the role can be
created later by an administrator with the statements below (upgrade is safe to run again).

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-29
"""

from __future__ import annotations

from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

ANALYST_ROLE = "victim_intake_analyst"
ANALYST_RELATIONS = ("registrations",)


def upgrade() -> None:
    if op.get_context().dialect.name != "postgresql":
        return
    grants = " ".join(f"GRANT SELECT ON {relation} TO {ANALYST_ROLE};" for relation in ANALYST_RELATIONS)
    op.execute(
        f"""
        DO $$
        BEGIN
            BEGIN
                IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '{ANALYST_ROLE}') THEN
                    CREATE ROLE {ANALYST_ROLE} NOLOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE;
                END IF;
            EXCEPTION
                WHEN duplicate_object THEN NULL;  -- another database of the cluster created it meanwhile
            END;
            EXECUTE format('GRANT CONNECT ON DATABASE %I TO {ANALYST_ROLE}', current_database());
            GRANT USAGE ON SCHEMA public TO {ANALYST_ROLE};
            {grants}
        EXCEPTION
            WHEN insufficient_privilege OR undefined_object THEN
                RAISE NOTICE 'role {ANALYST_ROLE} not created: the migrating user lacks CREATEROLE';
        END $$;
        """
    )


def downgrade() -> None:
    if op.get_context().dialect.name != "postgresql":
        return
    op.execute(
        f"""
        DO $$
        BEGIN
            IF EXISTS (SELECT FROM pg_roles WHERE rolname = '{ANALYST_ROLE}') THEN
                REVOKE ALL ON {", ".join(ANALYST_RELATIONS)} FROM {ANALYST_ROLE};
                REVOKE USAGE ON SCHEMA public FROM {ANALYST_ROLE};
                EXECUTE format('REVOKE CONNECT ON DATABASE %I FROM {ANALYST_ROLE}', current_database());
            END IF;
        END $$;
        """
    )
