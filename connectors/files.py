"""What every connector needs: content hashes and a refusal that never quotes file content."""

from __future__ import annotations

import hashlib
from pathlib import Path

_CHUNK = 1 << 20


class FileRejected(Exception):
    """A file that cannot be loaded as a whole. The message is safe to log: it names the problem,
    never a value from the file."""


def sha256_of(path: Path) -> str:
    """Hex SHA-256 of a file's bytes, read in chunks so large files use little memory."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def check_size(path: Path, max_bytes: int) -> None:
    """Refuse a file larger than the configured cap before reading any of it."""
    size = path.stat().st_size
    if size > max_bytes:
        raise FileRejected(
            f"file is {size / 2**20:,.2f} MB, over the cap of {max_bytes / 2**20:,.2f} MB "
            "(raise VICTIM_INTAKE_MAX_FILE_MB if this delivery is genuine)"
        )
