"""Retry policy of the load tasks: transient database errors only, with exponential back-off.

A load is one transaction, so a failed attempt left nothing behind and another attempt is safe.
A bad manifest, a corrupt file or a contract violation fails at once: retrying cannot fix it.
"""

from __future__ import annotations

from prefect.tasks import exponential_backoff

from flows.errors import TransientDatabaseError


def retry_when_transient(_task, _task_run, state) -> bool:
    """Retry only what may pass by itself (database unreachable, lock timeout, deadlock)."""
    return isinstance(state.data, TransientDatabaseError)


LOAD_RETRIES = {
    "retries": 3,
    "retry_delay_seconds": exponential_backoff(backoff_factor=2),
    "retry_jitter_factor": 0.5,
    "retry_condition_fn": retry_when_transient,
}
