"""The nightly ingestion flow: discover new deliveries, load each file, publish a summary.

Reads like a table of contents; the work happens in the tasks and the packages below.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import asdict, dataclass
from pathlib import Path

from prefect import flow, get_run_logger, task
from prefect.artifacts import create_table_artifact
from prefect.cache_policies import NO_CACHE
from prefect.runtime import flow_run
from prefect.states import Failed, State
from sqlalchemy import Engine

from config.memory import return_freed_memory
from config.settings import current
from connectors import police
from connectors.hash_cache import HashCache
from connectors.inbox import refused_entries
from connectors.tabular import discover_partner_files
from flows.ahead import part_supply
from flows.errors import value_free_errors
from flows.faults import crash_point
from flows.key_blocks import load_key_blocks
from flows.loading import PartSupply, ingest_file_parts
from flows.mart_tasks import refresh_marts_after_run
from flows.progress import file_done
from flows.resources import configured_key, warehouse_engine
from flows.stage_clock import StageClock
from flows.stages import FileJob
from schemas.partner_definition import DefinitionError, load_definitions
from store.clock import utc_now
from warehouse.ledger import BatchRecord, check_key_fingerprint, finish_run, loaded_hashes, record_failed_batch, start_run
from warehouse.load import AlreadyLoaded
from warehouse.migrate import MigrationInputs, upgrade
from warehouse.reencoding import reencode_stale
from warehouse.scopes import rescope_sources


@dataclass(frozen=True)
class Delivery:
    """A file found in the inbox, identified by its content."""

    path: str
    source: str
    sha256: str


@dataclass(frozen=True)
class FileResult:
    """What happened to one file; counts and reasons only, never values.

    The file's name comes from its source and may hold a name: it is shown to the steward (the run
    summary, `status`) but never written to Prefect's logs or artifacts, which name the batch.
    """

    file: str
    source: str
    state: str  # loaded | failed | skipped
    rows_in: int | None = None
    rows_loaded: int | None = None
    rows_new: int | None = None
    rows_quarantined: int | None = None
    reason: str | None = None
    batch_id: str | None = None
    # Rows the warehouse holds from a later export: a correction older than them is not applied.
    rows_ignored_older: int | None = None
    rows_kept_apart: int | None = None  # not linked by name: the person would have passed the bound
    rows_warned: int | None = None  # loaded rows with a value no code list knows (now `unknown`)
    # About the file's columns (a CTDC file's absent and unknown headers): headers, never cells.
    notes: tuple[str, ...] = ()

    def for_prefect(self) -> dict:
        """The result without the file's name and the notes that name its headers, for Prefect's artifact."""
        shown = {name: value for name, value in asdict(self).items() if name not in ("file", "notes")}
        return shown | {"source": source_label(self.source)}


UNKNOWN_FOLDER = "(folder without a definition)"


def source_label(source: str) -> str:
    """The source as Prefect may show it: `police` or a defined partner's id. Any other inbox
    folder's name was typed by someone and may hold a name: it is shown on the steward's console only."""
    if source == police.SOURCE:
        return source
    try:
        defined = load_definitions(current().partners)
    except DefinitionError:  # the run reports the broken definition itself; here, name nothing
        defined = {}
    return source if source in defined else UNKNOWN_FOLDER


def prepare_warehouse() -> None:
    """Create or upgrade the tables, refuse pseudonym or vault keys other than the ones the warehouse
    knows, re-encode name encodings of an older scheme (`warehouse.reencoding`), and give each
    partner's rows the scope its definition declares now.

    Stale marts are left to the end of the run (`close_run`), which refreshes every stale year
    once after the loads: refreshing them here too would check every year twice per run.
    """
    key = configured_key("pseudonym")
    vault_key = configured_key("vault")
    definitions = load_definitions(current().partners)
    engine = warehouse_engine()
    upgrade(engine, inputs=MigrationInputs(vault_key.material, {d.id: d.units for d in definitions.values()}))
    check_keys(engine, key.fingerprint, vault_key.fingerprint)
    # The first step with both keys after a migration that changed the encoding scheme.
    reencode_stale(engine, key, vault_key.material)
    rescope_sources(engine, {definition.id: definition.scope for definition in definitions.values()})


def check_keys(engine: Engine, pseudonym_fingerprint: str, vault_fingerprint: str) -> None:
    check_key_fingerprint(engine, "pseudonym", pseudonym_fingerprint)
    check_key_fingerprint(engine, "vault", vault_fingerprint)


# Set while a command runs the flow right after preparing the warehouse itself (its checks before
# the flow run): the flow's own step then has nothing left to do, and does not scan it again.
_PREPARED_BY_CALLER: ContextVar[bool] = ContextVar("warehouse_prepared_by_caller", default=False)


@contextmanager
def prepared_by_caller() -> Iterator[None]:
    """Run flows in this block on a warehouse the caller prepared (`prepare_warehouse`) just before."""
    token = _PREPARED_BY_CALLER.set(True)
    try:
        yield
    finally:
        _PREPARED_BY_CALLER.reset(token)


@task(name="prepare_warehouse", cache_policy=NO_CACHE, persist_result=False)
def prepare_warehouse_task() -> None:
    if _PREPARED_BY_CALLER.get():
        return
    with value_free_errors("prepare"):
        prepare_warehouse()


@task(name="check_keys", cache_policy=NO_CACHE, persist_result=False)
def check_keys_task() -> None:
    """Refuse keys other than the warehouse's, without migrating or refreshing anything (a process
    that joins a run another process prepared)."""
    with value_free_errors("check keys"):
        keys = (configured_key("pseudonym"), configured_key("vault"))
        check_keys(warehouse_engine(), *(key.fingerprint for key in keys))


@task(name="discover_deliveries", cache_policy=NO_CACHE, persist_result=False)
def discover_deliveries(inbox: str) -> tuple[list[Delivery], list[FileResult]]:
    """New files in the inbox; the ones skipped because their content is already loaded, and the
    entries refused because they are no regular files in real folders (links, FIFOs, devices)."""
    crash_point("discover")
    with value_free_errors("discover"):
        refused = [
            FileResult(entry.name, entry.folder or "(inbox)", "failed", reason=f"refused: {entry.reason}")
            for entry in refused_entries(Path(inbox))
        ]
        engine = warehouse_engine()
        hashes = HashCache(current().hash_cache_file)
        # Only a file whose content is loaded is taken from memory; any other is hashed from its
        # bytes, so the manifest check and the ledger always get the hash of what will be read.
        hashes.keep_only(loaded_hashes(engine, hashes.digests()))
        found = [Delivery(str(path), police.SOURCE, hashes.sha256(path)) for path in police.discover(Path(inbox) / "police")]
        found += [Delivery(str(path), partner, hashes.sha256(path)) for partner, path in discover_partner_files(Path(inbox), police.SOURCE)]
        hashes.save()
        done = loaded_hashes(engine, (delivery.sha256 for delivery in found))
    new: list[Delivery] = []
    others: list[FileResult] = refused
    seen: set[str] = set()
    for delivery in found:
        name = Path(delivery.path).name
        if delivery.sha256 in done:
            others.append(FileResult(name, delivery.source, "skipped", reason="already loaded"))
        elif delivery.sha256 in seen:
            others.append(FileResult(name, delivery.source, "skipped", reason="same content as another file in this run"))
        else:
            seen.add(delivery.sha256)
            new.append(delivery)
    return new, others


def ingest(delivery: Delivery, run_id: str, supply: PartSupply | None = None, batch_id: str | None = None) -> FileResult:
    """Read, validate, pseudonymise and load one file; a failure is recorded, not raised.

    The file's parts come from `supply` (prepared ahead, under `batch_id`: the id the supply
    prepared them for); without one, they are prepared here, under a new batch id."""
    if supply is None:
        with part_supply([]) as here:
            return ingest(delivery, run_id, here, batch_id)
    return_freed_memory()
    name = Path(delivery.path).name
    batch = BatchRecord(batch_id or uuid.uuid4().hex, run_id, delivery.source, name, delivery.sha256, utc_now(), delivery.path)
    clock = StageClock()
    try:
        crash_point("read")
        loaded = ingest_file_parts(FileJob(delivery.path, delivery.sha256, batch.batch_id, delivery.source), batch, supply, clock)
        crash_point("after-commit")
        get_run_logger().info("batch %s (%s): %s", batch.batch_id, source_label(delivery.source), clock)
    except AlreadyLoaded as error:
        return FileResult(name, delivery.source, "skipped", reason=str(error), batch_id=batch.batch_id)
    except Exception as error:  # noqa: BLE001 - one file's failure must not stop the others
        # Tasks raise only value-free messages (flows.errors), so the text may be stored.
        reason = str(error)
        with value_free_errors("record failure"):
            record_failed_batch(warehouse_engine(), batch, reason)
        return FileResult(name, delivery.source, "failed", reason=reason, batch_id=batch.batch_id)
    return FileResult(name, delivery.source, "loaded", **asdict(loaded.outcome), batch_id=batch.batch_id, notes=loaded.notes)


def open_night(inbox: str | None) -> tuple[str, list[Delivery], list[FileResult]]:
    """The start of a night's flow run: keys, warehouse, ledger run; then the inbox's new files
    and the ones already loaded. Returns the run id (the flow run's own)."""
    load_key_blocks()
    inbox_path = inbox or str(current().inbox_folder)
    # A flow run retried from Prefect keeps its id and starts over: loaded files are skipped.
    run_id = str(flow_run.get_id() or uuid.uuid4())
    prepare_warehouse_task()
    start_run(warehouse_engine(), run_id)
    new, skipped = discover_deliveries(inbox_path)
    return run_id, new, skipped


@flow(name="nightly-ingest", description="Load new deliveries from the inbox into the warehouse.", persist_result=False)
def nightly_ingest(inbox: str | None = None) -> list[FileResult] | State:
    """Load every new file of the inbox; end Failed when any file failed."""
    return ingest_deliveries(*open_night(inbox))


def ingest_deliveries(run_id: str, new: list[Delivery], skipped: list[FileResult]) -> list[FileResult] | State:
    """Load each delivery, close the run's bookkeeping and publish the summary artifact."""
    logger = get_run_logger()
    logger.info("%d new file(s), %d already loaded", len(new), len(skipped))
    results = [*skipped]
    batch_ids = [uuid.uuid4().hex for _ in new]
    jobs = [FileJob(delivery.path, delivery.sha256, batch_id, delivery.source) for delivery, batch_id in zip(new, batch_ids, strict=True)]
    with part_supply(jobs) as supply:
        for number, (delivery, batch_id) in enumerate(zip(new, batch_ids, strict=True), start=1):
            result = ingest(delivery, run_id, supply, batch_id)
            logger.info("file %d of %d (%s, batch %s): %s", number, len(new), source_label(result.source), batch_id, result.state)
            file_done(number, len(new), result.file)
            results.append(result)
    return close_run(run_id, results)


def close_run(run_id: str, results: list[FileResult]) -> list[FileResult] | State:
    """Refresh the marts once, record the run's end and publish the summary artifact; Failed when any file failed."""
    engine = warehouse_engine()
    refresh_marts_after_run()
    failed = [result for result in results if result.state == "failed"]
    reason = f"{len(failed)} of {len(results)} file(s) failed" if failed else None
    finish_run(engine, run_id, failed=bool(failed), reason=reason)
    create_table_artifact(
        key="nightly-ingest-summary",
        table=[result.for_prefect() for result in results],
        description="Files of this run by source and batch, with their counts (no file names, no personal values).",
    )
    if failed:
        # A Failed final state that still carries the per-file results for the caller's summary.
        return Failed(message=reason, data=results)
    return results
