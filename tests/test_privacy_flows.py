"""Retention flow, keys from Prefect Secret blocks, research pseudonyms."""

from __future__ import annotations

import base64
import secrets
from pathlib import Path

import pandas as pd
import pytest
from privacy_helpers import load
from sqlalchemy import text

from pseudonyms.research import research_pseudonyms
from store.engines import make_engine

pytestmark = pytest.mark.usefixtures("prefect_server")


def test_retention_flow_purges_old_persons(isolated_settings) -> None:
    from flows.retention import retention

    engine = make_engine(f"sqlite:///{isolated_settings / 'warehouse.sqlite'}")
    key, vault_key = secrets.token_bytes(32), secrets.token_bytes(32)
    load(engine, [
        {"source_record_id": "old", "surname": "Oldfield", "birth_date": "1950-01-01", "reported_on": "2001-01-01", "registration_year": 2001},
        {"source_record_id": "new", "surname": "Newman", "birth_date": "1990-01-01"},
    ], key=key, vault_key=vault_key)
    removed = retention(years=10)
    assert (removed["persons"], removed["registrations"]) == (1, 1)
    with engine.connect() as connection:
        assert connection.execute(text("SELECT count(*) FROM registrations")).scalar_one() == 1
        assert connection.execute(text("SELECT action FROM privacy_audit")).scalars().all() == ["purge"]
    engine.dispose()


def test_keys_come_from_a_prefect_secret_block(monkeypatch) -> None:
    from prefect.blocks.system import Secret

    from flows.key_blocks import load_key_blocks
    from pseudonyms.keys import KeyConfigError, load_key

    encoded = base64.b64encode(secrets.token_bytes(32)).decode()
    name = f"pseudonym-key-{secrets.token_hex(4)}"
    Secret(value=encoded).save(name)
    monkeypatch.setenv("VICTIM_INTAKE_PSEUDONYM_KEY_BLOCK", name)
    # Empty, not unset: monkeypatch then removes what load_key_blocks writes when the test ends.
    monkeypatch.setenv("VICTIM_INTAKE_PSEUDONYM_KEY", "")
    monkeypatch.setenv("VICTIM_INTAKE_VAULT_KEY", "")
    load_key_blocks()
    key = load_key("pseudonym", Path("/nonexistent"))
    assert base64.b64encode(key.material).decode() == encoded and key.origin == "$VICTIM_INTAKE_PSEUDONYM_KEY"
    monkeypatch.setenv("VICTIM_INTAKE_VAULT_KEY_BLOCK", "no-such-block")
    with pytest.raises(KeyConfigError, match="no-such-block"):
        load_key_blocks()


def test_research_pseudonyms_differ_per_recipient_and_from_the_warehouse() -> None:
    key = secrets.token_bytes(32)
    persons = pd.Series(["v1-aa", "v1-bb", "v1-aa", None])
    first = research_pseudonyms(persons, key, "university-a")
    second = research_pseudonyms(persons, key, "university-b")
    assert first.iloc[0] == first.iloc[2] != first.iloc[1]
    assert not set(first.dropna()) & set(second.dropna())
    assert not set(first.dropna()) & set(persons.dropna())
    assert pd.isna(first.iloc[3])
    assert research_pseudonyms(persons, secrets.token_bytes(32), "university-a").iloc[0] != first.iloc[0]
