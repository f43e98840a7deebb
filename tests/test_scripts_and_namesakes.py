"""Names in other scripts, look-alike letters, placeholder birth dates and namesakes.

Synthetic people only. Each test loads hand-made records through the real load (SQLite file)."""

from __future__ import annotations

import secrets

import pandas as pd
import pytest
from privacy_helpers import load, persons

from pseudonyms.canonical import canonical_given_names, canonical_surname
from pseudonyms.identity import registration_ids
from store.engines import make_engine
from vault.entries import reveal
from warehouse.erasure import erase_person

KEY = secrets.token_bytes(32)
VAULT_KEY = secrets.token_bytes(32)
REASON = "case 2026-31, request of the public prosecutor"


@pytest.fixture
def engine(tmp_path):
    engine = make_engine(f"sqlite:///{tmp_path / 'warehouse.sqlite'}")
    yield engine
    engine.dispose()


def person(engine, record_id: str) -> str | None:
    return persons(engine)[registration_ids("police", pd.Series([record_id]), KEY).iloc[0]]


def test_look_alike_letters_inside_latin_names_fold_to_latin() -> None:
    # Cyrillic і and о typed inside a Latin name; a Cyrillic Р (looks like P, sounds R) likewise.
    written = pd.Series(["Grіmsdоttir", "Grimsdottir", "Рetrova", "Petrova"])
    assert canonical_surname(written).tolist() == ["grimsdottir", "grimsdottir", "petrova", "petrova"]


def test_names_in_other_scripts_are_transliterated_not_dropped() -> None:
    assert canonical_surname(pd.Series(["Шевченко", "Коваленко", "Ψάλτης", "Məmmədov"])).tolist() == [
        "shevchenko", "kovalenko", "psaltis", "memmedov",
    ]
    assert canonical_given_names(pd.Series(["Олена", "Ірина Олена"])).tolist() == ["olena", "irina olena"]
    # Latin names fold exactly as before: their pseudonyms do not change.
    assert canonical_surname(pd.Series(["Wiśniewska", "Ødegård", "van der Berg"])).tolist() == ["wisniewska", "odegard", "berg"]


def test_look_alike_spelling_links_to_the_latin_one(engine) -> None:
    load(engine, [
        {"source_record_id": "latin", "surname": "Grimsdottir", "given_names": "Sigrun", "birth_date": "1991-03-11"},
        {"source_record_id": "mixed", "surname": "Grіmsdоttir", "given_names": "Sigrun", "birth_date": "1991-03-11"},
    ], key=KEY, vault_key=VAULT_KEY)
    assert person(engine, "latin") == person(engine, "mixed") is not None


def test_cyrillic_names_each_get_a_person_and_link_to_their_latin_form(engine) -> None:
    load(engine, [
        {"source_record_id": "ua-1", "surname": "Шевченко", "given_names": "Олена", "birth_date": "1994-06-12"},
        {"source_record_id": "ua-2", "surname": "Коваленко", "given_names": "Ірина", "birth_date": "1988-10-03"},
    ], key=KEY, vault_key=VAULT_KEY)
    first, second = person(engine, "ua-1"), person(engine, "ua-2")
    assert first and second and first != second
    load(engine, [
        {"source_record_id": "nl-1", "surname": "Shevchenko", "given_names": "Olena", "birth_date": "1994-06-12"},
        # A spelling variant within Cyrillic, matched as Olena / Elena are.
        {"source_record_id": "ua-3", "surname": "Шевченко", "given_names": "Елена", "birth_date": "1994-06-12"},
    ], key=KEY, vault_key=VAULT_KEY)
    assert person(engine, "nl-1") == person(engine, "ua-3") == first


def test_two_chinese_names_with_one_transliteration_stay_two_persons(engine) -> None:
    born = "1990-05-17"
    load(engine, [
        {"source_record_id": "cn-1", "surname": "李", "given_names": "伟", "birth_date": born},
        {"source_record_id": "cn-2", "surname": "黎", "given_names": "威", "birth_date": born},
    ], key=KEY, vault_key=VAULT_KEY)
    first, second = person(engine, "cn-1"), person(engine, "cn-2")
    assert first and second and first != second
    assert [entry.fields["surname"] for entry in reveal(engine, first, REASON, VAULT_KEY)] == ["李"]
    assert [entry.fields["surname"] for entry in reveal(engine, second, REASON, VAULT_KEY)] == ["黎"]
    # A Latin "Li Wei" of the same birth date may join one of them, never both.
    load(engine, [{"source_record_id": "nl-1", "surname": "Li", "given_names": "Wei", "birth_date": born}], key=KEY, vault_key=VAULT_KEY)
    assert person(engine, "cn-1") != person(engine, "cn-2")
    # The same name in the same script is the same person.
    load(engine, [{"source_record_id": "cn-3", "surname": "李", "given_names": "伟", "birth_date": born}], key=KEY, vault_key=VAULT_KEY)
    assert person(engine, "cn-3") == person(engine, "cn-1")
    erase_person(engine, second, VAULT_KEY)
    remaining = persons(engine)
    assert second not in remaining.values() and len(remaining) == 3
    assert person(engine, "cn-1") == first


def test_a_latin_name_between_two_chinese_ones_in_one_delivery_joins_neither_to_the_other(engine) -> None:
    born = "1990-05-17"
    load(engine, [
        {"source_record_id": "cn-1", "surname": "李", "given_names": "伟", "birth_date": born},
        {"source_record_id": "nl-1", "surname": "Li", "given_names": "Wei", "birth_date": born},
        {"source_record_id": "cn-2", "surname": "黎", "given_names": "威", "birth_date": born},
    ], key=KEY, vault_key=VAULT_KEY)
    assert person(engine, "cn-1") != person(engine, "cn-2")


def test_a_name_that_canonicalises_to_nothing_still_gets_a_person(engine) -> None:
    load(engine, [
        {"source_record_id": "dots", "surname": "...", "given_names": "?", "birth_date": "1990-05-17"},
        {"source_record_id": "no-date", "surname": "Jansen", "given_names": "Piet"},
        {"source_record_id": "nobody"},
    ], key=KEY, vault_key=VAULT_KEY)
    assert person(engine, "dots") and person(engine, "no-date") and person(engine, "dots") != person(engine, "no-date")
    # No identifying field at all: no person, as before.
    assert person(engine, "nobody") is None


def test_namesakes_on_a_placeholder_birth_date_are_not_linked_by_name(engine) -> None:
    load(engine, [
        {"source_record_id": "a", "surname": "Ali", "given_names": "Mohammed", "birth_date": "1995-01-01"},
        {"source_record_id": "b", "surname": "Ali", "given_names": "Mohammed", "birth_date": "1995-01-01"},
        {"source_record_id": "c", "surname": "Ali", "given_names": "Mohamed", "birth_date": "1995-01-01"},
        {"source_record_id": "d", "surname": "Ali", "given_names": "Mohammed", "birth_date": "1995-01-01", "bsn": "111222333"},
        {"source_record_id": "e", "surname": "Alli", "given_names": "Mohammed", "birth_date": "1995-01-01", "bsn": "111222333"},
    ], key=KEY, vault_key=VAULT_KEY)
    assert len({person(engine, record) for record in "abcd"}) == 4
    # The BSN still links.
    assert person(engine, "d") == person(engine, "e")


SURNAMES = (
    "Ali", "Mohammed", "Ahmed", "Hassan", "Li", "Wang", "Zhang", "Chen", "Liu", "Nguyen", "Tran", "Le", "Pham",
    "Shevchenko", "Kovalenko", "Bondarenko", "Popescu", "Ionescu", "Kowalski", "Nowak", "Okafor", "Okeke",
    "Singh", "Kumar", "Santos", "Reyes", "Ivanova", "Petrova", "Yilmaz", "Kaya",
)
GIVEN_NAMES = (
    "Mohammed", "Mohamed", "Ahmed", "Ahmad", "Wei", "Fang", "Lei", "Anh", "Minh", "Linh", "Olena", "Elena",
    "Iryna", "Irina", "Natalia", "Oksana", "Maria", "Ana", "Ioana", "Anna", "Joy", "Blessing", "Grace",
    "Priya", "Sunita", "Rosa", "Fatima", "Aisha", "Yusuf", "Youssef",
)


def namesake_feed(rng, size: int, placeholder_share: float) -> pd.DataFrame:
    """`size` different people with common names; a share of them registered on 1 January."""
    from privacy_helpers import canonical

    days = rng.integers(0, 49 * 365, size)
    birth = pd.Timestamp("1960-01-01") + pd.to_timedelta(days, unit="D")
    placeholder = rng.random(size) < placeholder_share
    birth = birth.where(~placeholder, pd.to_datetime(birth.year.astype(str) + "-01-01"))
    rows = {
        "source_record_id": [f"N{index:06d}" for index in range(size)],
        "surname": pd.Series(SURNAMES).sample(size, replace=True, random_state=rng).to_numpy(),
        "given_names": pd.Series(GIVEN_NAMES).sample(size, replace=True, random_state=rng).to_numpy(),
        "birth_date": birth.strftime("%Y-%m-%d"),
    }
    return canonical(pd.DataFrame(rows).to_dict("records"))


def test_a_feed_of_namesakes_keeps_its_persons_within_one_percent() -> None:
    import numpy as np

    from linkage.approximate import own_matches
    from linkage.resolution import resolve
    from pseudonyms.person_identities import person_identities

    size = 20_000
    records = namesake_feed(np.random.default_rng(16), size, 0.3)
    ids = registration_ids("police", records["source_record_id"], KEY)
    identities = person_identities(records, ids, key=KEY, key_version=1, vault_key=VAULT_KEY)
    known = pd.DataFrame(columns=["identifier", "person_id"], dtype=object)
    resolution = resolve(known, identities.links, identities.named, own_matches(identities.encodings), own_person_ids=identities.own_person_ids)
    found = resolution.person_of_registration.reindex(ids)
    assert found.notna().all()
    assert abs(found.nunique() - size) <= size // 100
    # No "person" gathers strangers by name on a placeholder date.
    placeholder = (records["birth_date"].dt.month == 1) & (records["birth_date"].dt.day == 1)
    assert found[placeholder.to_numpy()].is_unique
