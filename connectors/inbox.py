"""What the inbox may hold: regular files in real folders, `<inbox>/<folder>/<name>`.

A symbolic link (to a file or to a whole folder) would make the pipeline read whatever it points
to, anywhere on the machine; a FIFO would block a read forever, a device would feed it without end.
So discovery takes regular files in real folders only, never following a link, and every other
entry is refused with a reason the steward sees in the run's summary. Readers open files with
`connectors.files.open_delivered`, which refuses a link swapped in after discovery.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

LINK = "a symbolic link: the inbox takes regular files in real folders only, so nothing it points to is read"
SPECIAL = "not a regular file (a FIFO, socket or device): refused"


@dataclass(frozen=True)
class Refused:
    """An inbox entry that is not read, and why. `folder` is the inbox folder it lies in ("" at the
    top of the inbox); `name` is the entry's own name, as the source wrote it."""

    folder: str
    name: str
    reason: str


def _entries(folder: Path) -> list[os.DirEntry]:
    """The folder's entries in name order; none when it is not a real folder (a link to one is not followed)."""
    if not folder.is_dir() or folder.is_symlink():
        return []
    with os.scandir(folder) as scan:
        return sorted(scan, key=lambda entry: entry.name)


def _refusal(entry: os.DirEntry) -> str | None:
    """Why an entry is refused (without following it), or None for a regular file or a real folder."""
    if entry.is_symlink():
        return LINK
    if entry.is_file(follow_symlinks=False) or entry.is_dir(follow_symlinks=False):
        return None
    return SPECIAL


def regular_files(folder: Path) -> list[Path]:
    """The regular files of a real folder, in name order (links and special files left out)."""
    return [Path(entry.path) for entry in _entries(folder) if entry.is_file(follow_symlinks=False) and not entry.is_symlink()]


def real_folders(inbox: Path) -> list[Path]:
    """The real folders at the top of the inbox, in name order (links to folders left out)."""
    return [Path(entry.path) for entry in _entries(inbox) if entry.is_dir(follow_symlinks=False) and not entry.is_symlink()]


def refused_entries(inbox: Path) -> list[Refused]:
    """Every entry at the top of the inbox or in one of its folders that is neither a regular file
    nor a real folder. Folders within the inbox's folders are not read, and not reported."""
    refused = [Refused("", entry.name, reason) for entry in _entries(inbox) if (reason := _refusal(entry))]
    for folder in real_folders(inbox):
        refused += [Refused(folder.name, entry.name, reason) for entry in _entries(folder) if (reason := _refusal(entry))]
    return refused
