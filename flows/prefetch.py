"""Prepare the next part of a file while the current one loads.

A part's preparation (parse, validate, pseudonymise, keyed encodings) needs no database, and a
load spends much of its time in the database driver, which releases the GIL; on two cores the
two overlap. One part is prepared ahead, never more, so at most two parts are in memory.
"""

from __future__ import annotations

import contextvars
from collections.abc import Generator, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

Item = TypeVar("Item")
_DONE = object()


def prefetched(items: Generator[Item, None, None]) -> Iterator[Item]:
    """The items of `items`, each produced in a worker thread while the caller handles the one before.

    The worker runs in a copy of the caller's context, so Prefect tasks called while producing an
    item are recorded as children of the caller's task run. An exception raised while producing
    reaches the caller at the item it would have produced. When the caller stops early (or
    fails), the item being produced is finished and discarded, and `items` is closed.
    """
    context = contextvars.copy_context()
    try:
        with ThreadPoolExecutor(max_workers=1, thread_name_prefix="prefetch") as worker:
            pending = worker.submit(context.run, next, items, _DONE)
            while (item := pending.result()) is not _DONE:
                pending = worker.submit(context.run, next, items, _DONE)
                yield item
    finally:
        # The worker has stopped (the pool waited for it), so the generator is no longer running.
        items.close()
