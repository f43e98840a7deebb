"""PostgreSQL: who may read what. Analysts read the analyst tier only; stewards read the steward relations.

The role names are the warehouse's (`VICTIM_INTAKE_ANALYST_ROLE`, `VICTIM_INTAKE_STEWARD_ROLE`),
so two warehouses on one server need not share analysts. `grant_tiers` (run by migration 0013)
creates both group roles when missing, takes from the analyst roles (the configured one and the
default of earlier migrations) every privilege on this database's tables, grants them SELECT on
the analyst relations only, and lets only the two roles (and the owner) connect to this database.
What PostgreSQL still shows to anyone who can connect is listed in docs/PRIVACY.md.
"""

from __future__ import annotations

from sqlalchemy import Connection, text

DEFAULT_ANALYST_ROLE = "victim_intake_analyst"
ANALYST_RELATIONS = ("analyst_registrations", "analyst_yearly_counts", "analyst_yearly_crossings", "analyst_tier_levels")


def _create_role(role: str) -> str:
    return f"""
        BEGIN
            IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '{role}') THEN
                CREATE ROLE {role} NOLOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE;
            END IF;
        EXCEPTION
            WHEN duplicate_object THEN NULL;  -- another database of the cluster created it meanwhile
        END;"""


def _revoke(role: str) -> str:
    return f"""
        IF EXISTS (SELECT FROM pg_roles WHERE rolname = '{role}') THEN
            REVOKE ALL ON ALL TABLES IN SCHEMA public FROM {role};
            REVOKE ALL ON ALL SEQUENCES IN SCHEMA public FROM {role};
            IF EXISTS (SELECT FROM pg_namespace WHERE nspname = 'vault') THEN
                REVOKE ALL ON ALL TABLES IN SCHEMA vault FROM {role};
                REVOKE ALL ON SCHEMA vault FROM {role};
            END IF;
            EXECUTE format('REVOKE ALL ON DATABASE %I FROM {role}', current_database());
        END IF;"""


def grant_tiers(connection: Connection, analyst_role: str, steward_role: str) -> None:
    """Apply the tiers' privileges on this database (PostgreSQL; nothing to do on SQLite).

    Without CREATEROLE or ownership the statements stop with a notice, and an administrator runs
    them (docs/operations.md)."""
    if connection.dialect.name != "postgresql":
        return
    analysts = ", ".join(ANALYST_RELATIONS)
    connection.execute(
        text(
            f"""
        DO $$
        BEGIN
            {_create_role(analyst_role)}
            {_create_role(steward_role)}
            {_revoke(DEFAULT_ANALYST_ROLE)}
            {_revoke(analyst_role)}
            GRANT USAGE ON SCHEMA public TO {analyst_role}, {steward_role};
            GRANT SELECT ON {analysts} TO {analyst_role};
            GRANT SELECT ON ALL TABLES IN SCHEMA public TO {steward_role};
            EXECUTE format('REVOKE CONNECT, TEMPORARY ON DATABASE %I FROM PUBLIC', current_database());
            EXECUTE format('GRANT CONNECT ON DATABASE %I TO {analyst_role}, {steward_role}', current_database());
            REVOKE CREATE ON SCHEMA public FROM PUBLIC;
        EXCEPTION
            WHEN insufficient_privilege OR undefined_object THEN
                RAISE NOTICE 'analyst and steward privileges not applied: the migrating user lacks CREATEROLE or ownership';
        END $$;
        """
        )
    )
