"""The inbox takes regular files in real folders only: symbolic links (to files or folders, also
swapped in after discovery), FIFOs and other special files are refused with a reason, never followed."""

from __future__ import annotations

import os
import shutil
import threading
from pathlib import Path

import pytest
import sqlalchemy as sa
from feed import record, write_feed
from test_flow_end_to_end import run_cli

from connectors.files import FileRejected, sha256_of
from connectors.inbox import LINK, SPECIAL, Refused, refused_entries
from connectors.police import discover, manifest_path, read_police_file
from connectors.tabular import discover_partner_files, read_csv_table

MAX = 10**9


@pytest.fixture
def hostile_inbox(tmp_path: Path) -> Path:
    """An inbox with one genuine feed file, and links and a FIFO pointing at files outside it."""
    inbox, outside = tmp_path / "inbox", tmp_path / "elsewhere"
    write_feed(inbox / "police", "politie-2025-03-15", [record("A-1")])
    write_feed(outside / "police", "politie-2025-03-16", [record("X-1")])
    (outside / "kmar").mkdir()
    (outside / "kmar" / "export.csv").write_text("Dossier;Datum\nX-2;16-03-2025\n", encoding="utf-8")
    (inbox / "nla").mkdir()
    for name in ("politie-2025-03-16.ndjson", "politie-2025-03-16.manifest.json"):
        (inbox / "police" / name).symlink_to(outside / "police" / name)
    (inbox / "kmar").symlink_to(outside / "kmar", target_is_directory=True)
    (inbox / "nla" / "export.csv").symlink_to(outside / "kmar" / "export.csv")
    os.mkfifo(inbox / "police" / "politie-2025-03-17.ndjson")
    return inbox


def test_discovery_follows_no_link_and_opens_no_fifo(hostile_inbox: Path) -> None:
    assert [path.name for path in discover(hostile_inbox / "police")] == ["politie-2025-03-15.ndjson"]
    assert discover_partner_files(hostile_inbox, "police") == []


def test_every_refused_entry_is_named_with_its_reason(hostile_inbox: Path) -> None:
    assert refused_entries(hostile_inbox) == [
        Refused("", "kmar", LINK),
        Refused("nla", "export.csv", LINK),
        Refused("police", "politie-2025-03-16.manifest.json", LINK),
        Refused("police", "politie-2025-03-16.ndjson", LINK),
        Refused("police", "politie-2025-03-17.ndjson", SPECIAL),
    ]


def test_a_link_swapped_in_after_discovery_is_refused_when_the_file_is_opened(hostile_inbox: Path, tmp_path: Path) -> None:
    feed = hostile_inbox / "police" / "politie-2025-03-15.ndjson"
    digest = sha256_of(feed)
    # The genuine manifest is replaced by a link to a copy of it: the feed is refused.
    manifest = manifest_path(feed)
    shutil.copy(manifest, tmp_path / "copy.json")
    manifest.unlink()
    manifest.symlink_to(tmp_path / "copy.json")
    with pytest.raises(FileRejected, match="its manifest is not a regular file"):
        read_police_file(feed, digest, MAX)
    # The feed itself replaced by a link to the same content.
    shutil.copy(feed, tmp_path / "copy.ndjson")
    feed.unlink()
    feed.symlink_to(tmp_path / "copy.ndjson")
    for read in (lambda: sha256_of(feed), lambda: read_police_file(feed, digest, MAX)):
        with pytest.raises(FileRejected, match="not a regular file"):
            read()
    # A partner file in a folder that became a link to a folder outside the inbox.
    with pytest.raises(FileRejected, match="not a regular file"):
        read_csv_table(hostile_inbox / "kmar" / "export.csv", ["Dossier"], encoding="utf-8", delimiter=";", max_bytes=MAX)


def test_a_fifo_is_refused_without_waiting_for_a_writer(hostile_inbox: Path) -> None:
    outcome: list[BaseException] = []

    def hash_the_fifo() -> None:
        try:
            sha256_of(hostile_inbox / "police" / "politie-2025-03-17.ndjson")
        except BaseException as error:  # noqa: BLE001 - handed to the test's thread
            outcome.append(error)

    reader = threading.Thread(target=hash_the_fifo, daemon=True)
    reader.start()
    reader.join(timeout=10)
    assert not reader.is_alive(), "reading a FIFO waited for a writer"
    assert len(outcome) == 1 and isinstance(outcome[0], FileRejected)


@pytest.mark.usefixtures("prefect_server", "pseudonym_key")
def test_a_run_loads_only_the_regular_files_and_names_what_it_refused(hostile_inbox: Path, isolated_settings: Path) -> None:
    code, output = run_cli("run", "--inbox", str(hostile_inbox))
    assert code == 1, output
    for name in ("kmar", "export.csv", "politie-2025-03-16.ndjson", "politie-2025-03-17.ndjson"):
        assert name in output
    assert "symbolic link" in output and "FIFO" in output
    assert "elsewhere" not in output  # where a link points is never shown
    engine = sa.create_engine(f"sqlite:///{isolated_settings / 'warehouse.sqlite'}")
    with engine.connect() as connection:
        assert connection.execute(sa.text("SELECT count(*) FROM registrations")).scalar_one() == 1
        assert connection.execute(sa.text("SELECT file_name FROM ingest_batches")).scalars().all() == ["politie-2025-03-15.ndjson"]
    engine.dispose()
