"""Per-file progress of a run, for a caller in the same process (the command line's progress bar).

Listeners receive counts and file names only, never data; a run without listeners costs nothing.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager

Listener = Callable[[int, int, str], None]  # (files done, files to do, file just done)
_listeners: list[Listener] = []


@contextmanager
def listening(listener: Listener) -> Iterator[None]:
    """Call `listener` after each file of any run in this process, while the block runs."""
    _listeners.append(listener)
    try:
        yield
    finally:
        _listeners.remove(listener)


def file_done(done: int, total: int, file_name: str) -> None:
    for listener in _listeners:
        listener(done, total, file_name)
