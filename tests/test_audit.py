"""Opening personal data is audited: quarantined values need a reason, a reason quotes no value of
the person in any spelling, spacing or date format, and the audit names the operating-system user
apart from the name an operator claims (`VICTIM_INTAKE_ACTOR`)."""

from __future__ import annotations

import base64
import os
import pwd
import secrets

import pandas as pd
import pytest
from privacy_helpers import load
from sqlalchemy import text
from typer.testing import CliRunner

from store.engines import make_engine
from vault.entries import ReasonQuotesValues, reveal
from victim_intake.cli import app

KEY = secrets.token_bytes(32)
VAULT_KEY = secrets.token_bytes(32)
ANNA = {"surname": "Zwaluwstaart", "given_names": "Anna", "birth_date": "1999-04-02", "bsn": "111222333"}
OS_USER = pwd.getpwuid(os.getuid()).pw_name
PURPOSE = "steward check of a partner delivery, case 2025-17"


@pytest.fixture
def engine(isolated_settings, monkeypatch):
    """The configured SQLite warehouse, with the vault key in the environment."""
    monkeypatch.setenv("VICTIM_INTAKE_VAULT_KEY", base64.b64encode(VAULT_KEY).decode())
    engine = make_engine(f"sqlite:///{isolated_settings / 'warehouse.sqlite'}")
    yield engine
    engine.dispose()


def audits(engine) -> list[tuple]:
    with engine.connect() as connection:
        return connection.execute(text("SELECT actor, claimed_actor, action, reason, detail FROM privacy_audit")).all()


def quarantined_batch(engine) -> str:
    quarantined = pd.DataFrame(
        {
            "row_number": [3, 4],
            "column_name": ["Geboortedatum", "Achternaam"],
            "rule": ["date_format_%d-%m-%Y", "no_formula"],
            "source_record_id": ["P-2", "P-3"],
            "value": ["31-02-2001", "=Merel[/b]\x1b[31m"],
        }
    )
    return load(engine, [{"source_record_id": "P-1", **ANNA}], key=KEY, vault_key=VAULT_KEY, source="proef", quarantined=quarantined)


def test_quarantined_values_open_only_for_a_reason_that_quotes_none_of_them_and_are_audited(engine, monkeypatch) -> None:
    batch = quarantined_batch(engine)
    runner = CliRunner()
    for arguments, message in (
        ([], "--reason"),
        (["--reason", "check"], "lawful purpose"),
        (["--reason", "about the person born 2001-02-31"], "quotes"),
        (["--reason", "about MEREL, case 2025-17"], "quotes"),
    ):
        refused = runner.invoke(app, ["quarantine", "show", batch, "--values", *arguments])
        assert refused.exit_code == 2, refused.output
        assert message in refused.output and "31-02-2001" not in refused.output
    assert audits(engine) == []

    monkeypatch.setenv("VICTIM_INTAKE_ACTOR", "steward-jansen")
    opened = runner.invoke(app, ["quarantine", "show", batch, "--values", "--reason", PURPOSE])
    assert opened.exit_code == 0, opened.output
    assert "31-02-2001" in opened.output and "=Merel[/b]" in opened.output and "\x1b" not in opened.output
    [(actor, claimed, action, reason, detail)] = audits(engine)
    assert (actor, claimed, action, reason) == (OS_USER, "steward-jansen", "open_quarantine", PURPOSE)
    assert batch in detail and "31-02-2001" not in detail and "Merel" not in detail


@pytest.mark.parametrize(
    "reason",
    ["request about BSN 111 222 333", "born 02-04-1999, case 17", "born 2 april 1999", "about ZWALUW-STAART", "asked about Аnna"],
)
def test_reveal_refuses_a_reason_that_quotes_the_person_in_another_spelling(engine, reason: str) -> None:
    load(engine, [{"source_record_id": "A", **ANNA}], key=KEY, vault_key=VAULT_KEY)
    with engine.connect() as connection:
        person = connection.execute(text("SELECT person_id FROM registrations")).scalar_one()
    with pytest.raises(ReasonQuotesValues):
        reveal(engine, person, reason, VAULT_KEY)
    assert audits(engine) == []


def test_the_audit_records_the_operating_system_user_whatever_the_environment_claims(engine, monkeypatch) -> None:
    load(engine, [{"source_record_id": "A", **ANNA}], key=KEY, vault_key=VAULT_KEY)
    with engine.connect() as connection:
        person = connection.execute(text("SELECT person_id FROM registrations")).scalar_one()
    monkeypatch.setenv("VICTIM_INTAKE_ACTOR", "the-director")
    monkeypatch.setenv("USER", "mallory")
    monkeypatch.setenv("LOGNAME", "mallory")
    reveal(engine, person, "court order 2025/17 art. 9", VAULT_KEY)
    monkeypatch.delenv("VICTIM_INTAKE_ACTOR")
    reveal(engine, person, "court order 2025/17 art. 9", VAULT_KEY)
    assert [(actor, claimed) for actor, claimed, *_ in audits(engine)] == [(OS_USER, "the-director"), (OS_USER, None)]
