"""A night with nothing new: fast, yet a changed file is never taken for a loaded one, and the
warehouse is left as complete as by any other night."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest
import sqlalchemy as sa
from feed import record, write_feed
from test_flow_end_to_end import run_cli

from connectors import hash_cache


def registration_count(home: Path) -> int:
    engine = sa.create_engine(f"sqlite:///{home / 'warehouse.sqlite'}")
    with engine.connect() as connection:
        count = connection.execute(sa.text("SELECT count(*) FROM registrations")).scalar_one()
    engine.dispose()
    return count


def loaded_files(home: Path) -> list[str]:
    engine = sa.create_engine(f"sqlite:///{home / 'warehouse.sqlite'}")
    with engine.connect() as connection:
        names = connection.execute(sa.text("SELECT file_name FROM ingest_batches WHERE state = 'loaded'")).scalars().all()
    engine.dispose()
    return names


@pytest.mark.usefixtures("prefect_server")
def test_a_feed_rewritten_with_the_same_size_and_mtime_is_loaded(tmp_path, pseudonym_key, isolated_settings, monkeypatch) -> None:
    # Files of the test count as settled at once, so the first run remembers the feed's hash.
    monkeypatch.setattr(hash_cache, "SETTLE_SECONDS", 0.0)
    inbox = tmp_path / "inbox"
    feed = write_feed(inbox / "police", "politie-2025-03-15", [record("PL-0001")])
    time.sleep(0.05)
    assert run_cli("run", "--inbox", str(inbox))[0] == 0
    assert str(feed.resolve()) in (isolated_settings / "file-hashes.json").read_text()
    code, output = run_cli("run", "--inbox", str(inbox))
    assert code == 0 and "already loaded" in output

    # The police export is written again under the same name: another record of the same length,
    # and the file's modification time set back to the first delivery's.
    before = feed.stat()
    write_feed(inbox / "police", "politie-2025-03-15", [record("PL-0002")])
    os.utime(feed, ns=(before.st_atime_ns, before.st_mtime_ns))
    after = feed.stat()
    assert (after.st_size, after.st_mtime_ns) == (before.st_size, before.st_mtime_ns)
    code, output = run_cli("run", "--inbox", str(inbox))
    assert code == 0, output
    assert registration_count(isolated_settings) == 2
    assert loaded_files(isolated_settings) == [feed.name, feed.name]


@pytest.mark.usefixtures("prefect_server")
def test_marts_left_stale_are_refreshed_by_a_night_with_nothing_new(tmp_path, pseudonym_key, isolated_settings) -> None:
    from warehouse.marts import mark_all_stale, stale_years

    inbox = tmp_path / "inbox"
    write_feed(inbox / "police", "politie-2025-03-15", [record("PL-0001")])
    assert run_cli("run", "--inbox", str(inbox))[0] == 0
    engine = sa.create_engine(f"sqlite:///{isolated_settings / 'warehouse.sqlite'}")
    with engine.begin() as connection:
        mark_all_stale(connection)  # as erasure or retention leave them
    code, output = run_cli("run", "--inbox", str(inbox))
    assert code == 0, output
    with engine.connect() as connection:
        assert stale_years(connection) == set()
    engine.dispose()
