"""The settings: declared once (`config/settings.py`), read from the environment when asked, with
defaults that work out of the box and one-line errors that name the variable and never show a key."""

from __future__ import annotations

import base64
import datetime as dt
import secrets
from pathlib import Path

import pytest
from typer.testing import CliRunner

from config.settings import PREFIX, Settings, SettingsError, current, variable, variables
from pseudonyms.keys import load_key
from victim_intake.cli import app
from warehouse.monitoring import configured_expectations


def test_defaults_work_out_of_the_box(monkeypatch, tmp_path) -> None:
    monkeypatch.delenv("VICTIM_INTAKE_HOME")
    monkeypatch.delenv("PREFECT_HOME")
    monkeypatch.chdir(tmp_path)
    settings = current()
    home = tmp_path.resolve() / "data"
    assert settings.home == home
    assert settings.warehouse_url == f"sqlite:///{home / 'warehouse.sqlite'}"
    assert (settings.inbox_folder, settings.keys_dir, settings.prefect_folder) == (home / "inbox", home / "keys", home / "prefect")
    assert settings.partners is None and settings.actor is None and settings.key_variables() == {}
    assert (settings.max_file_bytes, settings.part_bytes) == (2048 * 1024 * 1024, 64 * 1024 * 1024)
    assert (settings.prepare_ahead, settings.max_person_registrations, settings.analyst_k) == ("auto", 50, 5)
    assert configured_expectations(settings).intervals == {"police": dt.timedelta(hours=24)}
    assert configured_expectations(settings).volume_ratio == 0.5


def test_the_environment_is_read_at_each_call(monkeypatch, isolated_settings: Path) -> None:
    assert current().home == isolated_settings
    monkeypatch.setenv("VICTIM_INTAKE_HOME", str(isolated_settings / "elsewhere"))
    monkeypatch.setenv("VICTIM_INTAKE_DATABASE_URL", "postgresql+psycopg://steward:hunter2@db/registry")
    monkeypatch.setenv("VICTIM_INTAKE_SOURCE_INTERVALS", " police=24, fairwork=744 ")
    monkeypatch.setenv("VICTIM_INTAKE_ACTOR", "  steward-jansen  ")
    monkeypatch.setenv("PREFECT_HOME", "~/prefect-home")
    settings = current()
    assert settings.keys_dir == isolated_settings / "elsewhere" / "keys"
    assert settings.shown_warehouse_url == "postgresql+psycopg://steward:***@db/registry"
    assert "hunter2" in settings.warehouse_url and "hunter2" not in repr(settings)
    assert settings.source_intervals == {"police": 24.0, "fairwork": 744.0}
    assert settings.actor == "steward-jansen"
    assert settings.prefect_folder == Path("~/prefect-home").expanduser()
    # An empty variable counts as unset, as before.
    monkeypatch.setenv("VICTIM_INTAKE_DATABASE_URL", "")
    assert current().warehouse_url.startswith("sqlite:///")


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("VICTIM_INTAKE_PREPARE_AHEAD", "yes", "VICTIM_INTAKE_PREPARE_AHEAD must be auto, 1 or 0, not 'yes'"),
        ("VICTIM_INTAKE_MAX_PERSON_REGISTRATIONS", "1", "VICTIM_INTAKE_MAX_PERSON_REGISTRATIONS must be at least 2"),
        ("VICTIM_INTAKE_ANALYST_K", "many", "VICTIM_INTAKE_ANALYST_K must be a whole number"),
        ("VICTIM_INTAKE_ANALYST_SUPPRESSION", "2", "VICTIM_INTAKE_ANALYST_SUPPRESSION must be a share between 0 and 1"),
        ("VICTIM_INTAKE_ANALYST_ROLE", "Analysts; DROP", "VICTIM_INTAKE_ANALYST_ROLE must be a lower-case PostgreSQL identifier (letters, digits, _)"),
        ("VICTIM_INTAKE_PART_MB", "0", "VICTIM_INTAKE_PART_MB must be more than 0"),
        ("VICTIM_INTAKE_MAX_FILE_MB", "nan", "VICTIM_INTAKE_MAX_FILE_MB must be a finite number"),
        ("VICTIM_INTAKE_LOCK_TIMEOUT_S", "soon", "VICTIM_INTAKE_LOCK_TIMEOUT_S must be a number"),
        ("VICTIM_INTAKE_SOURCE_INTERVALS", "police:24", "VICTIM_INTAKE_SOURCE_INTERVALS must list source=hours pairs, like police=24,fairwork=744"),
        ("VICTIM_INTAKE_PSEUDONYM_KEY_VERSION", "0", "VICTIM_INTAKE_PSEUDONYM_KEY_VERSION must be at least 1"),
    ],
)
def test_a_bad_value_is_one_line_naming_the_variable(monkeypatch, name, value, message) -> None:
    monkeypatch.setenv(name, value)
    with pytest.raises(SettingsError) as raised:
        current()
    assert str(raised.value) == message
    assert isinstance(raised.value, ValueError)


def test_a_bad_value_stops_every_command_with_exit_2(monkeypatch) -> None:
    monkeypatch.setenv("VICTIM_INTAKE_ANALYST_K", "1")
    result = CliRunner().invoke(app, ["keys", "fingerprint"])
    assert result.exit_code == 2
    assert "VICTIM_INTAKE_ANALYST_K must be at least 2" in result.output and "Traceback" not in result.output


def test_keys_are_secret_in_every_representation(monkeypatch) -> None:
    key = base64.b64encode(secrets.token_bytes(32)).decode()
    monkeypatch.setenv("VICTIM_INTAKE_PSEUDONYM_KEY", key)
    monkeypatch.setenv("VICTIM_INTAKE_NEXT_PSEUDONYM_KEY", key)
    monkeypatch.setenv("VICTIM_INTAKE_PSEUDONYM_KEY_VERSION", "3")
    settings = current()
    assert key not in repr(settings) and key not in str(settings) and key not in settings.model_dump_json()
    loaded = load_key("pseudonym", Path("/nonexistent"))
    assert (base64.b64encode(loaded.material).decode(), loaded.version, loaded.origin) == (key, 3, "$VICTIM_INTAKE_PSEUDONYM_KEY")


def test_every_variable_is_declared_with_a_description_and_named_once() -> None:
    assert variable("prefect_home") == "PREFECT_HOME"
    assert all(name.startswith(PREFIX) for name in variables() if name != "PREFECT_HOME")
    assert len(set(variables())) == len(Settings.model_fields)
    undescribed = [name for name, field in Settings.model_fields.items() if not field.description]
    assert not undescribed, f"settings without a description: {undescribed}"
