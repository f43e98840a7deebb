"""Stewards' corrections (persons split / join), the bound on a person's registrations, and the
salted name encodings re-encoded from the vault. Synthetic people only; SQLite files."""

from __future__ import annotations

import base64
import secrets

import pandas as pd
import pytest
from privacy_helpers import load, persons
from sqlalchemy import text
from typer.testing import CliRunner

from pseudonyms.identity import registration_ids
from pseudonyms.keys import LoadedKey
from store.engines import make_engine

KEY = secrets.token_bytes(32)
VAULT_KEY = secrets.token_bytes(32)
REASON = "case 2026-44, two persons mixed up by the source"
ANNA = {"surname": "Zwaluwstaart", "given_names": "Anna", "birth_date": "1999-04-02"}


@pytest.fixture
def engine(tmp_path):
    engine = make_engine(f"sqlite:///{tmp_path / 'warehouse.sqlite'}")
    yield engine
    engine.dispose()


def registration(record_id: str) -> str:
    return registration_ids("police", pd.Series([record_id]), KEY).iloc[0]


def person(engine, record_id: str) -> str | None:
    return persons(engine)[registration(record_id)]


def test_a_split_lasts_through_redelivery_and_new_reports(engine) -> None:
    from warehouse.decisions import split_person

    load(engine, [{"source_record_id": "A", **ANNA}, {"source_record_id": "B", **ANNA}], key=KEY, vault_key=VAULT_KEY)
    assert person(engine, "A") == person(engine, "B")
    decided = split_person(engine, [registration("B")], REASON, VAULT_KEY, "v1-split")
    assert decided.person_id == person(engine, "B") == "v1-split" != person(engine, "A")
    # B delivered again (a correction), and a new report that matches both by name: neither undoes the split.
    load(engine, [{"source_record_id": "B", **ANNA}], key=KEY, vault_key=VAULT_KEY)
    load(engine, [{"source_record_id": "C", **ANNA}], key=KEY, vault_key=VAULT_KEY)
    assert person(engine, "B") == "v1-split" != person(engine, "A")
    with engine.connect() as connection:
        audit = connection.execute(text("SELECT action, reason, detail FROM privacy_audit")).all()
        vault_person = connection.execute(
            text("SELECT person_id FROM vault_identities WHERE registration_id = :id"), {"id": registration("B")}
        ).scalar_one()
    assert [row[0] for row in audit] == ["split"] and audit[0][1] == REASON and "Anna" not in audit[0][2]
    assert vault_person == "v1-split"


def test_a_split_that_shares_a_bsn_is_still_kept(engine) -> None:
    from warehouse.decisions import split_person

    load(engine, [
        {"source_record_id": "A", **ANNA, "bsn": "111222333"},
        {"source_record_id": "B", "surname": "Other", "given_names": "Eva", "birth_date": "1980-07-07", "bsn": "111222333"},
    ], key=KEY, vault_key=VAULT_KEY)
    assert person(engine, "A") == person(engine, "B")
    split_person(engine, [registration("B")], REASON, VAULT_KEY, "v1-split")
    load(engine, [{"source_record_id": "B", "surname": "Other", "given_names": "Eva", "birth_date": "1980-07-07", "bsn": "111222333"}],
         key=KEY, vault_key=VAULT_KEY)
    assert person(engine, "B") == "v1-split" != person(engine, "A")


def test_identifiers_of_registrations_split_off_stay_with_the_person_they_belonged_to(engine) -> None:
    from warehouse.decisions import split_person

    # A and B are one person by name; only B carries the BSN.
    load(engine, [{"source_record_id": "A", **ANNA}, {"source_record_id": "B", **ANNA, "bsn": "111222333"}], key=KEY, vault_key=VAULT_KEY)
    before = person(engine, "A")
    split_person(engine, [registration("B")], REASON, VAULT_KEY, "v1-split")
    with engine.connect() as connection:
        # B's row carries the BSN and the name for its new person: the link to the old one is kept apart.
        assert connection.execute(text("SELECT kind, person_id FROM person_links ORDER BY kind")).all() == [("bsn", before), ("name", before)]
    # A later report with that BSN links where the BSN belonged when the steward split B off.
    load(engine, [{"source_record_id": "C", "bsn": "111222333"}], key=KEY, vault_key=VAULT_KEY)
    assert person(engine, "C") == before != person(engine, "B")


def test_a_join_merges_everywhere_and_lasts(engine) -> None:
    from vault.entries import reveal
    from warehouse.decisions import join_persons

    load(engine, [
        {"source_record_id": "A", **ANNA},
        {"source_record_id": "B", "surname": "Zwaluwstaart-de Wit", "given_names": "Anne", "birth_date": "1999-02-04"},
    ], key=KEY, vault_key=VAULT_KEY)
    first, second = person(engine, "A"), person(engine, "B")
    assert first != second
    decided = join_persons(engine, first, second, REASON, VAULT_KEY)
    survivor = min(first, second)
    assert decided.person_id == survivor and person(engine, "A") == person(engine, "B") == survivor
    assert len(reveal(engine, survivor, REASON, VAULT_KEY)) == 2
    # The marts follow in the same transaction.
    with engine.connect() as connection:
        assert connection.execute(text("SELECT count(DISTINCT person_key) FROM mart_person_years")).scalar_one() == 1
        assert connection.execute(text("SELECT count(*) FROM mart_stale_years")).scalar_one() == 0
    load(engine, [{"source_record_id": "B", "surname": "Zwaluwstaart-de Wit", "given_names": "Anne", "birth_date": "1999-02-04"}],
         key=KEY, vault_key=VAULT_KEY)
    assert person(engine, "B") == survivor


def test_split_and_join_refuse_a_reason_that_quotes_the_person(engine) -> None:
    from vault.entries import ReasonQuotesValues
    from warehouse.decisions import join_persons, split_person

    load(engine, [{"source_record_id": "A", **ANNA}, {"source_record_id": "B", **ANNA},
                  {"source_record_id": "C", "surname": "Other", "birth_date": "1980-07-07"}], key=KEY, vault_key=VAULT_KEY)
    with pytest.raises(ReasonQuotesValues):
        split_person(engine, [registration("B")], "Zwaluwstaart is two people", VAULT_KEY, "v1-split")
    with pytest.raises(ReasonQuotesValues):
        join_persons(engine, person(engine, "A"), person(engine, "C"), "both are Other", VAULT_KEY)


def test_persons_commands_split_and_join(isolated_settings, monkeypatch) -> None:
    from victim_intake.cli import app

    monkeypatch.setenv("VICTIM_INTAKE_PSEUDONYM_KEY", base64.b64encode(KEY).decode())
    monkeypatch.setenv("VICTIM_INTAKE_VAULT_KEY", base64.b64encode(VAULT_KEY).decode())
    engine = make_engine(f"sqlite:///{isolated_settings / 'warehouse.sqlite'}")
    isolated_settings.mkdir(parents=True, exist_ok=True)
    load(engine, [{"source_record_id": "A", **ANNA}, {"source_record_id": "B", **ANNA}], key=KEY, vault_key=VAULT_KEY)
    runner = CliRunner()
    split = runner.invoke(app, ["persons", "split", "--registration", registration("B"), "--reason", REASON])
    assert split.exit_code == 0, split.output
    assert person(engine, "A") != person(engine, "B")
    short = runner.invoke(app, ["persons", "join", person(engine, "A"), person(engine, "B"), "--reason", "x"])
    assert short.exit_code == 2
    joined = runner.invoke(app, ["persons", "join", person(engine, "A"), person(engine, "B"), "--reason", REASON])
    assert joined.exit_code == 0, joined.output
    assert person(engine, "A") == person(engine, "B")
    assert "Zwaluwstaart" not in split.output + joined.output
    engine.dispose()


def test_name_links_stop_at_the_bound_and_the_steward_is_told(engine) -> None:
    from warehouse.monitoring import linkage_warnings

    same = [{"source_record_id": f"S{index}", **ANNA} for index in range(8)]
    load(engine, same[:5], key=KEY, vault_key=VAULT_KEY, max_person_registrations=6)
    load(engine, same[5:], key=KEY, vault_key=VAULT_KEY, max_person_registrations=6)
    held = pd.Series(persons(engine)).value_counts()
    assert held.max() <= 6 and held.sum() == 8
    # A firm identifier still links past the bound.
    load(engine, [{"source_record_id": f"S{index}", **ANNA, "bsn": "111222333"} for index in range(8)],
         key=KEY, vault_key=VAULT_KEY, max_person_registrations=6)
    assert len(set(persons(engine).values())) == 1
    with engine.connect() as connection:
        kept = connection.execute(text("SELECT rows_kept_apart FROM ingest_batches ORDER BY started_at")).scalars().all()
    assert kept[0] == 0 and kept[1] > 0
    warnings = linkage_warnings(engine)
    assert warnings and "VICTIM_INTAKE_MAX_PERSON_REGISTRATIONS" in warnings[0] and "Anna" not in " ".join(warnings)


def test_a_redelivery_is_no_growth(engine) -> None:
    same = [{"source_record_id": f"S{index}", **ANNA} for index in range(6)]
    load(engine, same, key=KEY, vault_key=VAULT_KEY, max_person_registrations=6)
    load(engine, same, key=KEY, vault_key=VAULT_KEY, max_person_registrations=6)
    assert len(set(persons(engine).values())) == 1


def test_encodings_are_salted_with_the_birth_year() -> None:
    from privacy_helpers import canonical

    from pseudonyms.encodings import name_encodings

    records = canonical([
        {"source_record_id": "a", **ANNA}, {"source_record_id": "b", **ANNA, "birth_date": "1999-05-06"},
        {"source_record_id": "c", **ANNA, "birth_date": "1998-04-02"},
    ])
    blooms = name_encodings(records, pd.Series(["a", "b", "c"]), KEY)["bloom"].tolist()
    assert blooms[0] == blooms[1] != blooms[2]


def test_stale_encodings_are_re_encoded_from_the_vault(engine) -> None:
    from pseudonyms.encodings import ENCODING_SCHEME
    from warehouse.reencoding import reencode_stale

    load(engine, [{"source_record_id": "A", **ANNA}, {"source_record_id": "P", **ANNA, "birth_date": "1999-01-01"}], key=KEY, vault_key=VAULT_KEY)
    with engine.begin() as connection:
        fresh = dict(connection.execute(text("SELECT registration_id, bloom FROM vault_identities WHERE bloom IS NOT NULL")).all())
        # As migration 0010 leaves them: scheme 1, bits set without salt (here: other bits).
        connection.execute(text("UPDATE vault_identities SET scheme = 1, bloom = zeroblob(128) WHERE bloom IS NOT NULL"))
    key = LoadedKey("pseudonym", KEY, "test", 1)
    assert reencode_stale(engine, key, VAULT_KEY) == 1
    with engine.connect() as connection:
        stored = dict(connection.execute(text("SELECT registration_id, bloom FROM vault_identities WHERE bloom IS NOT NULL")).all())
        schemes = set(connection.execute(text("SELECT scheme FROM vault_identities WHERE bloom IS NOT NULL")).scalars())
        actions = connection.execute(text("SELECT action FROM privacy_audit")).scalars().all()
    assert stored == fresh and schemes == {ENCODING_SCHEME} and actions == ["re-encode"]
    assert reencode_stale(engine, key, VAULT_KEY) == 0


def test_migration_0010_marks_stored_encodings_for_re_encoding(engine) -> None:
    from warehouse import migrate

    migrate.upgrade(engine, "0006")
    with engine.begin() as connection:
        connection.execute(text(
            "INSERT INTO name_encodings (registration_id, person_id, birth_key, swapped_key, bloom, key_version) "
            "VALUES ('r1', 'v1-p', 'b', NULL, 'ff', 1)"
        ))
    # The last revision with a table of name encodings of its own (0013 folds them into the vault).
    migrate.upgrade(engine, "0012")
    with engine.connect() as connection:
        assert connection.execute(text("SELECT scheme, script_key FROM name_encodings")).one() == (1, None)
        assert connection.execute(text("SELECT count(*) FROM link_decisions")).scalar_one() == 0


def test_key_rotation_keeps_a_split(engine) -> None:
    from warehouse.decisions import split_person
    from warehouse.ledger import check_key_fingerprint
    from warehouse.rotation import rotate_pseudonyms

    old, new = LoadedKey("pseudonym", KEY, "test", 1), LoadedKey("pseudonym", secrets.token_bytes(32), "test", 2)
    load(engine, [{"source_record_id": "A", **ANNA}, {"source_record_id": "B", **ANNA}], key=KEY, vault_key=VAULT_KEY)
    check_key_fingerprint(engine, "pseudonym", old.fingerprint)
    split_person(engine, [registration("B")], REASON, VAULT_KEY, "v1-split")
    assert rotate_pseudonyms(engine, old, new, VAULT_KEY).persons == 2
    load(engine, [{"source_record_id": "B", **ANNA}], key=new.material, vault_key=VAULT_KEY, key_version=2)
    moved = dict.fromkeys(registration_ids("police", pd.Series(["A", "B"]), new.material))
    stored = persons(engine)
    assert len({stored[registration] for registration in moved}) == 2
    with engine.connect() as connection:
        decided = set(connection.execute(text("SELECT registration_id FROM link_decisions")).scalars())
    assert decided == set(moved)
