"""The `nightly-fan-out` flow: one night's files loaded in parallel by the workers of the pool.

It discovers new deliveries as `nightly-ingest` does, starts one `ingest-file` flow run per file
(parameters: the file's SHA-256 and its path sealed under the vault key), waits for them, then refreshes the marts, closes the run and
publishes the summary once. Each file run reads, validates and pseudonymises its file in its own
process; their load transactions take the warehouse's load lock one at a time (linkage crosses
sources), and the ledger's unique index loads each file content once, whichever run gets there
first. The outcome of every file is read back from the ledger, the record both sides share.
"""

from __future__ import annotations

import time
import uuid
from pathlib import Path

from prefect import flow, get_run_logger
from prefect.client.orchestration import get_client
from prefect.client.schemas.objects import FlowRun
from prefect.deployments import run_deployment
from prefect.states import State

from flows.errors import value_free_errors
from flows.ingest_file import sealed_path
from flows.nightly import Delivery, FileResult, close_run, open_night
from flows.resources import warehouse_engine
from store.clock import utc_now
from warehouse.ledger import BatchRecord, latest_batch, record_failed_batch

INGEST_FILE = "ingest-file/ingest-file"  # flow name / deployment name, as in prefect.yaml
POLL_SECONDS = 2.0


def start_file_run(delivery: Delivery) -> FlowRun:
    """Queue the file's `ingest-file` run on the pool (a subflow of this run) without waiting."""
    parameters = {"file": sealed_path(delivery.path, delivery.sha256), "sha256": delivery.sha256}
    return run_deployment(INGEST_FILE, parameters=parameters, timeout=0)


def wait_for(runs: list[FlowRun], deadline: float) -> list[FlowRun]:
    """The runs as they ended, or as they were at the deadline (monotonic clock)."""
    latest = {run.id: run for run in runs}
    with get_client(sync_client=True) as client:
        while True:
            for run_id, run in latest.items():
                if not _ended(run):
                    latest[run_id] = client.read_flow_run(run_id)
            if all(_ended(run) for run in latest.values()) or time.monotonic() >= deadline:
                return [latest[run.id] for run in runs]
            time.sleep(POLL_SECONDS)


def _ended(run: FlowRun) -> bool:
    return run.state is not None and run.state.is_final()


def file_result(run_id: str, delivery: Delivery, file_run: FlowRun) -> FileResult:
    """What happened to one file: its ledger entry in this run, else the state its flow run ended in."""
    engine = warehouse_engine()
    name, state = Path(delivery.path).name, file_run.state
    with value_free_errors("collect results"):
        batch = latest_batch(engine, run_id, delivery.sha256)
    if batch is not None:
        # The ledger keeps no count of new rows: that column stays empty in a fan-out summary.
        return FileResult(
            name, delivery.source, batch.state, batch.rows_in, batch.rows_loaded, None, batch.rows_quarantined, batch.reason,
            batch_id=batch.batch_id, rows_ignored_older=batch.rows_ignored_older, rows_warned=batch.rows_warned,
        )
    if state is not None and state.is_completed():
        # Skipped by the file run (loaded meanwhile by another run): its message says why.
        return FileResult(name, delivery.source, "skipped", reason=state.message or "already loaded")
    # Crashed, cancelled, or not finished in time: nothing of the file is loaded. The ledger gets a
    # failed attempt so that `status` and `rerun --failed` see it. Prefect's message is left out:
    # only this project's messages are known to hold no values.
    ended = f"ended {state.type.value}" if _ended(file_run) else "had not finished"
    reason = f"file run {file_run.name} {ended} (see its logs in Prefect)"
    with value_free_errors("record failure"):
        batch_record = BatchRecord(uuid.uuid4().hex, run_id, delivery.source, name, delivery.sha256, utc_now(), delivery.path)
        record_failed_batch(engine, batch_record, reason)
    return FileResult(name, delivery.source, "failed", reason=reason, batch_id=batch_record.batch_id)


@flow(name="nightly-fan-out", description="Load new deliveries in parallel: one ingest-file run per file.", persist_result=False)
def nightly_fan_out(inbox: str | None = None, max_wait_minutes: float = 360) -> list[FileResult] | State:
    """Start one `ingest-file` run per new file, wait for all, then close the run; Failed when any file failed."""
    # The file runs find this run's id as their parent's and record their batches under it.
    run_id, new, skipped = open_night(inbox)
    logger = get_run_logger()
    logger.info("%d new file(s) fanned out to %s, %d already loaded", len(new), INGEST_FILE, len(skipped))
    started = [start_file_run(delivery) for delivery in new]
    ended = wait_for(started, time.monotonic() + max_wait_minutes * 60)
    results = [*skipped, *(file_result(run_id, delivery, run) for delivery, run in zip(new, ended, strict=True))]
    return close_run(run_id, results)
