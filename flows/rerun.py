"""The `rerun-failed` flow: process again the files whose last attempt failed, or one named batch.

As safe as the nightly run: a file whose content is already loaded is skipped, and each load is
one transaction guarded by the ledger's unique index, so a rerun never duplicates a row.
"""

from __future__ import annotations

import uuid
from pathlib import Path

from prefect import flow, task
from prefect.cache_policies import NO_CACHE
from prefect.runtime import flow_run
from prefect.states import State

from connectors.files import FileRejected, sha256_of
from flows.errors import value_free_errors
from flows.nightly import Delivery, FileResult, ingest_deliveries, prepare_warehouse_task
from flows.resources import warehouse_engine
from warehouse.ledger import loaded_hashes, start_run
from warehouse.reruns import BatchRef, find_batches, outstanding_failures


@task(name="find_rerun_files", cache_policy=NO_CACHE, persist_result=False)
def find_rerun_files(batch_id: str | None) -> tuple[list[Delivery], list[FileResult]]:
    """Deliveries to load again, and the files skipped (already loaded) or missing from disk."""
    with value_free_errors("find rerun files"):
        engine = warehouse_engine()
        refs: list[BatchRef] = find_batches(engine, batch_id) if batch_id else outstanding_failures(engine)
        new: list[Delivery] = []
        others: list[FileResult] = []
        current: dict[str, str] = {}
        for ref in refs:
            try:
                if not ref.file_path:
                    raise FileNotFoundError
                current[ref.batch_id] = sha256_of(Path(ref.file_path))
            except FileNotFoundError:
                where = ref.file_path or "an unrecorded path"
                reason = f"file no longer at {where}: put it back (or deliver it to the inbox) and rerun"
                others.append(FileResult(ref.file_name, ref.source, "failed", reason=reason))
            except FileRejected as error:  # a link or special file where the delivery was
                others.append(FileResult(ref.file_name, ref.source, "failed", reason=f"refused: {error}"))
        present = [ref for ref in refs if ref.batch_id in current]
        done = loaded_hashes(engine, current.values())
        for ref in present:
            if current[ref.batch_id] in done:
                others.append(FileResult(ref.file_name, ref.source, "skipped", reason="already loaded"))
            else:
                new.append(Delivery(ref.file_path, ref.source, current[ref.batch_id]))
    return new, others


@flow(name="rerun-failed", description="Process again the files whose last attempt failed (or one batch).", persist_result=False)
def rerun_failed(batch_id: str | None = None) -> list[FileResult] | State:
    """Rerun every outstanding failed file, or only the batch `batch_id`; end Failed if any still fails."""
    run_id = str(flow_run.get_id() or uuid.uuid4())
    prepare_warehouse_task()
    start_run(warehouse_engine(), run_id)
    new, others = find_rerun_files(batch_id)
    return ingest_deliveries(run_id, new, others)
