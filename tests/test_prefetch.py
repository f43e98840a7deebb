"""The next part is prepared in a worker thread while the caller loads the current one."""

from __future__ import annotations

import contextvars
import threading

import pytest

from flows.prefetch import prefetched

_CALLER = contextvars.ContextVar("caller", default=None)


def test_items_arrive_in_order_and_are_produced_while_the_caller_works() -> None:
    second_started = threading.Event()

    def produce():
        yield 1
        second_started.set()  # reached only if the worker runs ahead of the caller
        yield 2
        yield 3

    seen = []
    for item in prefetched(produce()):
        if item == 1:
            # The caller still holds item 1: the worker must already be producing item 2.
            assert second_started.wait(timeout=10)
        seen.append(item)
    assert seen == [1, 2, 3]


def test_the_worker_sees_the_callers_context() -> None:
    """Prefect finds its task run in context variables: produced items see the caller's."""
    _CALLER.set("load task")

    def produce():
        yield _CALLER.get(), threading.current_thread().name

    ((caller, thread),) = list(prefetched(produce()))
    assert caller == "load task" and thread.startswith("prefetch")


def test_an_error_while_producing_reaches_the_caller_at_that_item() -> None:
    def produce():
        yield "part 1"
        raise ValueError("part 2 is broken")

    received = []
    with pytest.raises(ValueError, match="part 2 is broken"):
        for item in prefetched(produce()):
            received.append(item)
    assert received == ["part 1"]


def test_a_caller_that_fails_stops_the_worker_and_closes_the_source() -> None:
    closed = threading.Event()
    produced = []

    def produce():
        try:
            for number in range(100):
                produced.append(number)
                yield number
        finally:
            closed.set()

    with pytest.raises(RuntimeError):
        for item in prefetched(produce()):
            if item == 1:
                raise RuntimeError("the load failed")
    assert closed.is_set()
    # At most one item beyond the failing one was produced, then nothing more.
    assert produced == [0, 1, 2]
