"""SHA-256 of inbox files, remembered between runs for files that have not changed since.

Files are identified by their content, so every run needs the SHA-256 of every file in the inbox,
and an inbox that keeps its deliveries would be read in full every night. A file's remembered hash
is used only while its path, device, inode, size, modification time and status-change time
(`ctime`) are all what they were when it was hashed. Any change of content changes `mtime` and
`ctime`; setting `mtime` back (`touch -d`, `cp -p`, `rsync -t`) changes `ctime` again, and no
program can set `ctime` short of setting the system clock back (the kernel stamps it with the
current time); a file put in its place under the same name is another inode or, if the number is
reused, has a newer `ctime`. A write in the same clock tick as the stat would leave both times as
they were, so a hash is remembered only for a file whose last change lies `SETTLE_SECONDS` before
the hashing began and whose stat did not change while it was read. A file that does not qualify
is simply hashed again next time.
"""

from __future__ import annotations

import contextlib
import json
import os
import time
from dataclasses import asdict, dataclass
from pathlib import Path

from connectors.files import sha256_of

# Far above any file system's timestamp granularity (FAT: 2 s) and clock steps between a network
# file server and this machine; a delivery is normally hours old when the nightly run sees it.
SETTLE_SECONDS = 60.0


@dataclass(frozen=True)
class Stamp:
    """What must be unchanged for a remembered hash to be used."""

    device: int
    inode: int
    size: int
    mtime_ns: int
    ctime_ns: int

    @classmethod
    def of(cls, path: Path) -> Stamp:
        status = os.lstat(path)  # of the entry itself: a link is never taken for the file it points to
        return cls(status.st_dev, status.st_ino, status.st_size, status.st_mtime_ns, status.st_ctime_ns)


class HashCache:
    """Remembered hashes, kept in one JSON file; losing or corrupting it only costs re-hashing."""

    def __init__(self, store: Path) -> None:
        self.store = store
        self.entries: dict[str, tuple[Stamp, str]] = {}
        self.changed = False
        try:
            raw = json.loads(store.read_text(encoding="utf-8"))
            for path, entry in raw.items():
                self.entries[path] = (Stamp(**entry["stamp"]), str(entry["sha256"]))
        except (OSError, ValueError, TypeError, KeyError, AttributeError):
            # Missing (first run) or unreadable: every file is hashed, and the file written anew.
            self.entries = {}

    def digests(self) -> set[str]:
        """Every remembered hash."""
        return {digest for _, digest in self.entries.values()}

    def keep_only(self, digests: set[str]) -> None:
        """Forget the hashes not in `digests`: those files are hashed again when asked for."""
        self.entries = {path: entry for path, entry in self.entries.items() if entry[1] in digests}

    def sha256(self, path: Path) -> str:
        """The file's SHA-256: remembered if the file is unchanged, otherwise read and hashed."""
        key = str(path.resolve())
        started = time.time_ns()
        stamp = Stamp.of(path)
        remembered = self.entries.get(key)
        if remembered is not None and remembered[0] == stamp:
            return remembered[1]
        digest = sha256_of(path)
        settled = max(stamp.mtime_ns, stamp.ctime_ns) <= started - int(SETTLE_SECONDS * 1e9)
        if settled and Stamp.of(path) == stamp:
            self.entries[key] = (stamp, digest)
        else:
            self.entries.pop(key, None)
        self.changed = True
        return digest

    def save(self) -> None:
        """Write the remembered hashes of files that still exist; a failure to write is harmless."""
        if not self.changed:
            return
        kept = {path: {"stamp": asdict(stamp), "sha256": digest} for path, (stamp, digest) in self.entries.items() if os.path.exists(path)}
        partial = self.store.with_name(f".{self.store.name}.{os.getpid()}")
        try:
            self.store.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
            with open(os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), "w", encoding="utf-8") as handle:
                json.dump(kept, handle)
            # Atomic: two runs at once each write a whole file, the last one wins.
            os.replace(partial, self.store)
        except OSError:
            # A read-only or full home folder: the next run hashes the files again.
            with contextlib.suppress(OSError):
                partial.unlink(missing_ok=True)
