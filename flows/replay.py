"""The `replay-quarantine` flow, and the replay the command line runs: a batch's quarantined rows
validated again under today's definitions and code lists.

The file is read again only when it is still where the batch read it, with the same SHA-256: it is
copied once into a private scratch folder, hashed as it is copied, and only that copy is parsed, so
what is validated is what was hashed. Only its quarantined rows are validated (against the whole file for repeated records). Rows that
pass now load as a batch of their own, linked to the first, and replace a stored row of the same
record only when a load of the first batch would have (`warehouse.replay.replaces_stored`); rows
that still fail stay quarantined under it. Warnings about loaded rows are decided from their sealed values, without the file: a
value a list now knows is coded in place and its warning cleared. The commit is one transaction
(`warehouse.replay`); linkage, vault and marts as for any load.
"""

from __future__ import annotations

import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from prefect import flow, task
from prefect.cache_policies import NO_CACHE
from prefect.runtime import flow_run
from prefect.states import Completed, Failed, State

from config.private_files import make_private_dir
from config.settings import current
from connectors.files import FileRejected, copy_delivered
from connectors.police import SOURCE as POLICE
from connectors.police import manifest_path
from flows.errors import value_free_errors
from flows.faults import crash_point
from flows.key_blocks import load_key_blocks
from flows.nightly import prepare_warehouse
from flows.resources import configured_key, warehouse_engine
from flows.stages import read, source_of, validate
from pseudonyms.identity import registration_ids
from schemas.codelists.matching import UNKNOWN, match_municipalities, match_sectors, police_unit_list
from schemas.coding import LISTED_FIELDS
from schemas.partner import listed_text
from schemas.partner_definition import PartnerDefinition
from schemas.police import FIELD_COLUMNS
from sources.contract import Source
from sources.partner import PartnerSource
from sources.prepare import batch_identities, registrations_of, sealed_quarantine
from store.clock import utc_now
from vault.quarantine_seal import BROKEN, NOT_KEPT, open_value
from warehouse.ledger import BatchRecord, finish_run, start_run
from warehouse.marts import refresh_marts
from warehouse.replay import (
    NotReplayable,
    ReplayRows,
    ReplayTarget,
    commit_replay,
    replaces_stored,
    replay_target,
    stored_registrations,
    stored_versions,
)

_CLEARED_COLUMNS = ["quarantine_id", "batch_id", "row_number", "source_record_id", "registration_id", "field", "code"]


@dataclass(frozen=True)
class ReplayResult:
    """What a replay did; counts only, never values."""

    replayed: str  # the first batch of the chain
    source: str
    file: str
    batch_id: str | None  # the replay's batch; None when there was nothing to load or clear
    rows_in: int = 0  # quarantined rows validated again
    rows_loaded: int = 0
    rows_quarantined: int = 0
    rows_ignored_older: int = 0  # pass now, but the warehouse holds a later version of the record
    warnings_cleared: int = 0


@contextmanager
def _file_as_loaded(target: ReplayTarget) -> Iterator[Path]:
    """A private copy of the batch's file (with the police feed's manifest), read once from where
    the batch read it and hashed as it was copied: the copy, when its SHA-256 is the batch's; else
    NotReplayable. A file swapped in after the copy cannot reach the parser."""
    path = Path(target.file_path) if target.file_path else None
    advice = "put the file that was loaded back where it was read, or ask the source to deliver the corrected file"
    moved = NotReplayable(f"the file of batch {target.root} is no longer where it was read as it was loaded: {advice}", target.file_path)
    if path is None:
        raise moved
    settings = current()
    make_private_dir(settings.home)
    with tempfile.TemporaryDirectory(prefix=".replay-", dir=settings.home) as scratch:
        # The copy keeps the delivered layout (<folder>/<name>): the readers open it as a delivery.
        copy = make_private_dir(Path(scratch) / path.parent.name) / path.name
        try:
            if copy_delivered(path, copy, settings.max_file_bytes) != target.file_sha256:
                raise moved
            if target.source == POLICE:
                copy_delivered(manifest_path(path), manifest_path(copy), settings.max_file_bytes)
        except FileNotFoundError:
            raise NotReplayable(f"the file of batch {target.root} is no longer where it was read: {advice}", target.file_path) from None
        except FileRejected as error:
            raise NotReplayable(f"the file of batch {target.root} is refused ({error}): {advice}", target.file_path) from None
        yield copy


def _rows_again(source: Source, path: Path, target: ReplayTarget, rows: np.ndarray, batch_id: str) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """The file's quarantined rows, validated and pseudonymised again: records, registrations, entries."""
    opened = read.fn(source, str(path), target.file_sha256)
    validated = validate.fn(source, opened.rows(rows), opened)
    registrations = registrations_of(source, validated, batch_id, configured_key("pseudonym").material)
    return validated.records, registrations, sealed_quarantine(validated.quarantined, batch_id, configured_key("vault").material)


def _recode(field: str, entries: pd.DataFrame, definition: PartnerDefinition | None) -> tuple[np.ndarray, np.ndarray]:
    """Today's code and warning rule of each entry's value, as a load would decide them."""
    text = entries["value"].astype("str")
    if definition is not None and field != "reporting_unit":
        text = listed_text(definition, field, text)  # the partner's value table first
    if field == "reporting_unit":
        matched = (definition.unit_list() if definition is not None else police_unit_list()).match(text)
    elif field == "exploitation_sector":
        matched = match_sectors(text)
    else:
        matched = match_municipalities(text, entries["reporting_unit"])
    return matched.codes.to_numpy(dtype=object), matched.rules.to_numpy(dtype=object)


def cleared_warnings(target: ReplayTarget, definition: PartnerDefinition | None) -> pd.DataFrame:
    """The chain's warnings whose sealed value a list knows today, about registrations the
    warning's batch still holds as `unknown`: with the registration and the code to store."""
    warnings = target.warnings
    headers = FIELD_COLUMNS if definition is None else definition.columns
    fields = {header: field for field, header in headers.items() if field in LISTED_FIELDS}
    entries = warnings.assign(field=warnings["column_name"].map(fields))
    entries = entries[entries["field"].notna() & entries["source_record_id"].notna()]
    if entries.empty:
        return pd.DataFrame(columns=_CLEARED_COLUMNS)
    vault_key = configured_key("vault").material
    # Warnings are few (one per loaded row with a text no list knew): one opening each.
    values = [open_value(vault_key, entry) for entry in entries.to_dict("records")]
    entries = entries.assign(value=values)
    entries = entries[~entries["value"].isin([NOT_KEPT, BROKEN])]
    key = configured_key("pseudonym").material
    entries = entries.assign(registration_id=registration_ids(target.source, entries["source_record_id"].astype("str"), key).to_numpy())
    with warehouse_engine().connect() as connection:
        stored = stored_registrations(connection, entries["registration_id"], *LISTED_FIELDS)
    # Only registrations the warning's batch still holds: a later delivery has warnings of its own.
    entries = entries.merge(stored, on=["registration_id", "batch_id"])
    found = []
    for field, group in entries.groupby("field"):
        codes, rules = _recode(str(field), group, definition)
        known = pd.isna(rules) & (codes != UNKNOWN) & group[field].eq(UNKNOWN).to_numpy()
        found.append(group[known].assign(code=codes[known]))
    cleared = pd.concat(found, ignore_index=True) if found else pd.DataFrame(columns=_CLEARED_COLUMNS)
    return cleared[_CLEARED_COLUMNS]


def _prepare(target: ReplayTarget, source: Source, batch_id: str) -> ReplayRows:
    """The replay's rows: the open error rows validated again, and the warnings to clear."""
    rows = np.unique(target.errors["row_number"].to_numpy(dtype=np.int64))
    cleared = cleared_warnings(target, source.definition if isinstance(source, PartnerSource) else None)
    if not len(rows):
        return ReplayRows(pd.DataFrame(), pd.DataFrame(), None, 0, frozenset(), pd.DataFrame(columns=["registration_id", "batch_id"]), cleared)
    with _file_as_loaded(target) as path:
        records, registrations, quarantined = _rows_again(source, path, target, rows, batch_id)
    with warehouse_engine().connect() as connection:
        stored = stored_versions(connection, registrations["registration_id"])
    # The rule of every load: a row replaces a stored one of the same record only when it is newer.
    keep = replaces_stored(registrations, stored, target.delivered_at).to_numpy()
    older = frozenset(registrations.loc[~keep, "registration_id"])
    registrations, records = registrations[keep], records[keep]
    identities = (
        batch_identities(records, registrations["registration_id"], configured_key("pseudonym"), configured_key("vault").material)
        if len(records) else None
    )
    return ReplayRows(registrations, quarantined, identities, len(rows), older, stored[["registration_id", "batch_id"]], cleared)


def replay_batch(batch_id: str, run_id: str | None = None) -> ReplayResult:
    """Replay the quarantined rows and warnings of a batch's chain; NotReplayable (nothing written)
    when it cannot be, ReplayConflict when another replay or load came first."""
    engine = warehouse_engine()
    target = replay_target(engine, batch_id)
    try:
        source = source_of(target.source)
    except FileRejected as error:
        raise NotReplayable(str(error)) from None
    if source.snapshot and target.replaced_by_later_load:
        raise NotReplayable(
            f"a later delivery of {target.source} (a snapshot) replaced everything batch {target.root} loaded: replay the latest batch"
        )
    new_id = uuid.uuid4().hex
    rows = _prepare(target, source, new_id)
    nothing = ReplayResult(target.root, target.source, target.file_name, None, rows.rows_in, 0, rows.rows_in)
    if not len(rows.registrations) and not rows.ignored_older and rows.cleared.empty:
        return nothing  # no row passes and no warning clears: the ledger stays as it is
    run_id = run_id or uuid.uuid4().hex
    start_run(engine, run_id)
    batch = BatchRecord(
        new_id, run_id, target.source, target.file_name, target.file_sha256, utc_now(), target.file_path,
        replay_of=target.root, rules_fingerprint=source.rules_fingerprint(),
    )
    settings = current()
    try:
        outcome = commit_replay(
            engine, batch, target, rows,
            lock_timeout_seconds=settings.lock_timeout_s,
            before_commit=lambda: crash_point("load-transaction"),
            max_person_registrations=settings.max_person_registrations,
            snapshot=source.snapshot,
        )
    except Exception:
        finish_run(engine, run_id, failed=True, reason="the replay wrote nothing")
        raise
    finish_run(engine, run_id, failed=False)
    with engine.begin() as connection:
        refresh_marts(connection)
    return ReplayResult(
        target.root, target.source, target.file_name, new_id, outcome.rows_in, outcome.rows_loaded - outcome.rows_ignored_older,
        outcome.rows_quarantined, outcome.rows_ignored_older, len(rows.cleared),
    )


def prepare_and_replay(batch_id: str, run_id: str | None = None) -> ReplayResult:
    """The warehouse migrated and the keys checked, as for a run; then the replay."""
    prepare_warehouse()
    return replay_batch(batch_id, run_id)


@task(name="replay_batch", cache_policy=NO_CACHE, persist_result=False)
def replay_task(batch_id: str, run_id: str) -> ReplayResult:
    with value_free_errors("replay"):
        return prepare_and_replay(batch_id, run_id)


@flow(name="replay-quarantine", description="Validate a batch's quarantined rows again under today's rules; load what passes.", persist_result=False)
def replay_quarantine(batch_id: str) -> State:
    """Replay one batch (its id is the only parameter); Failed with a value-free reason when it cannot be."""
    load_key_blocks()
    try:
        result = replay_task(batch_id, str(flow_run.get_id() or uuid.uuid4()))
    except Exception as error:  # noqa: BLE001 - the reason is value-free (flows.errors); the state carries it
        return Failed(message=str(error))
    message = (
        f"{result.rows_loaded} of {result.rows_in} quarantined row(s) loaded, {result.warnings_cleared} warning(s) cleared"
        if result.batch_id else "nothing to replay: no quarantined row passes and no warning clears under today's rules"
    )
    return Completed(message=message, data=result)
