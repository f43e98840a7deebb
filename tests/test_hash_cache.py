"""Remembered file hashes: an unchanged file is not read again, a changed one always is."""

from __future__ import annotations

import hashlib
import json
import os
import time
from pathlib import Path

import pytest

from connectors import hash_cache
from connectors.hash_cache import HashCache


@pytest.fixture
def reads(monkeypatch: pytest.MonkeyPatch) -> list[Path]:
    """Every file the cache reads to hash it; files count as settled as soon as they are written."""
    read: list[Path] = []
    real = hash_cache.sha256_of

    def counting(path: Path) -> str:
        read.append(path)
        return real(path)

    monkeypatch.setattr(hash_cache, "sha256_of", counting)
    monkeypatch.setattr(hash_cache, "SETTLE_SECONDS", 0.0)
    return read


def delivered(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    # The next change must fall in a later tick of the file system's clock than this one.
    time.sleep(0.05)
    return path


def digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def test_an_unchanged_file_is_hashed_once(tmp_path, reads) -> None:
    feed = delivered(tmp_path / "feed.ndjson", b"first delivery\n")
    store = tmp_path / "home" / "file-hashes.json"
    first = HashCache(store)
    assert first.sha256(feed) == digest(b"first delivery\n")
    first.save()
    assert store.stat().st_mode & 0o777 == 0o600
    again = HashCache(store)
    assert again.sha256(feed) == digest(b"first delivery\n")
    assert reads == [feed]


def test_new_content_of_the_same_size_and_mtime_is_hashed_anew(tmp_path, reads) -> None:
    feed = delivered(tmp_path / "feed.ndjson", b"registratie A-1\n")
    before = feed.stat()
    cache = HashCache(tmp_path / "file-hashes.json")
    assert cache.sha256(feed) == digest(b"registratie A-1\n")
    # Rewritten in place (same inode), same size, and its modification time set back.
    with feed.open("r+b") as handle:
        handle.write(b"registratie A-2\n")
    os.utime(feed, ns=(before.st_atime_ns, before.st_mtime_ns))
    after = feed.stat()
    assert (after.st_ino, after.st_size, after.st_mtime_ns) == (before.st_ino, before.st_size, before.st_mtime_ns)
    assert cache.sha256(feed) == digest(b"registratie A-2\n")
    assert reads == [feed, feed]


def test_a_file_replaced_under_its_name_is_hashed_anew(tmp_path, reads) -> None:
    feed = delivered(tmp_path / "feed.ndjson", b"registratie A-1\n")
    before = feed.stat()
    cache = HashCache(tmp_path / "file-hashes.json")
    cache.sha256(feed)
    replacement = delivered(tmp_path / "incoming.tmp", b"registratie A-2\n")
    os.utime(replacement, ns=(before.st_atime_ns, before.st_mtime_ns))
    replacement.replace(feed)
    assert cache.sha256(feed) == digest(b"registratie A-2\n")
    assert len(reads) == 2


def test_a_file_changed_just_now_is_not_remembered(tmp_path, reads, monkeypatch) -> None:
    monkeypatch.setattr(hash_cache, "SETTLE_SECONDS", 60.0)
    feed = tmp_path / "feed.ndjson"
    feed.write_bytes(b"still being delivered\n")
    cache = HashCache(tmp_path / "file-hashes.json")
    cache.sha256(feed)
    cache.sha256(feed)
    assert reads == [feed, feed]


def test_a_file_that_changes_while_it_is_read_is_not_remembered(tmp_path, reads, monkeypatch) -> None:
    feed = delivered(tmp_path / "feed.ndjson", b"part one\n")
    real = hash_cache.sha256_of

    def appended_meanwhile(path: Path) -> str:
        value = real(path)
        with path.open("ab") as handle:
            handle.write(b"part two\n")
        return value

    monkeypatch.setattr(hash_cache, "sha256_of", appended_meanwhile)
    cache = HashCache(tmp_path / "file-hashes.json")
    cache.sha256(feed)
    assert cache.entries == {}


def test_forgotten_hashes_are_read_again(tmp_path, reads) -> None:
    loaded = delivered(tmp_path / "loaded.ndjson", b"loaded\n")
    failed = delivered(tmp_path / "failed.ndjson", b"failed\n")
    cache = HashCache(tmp_path / "file-hashes.json")
    cache.sha256(loaded)
    cache.sha256(failed)
    cache.keep_only({digest(b"loaded\n")})
    assert cache.digests() == {digest(b"loaded\n")}
    cache.sha256(loaded)
    cache.sha256(failed)
    assert reads == [loaded, failed, failed]


@pytest.mark.parametrize("content", ["not json", "[1, 2]", '{"/x": {"stamp": {"size": 1}, "sha256": "00"}}'])
def test_an_unreadable_store_only_costs_hashing(tmp_path, reads, content) -> None:
    feed = delivered(tmp_path / "feed.ndjson", b"data\n")
    store = tmp_path / "file-hashes.json"
    store.write_text(content)
    cache = HashCache(store)
    assert cache.sha256(feed) == digest(b"data\n")
    cache.save()
    assert list(json.loads(store.read_text())) == [str(feed.resolve())]


def test_a_store_that_cannot_be_written_is_no_error(tmp_path, reads) -> None:
    feed = delivered(tmp_path / "feed.ndjson", b"data\n")
    blocked = tmp_path / "not-a-folder"
    blocked.write_text("a file where the home folder should be")
    cache = HashCache(blocked / "file-hashes.json")
    cache.sha256(feed)
    cache.save()
    assert blocked.read_text() == "a file where the home folder should be"
