"""The `ingest-file` flow: load one delivered file, in a process of its own.

`nightly-fan-out` starts one run of it per new file on the work pool, so that the files of one
night are read, validated and pseudonymised by several workers at once. Its parameters are the
file's SHA-256 and its path sealed under the vault key: a file name comes from a source and may
hold a name, and Prefect keeps parameters in its database in clear. Started by a fan-out run it
joins that run's ledger entry and leaves the marts and the summary to it; started on its own it is
a run of one file. Either way its final state's message says what happened to the file (loaded,
or why not).
"""

from __future__ import annotations

import base64
import uuid
from pathlib import Path

from prefect import flow
from prefect.runtime import flow_run
from prefect.states import Completed, Failed, State

from connectors.files import FileRejected, sha256_of
from flows.errors import value_free_errors
from flows.key_blocks import load_key_blocks
from flows.nightly import Delivery, FileResult, check_keys_task, close_run, ingest, prepare_warehouse_task
from flows.resources import configured_key, warehouse_engine
from vault.sealing import SealBroken, seal, unseal
from warehouse.ledger import is_recorded_run, loaded_hashes, start_run


class SealedPathRefused(ValueError):
    """The `file` parameter was not sealed for this content under this warehouse's vault key."""


def _file_context(sha256: str) -> str:
    # Bound to the content: a sealed path copied onto another file's run does not open.
    return f"ingest-file:{sha256}"


# Paths are padded to a multiple of this many characters before sealing, so that the parameter's
# length does not tell the length of the file's name. No path holds a NUL character.
_PAD = 512


def sealed_path(path: str, sha256: str) -> str:
    """The `file` parameter of an `ingest-file` run: the path sealed under the vault key (URL-safe base64)."""
    key = configured_key("vault").material
    padded = path.ljust(-(-max(len(path), 1) // _PAD) * _PAD, "\0")
    return base64.urlsafe_b64encode(seal(key, padded, _file_context(sha256))).decode("ascii")


def opened_path(file: str, sha256: str) -> str:
    """The path a `file` parameter seals; a parameter that does not open is refused without quoting it."""
    key = configured_key("vault").material
    try:
        return unseal(key, base64.urlsafe_b64decode(file.encode("ascii")), _file_context(sha256)).rstrip("\0")
    except (SealBroken, ValueError):  # ValueError: not base64, not ASCII, too short to hold a nonce
        raise SealedPathRefused(
            "the `file` parameter is not a path sealed for this sha256 under this warehouse's vault key "
            "(nightly-fan-out makes it; see docs/operations.md)"
        ) from None


def delivery_of(path: str, sha256: str) -> Delivery:
    """The inbox folder names the source (`police` or the partner's id), as discovery found it."""
    return Delivery(path, Path(path).parent.name, sha256)


def not_to_load(delivery: Delivery) -> FileResult | None:
    """Why this delivery is skipped (loaded meanwhile, or changed since it was found), or None."""
    name = Path(delivery.path).name
    with value_free_errors("check file"):
        try:
            current = sha256_of(Path(delivery.path))
        except FileRejected:
            return None  # no longer a regular file: the load refuses it and records why
        if current != delivery.sha256:
            # The ledger must name the content that was loaded: the next run finds the new content.
            return FileResult(name, delivery.source, "skipped", reason="content changed since it was found; the next run loads it")
        if loaded_hashes(warehouse_engine(), [delivery.sha256]):
            return FileResult(name, delivery.source, "skipped", reason="already loaded")
    return None


def fan_out_run_id() -> str | None:
    """The ledger run this flow run belongs to: the fan-out run that started it, if it is one."""
    parent = flow_run.parent_flow_run_id
    with value_free_errors("find run"):
        return parent if parent and is_recorded_run(warehouse_engine(), parent) else None


@flow(name="ingest-file", description="Load one delivered file (its sealed path and SHA-256) into the warehouse.", persist_result=False)
def ingest_file(file: str, sha256: str) -> State:
    """Load one file; end Failed with the reason when it failed, Completed with what happened otherwise."""
    load_key_blocks()
    try:
        delivery = delivery_of(opened_path(file, sha256), sha256)
    except SealedPathRefused as refused:
        return Failed(message=str(refused))
    run_id = fan_out_run_id()
    on_its_own = run_id is None
    if on_its_own:
        # A run of one file, with its own bookkeeping, marts refresh and summary.
        run_id = str(flow_run.get_id() or uuid.uuid4())
        prepare_warehouse_task()
        start_run(warehouse_engine(), run_id)
    else:
        check_keys_task()
    result = not_to_load(delivery) or ingest(delivery, run_id)
    if on_its_own:
        close_run(run_id, [result])
    if result.state == "failed":
        return Failed(message=result.reason, data=result)
    return Completed(message=result.reason or result.state, data=result)
