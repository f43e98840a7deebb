"""Shared fixtures. Prefect runs against one temporary test server for the whole session."""

from __future__ import annotations

import base64
import os
import secrets
import shutil
import tempfile
from pathlib import Path

import pytest

# Before Prefect is imported anywhere: an isolated Prefect home, offline, nothing persisted.
_PREFECT_HOME = Path(tempfile.mkdtemp(prefix="victim-intake-prefect-"))
os.environ["PREFECT_HOME"] = str(_PREFECT_HOME)
os.environ["DO_NOT_TRACK"] = "1"
os.environ["PREFECT_SERVER_ANALYTICS_ENABLED"] = "false"
os.environ["PREFECT_RESULTS_PERSIST_BY_DEFAULT"] = "false"
os.environ["PREFECT_TASKS_DEFAULT_NO_CACHE"] = "true"
# Some tests call the file-level task functions directly, outside a flow run: their logs stay local.
os.environ["PREFECT_LOGGING_TO_API_WHEN_MISSING_FLOW"] = "ignore"
# Wide enough that rich never wraps a table cell in captured output.
os.environ["COLUMNS"] = "250"

# Import Prefect now, so its log handlers bind to the real stderr rather than to a stream that
# a test's output capture replaces (and closes) later.
import prefect  # noqa: E402,F401

from config.settings import PREFIX, variables  # noqa: E402

# Every variable of the product's own; PREFECT_HOME stays the session's, set above.
_CONFIG_VARIABLES = tuple(name for name in variables() if name.startswith(PREFIX))


# The two tiers. A test is end to end when it needs one of these fixtures (a Prefect server, a
# PostgreSQL database, programs started as processes, a browser) or carries the `postgres` marker;
# every other test is a unit test, run by `make test-fast`.
END_TO_END_FIXTURES = frozenset({"prefect_server", "scratch_postgres", "console_scripts", "chromium"})


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        if END_TO_END_FIXTURES & set(getattr(item, "fixturenames", ())) or item.get_closest_marker("postgres"):
            item.add_marker(pytest.mark.e2e)


@pytest.fixture(scope="session")
def console_scripts() -> Path:
    """The folder of this environment's programs (`victim-intake`, `prefect`), for tests that start them as processes."""
    from programs import BIN, PREFECT, VICTIM_INTAKE

    missing = [program for program in (VICTIM_INTAKE, PREFECT) if not Path(program).is_file()]
    if missing:
        pytest.fail(f"{', '.join(missing)} not installed: run `make install-test`")
    return BIN


@pytest.fixture(scope="session")
def chromium() -> str:
    """A headless Chromium for the browser tests; skipped, with the reason, where none is installed."""
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if found is None:
        pytest.skip("no chromium on PATH: `apt-get install -y chromium` (.ci/run installs it)")
    return found


@pytest.fixture(scope="session")
def prefect_server():
    """One Prefect test server for the session (it takes ~15 s to start)."""
    from prefect.testing.utilities import prefect_test_harness

    with prefect_test_harness(server_startup_timeout=120):
        yield


@pytest.fixture(autouse=True)
def isolated_settings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Every test gets its own home folder and no configuration from the developer's shell."""
    for name in _CONFIG_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    home = tmp_path / "home"
    monkeypatch.setenv("VICTIM_INTAKE_HOME", str(home))
    return home


@pytest.fixture
def vault_key(monkeypatch: pytest.MonkeyPatch) -> bytes:
    """A fresh random vault key (seals quarantined values), configured through the environment."""
    key = secrets.token_bytes(32)
    monkeypatch.setenv("VICTIM_INTAKE_VAULT_KEY", base64.b64encode(key).decode())
    return key


@pytest.fixture
def pseudonym_key(monkeypatch: pytest.MonkeyPatch) -> bytes:
    """A fresh random pseudonym key (and vault key), configured through the environment."""
    key = secrets.token_bytes(32)
    monkeypatch.setenv("VICTIM_INTAKE_PSEUDONYM_KEY", base64.b64encode(key).decode())
    # Loads also seal identities into the vault, so they need the vault key too.
    monkeypatch.setenv("VICTIM_INTAKE_VAULT_KEY", base64.b64encode(secrets.token_bytes(32)).decode())
    return key


@pytest.fixture
def scratch_postgres(monkeypatch: pytest.MonkeyPatch):
    """A fresh PostgreSQL database for one test, configured as the warehouse and dropped afterwards."""
    from scratch_db import scratch_postgres_url

    with scratch_postgres_url() as url:
        monkeypatch.setenv("VICTIM_INTAKE_DATABASE_URL", url)
        yield url
