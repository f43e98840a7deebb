"""Report files are private to their user (0600, folders 0700) until someone shares them on purpose:
a draft or an internal report holds what a published one suppresses."""

from __future__ import annotations

import os
from pathlib import Path


def private_folder(folder: Path) -> None:
    """Create the folder (0700) if it is missing; an existing folder is left as it is."""
    folder.mkdir(parents=True, exist_ok=True, mode=0o700)


def write_private(path: Path, text: str) -> None:
    """Write UTF-8 text to a file readable by its owner only."""
    private_folder(path.parent)
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    os.fchmod(descriptor, 0o600)
    with open(descriptor, "w", encoding="utf-8", newline="") as handle:
        handle.write(text)
