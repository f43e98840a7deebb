"""Everything the product writes is private to its user: files 0600, folders 0700.

The warehouse's SQLite file (vault tables and name encodings included), its `-wal`, Prefect's
database, reports and key files are created by many hands: SQLite, Prefect's server process,
pandas, Python's `open`. One process-wide file mode creation mask (umask 077) covers them all, and
the processes they start inherit it; it is set by every command (the console script) and by every
flow a Prefect worker runs (`flows/__init__.py`). Folders the product creates are also set to
0700 explicitly, whatever mask the process had. What already lies under the home folder with
looser permissions is not changed silently: every command warns about it, once.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Iterable, Iterator
from pathlib import Path

PRIVATE_UMASK = 0o077
FOLDER_MODE = 0o700
_OTHERS = 0o077  # any permission for the group or for others


def restrict() -> None:
    """From now on, files and folders this process (and what it starts) creates are private."""
    os.umask(PRIVATE_UMASK)


def make_private_dir(path: Path) -> Path:
    """Create `path` and any missing parents, each 0700 (existing folders are left as they are)."""
    missing = [folder for folder in (path, *path.parents) if not folder.exists()]
    path.mkdir(parents=True, exist_ok=True, mode=FOLDER_MODE)
    for folder in missing:
        os.chmod(folder, FOLDER_MODE)
    return path


def exposed(roots: Iterable[Path]) -> Iterator[Path]:
    """Files and folders under each root (the root included) that the group or others may read,
    write or enter; links are not followed (their own mode means nothing)."""
    for root in roots:
        if not root.exists():
            continue
        for folder, folders, files in os.walk(root):
            for path in (Path(folder), *(Path(folder) / name for name in files)):
                try:
                    mode = path.lstat().st_mode
                except OSError:  # gone meanwhile
                    continue
                if not stat.S_ISLNK(mode) and mode & _OTHERS:
                    yield path
            folders[:] = [name for name in folders if not (Path(folder) / name).is_symlink()]


def exposure_warning(home: Path, prefect_home: Path) -> str | None:
    """One line for the operator when anything under the home (or Prefect's home) is open to others, else None."""
    roots = [home] + ([prefect_home] if not prefect_home.is_relative_to(home) else [])
    found = list(exposed(roots))
    if not found:
        return None
    # Name the places by their top folder only: deeper names (inbox files) come from sources.
    places = sorted({_top(path, roots) for path in found})
    shown = ", ".join(places[:6]) + (", ..." if len(places) > 6 else "")
    return (
        f"{len(found):,} file(s) or folder(s) under {', '.join(str(root) for root in roots)} can be read or entered by other "
        f"users ({shown}): they may hold personal data; make them private with `chmod -R go= <folder>`"
    )


def _top(path: Path, roots: list[Path]) -> str:
    for root in roots:
        if path == root:
            return str(root)
        if path.is_relative_to(root):
            first = path.relative_to(root).parts[0]
            return f"{root / first}/" if (root / first).is_dir() else str(root / first)
    return str(path)
