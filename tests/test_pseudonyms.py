"""Canonicalisation, keyed pseudonyms, keys and generalised ages."""

from __future__ import annotations

import base64
import hashlib
import stat
from pathlib import Path

import pandas as pd
import pytest
from budget import examples
from hypothesis import given, settings
from hypothesis import strategies as st

from pseudonyms.canonical import canonical_given_names, canonical_surname
from pseudonyms.generalise import age_at, age_groups, minor_flags
from pseudonyms.identity import identity_keys, person_ids, registration_ids
from pseudonyms.keys import KeyConfigError, fingerprint, init_keys, load_key

KEY = bytes(range(32))


def people(*rows: tuple) -> pd.DataFrame:
    columns = ["surname", "given_names", "birth_date", "bsn", "alien_number"]
    # A row may give only its first fields; the rest are missing.
    return pd.DataFrame([dict(zip(columns, row, strict=False)) for row in rows], columns=columns)


@pytest.mark.parametrize(
    "variant",
    ["de Vries", "De Vries", "DE VRIES", " de  Vries ", "Vries, de", "de-Vries", "Vries"],
)
def test_surname_variants_agree(variant: str) -> None:
    assert canonical_surname(pd.Series([variant])).iloc[0] == "vries"


@pytest.mark.parametrize(
    ("left", "right"),
    [
        ("Wiśniewska", "Wisniewska"),
        ("Şahin", "Sahin"),
        ("Yılmaz", "Yilmaz"),
        ("Kovács", "KOVACS"),
        ("Jansen-de Vries", "Jansen de Vries"),
        ("van der Berg", "Van Der Berg"),
        ("Ørsted", "Orsted"),
    ],
)
def test_spelling_variants_canonicalise_alike(left: str, right: str) -> None:
    canonical = canonical_surname(pd.Series([left, right]))
    assert canonical.iloc[0] == canonical.iloc[1]


def test_given_name_order_and_case_do_not_matter() -> None:
    names = canonical_given_names(pd.Series(["Anna Maria", "maria  ANNA", "Łukasz", None]))
    assert names.tolist()[:3] == ["anna maria", "anna maria", "lukasz"]
    assert pd.isna(names.iloc[3])


def test_one_identity_one_pseudonym_across_variants() -> None:
    ids = person_ids(
        people(
            ("de Vries", "Anna Maria", "1999-04-02"),
            ("DE VRIES", "Maria Anna", "1999-04-02"),
            ("de  Vries", "anna maria", "1999-04-02", "123456782"),
        ),
        KEY,
    )
    assert ids.nunique() == 1


def test_different_people_get_different_pseudonyms() -> None:
    ids = person_ids(
        people(
            ("de Vries", "Anna", "1999-04-02"),
            ("de Vries", "Anna", "1999-04-03"),
            ("de Vries", "Anne", "1999-04-02"),
            ("Vriesen", "Anna", "1999-04-02"),
        ),
        KEY,
    )
    assert ids.nunique() == 4


@settings(max_examples=examples(200), deadline=None)
@given(
    st.lists(
        st.tuples(
            st.text(alphabet=st.characters(categories=("Lu", "Ll")), min_size=2, max_size=12),
            st.dates(min_value=pd.Timestamp("1920-01-01").date(), max_value=pd.Timestamp("2024-12-31").date()),
        ),
        min_size=2,
        max_size=30,
    )
)
def test_distinct_canonical_identities_never_collide(persons: list) -> None:
    frame = people(*[(surname, "Jan", birth.isoformat()) for surname, birth in persons])
    keys = identity_keys(frame)
    ids = person_ids(frame, KEY)
    # One pseudonym per canonical identity, and one canonical identity per pseudonym.
    pairs = pd.DataFrame({"key": keys, "id": ids}).dropna().drop_duplicates()
    assert pairs["key"].is_unique and pairs["id"].is_unique


def test_identifier_fallbacks_and_unlinkable_rows() -> None:
    frame = people((None, None, None, "123 456 782"), (None, None, None, None, "1234567890"), (None, None, None))
    assert identity_keys(frame).tolist()[:2] == ["bsn|123456782", "vnr|1234567890"]
    ids = person_ids(frame, KEY)
    assert ids.notna().tolist() == [True, True, False]


def test_pseudonyms_are_keyed_and_purpose_separated() -> None:
    frame = people(("de Vries", "Anna", "1999-04-02"))
    mine = person_ids(frame, KEY).iloc[0]
    other = person_ids(frame, bytes(32)).iloc[0]
    assert mine != other
    unkeyed = hashlib.sha256(identity_keys(frame).iloc[0].encode()).hexdigest()
    assert mine not in unkeyed
    registration = registration_ids("police", pd.Series(["name|vries|anna|1999-04-02"]), KEY).iloc[0]
    assert registration != mine


def test_registration_ids_are_stable() -> None:
    first = registration_ids("police", pd.Series(["PL-1", "PL-2"]), KEY)
    again = registration_ids("police", pd.Series(["PL-1", "PL-2"]), KEY)
    assert first.tolist() == again.tolist()
    assert registration_ids("kmar", pd.Series(["PL-1"]), KEY).iloc[0] != first.iloc[0]


def test_missing_key_says_how_to_create_one(tmp_path: Path) -> None:
    with pytest.raises(KeyConfigError, match="victim-intake keys init"):
        load_key("pseudonym", tmp_path / "keys", environ={})


def test_malformed_environment_key_is_refused() -> None:
    with pytest.raises(KeyConfigError, match="256 bits"):
        load_key("pseudonym", Path("/nonexistent"), environ={"VICTIM_INTAKE_PSEUDONYM_KEY": base64.b64encode(b"short").decode()})


def test_init_keys_writes_private_files_and_never_overwrites(tmp_path: Path) -> None:
    created = init_keys(tmp_path / "keys")
    assert {key.purpose for key in created} == {"pseudonym", "vault"} and all(key.created for key in created)
    for key in created:
        assert stat.S_IMODE(key.path.stat().st_mode) == 0o600
        assert len(base64.b64decode(key.path.read_text())) == 32
    again = init_keys(tmp_path / "keys")
    assert [key.fingerprint for key in again] == [key.fingerprint for key in created]
    assert not any(key.created for key in again)
    loaded = load_key("pseudonym", tmp_path / "keys", environ={})
    assert loaded.fingerprint == created[0].fingerprint
    assert base64.b64encode(loaded.material).decode() not in repr(loaded)


def test_key_readable_by_others_is_refused(tmp_path: Path) -> None:
    key = init_keys(tmp_path / "keys")[0]
    key.path.chmod(0o644)
    with pytest.raises(KeyConfigError, match="chmod 600"):
        load_key("pseudonym", tmp_path / "keys", environ={})


def test_fingerprint_does_not_reveal_the_key() -> None:
    assert fingerprint(KEY) != hashlib.sha256(KEY).hexdigest()[:16]
    assert len(fingerprint(KEY)) == 16


def test_ages_are_taken_at_the_report_date() -> None:
    birth = pd.to_datetime(pd.Series(["2007-03-15", "2007-03-15", "1960-01-01", None]))
    report = pd.to_datetime(pd.Series(["2025-03-14", "2025-03-15", "2025-01-01", "2025-01-01"]))
    ages = age_at(birth, report)
    assert ages.tolist()[:3] == [17, 18, 65] and pd.isna(ages.iloc[3])
    assert age_groups(ages).tolist() == ["12-17", "18-22", "50+", "unknown"]
    assert minor_flags(ages).tolist()[:3] == [True, False, False] and pd.isna(minor_flags(ages).iloc[3])


def test_sealed_values_open_only_with_their_key_and_context() -> None:
    from vault.sealing import SealBroken, seal, unseal

    sealed = seal(KEY, "Wiśniewska", "person:abc")
    assert "Wiśniewska".encode() not in sealed
    assert unseal(KEY, sealed, "person:abc") == "Wiśniewska"
    with pytest.raises(SealBroken):
        unseal(KEY, sealed, "person:other")
    with pytest.raises(SealBroken):
        unseal(bytes(32), sealed, "person:abc")


def test_bloom_filters_built_in_slices_are_each_names_own(monkeypatch) -> None:
    import numpy as np

    from pseudonyms import encodings

    names = ["de vries anna", "jansen", "", "ødegård ola", "de vries anna maria", "ng", "van der berg piet"]
    key = b"k" * 32
    years = ["1990", "1985", "1990", "2001", "1990", "1990", "1977"]
    alone = np.concatenate([encodings.blooms([name], [year], key) for name, year in zip(names, years, strict=True)])
    # Slices of two names: slice boundaries fall inside the list, as in a bulk load of 32,768-name slices.
    monkeypatch.setattr(encodings, "_NAMES_PER_SLICE", 2)
    together = encodings.blooms(names, years, key)
    assert np.array_equal(together, alone)
    assert len({row.tobytes() for row in together}) == len(names)
    # A name sets 15 bits for each of its bigrams, some of them shared.
    assert all(0 < bits <= 15 * len(encodings.bigrams(name)) for bits, name in zip(encodings.ones(together.view(np.uint64)), names, strict=True))
