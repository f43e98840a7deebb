"""Prepared parts waiting for their load, on disk, encrypted under a key that lives only in memory.

A prepared part holds no clear identifying value (`sources.prepare`): its registrations and linkage
input carry keyed pseudonyms and encodings, its vault rows and quarantined values are sealed under
the vault key, and its identities carry the person subkey, from which its new persons' ids are
made. It is encrypted all the same: keyed pseudonyms are still personal data, linkable to the
warehouse's rows, and the subkey is key material that never lies on disk. Each spool has its own
random AES-GCM key, held by the processes that write and read it and by nothing else, and its
folder and files are private to the user. A spool that a killed run left behind can be read by no
one and is removed by the next run; a run holds a lock on its spool's folder while it lives, so the
spool of a live run is never taken for an abandoned one, even from another container or machine
that shares the home folder (the lock is `flock`, which Linux also honours on NFS).

A part is pickled (protocol 5). Its large columns leave the pickle as out-of-band buffers, written
as they lie in memory and read back into memory of their size; the rest, the pickle's head (the
part's Python objects, such as its sealed vault entries: a hundred megabytes for a large part), is
sealed as the pickler makes it and unpickled as it is opened. Neither a copy of a whole part nor a
whole head is held on the way in or out: at most a chunk of it. (pandas pickles an Arrow-backed
column as a copy of its Arrow data, made to leave out what a slice does not use; a column held
whole in one array goes as it lies instead, else the copies of all the part's text columns were
held until its last buffer was written: 300 MB for a part of 324,000 records.)

A spooled part's file is a run of sealed records, each `kind (1 byte) | length (8) | nonce (12) |
AES-GCM ciphertext and tag (length bytes)`, its associated data the part's name, the record's number
(from 1) and its kind:

- head records (`h`): the pickle's head, in chunks of `_CHUNK` bytes (the last one may be shorter);
- one trailer record (`t`): the sizes of the out-of-band buffers, known once the head is made;
- buffer records (`b`): each buffer in turn, in chunks of `_CHUNK` bytes.

The reader passes over the head records by their frames, opens the trailer, reads the buffers,
then unpickles the head from the start of the file, one record at a time. A record moved, dropped,
swapped, altered or taken from another part, and a file cut short or extended, fail the record's
authentication or the checks of its kind, its size and the file's end: `SpoolBroken`, with no
value in its message. The format lives as long as its run's spool: nothing else reads it.
"""

from __future__ import annotations

import copyreg
import fcntl
import io
import os
import pickle
import secrets
import shutil
import struct
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from pandas.arrays import ArrowExtensionArray

from config.private_files import make_private_dir

_CHUNK = 16 * 2**20  # plaintext bytes per sealed record
_NONCE = 12
_TAG = 16
_FRAME = struct.Struct("<cQ")  # a record's kind and the length of its ciphertext
_SIZE = struct.Struct("<Q")  # an out-of-band buffer's size, in the trailer
_HEAD, _TRAILER, _BUFFER = b"h", b"t", b"b"


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
        writing = self._path(name + ".writing")
        try:
            with open(os.open(writing, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), "wb") as file:
                records = _Records(AESGCM(self.key), name)
                head = _HeadWriter(file, records)
                buffers: list[pickle.PickleBuffer] = []
                _Pickler(head, protocol=5, buffer_callback=buffers.append).dump(value)
                head.end()
                views = [buffer.raw() for buffer in buffers]
                records.write(file, _TRAILER, b"".join(_SIZE.pack(view.nbytes) for view in views))
                for view in views:
                    for start in range(0, view.nbytes, _CHUNK):
                        records.write(file, _BUFFER, view[start : start + _CHUNK])
            os.replace(writing, self._path(name))
        except BaseException:
            writing.unlink(missing_ok=True)  # half a part: of no use to anyone
            raise

    def take(self, name: str) -> object:
        """The value written under `name`; SpoolBroken when it cannot be read back whole."""
        cipher = AESGCM(self.key)
        try:
            with open(self._path(name), "rb") as file:
                records = _Records(cipher, name)
                head_records = records.skip(file, _HEAD)
                sizes = [size for (size,) in _SIZE.iter_unpack(records.open(file, _TRAILER))]
                buffers = [records.fill(file, bytearray(size)) for size in sizes]
                if file.read(1):
                    raise SpoolBroken("a spooled part is longer than written")
                file.seek(0)
                head = io.BufferedReader(_HeadReader(file, _Records(cipher, name), head_records))
                return pickle.Unpickler(head, buffers=buffers).load()
        except (OSError, InvalidTag, struct.error) as error:
            raise SpoolBroken(f"a spooled part cannot be read back ({type(error).__name__})") from None

    def has(self, name: str) -> bool:
        return self._path(name).exists()

    def drop(self, name: str) -> None:
        self._path(name).unlink(missing_ok=True)


class _Pickler(pickle.Pickler):
    """Pickles an Arrow-backed pandas array that is one whole Arrow array (no slice of a larger
    one) as pandas does, but without its copy of the array: the array's own buffers go out of band."""

    def reducer_override(self, obj: object) -> object:
        if isinstance(obj, ArrowExtensionArray) and type(obj).__getstate__ is ArrowExtensionArray.__getstate__:
            chunks = obj._pa_array
            if chunks.num_chunks == 1:
                array = chunks.chunk(0)
                # Not a slice: its buffers hold hardly more than its values (at most 1 % more, as
                # `nbytes` leaves out a few bytes: a text array's last offset).
                if array.offset == 0 and array.get_total_buffer_size() <= array.nbytes + array.nbytes // 100 + 64:
                    # The state pandas' __getstate__ makes, with the array itself for its compacted copy.
                    return copyreg.__newobj__, (type(obj),), {**obj.__dict__, "_pa_array": array, "_cache": {}}
        return NotImplemented


class _Records:
    """The sealed records of one spooled part, numbered: none can be moved, dropped or swapped,
    nor pass for a record of another kind or part."""

    def __init__(self, cipher: AESGCM, name: str) -> None:
        self._cipher, self._name, self._number = cipher, name.encode("utf-8"), 0

    def _context(self, kind: bytes) -> bytes:
        self._number += 1
        return b"/".join((self._name, str(self._number).encode("ascii"), kind))

    def write(self, file: BinaryIO, kind: bytes, plaintext: memoryview | bytes) -> None:
        nonce = secrets.token_bytes(_NONCE)
        sealed = self._cipher.encrypt(nonce, plaintext, self._context(kind))
        file.write(_FRAME.pack(kind, len(sealed)) + nonce)
        file.write(sealed)

    def _frame(self, file: BinaryIO) -> tuple[bytes, int]:
        """The next record's kind and the length of its nonce and ciphertext."""
        kind, length = _FRAME.unpack(_read(file, _FRAME.size))
        if _NONCE + length > _left(file):  # checked before anything that size is read or sought
            raise SpoolBroken("a spooled part is shorter than written")
        return kind, _NONCE + length

    def skip(self, file: BinaryIO, kind: bytes) -> int:
        """Pass over the records of `kind` from here, unopened (each is opened later, in its
        turn); how many there are. The file is left at the first record of another kind."""
        count = 0
        while (frame := self._frame(file))[0] == kind:
            file.seek(frame[1], os.SEEK_CUR)
            self._number += 1
            count += 1
        file.seek(-_FRAME.size, os.SEEK_CUR)
        return count

    def _next(self, file: BinaryIO, kind: bytes) -> tuple[bytes, bytes, bytes]:
        """The next record's nonce, ciphertext and associated data; it must be of `kind`."""
        found, length = self._frame(file)
        if found != kind:
            raise SpoolBroken("a spooled part's records are out of order")
        return _read(file, _NONCE), _read(file, length - _NONCE), self._context(kind)

    def open(self, file: BinaryIO, kind: bytes) -> bytes:
        """The next record's plaintext, which must be of `kind`."""
        return self._cipher.decrypt(*self._next(file, kind))

    def fill(self, file: BinaryIO, into: bytearray) -> bytearray:
        """`into`, filled from the next buffer records: each decrypted where its chunk lies."""
        view = memoryview(into)
        for start in range(0, len(into), _CHUNK):
            nonce, sealed, context = self._next(file, _BUFFER)
            chunk = view[start : start + _CHUNK]
            if len(chunk) != len(sealed) - _TAG:
                raise SpoolBroken("a spooled part's chunk has the wrong size")
            self._cipher.decrypt_into(nonce, sealed, context, chunk)
        return into


class _HeadWriter:
    """Where the pickler writes the head: sealed a chunk at a time, as each chunk fills."""

    def __init__(self, file: BinaryIO, records: _Records) -> None:
        self._file, self._records = file, records
        self._chunk, self._filled = bytearray(_CHUNK), 0

    def write(self, data: bytes) -> int:
        view = memoryview(data).cast("B")
        written = view.nbytes
        while view:
            if not self._filled and len(view) >= _CHUNK:  # a whole chunk of the pickler's own: sealed where it lies
                self._records.write(self._file, _HEAD, view[:_CHUNK])
                view = view[_CHUNK:]
                continue
            taken = min(_CHUNK - self._filled, len(view))
            self._chunk[self._filled : self._filled + taken] = view[:taken]
            self._filled += taken
            view = view[taken:]
            if self._filled == _CHUNK:
                self.end()
        return written

    def end(self) -> None:
        """Seal what the chunk holds (the head's last record, once the pickler is done)."""
        if self._filled:
            self._records.write(self._file, _HEAD, memoryview(self._chunk)[: self._filled])
            self._filled = 0


class _HeadReader(io.RawIOBase):
    """Where the unpickler reads the head (through a buffered reader): `count` head records from
    the start of the file, opened one at a time as the last is used up."""

    def __init__(self, file: BinaryIO, records: _Records, count: int) -> None:
        super().__init__()
        self._file, self._records, self._left = file, records, count
        self._plain, self._at = b"", 0

    def readable(self) -> bool:
        return True

    def readinto(self, into: memoryview) -> int:
        if self._at == len(self._plain):
            if not self._left:
                return 0
            self._plain, self._at = self._records.open(self._file, _HEAD), 0
            self._left -= 1
        view = memoryview(into).cast("B")
        taken = min(len(view), len(self._plain) - self._at)
        view[:taken] = memoryview(self._plain)[self._at : self._at + taken]
        self._at += taken
        return taken


def _read(file: BinaryIO, size: int) -> bytes:
    data = file.read(size)
    if len(data) != size:
        raise SpoolBroken("a spooled part is shorter than written")
    return data


def _left(file: BinaryIO) -> int:
    """The bytes after the file's position."""
    return os.fstat(file.fileno()).st_size - file.tell()


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
