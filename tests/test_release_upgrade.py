"""A warehouse built by the previous release (before the lean vault), migrated to head, gives the
same persons, `reveal`, quarantine values, `erase` and `keys rotate` results as that release did
(`make_release_warehouse.py` built it and recorded them; `release_results.py` computes them)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from make_release_warehouse import FIXTURE, WAREHOUSE
from release_results import results
from sqlalchemy import text

from pseudonyms.keys import load_key
from store.engines import make_engine
from warehouse import migrate
from warehouse.reencoding import reencode_stale


@pytest.fixture
def migrated(tmp_path: Path) -> tuple[str, Path]:
    """A copy of the release's warehouse upgraded to head, and a copy of its (demo) keys."""
    keys = tmp_path / "keys"
    shutil.copytree(FIXTURE / "keys", keys)
    keys.chmod(0o700)
    for key in keys.iterdir():
        key.chmod(0o600)
    copy = tmp_path / "warehouse.sqlite"
    shutil.copyfile(FIXTURE / WAREHOUSE, copy)
    url = f"sqlite:///{copy}"
    engine = make_engine(url)
    assert migrate.current_revision(engine) == "0012"
    # As the commands migrate: with the vault key, which re-sealing the vault's entries needs.
    migrate.upgrade(engine, inputs=migrate.MigrationInputs(load_key("vault", keys, {}).material))
    engine.dispose()
    return url, keys


def _counts(url: str) -> dict[str, int]:
    engine = make_engine(url)
    with engine.connect() as connection:
        found = {
            name: connection.execute(text(f"SELECT count(*) FROM {name}")).scalar_one()
            for name in ("registrations", "vault_identities", "person_links")
        }
        found["hex or base64"] = connection.execute(
            text("SELECT count(*) FROM vault_identities WHERE typeof(sealed) != 'blob'")
        ).scalar_one() + connection.execute(
            text("SELECT count(*) FROM quarantine WHERE sealed_value IS NOT NULL AND typeof(sealed_value) != 'blob'")
        ).scalar_one()
    engine.dispose()
    return found


def _expected() -> dict:
    return json.loads((FIXTURE / "expected.json").read_text())


def test_the_migrated_warehouse_gives_the_release_s_results(migrated) -> None:
    url, keys = migrated
    counts = _counts(url)
    # Nothing computed yet (a migration has no pseudonym key): every link kept as an override.
    assert counts == {"registrations": 200, "vault_identities": 200, "person_links": 144, "hex or base64": 0}
    assert json.loads(json.dumps(results(url, keys))) == _expected()


def test_after_completing_the_vault_rows_the_results_stay_and_the_links_go(migrated) -> None:
    url, keys = migrated
    engine = make_engine(url)
    assert reencode_stale(engine, load_key("pseudonym", keys, {}), load_key("vault", keys, {}).material) == 200
    engine.dispose()
    counts = _counts(url)
    # The rows carry their keys now: links remain only where the rows do not tell the owner.
    assert counts["person_links"] < 10
    assert (counts["registrations"] + counts["vault_identities"] + counts["person_links"]) / counts["registrations"] <= 2.05
    assert json.loads(json.dumps(results(url, keys))) == _expected()
