"""Transitive linkage, the vault, reveal with audit, erasure and retention on real databases."""

from __future__ import annotations

import datetime as dt
import os
import pwd
import secrets
import sqlite3

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest
from privacy_helpers import load, persons
from sqlalchemy import text

from linkage.components import NAME, Labels, LinkageGraph, constrained_components
from pseudonyms.identity import registration_ids
from store.engines import make_engine
from vault.entries import ReasonQuotesValues, UnknownPerson, reveal
from warehouse.erasure import erase_person, purge_older_than

KEY = secrets.token_bytes(32)
VAULT_KEY = secrets.token_bytes(32)
ANNA = {"surname": "Zwaluwstaart", "given_names": "Anna", "birth_date": "1999-04-02"}


@pytest.fixture
def engine(tmp_path):
    engine = make_engine(f"sqlite:///{tmp_path / 'warehouse.sqlite'}")
    yield engine
    engine.dispose()


def person_of(engine, record_id: str, source: str = "police") -> str:
    registration = registration_ids(source, pd.Series([record_id]), KEY).iloc[0]
    return persons(engine)[registration]


def test_components_follow_shared_nodes() -> None:
    # Registrations r1-r4 are nodes 0-3, identifiers a-c nodes 4-6: r1 a, r1 b, r2 b, r3 c, r4 a.
    graph = LinkageGraph(
        pa.array(["r1", "r2", "r3", "r4"]), pa.array(["a", "b", "c"]), pa.array([], pa.string()),
        np.array([0, 0, 1, 2, 3]), np.array([4, 5, 5, 6, 4]), np.full(5, NAME, dtype=np.int8),
    )
    nothing = Labels(*(np.zeros(0, dtype=dtype) for dtype in (np.int64, np.int64, np.int64, bool)))
    found = constrained_components(graph, nothing, np.zeros(0, dtype=np.int64), None).of_node
    assert found[0] == found[1] == found[3] == found[4] == found[5] != found[2] == found[6]


def test_linkage_is_transitive_across_batches_and_keeps_the_first_person_id(engine) -> None:
    load(engine, [{"source_record_id": "A", **ANNA}], key=KEY, vault_key=VAULT_KEY)
    first = person_of(engine, "A")
    assert first.startswith("v1-")
    # Same name and birth date, and now a BSN: the person id stays.
    load(engine, [{"source_record_id": "B", **ANNA, "bsn": "111222333"}], key=KEY, vault_key=VAULT_KEY)
    # Only the BSN and a V-number (no name): linked by the BSN.
    load(engine, [{"source_record_id": "C", "bsn": "111-222-333", "alien_number": "9988776655"}], key=KEY, vault_key=VAULT_KEY)
    # Only the V-number, misspelt name: linked transitively through C.
    load(engine, [{"source_record_id": "D", "surname": "Zwaluwstart", "birth_date": "1999-04-02", "alien_number": "9988776655"}], key=KEY, vault_key=VAULT_KEY)
    load(engine, [{"source_record_id": "E", "surname": "Anders", "given_names": "Piet", "birth_date": "1980-01-01"}], key=KEY, vault_key=VAULT_KEY)
    assert {person_of(engine, record) for record in "ABCD"} == {first}
    assert person_of(engine, "E") != first


def test_a_report_joining_two_known_persons_merges_them_everywhere(engine) -> None:
    load(engine, [{"source_record_id": "A", **ANNA}], key=KEY, vault_key=VAULT_KEY)
    load(engine, [{"source_record_id": "B", "bsn": "111222333"}], key=KEY, vault_key=VAULT_KEY)
    assert person_of(engine, "A") != person_of(engine, "B")
    with engine.connect() as connection:
        sealed_before = dict(connection.execute(text("SELECT registration_id, sealed FROM vault_identities")).all())
    load(engine, [{"source_record_id": "C", **ANNA, "bsn": "111222333"}], key=KEY, vault_key=VAULT_KEY)
    survivor = person_of(engine, "A")
    assert person_of(engine, "B") == person_of(engine, "C") == survivor
    with engine.connect() as connection:
        # Every vault row, with the identifiers it carries, moved to the survivor: no override is needed.
        assert connection.execute(text("SELECT count(DISTINCT person_id) FROM vault_identities")).scalar_one() == 1
        assert connection.execute(text("SELECT count(*) FROM person_links")).scalar_one() == 0
        sealed_after = dict(connection.execute(text("SELECT registration_id, sealed FROM vault_identities")).all())
    # The absorbed person's vault entries moved to the survivor as they were (sealed to their
    # registration, nothing to re-seal), and open under it.
    assert {registration: sealed_after[registration] for registration in sealed_before} == sealed_before
    entries = reveal(engine, survivor, "case 2025-17, court order", VAULT_KEY)
    assert sorted(entry.fields["source_record_id"] for entry in entries) == ["A", "B", "C"]


def test_an_entry_copied_onto_another_registration_does_not_open(engine) -> None:
    from vault.sealing import SealBroken

    load(engine, [{"source_record_id": "A", **ANNA}, {"source_record_id": "B", **ANNA, "bsn": "111222333"}], key=KEY, vault_key=VAULT_KEY)
    person = person_of(engine, "A")
    assert person_of(engine, "B") == person
    # Someone with write access to the vault puts A's sealed identity on B's row, the same
    # person's: a reveal would show A's fields as B's report.
    a, b = (registration_ids("police", pd.Series([record]), KEY).iloc[0] for record in "AB")
    with engine.begin() as connection:
        connection.execute(
            text("UPDATE vault_identities SET sealed = (SELECT sealed FROM vault_identities WHERE registration_id = :a) WHERE registration_id = :b"),
            {"a": a, "b": b},
        )
    with pytest.raises(SealBroken):
        reveal(engine, person, "case 2025-17, court order", VAULT_KEY)


def test_a_failed_load_leaves_no_link_and_no_vault_entry(engine) -> None:
    with pytest.raises(sqlite3.IntegrityError, match="NOT NULL"):
        # reporting_unit is fine, but a null source breaks NOT NULL after linkage ran.
        load(engine, [{"source_record_id": "A", **ANNA, "registration_year": None}], key=KEY, vault_key=VAULT_KEY)
    with engine.connect() as connection:
        for name in ("person_links", "vault_identities", "registrations"):
            assert connection.execute(text(f"SELECT count(*) FROM {name}")).scalar_one() == 0


def test_vault_holds_only_sealed_values(engine, tmp_path) -> None:
    load(engine, [{"source_record_id": "A", **ANNA, "bsn": "111222333"}], key=KEY, vault_key=VAULT_KEY)
    engine.dispose()
    blob = b"".join(path.read_bytes() for path in tmp_path.glob("warehouse.sqlite*"))
    for value in ("Zwaluwstaart", "1999-04-02", "111222333"):
        assert value.encode() not in blob


def test_reveal_is_audited_without_values_and_refuses_reasons_that_quote_them(engine) -> None:
    load(engine, [{"source_record_id": "A", **ANNA}], key=KEY, vault_key=VAULT_KEY)
    person = person_of(engine, "A")
    with pytest.raises(ReasonQuotesValues):
        reveal(engine, person, "request about Anna Zwaluwstaart", VAULT_KEY)
    with pytest.raises(UnknownPerson):
        reveal(engine, "v1-nobody", "case 2025-17, court order", VAULT_KEY)
    entries = reveal(engine, person, "case 2025-17, court order", VAULT_KEY)
    assert entries[0].fields["surname"] == "Zwaluwstaart"
    with engine.connect() as connection:
        audits = connection.execute(text("SELECT actor, action, person_id, reason, detail, at FROM privacy_audit")).all()
    assert len(audits) == 1
    actor, action, audited_person, reason, detail, at = audits[0]
    assert (action, audited_person, reason) == ("reveal", person, "case 2025-17, court order")
    assert actor and at and "Zwaluwstaart" not in detail


def test_erasure_removes_the_person_from_every_table(engine) -> None:
    other = {"source_record_id": "X", "surname": "Other", "birth_date": "1970-01-01"}
    load(engine, [{"source_record_id": "A", **ANNA, "bsn": "111222333"}, other], key=KEY, vault_key=VAULT_KEY)
    batch = load(engine, [{"source_record_id": "B", "bsn": "111222333"}], key=KEY, vault_key=VAULT_KEY)
    person = person_of(engine, "A")
    with engine.begin() as connection:
        connection.execute(
            text("INSERT INTO quarantine (batch_id, row_number, column_name, rule, source_record_id) VALUES (:b, 9, 'bsn', 'elfproef', 'A')"),
            {"b": batch},
        )
    removed = erase_person(engine, person, VAULT_KEY)
    # Its vault rows carried its identifiers and name encodings: no link override was needed.
    assert (removed.registrations, removed.vault_entries, removed.links, removed.quarantine_entries) == (2, 2, 0, 1)
    with engine.connect() as connection:
        for name in ("registrations", "vault_identities", "person_links"):
            assert connection.execute(text(f"SELECT count(*) FROM {name} WHERE person_id = :p"), {"p": person}).scalar_one() == 0
        assert connection.execute(text("SELECT count(*) FROM quarantine")).scalar_one() == 0
        assert connection.execute(text("SELECT count(DISTINCT person_id) FROM registrations")).scalar_one() == 1
        assert connection.execute(text("SELECT action FROM privacy_audit")).scalars().all() == ["erase"]
    with pytest.raises(UnknownPerson):
        erase_person(engine, person, VAULT_KEY)


def test_purge_removes_persons_last_seen_before_the_retention_period(engine) -> None:
    load(engine, [
        {"source_record_id": "old", **ANNA, "reported_on": "2015-05-01", "registration_year": 2015},
        {"source_record_id": "kept-old", "surname": "Keep", "birth_date": "1970-01-02", "reported_on": "2015-05-01", "registration_year": 2015},
        {"source_record_id": "kept-new", "surname": "Keep", "birth_date": "1970-01-02", "reported_on": "2024-05-01", "registration_year": 2024},
        {"source_record_id": "anonymous-old", "reported_on": "2014-05-01", "registration_year": 2014},
    ], key=KEY, vault_key=VAULT_KEY)
    removed = purge_older_than(engine, 5, today=dt.date(2025, 6, 1))
    assert (removed.persons, removed.registrations, removed.vault_entries, removed.links) == (1, 2, 2, 0)
    with engine.connect() as connection:
        assert connection.execute(text("SELECT count(*) FROM registrations")).scalar_one() == 2
        assert connection.execute(text("SELECT count(*) FROM vault_identities")).scalar_one() == 2
        assert connection.execute(text("SELECT action, detail FROM privacy_audit")).one()[0] == "purge"


@pytest.mark.postgres
def test_vault_lives_in_its_own_schema_on_postgres(scratch_postgres) -> None:
    engine = make_engine(scratch_postgres)
    load(engine, [{"source_record_id": "A", **ANNA, "bsn": "111222333"}], key=KEY, vault_key=VAULT_KEY)
    person = person_of(engine, "A")
    with engine.connect() as connection:
        tables = set(
            connection.execute(
                text("SELECT table_schema || '.' || table_name FROM information_schema.tables WHERE table_schema IN ('public', 'vault')")
            ).scalars()
        )
    assert {"vault.person_links", "vault.vault_identities", "vault.privacy_audit", "public.registrations"} <= tables
    assert not any(name.startswith("public.") and "vault" in name for name in tables)
    assert reveal(engine, person, "case 2025-17, court order", VAULT_KEY)[0].fields["bsn"] == "111222333"
    from pseudonyms.keys import LoadedKey
    from warehouse.rotation import rotate_pseudonyms

    rotate_pseudonyms(engine, LoadedKey("pseudonym", KEY, "test", 1), LoadedKey("pseudonym", secrets.token_bytes(32), "test", 2), VAULT_KEY)
    (person,) = set(persons(engine).values())
    assert person.startswith("v2-")
    assert erase_person(engine, person, VAULT_KEY).registrations == 1
    engine.dispose()


def partition(engine) -> set[frozenset[str]]:
    """Registrations grouped by person, named by their vault record ids (key-independent)."""
    from collections import defaultdict

    groups: dict[str, set[str]] = defaultdict(set)
    with engine.connect() as connection:
        rows = connection.execute(text("SELECT v.person_id, v.registration_id, v.sealed FROM vault_identities v")).all()
    from vault.entries import open_entry

    for person, registration, sealed in rows:
        groups[person].add(open_entry(VAULT_KEY, sealed, registration)["source_record_id"])
    return {frozenset(members) for members in groups.values()}


def test_rotation_re_keys_everything_and_linkage_survives(engine) -> None:
    from pseudonyms.keys import LoadedKey
    from warehouse.ledger import KeyMismatch, check_key_fingerprint
    from warehouse.rotation import rotate_pseudonyms

    old = LoadedKey("pseudonym", KEY, "test", 1)
    new = LoadedKey("pseudonym", secrets.token_bytes(32), "test", 2)
    load(engine, [{"source_record_id": "A", **ANNA}, {"source_record_id": "X", "surname": "Other", "birth_date": "1970-01-01"}], key=KEY, vault_key=VAULT_KEY)
    check_key_fingerprint(engine, "pseudonym", old.fingerprint)
    load(engine, [{"source_record_id": "B", "bsn": "111222333"}, {"source_record_id": "N"}], key=KEY, vault_key=VAULT_KEY)
    load(engine, [{"source_record_id": "C", **ANNA, "bsn": "111222333"}], key=KEY, vault_key=VAULT_KEY)
    before = partition(engine)
    old_ids = set(persons(engine))

    outcome = rotate_pseudonyms(engine, old, new, VAULT_KEY)
    assert (outcome.registrations, outcome.persons, outcome.version) == (5, 2, 2)
    assert partition(engine) == before
    stored = persons(engine)
    assert not set(stored) & old_ids
    assert {person for person in stored.values() if person} and all(
        person.startswith("v2-") for person in stored.values() if person
    )
    assert set(stored) == set(registration_ids("police", pd.Series(list("ABCNX")), new.material))
    with pytest.raises(KeyMismatch):
        check_key_fingerprint(engine, "pseudonym", old.fingerprint)
    # A later report under the new key joins the rotated person through the BSN alone.
    load(engine, [{"source_record_id": "D", "bsn": "111222333"}], key=new.material, vault_key=VAULT_KEY, key_version=2)
    with engine.connect() as connection:
        assert connection.execute(text("SELECT count(DISTINCT person_id) FROM registrations")).scalar_one() == 2
        assert connection.execute(text("SELECT action FROM privacy_audit")).scalars().all() == ["rotate"]


def test_keys_rotate_command_replaces_the_key_file(isolated_settings) -> None:
    from typer.testing import CliRunner

    from pseudonyms.keys import init_keys, load_key
    from victim_intake.cli import app

    init_keys(isolated_settings / "keys")
    old = load_key("pseudonym", isolated_settings / "keys")
    vault = load_key("vault", isolated_settings / "keys").material
    url_engine = make_engine(f"sqlite:///{isolated_settings / 'warehouse.sqlite'}")
    load(url_engine, [{"source_record_id": "A", **ANNA}], key=old.material, vault_key=vault)
    result = CliRunner().invoke(app, ["keys", "rotate"])
    assert result.exit_code == 0, result.output
    new = load_key("pseudonym", isolated_settings / "keys")
    assert new.version == 2 and new.fingerprint != old.fingerprint
    assert not (isolated_settings / "keys" / "pseudonym.key").exists()
    assert (isolated_settings / "keys" / "pseudonym.v2.key").stat().st_mode & 0o077 == 0
    assert all(person.startswith("v2-") for person in persons(url_engine).values())
    url_engine.dispose()


def test_approximate_matching_links_typos_transliterations_and_swapped_dates(engine) -> None:
    shevchenko = {"surname": "Shevchenko", "given_names": "Olena", "birth_date": "1990-03-04"}
    load(engine, [{"source_record_id": "A", **shevchenko}], key=KEY, vault_key=VAULT_KEY)
    load(engine, [
        {"source_record_id": "B", **shevchenko, "given_names": "Elena"},
        {"source_record_id": "C", **shevchenko, "surname": "Shevcenko"},
        {"source_record_id": "D", **shevchenko, "birth_date": "1990-04-03"},
        {"source_record_id": "E", **shevchenko, "surname": "Kovalenko"},
        {"source_record_id": "F", **shevchenko, "birth_date": "1990-03-05"},
    ], key=KEY, vault_key=VAULT_KEY)
    first = person_of(engine, "A")
    assert [person_of(engine, record) == first for record in "BCDEF"] == [True, True, True, False, False]


@pytest.mark.parametrize("reading", ["birth-key index", "table in rowid slices"])
def test_stored_encodings_are_found_however_they_are_read(engine, monkeypatch, reading) -> None:
    """A night's few keys go through the birth-key index; a bulk load's many keys make SQLite read
    the table in rowid order, a slice at a time. Either way every stored candidate is compared."""
    from linkage import known_encodings

    if reading == "table in rowid slices":
        monkeypatch.setattr(known_encodings, "_KEYS_PER_SLICE", 1)
        monkeypatch.setattr(known_encodings, "_ROWS_PER_SLICE", 2)
    shevchenko = {"surname": "Shevchenko", "given_names": "Olena", "birth_date": "1990-03-04"}
    others = [
        {"source_record_id": f"X{number}", "surname": f"Anders{'abcde'[number]}", "given_names": "Piet", "birth_date": f"1980-01-0{number + 1}"}
        for number in range(5)
    ]
    load(engine, [*others, {"source_record_id": "A", **shevchenko}], key=KEY, vault_key=VAULT_KEY)
    load(engine, [
        {"source_record_id": "B", **shevchenko, "given_names": "Elena"},
        {"source_record_id": "D", **shevchenko, "birth_date": "1990-04-03"},
        {"source_record_id": "E", **shevchenko, "surname": "Kovalenko"},
        # A typo that stays above the threshold under every key (a last letter of a short surname,
        # such as Anderse / Andersf, falls below it under about one key in fifteen).
        {**others[4], "source_record_id": "Y", "given_names": "Piett"},
    ], key=KEY, vault_key=VAULT_KEY)
    assert [person_of(engine, record) == person_of(engine, "A") for record in "BDE"] == [True, True, False]
    assert person_of(engine, "Y") == person_of(engine, "X4")


def test_postgresql_is_told_how_many_birth_keys_a_load_looks_up(scratch_postgres) -> None:
    """A temporary table has no statistics: PostgreSQL took a slice of a thousand staged birth
    keys for six and compared every stored row with every key, 26 s for one part of a load."""
    from linkage.known_encodings import stage_birth_keys
    from store.privacy_tables import vault_identities
    from store.qualified import qualified_name
    from warehouse.database import create_tables

    engine = make_engine(scratch_postgres)
    create_tables(engine)
    keys = pa.array([secrets.token_hex(32) for _ in range(1000)])
    with engine.begin() as connection:
        where = stage_birth_keys(connection, keys)[0]
        plan = connection.exec_driver_sql(
            f"EXPLAIN SELECT registration_id FROM {qualified_name(connection, vault_identities)} WHERE {where}"
        ).scalars().all()
    engine.dispose()
    staged = [line for line in plan if "on stage_birth_keys" in line]
    assert staged, plan
    assert all(int(line.split("rows=")[1].split()[0]) >= 500 for line in staged), plan


def test_each_part_of_a_load_is_given_the_stored_encodings_a_read_of_the_vault_gives(engine, monkeypatch) -> None:
    """A load reads each birth key once and keeps what its parts write: every part is still given
    exactly the stored encodings a read of the vault would give it, through re-delivered
    registrations, persons merged by an earlier part and birth keys first met in a later one."""
    from linkage import known_encodings
    from linkage.known_encodings import ReachedEncodings, stored_encodings
    from store.text_sets import sorted_unique

    given, checked, merges = ReachedEncodings.of_batch, [], []

    def stored_as_read(table: pa.Table, matrix: np.ndarray) -> list[tuple]:
        return sorted(zip(*(table.column(name).to_pylist() for name in table.column_names), map(bytes, matrix), strict=True))

    def of_batch(self, connection, batch):
        found = given(self, connection, batch)
        keys = sorted_unique(batch["birth_key"], batch["swapped_key"])
        read = stored_as_read(*stored_encodings(connection, keys))
        frame = found.frame.astype(object).where(found.frame.notna(), None)
        mine = sorted(zip(*(frame[name] for name in frame.columns), map(bytes, found.matrix[found.rows]), strict=True))
        assert mine == read
        checked.append(len(read))
        return found

    wrote = ReachedEncodings.wrote

    def recorded(self, encodings, registration_ids, persons, merged):
        merges.append(len(merged))
        return wrote(self, encodings, registration_ids, persons, merged)

    monkeypatch.setattr(known_encodings.ReachedEncodings, "of_batch", of_batch)
    monkeypatch.setattr(known_encodings.ReachedEncodings, "wrote", recorded)
    anna = {**ANNA, "birth_date": "1999-04-02"}
    piet = {"surname": "Anders", "given_names": "Piet", "birth_date": "1980-01-03"}
    load(engine, [
        {"source_record_id": "A", **anna},
        {"source_record_id": "B", "bsn": "111222333"},
        {"source_record_id": "P", **piet},
        {"source_record_id": "Q", "surname": "Kovalenko", "given_names": "Olena", "birth_date": "1980-03-01"},
    ], key=KEY, vault_key=VAULT_KEY)
    from privacy_helpers import load_in_parts

    load_in_parts(engine, [
        # Anna's birth key is read; P is re-delivered with another name.
        [{"source_record_id": "C", **anna, "given_names": "Ana"}, {"source_record_id": "P", **piet, "surname": "Andersen"}],
        # Anna joins the BSN's person: two known persons merge.
        [{"source_record_id": "D", **anna, "bsn": "111222333"}],
        # Keys held from the first part (with the merged person), P's new row, and a key first met here.
        [{"source_record_id": "E", **anna, "surname": "Zwaluwstart"}, {"source_record_id": "F", **piet, "surname": "Andersen"},
         {"source_record_id": "G", "surname": "Kovalenko", "given_names": "Olena", "birth_date": "1980-03-01"}],
    ], key=KEY, vault_key=VAULT_KEY)
    assert len(checked) == 4 and all(checked[1:])  # the first load, then each part
    assert any(merges)
    assert person_of(engine, "E") == person_of(engine, "A") == person_of(engine, "B")
    assert person_of(engine, "F") == person_of(engine, "P")
    assert person_of(engine, "G") == person_of(engine, "Q")


@pytest.mark.usefixtures("prefect_server")  # partner files go through their Prefect tasks
def test_linkage_on_demo_data_with_hard_variants_meets_its_targets(tmp_path, pseudonym_key) -> None:
    """The nightly flow's task functions on a demo inbox (police with hard variants, and every
    partner file) without the Prefect server."""
    import uuid

    import pandas as pd
    from source_files import ingest_here

    from config.settings import current
    from connectors.files import sha256_of
    from flows.nightly import prepare_warehouse
    from store.clock import utc_now
    from store.engines import shared_engine
    from victim_intake.synthetic import write_demo_inbox
    from victim_intake.synthetic.linkage_quality import quality
    from warehouse.ledger import BatchRecord, start_run

    summary = write_demo_inbox(tmp_path / "inbox", persons=800, seed=5, files=3, hard_variant_share=0.5)
    truth = pd.read_csv(summary.truth_path, dtype=str, keep_default_na=False)
    assert {"typo", "transliteration", "day_month_swap", "script"} <= set(truth["variant"])
    prepare_warehouse()
    engine = shared_engine(current().warehouse_url)
    start_run(engine, "quality")
    for path in summary.files:
        batch = BatchRecord(uuid.uuid4().hex, "quality", "police", path.name, sha256_of(path), utc_now())
        ingest_here(path, batch)
    for path in summary.partner_files:
        batch = BatchRecord(uuid.uuid4().hex, "quality", path.parent.name, path.name, sha256_of(path), utc_now())
        ingest_here(path, batch)
    valid = truth[truth["valid"] == "true"].drop_duplicates(["source", "source_record_id"])
    valid = valid.assign(registration_id=registration_ids(valid["source"], valid["source_record_id"], pseudonym_key).to_numpy())
    with engine.connect() as connection:
        stored = pd.read_sql(text("SELECT registration_id, person_id FROM registrations"), connection)
    figures = quality(valid, stored)
    # A placeholder birth date (1 January) links by BSN or V-number only: recall is measured on
    # the persons with a real birth date, precision on everyone.
    real, placeholder = figures["real birth date"], figures["placeholder birth date"]
    assert figures["precision"] >= 0.99 and real["precision"] >= 0.99 and real["recall"] >= 0.95
    assert placeholder["registrations"] and placeholder["precision"] >= 0.99
    assert figures["by_variant"].loc[["typo", "transliteration", "day_month_swap", "script"], "records"].sum() >= 40


def test_reveal_command_prints_after_auditing_and_refuses_bad_usage(isolated_settings, monkeypatch) -> None:
    import base64

    from typer.testing import CliRunner

    from victim_intake.cli import app

    monkeypatch.setenv("VICTIM_INTAKE_VAULT_KEY", base64.b64encode(VAULT_KEY).decode())
    monkeypatch.setenv("VICTIM_INTAKE_ACTOR", "steward-jansen")
    engine = make_engine(f"sqlite:///{isolated_settings / 'warehouse.sqlite'}")
    load(engine, [{"source_record_id": "A", **ANNA, "bsn": "111222333"}], key=KEY, vault_key=VAULT_KEY)
    person = person_of(engine, "A")
    runner = CliRunner()

    result = runner.invoke(app, ["reveal", "--person", person, "--reason", "court order 2025/17 art. 9"])
    assert result.exit_code == 0, result.output
    assert "Zwaluwstaart" in result.output and "111222333" in result.output
    for arguments, message in (
        (["reveal", "--person", person, "--reason", "because"], "lawful purpose"),
        (["reveal", "--person", "v1-nobody", "--reason", "court order 2025/17 art. 9"], "no vault entry"),
        (["reveal", "--person", person, "--reason", "asked about 111222333 by police"], "quotes"),
        (["erase", "--person", "v1-nobody"], "no person"),
    ):
        refused = runner.invoke(app, arguments)
        assert refused.exit_code == 2 and message in refused.output, refused.output
    monkeypatch.delenv("VICTIM_INTAKE_VAULT_KEY")
    assert runner.invoke(app, ["reveal", "--person", person, "--reason", "court order 2025/17 art. 9"]).exit_code == 2
    with engine.connect() as connection:
        audits = connection.execute(text("SELECT actor, claimed_actor, action, reason FROM privacy_audit")).all()
    # The operating-system user, and apart from it the name VICTIM_INTAKE_ACTOR claims.
    assert audits == [(pwd.getpwuid(os.getuid()).pw_name, "steward-jansen", "reveal", "court order 2025/17 art. 9")]
    engine.dispose()


def test_another_vault_key_is_refused(pseudonym_key, monkeypatch) -> None:
    import base64

    from flows.nightly import prepare_warehouse
    from warehouse.ledger import KeyMismatch

    prepare_warehouse()
    monkeypatch.setenv("VICTIM_INTAKE_VAULT_KEY", base64.b64encode(secrets.token_bytes(32)).decode())
    with pytest.raises(KeyMismatch, match="vault key"):
        prepare_warehouse()


def test_a_snapshot_delivery_leaves_no_vault_entry_of_the_rows_it_replaces(engine) -> None:
    gone = {"source_record_id": "S2", "surname": "Gone", "birth_date": "1970-01-01"}
    load(engine, [{"source_record_id": "S1", **ANNA}, gone], key=KEY, vault_key=VAULT_KEY, source="opvang", snapshot=True)
    load(engine, [{"source_record_id": "S1", **ANNA}], key=KEY, vault_key=VAULT_KEY, source="opvang", snapshot=True)
    with engine.connect() as connection:
        assert connection.execute(text("SELECT count(*) FROM registrations")).scalar_one() == 1
        assert connection.execute(text("SELECT count(*) FROM vault_identities")).scalar_one() == 1
        assert connection.execute(text("SELECT count(*) FROM vault_identities WHERE bloom IS NOT NULL")).scalar_one() == 1


def test_the_identifiers_of_rows_a_snapshot_dropped_keep_their_person(engine) -> None:
    eva = {"surname": "Other", "given_names": "Eva", "birth_date": "1980-07-07", "bsn": "111222333"}
    dropped = {"surname": "Dropped", "given_names": "Piet", "birth_date": "1970-03-05"}
    load(engine, [{"source_record_id": "E", **eva}], key=KEY, vault_key=VAULT_KEY)
    # S3 joins Eva's person by her BSN; the next snapshot no longer holds it.
    load(engine, [{"source_record_id": "S1", **ANNA}, {"source_record_id": "S3", **dropped, "bsn": "111222333"}], key=KEY, vault_key=VAULT_KEY,
         source="opvang", snapshot=True)
    assert person_of(engine, "S3", "opvang") == person_of(engine, "E")
    load(engine, [{"source_record_id": "S1", **ANNA}], key=KEY, vault_key=VAULT_KEY, source="opvang", snapshot=True)
    # S3's name and birth date still belong to Eva's person, as its link did before the vault carried the keys.
    load(engine, [{"source_record_id": "P1", **dropped}], key=KEY, vault_key=VAULT_KEY)
    assert person_of(engine, "P1") == person_of(engine, "E")


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_rotation_refuses_registrations_without_vault_entry_and_changes_nothing(backend, request, tmp_path) -> None:
    from sqlalchemy import delete

    from pseudonyms.keys import LoadedKey
    from store.privacy_tables import vault_identities
    from warehouse.rotation import RotationImpossible, rotate_pseudonyms

    url = request.getfixturevalue("scratch_postgres") if backend == "postgresql" else f"sqlite:///{tmp_path / 'w.sqlite'}"
    engine = make_engine(url)
    records = [{"source_record_id": "A", **ANNA}, {"source_record_id": "B", "bsn": "111222333"}, {"source_record_id": "C", "bsn": "123456782"}]
    load(engine, records, key=KEY, vault_key=VAULT_KEY)
    import pandas as pd

    lost = registration_ids("police", pd.Series(["B"]), KEY).iloc[0]
    with engine.begin() as connection:
        connection.execute(delete(vault_identities).where(vault_identities.c.registration_id == lost))
    before = persons(engine)
    with pytest.raises(RotationImpossible, match="^1 registration"):
        rotate_pseudonyms(engine, LoadedKey("pseudonym", KEY, "test", 1), LoadedKey("pseudonym", secrets.token_bytes(32), "test", 2), VAULT_KEY)
    assert persons(engine) == before
    engine.dispose()


def test_matching_in_birth_key_order_finds_exactly_the_pairs_of_a_full_comparison() -> None:
    from linkage.approximate import _ByCode, _matching_pairs
    from pseudonyms.encodings import dice, ones

    generator = np.random.default_rng(11)
    # Filters of about 20 % ones, as names give, and variants of them with a few bits moved, so
    # that many pairs lie just above or below the thresholds.
    originals = generator.random((400, 1024)) < 0.2
    variants = originals.copy()
    for row in variants:
        row[generator.choice(1024, size=generator.integers(0, 40), replace=False)] ^= True
    matrix = np.packbits(np.concatenate([originals, variants]), axis=1).view(np.uint64)
    size = 300  # the batch: rows 0-299; candidates: every row
    codes = np.tile(generator.integers(0, 25, len(originals)), 2)  # birth dates shared by many rows, and by each variant
    codes[generator.choice(size, 20, replace=False)] = -1  # no birth date: no candidates
    records = np.arange(len(matrix))
    records[generator.choice(len(matrix), 50, replace=False)] = 7  # some rows are one record's copies
    left, right = np.nonzero((codes[:size, None] == codes[None, :]) & (codes[:size, None] >= 0))
    left, right = left[records[left] != records[right]], right[records[left] != records[right]]
    bit_counts = ones(matrix)
    reference = dice(matrix[left], matrix[right], bit_counts[left], bit_counts[right])
    candidates = _ByCode.of(codes, [(matrix[:size], None), (matrix[size:], None)], bit_counts, records)
    for threshold in (0.85, 0.95):
        expected = sorted(zip(left[reference >= threshold].tolist(), right[reference >= threshold].tolist(), strict=True))
        assert 50 < len(expected) < len(left) / 4
        found = _matching_pairs(matrix, bit_counts, codes[:size], records, candidates, threshold)
        assert sorted(zip(*(side.tolist() for side in found), strict=True)) == expected


def test_matches_found_ahead_among_the_batch_and_then_with_the_stored_are_the_matches_found_at_once() -> None:
    """The helper that prepares a part finds its records' matches among themselves (no database);
    the load then searches only the stored encodings. Together: exactly the pairs of one search."""
    import pandas as pd

    from linkage.approximate import StoredEncodings, matches, own_matches
    from pseudonyms.encodings import bloom_matrix, name_encodings

    surnames = ["Shevchenko", "Shevcenko", "Shevtsjenko", "Kovalenko", "Zwaluwstaart", "Zwaluwstart", "de Vries", "de Vriess"]
    given = ["Olena", "Elena", "Anna", "Piet"]
    dates = ["1990-03-04", "1990-04-03", "1985-11-12"]  # the first two: day and month swapped
    records = pd.DataFrame(
        [
            {"surname": surname, "given_names": given[number % len(given)], "birth_date": dates[number % len(dates)]}
            for number, surname in enumerate(surnames * 6)
        ]
    )
    ids = pd.Series([f"r{number:03d}" for number in range(len(records))])
    encodings = name_encodings(records, ids, KEY)
    stored, batch = encodings.iloc[::2].reset_index(drop=True), encodings.iloc[1::2].reset_index(drop=True)
    known = StoredEncodings(
        stored[["registration_id", "birth_key"]].assign(person_id="v1-" + stored["registration_id"]), bloom_matrix(stored["bloom"])
    )

    def pairs(frame: pd.DataFrame) -> set[tuple[str, str]]:
        return set(zip(frame["registration_id"], frame["node"], strict=True))

    at_once = pairs(matches(batch, known))
    own = own_matches(batch)
    assert pairs(own) and all(node.startswith("registration:") for _, node in pairs(own))
    assert {node.split(":")[0] for _, node in at_once} == {"registration", "person"}
    assert pairs(matches(batch, known, own)) == at_once


def test_settle_leaves_an_override_to_no_one_that_still_holds(engine) -> None:
    """An override to no one that is still wanted is neither written again nor removed, however the
    held overrides spell no one (None, or the NaN of a text column)."""
    from store.privacy_tables import person_links, vault_identities
    from vault.owners import Ownership, settle

    person_links.metadata.create_all(engine, tables=[person_links, vault_identities])
    identifier = secrets.token_bytes(16)
    with engine.begin() as connection:
        connection.execute(person_links.insert().values(identifier=identifier, kind="bsn", person_id=None, key_version=1, linked_at=dt.datetime(2020, 1, 1)))
        identifiers = pd.DataFrame({"identifier": [identifier.hex()], "kind": ["bsn"], "key_version": [1]})
        carriers = pd.DataFrame({"identifier": [identifier.hex()], "registration_id": ["r1"], "person_id": ["v1-a"]}, dtype=object)
        for overrides in (pd.Series([None], index=[identifier.hex()], dtype=object), pd.Series([None], index=[identifier.hex()], dtype="str")):
            assert settle(connection, identifiers, pd.Series(dtype=object), Ownership(carriers, overrides)) == 0
        linked_at = connection.execute(text("SELECT linked_at FROM person_links")).scalars().all()
    assert [str(value)[:10] for value in linked_at] == ["2020-01-01"]


@pytest.mark.parametrize("broken", ["identifier", "approximate node"])
def test_an_edge_to_a_node_without_an_id_fails_rather_than_links_another_node(broken: str) -> None:
    """A null id has no node: resolve refuses it, and never takes it for a neighbouring node (the
    registration r2 would otherwise join the known person of r1)."""
    from linkage.resolution import resolve

    known = pd.DataFrame({"identifier": ["i1"], "person_id": ["v1-a"]}, dtype=object)
    links = pd.DataFrame(
        {"registration_id": ["r1", "r2"], "kind": ["bsn", "bsn"], "identifier": ["i1", "i2"], "candidate_person_id": ["v1-c1", "v1-c2"]}, dtype=object
    )
    approximate = None
    if broken == "identifier":
        links.loc[1, "identifier"] = None
    else:
        approximate = pd.DataFrame({"registration_id": ["r2"], "node": [np.nan]}, dtype=object)
    named = pd.DataFrame({"registration_id": ["r1", "r2"]}, dtype=object)
    with pytest.raises(ValueError, match="without an id"):
        resolve(known, links, named, approximate, own_person_ids=lambda ids: "v1-own-" + ids)
