"""The warehouse schema comes from Alembic migrations, and they stay in step with the tables."""

from __future__ import annotations

import datetime as dt
import uuid
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from scratch_db import POSTGRES_ADMIN_URL, scratch_url

from store.engines import make_engine
from store.privacy_tables import VAULT_SCHEMA, vault_metadata
from store.tables import metadata
from warehouse import migrate
from warehouse.database import create_tables

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
    # Whoever adds a table or column to store/tables.py must add the migration that makes it.
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
def test_the_analyst_role_reads_the_analyst_tier_and_nothing_else(tmp_path) -> None:
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
            # The analyst tier (migration 0013); not registrations, the exact marts or any bookkeeping table.
            assert sorted(readable) == ["analyst_registrations", "analyst_tier_levels", "analyst_yearly_counts", "analyst_yearly_crossings"]
            as_analyst = make_engine(sa.make_url(url).set(username=analyst).render_as_string(hide_password=False))
            with as_analyst.connect() as connection:
                assert connection.execute(sa.text("SELECT count(*) FROM analyst_registrations")).scalar_one() == 0
            for statement in (
                "SELECT * FROM registrations",
                "SELECT * FROM mart_person_years",
                "SELECT * FROM mart_yearly_counts",
                "SELECT * FROM mart_yearly_crossings",
                "SELECT * FROM vault.tier_secrets",
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


# Free text as sources wrote it before the code lists: a name, an address, a salon named after its owner.
OLD_TEXT = {"unit": "Regio Frobisherwick", "place": "Woning van Grumbleton, Kerkstraat 9", "sector": "Nagelsalon Skrimshaw"}
OLD_NEEDLES = {*OLD_TEXT.values(), "Frobisherwick", "Grumbleton", "Skrimshaw"}
# registration id, source, source kind, reporting unit, municipality, sector, source record id
OLD_ROWS = [
    ("reg-1", "police", "police", "Rotterdam", "den haag", "Escort", "PL-1"),
    ("reg-2", "police", "police", "Noord-Holland", "Bergen", None, "PL-2"),
    ("reg-3", "police", "police", "Limburg", OLD_TEXT["place"], OLD_TEXT["sector"], "PL-3"),
    ("reg-4", "zorgcoordinatie", "care_coordination", "Regio Noord", "Weesp", "horeca", "ZC-4"),
    ("reg-5", "zorgcoordinatie", "care_coordination", OLD_TEXT["unit"], None, None, "ZC-5"),
    ("reg-6", "ctdc", "ctdc", None, None, None, "7"),
]


def _fill_before_code_lists(connection: sa.Connection, vault_key: bytes) -> None:
    """A warehouse at revision 0006 holding free text in every coded column and in the marts."""
    import pandas as pd

    from store.privacy_tables import vault_identities
    from store.qualified import qualified_name
    from vault.person_binding import person_bound_context
    from vault.sealing import seal_many

    now = dt.datetime(2025, 3, 16, 2, 0, tzinfo=dt.UTC)
    connection.execute(sa.text("INSERT INTO ingest_runs (run_id, started_at, finished_at, state) VALUES ('r1', :t, :t, 'completed')"), {"t": now})
    for batch, source in (("b-police", "police"), ("b-zc", "zorgcoordinatie"), ("b-ctdc", "ctdc")):
        connection.execute(
            sa.text(
                "INSERT INTO ingest_batches (batch_id, run_id, source, file_name, file_sha256, state, rows_in, rows_loaded, "
                "rows_quarantined, started_at, finished_at) VALUES (:b, 'r1', :s, :f, :sha, 'loaded', 3, 3, 0, :t, :t)"
            ),
            {"b": batch, "s": source, "f": f"{source}.csv", "sha": batch.ljust(64, "0"), "t": now},
        )
    batch_of = {"police": "b-police", "zorgcoordinatie": "b-zc", "ctdc": "b-ctdc"}
    connection.execute(
        sa.text(
            "INSERT INTO registrations (registration_id, source, source_kind, reporting_unit, registration_year, person_id, age_group, "
            "gender, nationality, exploitation_type, exploitation_country, exploitation_municipality, exploitation_sector, batch_id) "
            "VALUES (:id, :source, :kind, :unit, 2025, :person, 'unknown', 'female', 'NLD', 'labour', 'NLD', :place, :sector, :batch)"
        ),
        [
            {"id": i, "source": s, "kind": k, "unit": u, "person": f"p-{i}", "place": m, "sector": c, "batch": batch_of[s]}
            for i, s, k, u, m, c, _ in OLD_ROWS
        ],
    )
    payloads = pd.Series([f'{{"source_record_id": "{record}"}}' for *_, record in OLD_ROWS])
    ids = pd.Series([row[0] for row in OLD_ROWS])
    persons = "p-" + ids
    # Entries of that time were sealed to their person.
    sealed = seal_many(vault_key, payloads.tolist(), [person_bound_context(p, r) for p, r in zip(persons, ids, strict=True)])
    connection.execute(
        sa.text(f"INSERT INTO {qualified_name(connection, vault_identities)} (registration_id, person_id, sealed, sealed_at) VALUES (:r, :p, :s, :t)"),
        # Revision 0006 held sealed entries as hex text.
        [{"r": r, "p": p, "s": s.hex(), "t": now} for r, p, s in zip(ids, persons, sealed, strict=True)],
    )
    # The marts of that time broke counts down by the unit text.
    connection.execute(
        sa.text(
            "INSERT INTO mart_person_years VALUES (2025, 'p-reg-5', true, 1, 'labour', 'female', 'unknown', 'unknown', 'NLD', "
            "'dutch', 'care_coordination', :unit, 'NLD')"
        ),
        {"unit": OLD_TEXT["unit"]},
    )
    connection.execute(
        sa.text("INSERT INTO mart_yearly_counts VALUES (2025, 'persons', 'reporting_unit', :unit, 1)"), {"unit": OLD_TEXT["unit"]}
    )


def _every_table(engine: sa.Engine) -> dict[str, bytes]:
    """Every table of the warehouse, the vault's included, as text; on PostgreSQL also the planner's
    statistics, which keep sampled values of each column."""
    import pandas as pd

    inspector = sa.inspect(engine)
    postgresql = engine.dialect.name == "postgresql"
    schemas = [None, VAULT_SCHEMA] if postgresql else [None]
    queries = {
        f"{schema}.{name}": f"SELECT * FROM {schema + '.' if schema else ''}{name}"
        for schema in schemas
        for name in inspector.get_table_names(schema=schema)
    }
    if postgresql:
        queries["pg_stats"] = "SELECT * FROM pg_stats WHERE schemaname IN ('public', 'vault')"
    with engine.connect() as connection:
        return {where: pd.read_sql(sa.text(query), connection).to_csv().encode() for where, query in queries.items()}


@pytest.mark.parametrize("with_key", [True, False], ids=["vault key given", "no vault key"])
def test_stored_text_moves_onto_the_code_lists_and_leaves_no_trace(engine, tmp_path, with_key) -> None:
    import secrets

    from warehouse_checks import find_in_bytes, sqlite_blobs

    from vault.quarantine_seal import NOT_KEPT, open_value
    from warehouse.migrate import MigrationInputs

    vault_key = secrets.token_bytes(32)
    migrate.upgrade(engine, "0006")
    with engine.begin() as connection:
        _fill_before_code_lists(connection, vault_key)
        if engine.dialect.name == "postgresql":
            connection.execute(sa.text("ANALYZE"))  # as autovacuum would have: statistics sample the text
    database = Path(engine.url.database) if engine.dialect.name == "sqlite" else None
    assert find_in_bytes(OLD_NEEDLES, _every_table(engine))  # the test can fail: the text is there
    if database is not None:
        assert find_in_bytes(OLD_NEEDLES, sqlite_blobs(database))

    if not with_key:
        # Code lists without the key; re-sealing the vault's entries (0015) needs it, so the
        # operator gives it for the rest, as the refusal asks.
        migrate.upgrade(engine, "0014", inputs=MigrationInputs(None))
    create_tables(engine, MigrationInputs(vault_key))

    assert migrate.current_revision(engine) == migrate.head_revision()
    assert differences(engine) == []
    with engine.connect() as connection:
        stored = connection.execute(
            sa.text("SELECT registration_id, reporting_unit, exploitation_municipality, exploitation_sector, scope FROM registrations ORDER BY 1")
        ).all()
        entries = [
            dict(row._mapping)
            for row in connection.execute(sa.text("SELECT * FROM quarantine WHERE severity = 'warning' ORDER BY column_name"))
        ]
        warned = dict(connection.execute(sa.text("SELECT batch_id, rows_warned FROM ingest_batches")).all())
        marts = connection.execute(sa.text("SELECT category FROM mart_yearly_counts WHERE dimension = 'reporting_unit'")).scalars().all()
    assert [tuple(row) for row in stored] == [
        ("reg-1", "PE-RT", "GM0518", "escort", "national"),
        ("reg-2", "PE-NH", "GM0373", "unknown", "national"),  # Bergen, decided by the police unit
        ("reg-3", "PE-LB", "unknown", "unknown", "national"),
        ("reg-4", "ZC-NOORD", "GM0363", "hospitality", "national"),  # Weesp became part of Amsterdam
        ("reg-5", "unknown", "unknown", "unknown", "national"),
        ("reg-6", "unknown", "unknown", "unknown", "reference"),
    ]
    assert sorted(set(marts)) == ["PE-LB", "PE-NH", "PE-RT", "ZC-NOORD", "unknown"]  # recomputed from the codes
    assert [(e["batch_id"], e["column_name"], e["rule"]) for e in entries] == [
        ("b-police", "exploitation_municipality", "unknown_municipality"),
        ("b-police", "exploitation_sector", "unknown_sector"),
        ("b-zc", "reporting_unit", "unknown_reporting_unit"),
    ]
    assert warned == {"b-police": 1, "b-zc": 1, "b-ctdc": None}
    if with_key:
        # The steward opens the old text, and knows the record it came from.
        assert [open_value(vault_key, e) for e in entries] == [OLD_TEXT["place"], OLD_TEXT["sector"], OLD_TEXT["unit"]]
        assert [e["source_record_id"] for e in entries] == ["PL-3", "PL-3", "ZC-5"]
    else:
        # Without the key nothing could be sealed: the text is gone, the warning says where it was.
        assert [open_value(vault_key, e) for e in entries] == [NOT_KEPT] * 3
        assert [e["source_record_id"] for e in entries] == [None] * 3
    assert find_in_bytes(OLD_NEEDLES, _every_table(engine)) == []
    if database is not None:
        assert find_in_bytes(OLD_NEEDLES, sqlite_blobs(database)) == []


def _lean_vault_tables(connection: sa.Connection, vault: str) -> dict[str, set]:
    """The tables migration 0013 rewrites, as revision 0012 holds them (without times)."""
    queries = {
        "vault": f"SELECT registration_id, person_id, sealed FROM {vault}vault_identities",
        "encodings": f"SELECT registration_id, person_id, birth_key, swapped_key, bloom, key_version, scheme, script_key FROM {vault}name_encodings",
        "links": f"SELECT identifier, kind, person_id, key_version FROM {vault}person_links",
        "quarantine": "SELECT batch_id, row_number, sealed_value FROM quarantine",
    }
    return {name: {tuple(row) for row in connection.execute(sa.text(query))} for name, query in queries.items()}


def test_the_lean_vault_migration_moves_sealed_values_encodings_and_links_as_bytes_and_back(engine) -> None:
    import base64
    import secrets

    import pandas as pd
    from alembic import command

    from vault.person_binding import open_person_bound, person_bound_context
    from vault.quarantine_seal import open_value, quarantine_context
    from vault.sealing import seal, seal_many

    vault_key = secrets.token_bytes(32)
    vault = "vault." if engine.dialect.name == "postgresql" else ""
    now = dt.datetime(2026, 3, 1, 2, 0, tzinfo=dt.UTC)
    birth, bloom, name, bsn = "aa" * 16, "0f" * 128, "cd" * 16, "ef" * 16
    migrate.upgrade(engine, "0012")
    with engine.begin() as connection:
        connection.execute(sa.text("INSERT INTO ingest_runs (run_id, started_at, finished_at, state) VALUES ('r1', :t, :t, 'completed')"), {"t": now})
        connection.execute(
            sa.text(
                "INSERT INTO ingest_batches (batch_id, run_id, source, file_name, file_sha256, state, rows_in, rows_loaded, "
                "rows_quarantined, started_at, finished_at) VALUES ('b1', 'r1', 'police', 'p.ndjson', :sha, 'loaded', 3, 2, 1, :t, :t)"
            ),
            {"sha": "a" * 64, "t": now},
        )
        connection.execute(
            sa.text(
                "INSERT INTO quarantine (batch_id, row_number, column_name, rule, source_record_id) "
                "VALUES ('b1', 3, 'datum_signaal', 'valid_date', 'PL-3')"
            )
        )
        payloads = pd.Series(['{"source_record_id": "PL-1"}', '{"source_record_id": "PL-2"}'])
        sealed = seal_many(vault_key, payloads.tolist(), [person_bound_context("p-1", "reg-1"), person_bound_context("p-1", "reg-2")])
        connection.execute(
            sa.text(f"INSERT INTO {vault}vault_identities (registration_id, person_id, sealed, sealed_at) VALUES (:r, 'p-1', :s, :t)"),
            [{"r": f"reg-{number}", "s": value.hex(), "t": now} for number, value in ((1, sealed[0]), (2, sealed[1]))],
        )
        connection.execute(
            sa.text(
                f"INSERT INTO {vault}name_encodings (registration_id, person_id, birth_key, swapped_key, bloom, key_version, scheme, script_key) "
                "VALUES ('reg-1', 'p-1', :birth, NULL, :bloom, 1, 2, NULL)"
            ),
            {"birth": birth, "bloom": bloom},
        )
        connection.execute(
            sa.text(f"INSERT INTO {vault}person_links (identifier, kind, person_id, key_version, linked_at) VALUES (:i, :k, 'p-1', 1, :t)"),
            [{"i": name, "k": "name", "t": now}, {"i": bsn, "k": "bsn", "t": now}],
        )
        context = quarantine_context("b1", 3, "datum_signaal", "valid_date")
        # Long enough that PostgreSQL's base64 breaks it into lines.
        value = "31-02-2026 " * 10
        connection.execute(sa.text("UPDATE quarantine SET sealed_value = :v"), {"v": base64.b64encode(seal(vault_key, value, context)).decode()})
        before = _lean_vault_tables(connection, vault)

    # The last revision whose entries are sealed to their person (0015 re-seals them).
    migrate.upgrade(engine, "0014")

    with engine.connect() as connection:
        rows = connection.execute(
            sa.text(f"SELECT registration_id, person_id, sealed, birth_key, bloom, key_version, scheme FROM {vault}vault_identities ORDER BY 1")
        ).all()
        links = {(bytes(row[0]), row[1], row[2]) for row in connection.execute(sa.text(f"SELECT identifier, kind, person_id FROM {vault}person_links"))}
        entry = dict(connection.execute(sa.text("SELECT * FROM quarantine")).one()._mapping)
    assert [open_person_bound(vault_key, row[2], row[1], row[0])["source_record_id"] for row in rows] == ["PL-1", "PL-2"]
    # The encoding joined its registration's row; no keys were computed (the migration has no pseudonym key).
    assert [(bytes(row[3]) if row[3] else None, bytes(row[4]) if row[4] else None, row[5], row[6]) for row in rows] == [
        (bytes.fromhex(birth), bytes.fromhex(bloom), None, 2), (None, None, None, None),
    ]
    assert links == {(bytes.fromhex(name), "name", "p-1"), (bytes.fromhex(bsn), "bsn", "p-1")}
    assert open_value(vault_key, entry) == value

    with engine.begin() as connection:
        command.downgrade(migrate.alembic_config(connection), "0012")
    with engine.connect() as connection:
        assert _lean_vault_tables(connection, vault) == before


def _indexes(engine: sa.Engine) -> set[tuple[str, str]]:
    """(table, index) of the registrations and the vault's rows."""
    vault = VAULT_SCHEMA if engine.dialect.name == "postgresql" else None
    inspector = sa.inspect(engine)
    return {
        (table, index["name"])
        for table, schema in (("registrations", None), ("vault_identities", vault))
        for index in inspector.get_indexes(table, schema=schema)
    }


def test_the_indexes_of_a_night_s_checks_come_with_0014_and_go_with_its_downgrade(engine) -> None:
    from alembic import command

    migrate.upgrade(engine, "0013")
    before = _indexes(engine)
    migrate.upgrade(engine)
    assert _indexes(engine) - before == {
        ("registrations", "ix_registrations_source_scope"),
        ("registrations", "ix_registrations_scope_year"),
        ("vault_identities", "ix_vault_identities_incomplete"),
    }
    with engine.begin() as connection:
        command.downgrade(migrate.alembic_config(connection), "0013")
    assert _indexes(engine) == before
    migrate.upgrade(engine)
    assert differences(engine) == []


def test_0015_seals_the_vault_s_entries_to_their_registration_and_back(engine) -> None:
    import secrets

    from alembic import command

    from vault.entries import open_entry
    from vault.person_binding import open_person_bound, person_bound_context
    from vault.sealing import SealBroken, seal_many
    from warehouse.migrate import MigrationInputs

    vault_key = secrets.token_bytes(32)
    vault = "vault." if engine.dialect.name == "postgresql" else ""
    now = dt.datetime(2026, 3, 1, 2, 0, tzinfo=dt.UTC)
    # Two registrations of one person, and one that names no one (bound to itself already).
    entries = {"reg-1": "p-1", "reg-2": "p-1", "reg-3": None}
    payloads = [f'{{"source_record_id": "PL-{number}"}}' for number in (1, 2, 3)]
    migrate.upgrade(engine, "0014")
    with engine.begin() as connection:
        sealed = seal_many(vault_key, payloads, [person_bound_context(person, registration) for registration, person in entries.items()])
        connection.execute(
            sa.text(f"INSERT INTO {vault}vault_identities (registration_id, person_id, sealed, sealed_at) VALUES (:r, :p, :s, :t)"),
            [{"r": r, "p": p, "s": s, "t": now} for (r, p), s in zip(entries.items(), sealed, strict=True)],
        )

    def stored() -> list[tuple]:
        with engine.connect() as connection:
            return [tuple(row) for row in connection.execute(sa.text(f"SELECT registration_id, person_id, sealed FROM {vault}vault_identities ORDER BY 1"))]

    before = stored()
    # Without the key the entries cannot be re-sealed: the upgrade refuses, says why, and changes nothing.
    with pytest.raises(Exception, match="needs the vault key"):
        migrate.upgrade(engine, inputs=MigrationInputs(None))
    assert migrate.current_revision(engine) == "0014"
    assert stored() == before

    migrate.upgrade(engine, inputs=MigrationInputs(vault_key))
    assert migrate.current_revision(engine) == migrate.head_revision()
    assert differences(engine) == []
    resealed = stored()
    assert [open_entry(vault_key, sealed, registration)["source_record_id"] for registration, _, sealed in resealed] == ["PL-1", "PL-2", "PL-3"]
    assert [person for _, person, _ in resealed] == ["p-1", "p-1", None]
    with pytest.raises(SealBroken):  # bound to its registration: on another row it does not open
        open_entry(vault_key, resealed[0][2], "reg-2")

    with engine.begin() as connection:
        command.downgrade(migrate.alembic_config(connection, MigrationInputs(vault_key)), "0014")
    assert [open_person_bound(vault_key, sealed, person, registration)["source_record_id"] for registration, person, sealed in stored()] == [
        "PL-1", "PL-2", "PL-3",
    ]


def _person_bound_vault(engine: sa.Engine, vault_key: bytes, entries: dict[str, str | None], revision: str, broken: str | None = None) -> None:
    """A warehouse at `revision` (0014 or before) whose vault entries are sealed to their person, as
    then; the entry of `broken` sealed to someone else (it does not open)."""
    from vault.person_binding import person_bound_context
    from vault.sealing import seal_many

    vault = "vault." if engine.dialect.name == "postgresql" else ""
    now = dt.datetime(2026, 3, 1, 2, 0, tzinfo=dt.UTC)
    contexts = [person_bound_context("p-other" if registration == broken else person, registration) for registration, person in entries.items()]
    sealed = seal_many(vault_key, [f'{{"source_record_id": "PL-{registration}"}}' for registration in entries], contexts)
    migrate.upgrade(engine, revision)
    with engine.begin() as connection:
        connection.execute(
            sa.text(f"INSERT INTO {vault}vault_identities (registration_id, person_id, sealed, sealed_at) VALUES (:r, :p, :s, :t)"),
            [{"r": r, "p": p, "s": s, "t": now} for (r, p), s in zip(entries.items(), sealed, strict=True)],
        )


def _vault_entries(engine: sa.Engine) -> dict[str, tuple[str | None, bytes]]:
    vault = "vault." if engine.dialect.name == "postgresql" else ""
    with engine.connect() as connection:
        rows = connection.execute(sa.text(f"SELECT registration_id, person_id, sealed FROM {vault}vault_identities"))
        return {registration: (person, bytes(sealed)) for registration, person, sealed in rows}


def test_an_upgrade_refused_halfway_leaves_the_warehouse_at_its_revision_and_runs_again(engine) -> None:
    import secrets

    from vault.entries import open_entry
    from warehouse.migrate import MigrationInputs

    vault_key = secrets.token_bytes(32)
    entries = {"reg-1": "p-1", "reg-2": "p-1", "reg-3": None}
    # From 0013 the upgrade makes 0014's indexes, then 0015 refuses for want of the vault key.
    _person_bound_vault(engine, vault_key, entries, "0013")
    with pytest.raises(Exception, match="needs the vault key"):
        migrate.upgrade(engine, inputs=MigrationInputs(None))
    assert migrate.current_revision(engine) == "0013"
    # Nothing of 0014 stayed behind: with the key, the operator's next attempt goes through.
    migrate.upgrade(engine, inputs=MigrationInputs(vault_key))
    assert migrate.current_revision(engine) == migrate.head_revision()
    assert differences(engine) == []
    assert {r: open_entry(vault_key, sealed, r)["source_record_id"] for r, (_, sealed) in _vault_entries(engine).items()} == {
        r: f"PL-{r}" for r in entries
    }


@pytest.fixture
def resealed_two_at_a_time(monkeypatch):
    """Revision 0015 re-seals two entries per chunk (Alembic loads the revision files afresh)."""
    import alembic.util.pyfiles

    load = alembic.util.pyfiles.load_module_py

    def loaded(module_id, path):
        module = load(module_id, path)
        if getattr(module, "revision", None) == "0015":
            module._CHUNK = 2
        return module

    monkeypatch.setattr(alembic.util.pyfiles, "load_module_py", loaded)


def test_0015_reseals_chunk_by_chunk_and_an_entry_that_does_not_open_changes_nothing(engine, resealed_two_at_a_time) -> None:
    import secrets

    from alembic import command

    from vault.entries import open_entry
    from vault.person_binding import open_person_bound
    from vault.sealing import SealBroken
    from warehouse.migrate import MigrationInputs

    vault_key = secrets.token_bytes(32)
    # Ids that sort differently by case, digits and accents, among them some that name no one.
    entries = {"reg-b": "p-1", "Reg-A": "p-1", "reg-a": None, "10": "p-2", "9": "p-2", "z": None, "Z": "p-3", "a b": "p-1", "é": "p-4", "e": "p-4"}
    _person_bound_vault(engine, vault_key, entries, "0014", broken="é")
    before = _vault_entries(engine)
    with pytest.raises(SealBroken) as refused:
        migrate.upgrade(engine, inputs=MigrationInputs(vault_key))
    assert "PL-" not in str(refused.value) and "é" not in str(refused.value)
    assert "check that it is this warehouse's vault key" in str(refused.value)  # what the steward does next
    # The chunks re-sealed before the broken one are undone with it.
    assert migrate.current_revision(engine) == "0014"
    assert _vault_entries(engine) == before

    # The steward removes the broken entry; the upgrade runs again in the same process.
    vault = "vault." if engine.dialect.name == "postgresql" else ""
    with engine.begin() as connection:
        connection.execute(sa.text(f"DELETE FROM {vault}vault_identities WHERE registration_id = 'é'"))
    del entries["é"]
    expected = {r: f"PL-{r}" for r in entries}
    migrate.upgrade(engine, inputs=MigrationInputs(vault_key))
    assert {r: open_entry(vault_key, sealed, r)["source_record_id"] for r, (_, sealed) in _vault_entries(engine).items()} == expected
    with engine.begin() as connection:
        command.downgrade(migrate.alembic_config(connection, MigrationInputs(vault_key)), "0014")
    assert {r: open_person_bound(vault_key, sealed, p, r)["source_record_id"] for r, (p, sealed) in _vault_entries(engine).items()} == expected
    assert {r: p for r, (p, _) in _vault_entries(engine).items()} == entries
    migrate.upgrade(engine, inputs=MigrationInputs(vault_key))
    assert {r: open_entry(vault_key, sealed, r)["source_record_id"] for r, (_, sealed) in _vault_entries(engine).items()} == expected
