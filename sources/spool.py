"""Prepared parts waiting for their load, on disk, encrypted under a key that lives only in memory.

A prepared part still holds the vault plaintext (sealed by the load, once the person is known), so
it never lies on disk in clear: each spool has its own random AES-GCM key, held by the processes
that write and read it and by nothing else, and its folder and files are private to the user. A
spool that a killed run left behind can be read by no one and is removed by the next run; a run
holds a lock on its spool's folder while it lives, so the spool of a live run is never taken for
an abandoned one, even from another container or machine that shares the home folder (the lock is
`flock`, which Linux also honours on NFS).

A part is pickled (protocol 5) with its large columns as out-of-band buffers, written as they lie
in memory, in chunks: no copy of a whole part is made on the way in or out.
"""

from __future__ import annotations

import fcntl
import os
import pickle
import secrets
import shutil
import struct
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from config.private_files import make_private_dir

_CHUNK = 16 * 2**20  # plaintext bytes per sealed record
_NONCE = 12
_LENGTH = struct.Struct("<Q")


class SpoolBroken(Exception):
    """A spooled part is missing, truncated or altered."""


@dataclass(frozen=True)
class Spool:
    """A private folder of encrypted parts, named by the caller."""

    folder: Path
    key: bytes

    def _path(self, name: str) -> Path:
        return self.folder / name

    def put(self, name: str, value: object) -> None:
        """Write `value` under `name` (whole or not at all: readers never see half a part)."""
        buffers: list[pickle.PickleBuffer] = []
        head = pickle.dumps(value, protocol=5, buffer_callback=buffers.append)
        views = [memoryview(head), *(buffer.raw() for buffer in buffers)]
        writing = self._path(name + ".writing")
        try:
            with open(os.open(writing, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), "wb") as file:
                records = _Records(AESGCM(self.key), name)
                file.write(records.seal(struct.pack(f"<Q{len(views)}Q", len(views), *(view.nbytes for view in views))))
                for view in views:
                    for start in range(0, view.nbytes, _CHUNK):
                        file.write(records.seal(view[start : start + _CHUNK]))
            os.replace(writing, self._path(name))
        except BaseException:
            writing.unlink(missing_ok=True)  # half a part: of no use to anyone
            raise

    def take(self, name: str) -> object:
        """The value written under `name`; SpoolBroken when it cannot be read back whole."""
        try:
            with open(self._path(name), "rb") as file:
                records = _Records(AESGCM(self.key), name)
                header = records.open(file)
                (count,) = struct.unpack_from("<Q", header)
                sizes = struct.unpack_from(f"<{count}Q", header, 8)
                head, *buffers = (records.fill(file, bytearray(size)) for size in sizes)
                if file.read(1):
                    raise SpoolBroken("a spooled part is longer than written")
        except (OSError, InvalidTag, struct.error) as error:
            raise SpoolBroken(f"a spooled part cannot be read back ({type(error).__name__})") from None
        return pickle.loads(head, buffers=buffers)

    def has(self, name: str) -> bool:
        return self._path(name).exists()

    def drop(self, name: str) -> None:
        self._path(name).unlink(missing_ok=True)


class _Records:
    """The sealed records of one spooled part, numbered: none can be moved, dropped or swapped."""

    def __init__(self, cipher: AESGCM, name: str) -> None:
        self._cipher, self._name, self._number = cipher, name.encode("utf-8"), 0

    def _context(self) -> bytes:
        self._number += 1
        return self._name + b"/" + str(self._number).encode("ascii")

    def seal(self, plaintext: memoryview | bytes) -> bytes:
        nonce = secrets.token_bytes(_NONCE)
        sealed = self._cipher.encrypt(nonce, plaintext, self._context())
        return _LENGTH.pack(len(sealed)) + nonce + sealed

    def open(self, file) -> bytes:
        (length,) = _LENGTH.unpack(_read(file, _LENGTH.size))
        nonce = _read(file, _NONCE)
        return self._cipher.decrypt(nonce, _read(file, length), self._context())

    def fill(self, file, into: bytearray) -> bytearray:
        for start in range(0, len(into), _CHUNK):
            chunk = self.open(file)
            if len(chunk) != min(_CHUNK, len(into) - start):
                raise SpoolBroken("a spooled part's chunk has the wrong size")
            into[start : start + len(chunk)] = chunk
        return into


def _read(file, size: int) -> bytes:
    data = file.read(size)
    if len(data) != size:
        raise SpoolBroken("a spooled part is shorter than written")
    return data


def _held(folder: Path) -> int | None:
    """Take the run's lock on its own spool folder: an open descriptor with an exclusive `flock`,
    held as long as the process lives (the kernel drops it when the process ends, however it
    ends); None when another process holds it."""
    descriptor = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
    try:
        fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(descriptor)
        return None
    return descriptor


def _remove_abandoned(parent: Path) -> None:
    """Remove the spools whose run is gone (killed): nobody can read them any more. A run holds
    the lock on its folder while it lives, whatever pid namespace or machine it runs in (where the
    home folder is shared), so a folder whose lock can be taken is abandoned."""
    for folder in parent.glob("run-*"):
        try:
            descriptor = _held(folder)
        except OSError:  # removed meanwhile by another run's clean-up
            continue
        if descriptor is not None:
            shutil.rmtree(folder, ignore_errors=True)
            os.close(descriptor)


@contextmanager
def spool_in(parent: Path) -> Iterator[Spool]:
    """A new spool in a private folder under `parent`, removed with everything in it at the end."""
    make_private_dir(parent)
    _remove_abandoned(parent)
    name = f"{os.getpid()}-{secrets.token_hex(8)}"
    # Made under a name the clean-up passes over, and locked before it gets its own: no other
    # run ever sees it unlocked.
    making = parent / f".making-{name}"
    making.mkdir(mode=0o700)
    descriptor = _held(making)
    folder = parent / f"run-{name}"
    os.replace(making, folder)
    try:
        yield Spool(folder, AESGCM.generate_key(bit_length=256))
    finally:
        shutil.rmtree(folder, ignore_errors=True)
        os.close(descriptor)
