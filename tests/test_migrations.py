"""The warehouse schema comes from Alembic migrations, and they stay in step with the tables."""

from __future__ import annotations

import datetime as dt
import uuid

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from scratch_db import POSTGRES_ADMIN_URL, scratch_url

from warehouse import migrate
from warehouse.database import create_tables, make_engine
from warehouse.privacy_tables import VAULT_SCHEMA, vault_metadata
from warehouse.tables import metadata

BACKENDS = ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]


@pytest.fixture(params=BACKENDS)
def engine(request, tmp_path):
    with scratch_url(request.param, tmp_path) as url:
        engine = make_engine(url)
        yield engine
        engine.dispose()


def differences(engine: sa.Engine) -> list:
    """Differences between the migrated database and the table definitions, the vault included
    (its own schema on PostgreSQL; on SQLite, which has no schemas, beside the other tables)."""
    combined = sa.MetaData()
    for table in metadata.tables.values():
        table.to_metadata(combined)
    if engine.dialect.name == "sqlite":
        for table in vault_metadata.tables.values():
            table.to_metadata(combined, schema=None)
    with engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        found = compare_metadata(context, combined)
        if engine.dialect.name == "postgresql":
            vault_context = MigrationContext.configure(
                connection,
                opts={
                    "compare_type": True,
                    "include_schemas": True,
                    "include_name": lambda name, kind, _: kind != "schema" or name == VAULT_SCHEMA,
                },
            )
            found += compare_metadata(vault_context, vault_metadata)
        return found


def test_head_equals_the_table_definitions(engine) -> None:
    # Whoever adds a table or column to warehouse/tables.py must add the migration that makes it.
    create_tables(engine)
    assert migrate.current_revision(engine) == migrate.head_revision()
    assert differences(engine) == []


def test_upgrading_is_idempotent(engine) -> None:
    create_tables(engine)
    create_tables(engine)
    assert migrate.current_revision(engine) == migrate.head_revision()


def _fill_baseline(connection: sa.Connection) -> None:
    """Rows as a warehouse of revision 0001 held them."""
    now = dt.datetime(2026, 3, 1, 2, 0, tzinfo=dt.UTC)
    connection.execute(
        sa.text("INSERT INTO ingest_runs (run_id, started_at, finished_at, state) VALUES ('r1', :t, :t, 'completed')"),
        {"t": now},
    )
    connection.execute(
        sa.text(
            "INSERT INTO ingest_batches (batch_id, run_id, source, file_name, file_sha256, state, rows_in, "
            "rows_loaded, rows_quarantined, started_at, finished_at) "
            "VALUES ('b1', 'r1', 'police', 'politie-2026-03-01.ndjson', :sha, 'loaded', 3, 2, 1, :t, :t)"
        ),
        {"sha": "a" * 64, "t": now},
    )
    for number in (1, 2):
        connection.execute(
            sa.text(
                "INSERT INTO registrations (registration_id, source, source_kind, registration_year, age_group, "
                "gender, nationality, exploitation_type, exploitation_country, batch_id) "
                "VALUES (:id, 'police', 'police', 2026, 'unknown', 'female', 'NLD', 'sexual', 'NLD', 'b1')"
            ),
            {"id": f"reg-{number}"},
        )
    connection.execute(
        sa.text(
            "INSERT INTO quarantine (batch_id, row_number, column_name, rule, source_record_id) "
            "VALUES ('b1', 3, 'datum_signaal', 'valid_date', 'PL-3')"
        )
    )


def _snapshot(engine: sa.Engine) -> dict[str, list]:
    with engine.connect() as connection:
        return {
            "registrations": connection.execute(sa.text("SELECT registration_id, batch_id FROM registrations ORDER BY 1")).all(),
            "batches": connection.execute(sa.text("SELECT batch_id, state, rows_in, rows_loaded FROM ingest_batches")).all(),
            "quarantine": connection.execute(sa.text("SELECT batch_id, row_number, rule FROM quarantine")).all(),
        }


def test_an_old_warehouse_with_data_is_upgraded(engine) -> None:
    migrate.upgrade(engine, migrate.BASELINE_REVISION)
    with engine.begin() as connection:
        _fill_baseline(connection)
    before = _snapshot(engine)

    create_tables(engine)

    assert migrate.current_revision(engine) == migrate.head_revision()
    assert _snapshot(engine) == before
    assert differences(engine) == []
    with engine.connect() as connection:
        assert connection.execute(sa.text("SELECT file_path FROM ingest_batches")).scalar_one() is None


def test_a_warehouse_made_before_migrations_is_adopted(engine) -> None:
    # Before migrations, tables were created with create_all and no alembic_version table.
    migrate.upgrade(engine, migrate.BASELINE_REVISION)
    with engine.begin() as connection:
        _fill_baseline(connection)
        connection.execute(sa.text("DROP TABLE alembic_version"))
    before = _snapshot(engine)

    create_tables(engine)

    assert migrate.current_revision(engine) == migrate.head_revision()
    assert _snapshot(engine) == before
    assert differences(engine) == []


@pytest.mark.postgres
def test_the_analyst_role_reads_registrations_and_nothing_else(tmp_path) -> None:
    analyst = f"analyst_{uuid.uuid4().hex[:8]}"
    try:
        with scratch_url("postgresql", tmp_path) as url:
            owner = make_engine(url)
            create_tables(owner)
            with owner.begin() as connection:
                connection.execute(sa.text(f"CREATE ROLE {analyst} LOGIN IN ROLE victim_intake_analyst"))
                readable = connection.execute(
                    sa.text("SELECT DISTINCT table_name FROM information_schema.role_table_grants WHERE grantee = 'victim_intake_analyst'")
                ).scalars().all()
            owner.dispose()
            # The analyst relations: registrations and the marts (migration 0006); no bookkeeping table.
            assert sorted(readable) == ["mart_person_years", "mart_yearly_counts", "mart_yearly_crossings", "registrations"]
            as_analyst = make_engine(sa.make_url(url).set(username=analyst).render_as_string(hide_password=False))
            with as_analyst.connect() as connection:
                assert connection.execute(sa.text("SELECT count(*) FROM registrations")).scalar_one() == 0
            for statement in (
                "SELECT * FROM ingest_batches",
                "SELECT * FROM ingest_runs",
                "SELECT * FROM quarantine",
                "SELECT * FROM key_fingerprints",
                "SELECT * FROM alembic_version",
                "SELECT * FROM mart_stale_years",
                "SELECT * FROM publications",
                "SELECT * FROM published_cells",
                "DELETE FROM registrations",
                "CREATE TABLE analyst_scratch (id integer)",
            ):
                with as_analyst.connect() as connection, pytest.raises(sa.exc.ProgrammingError, match="permission denied"):
                    connection.execute(sa.text(statement))
            as_analyst.dispose()
    finally:
        # The scratch database is gone by now (dropped WITH FORCE); roles belong to the cluster.
        admin = sa.create_engine(POSTGRES_ADMIN_URL, isolation_level="AUTOCOMMIT")
        with admin.connect() as connection:
            connection.execute(sa.text(f"DROP ROLE IF EXISTS {analyst}"))
        admin.dispose()


def test_audit_rows_written_before_keep_their_name_as_a_claim(engine) -> None:
    # Before 0009 `actor` held VICTIM_INTAKE_ACTOR or the login name from the environment: a claim.
    migrate.upgrade(engine, "0006")
    audit_table = "vault.privacy_audit" if engine.dialect.name == "postgresql" else "privacy_audit"
    with engine.begin() as connection:
        connection.execute(
            sa.text(f"INSERT INTO {audit_table} (at, actor, action, reason, detail) VALUES (:t, 'steward-jansen', 'erase', NULL, '1')"),
            {"t": dt.datetime(2026, 3, 1, tzinfo=dt.UTC)},
        )
    create_tables(engine)
    with engine.connect() as connection:
        moved = connection.execute(sa.text(f"SELECT actor, claimed_actor, action FROM {audit_table}")).one()
    assert tuple(moved) == ("(not recorded)", "steward-jansen", "erase")
    assert differences(engine) == []
