"""What every connector needs: content hashes, opening a delivered file without following links,
and a refusal that never quotes file content."""

from __future__ import annotations

import errno
import hashlib
import os
import stat
from pathlib import Path
from typing import BinaryIO

_CHUNK = 1 << 20
_NO_FOLLOW = getattr(os, "O_NOFOLLOW", 0)
# Opening a FIFO for reading would wait for a writer: with O_NONBLOCK it opens at once, and is
# then refused for what it is. On a regular file the flag changes nothing.
_FILE_FLAGS = os.O_RDONLY | _NO_FOLLOW | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0)
_INBOX_FLAGS = os.O_RDONLY | getattr(os, "O_DIRECTORY", 0) | getattr(os, "O_CLOEXEC", 0)
_FOLDER_FLAGS = _INBOX_FLAGS | _NO_FOLLOW
NOT_REGULAR = "not a regular file (a symbolic link, folder, FIFO, socket or device): the inbox takes regular files only"


class FileRejected(Exception):
    """A file that cannot be loaded as a whole. The message is safe to log: it names the problem,
    never a value from the file."""


def open_delivered(path: Path) -> BinaryIO:
    """Open a delivered file, `<inbox>/<folder>/<name>`, for reading, refusing a symbolic link as
    the file or as its folder, and anything but a regular file.

    The checks are made by the opening itself (O_NOFOLLOW, and the file opened relative to its
    folder, itself opened without following a link, where the platform allows), so a link swapped
    in after discovery cannot slip through between a check and the open. The inbox folder itself
    may be a link: it is configured, not delivered.
    """
    path = Path(os.path.abspath(path))  # made absolute without resolving any link
    try:
        if os.open in os.supports_dir_fd and _NO_FOLLOW:
            inbox = os.open(path.parent.parent, _INBOX_FLAGS)
            try:
                folder = os.open(path.parent.name, _FOLDER_FLAGS, dir_fd=inbox)
            finally:
                os.close(inbox)
            try:
                descriptor = os.open(path.name, _FILE_FLAGS, dir_fd=folder)
            finally:
                os.close(folder)
        else:
            descriptor = os.open(path, _FILE_FLAGS)
    except OSError as error:
        if error.errno in (errno.ELOOP, errno.ENOTDIR, errno.EMLINK):  # a link where a file or folder should be
            raise FileRejected(NOT_REGULAR) from None
        raise
    if not stat.S_ISREG(os.fstat(descriptor).st_mode):
        os.close(descriptor)
        raise FileRejected(NOT_REGULAR)
    return os.fdopen(descriptor, "rb")


def sha256_of(path: Path) -> str:
    """Hex SHA-256 of a delivered file's bytes, read in chunks so large files use little memory."""
    digest = hashlib.sha256()
    with open_delivered(path) as handle:
        while chunk := handle.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def copy_delivered(path: Path, destination: Path, max_bytes: int) -> str:
    """Copy a delivered file, opened as `open_delivered` opens it and refused over `max_bytes`, to
    `destination` (created 0600, and never an existing file or link); return the SHA-256 of the
    bytes copied. Hashing what is copied in the same read makes the copy the content hashed,
    whatever is swapped in at `path` afterwards."""
    digest = hashlib.sha256()
    with open_delivered(path) as source:
        check_size(source, max_bytes)
        descriptor = os.open(destination, os.O_WRONLY | os.O_CREAT | os.O_EXCL | _NO_FOLLOW | getattr(os, "O_CLOEXEC", 0), 0o600)
        with os.fdopen(descriptor, "wb") as target:
            while chunk := source.read(_CHUNK):
                digest.update(chunk)
                target.write(chunk)
    return digest.hexdigest()


def check_size(handle: BinaryIO, max_bytes: int) -> None:
    """Refuse an opened file larger than the configured cap before reading any of it."""
    size = os.fstat(handle.fileno()).st_size
    if size > max_bytes:
        raise FileRejected(
            f"file is {size / 2**20:,.2f} MB, over the cap of {max_bytes / 2**20:,.2f} MB "
            "(raise VICTIM_INTAKE_MAX_FILE_MB if this delivery is genuine)"
        )
