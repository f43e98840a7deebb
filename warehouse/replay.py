"""Replaying a batch's quarantined rows: what is open, and the one transaction that loads what now passes.

A replayed row is the version its first batch delivered: it replaces a stored row of the same
record as a load of that batch would have (`replaces_stored`), and never a later one.

A batch's *chain* is the batch and the replays of it (`ingest_batches.replay_of` names the first
batch). Its open errors are the error entries of the chain's batches that no replay took over yet
(`replayed_by` null); its warnings are the warning entries of every batch of the chain. A replay
is prepared outside any transaction; its commit then takes the load lock, checks that nothing it
was prepared from changed meanwhile (another replay, another delivery of the same record, a later
snapshot) and otherwise writes nothing, and commits the new rows, the takeover of the open errors and the cleared
warnings together with the replay's ledger entry: exactly once, also when two replays race or a
process dies halfway.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable
from dataclasses import dataclass

import pandas as pd
from sqlalchemy import Connection, Engine, bindparam, func, select, text, update

from linkage.resolution import DEFAULT_MAX_PERSON_REGISTRATIONS
from pseudonyms.person_identities import PersonIdentities
from store.locks import lock_loads
from store.tables import ingest_batches, quarantine, registrations
from warehouse.ledger import BatchRecord
from warehouse.load import LoadOutcome, loading
from warehouse.reruns import find_batches

_CHUNK = 5000  # ids per IN list: far below any database's limit on parameters
_ENTRY_COLUMNS = (
    quarantine.c.quarantine_id, quarantine.c.batch_id, quarantine.c.row_number, quarantine.c.column_name,
    quarantine.c.rule, quarantine.c.source_record_id, quarantine.c.sealed_value,
)


class NotReplayable(Exception):
    """The batch cannot be replayed (unknown, failed, its file changed, a later snapshot replaced it).

    The message names no file: it may reach Prefect's logs and states, and a file name comes from
    its source. `path` is the file for the steward's console only."""

    def __init__(self, message: str, path: str | None = None) -> None:
        super().__init__(message)
        self.path = path


class ReplayConflict(Exception):
    """Another replay or load changed what this replay was prepared from; nothing was written."""


@dataclass(frozen=True, repr=False)  # entries hold sealed values: never shown in a log
class ReplayTarget:
    """The chain of a batch as it stands: its first batch's file and its open entries."""

    root: str  # the first batch of the chain, which the file was loaded by
    source: str
    file_name: str
    file_path: str | None
    file_sha256: str
    open_batches: tuple[str, ...]  # batches of the chain no replay took over yet
    errors: pd.DataFrame  # open error entries (quarantine columns)
    warnings: pd.DataFrame  # warning entries of the chain (quarantine columns, sealed values)
    replaced_by_later_load: bool  # a later load of the source replaced the batch's rows (snapshot)
    delivered_at: dt.datetime  # when the first batch loaded: the replayed rows' place in delivery order


@dataclass(frozen=True, repr=False)  # holds a replay's rows: never shown in a log
class ReplayRows:
    """What a prepared replay commits."""

    registrations: pd.DataFrame
    quarantined: pd.DataFrame  # entries under the replay batch (sealed values)
    identities: PersonIdentities | None
    rows_in: int  # the open error rows validated again
    ignored_older: frozenset[str]  # registration ids stored from a later version of the record: not replaced
    stored: pd.DataFrame  # registration_id and batch_id of the passing rows' records as stored when prepared
    # Warnings whose value a list now knows: quarantine_id, batch_id, row_number, source_record_id,
    # registration_id, field and code.
    cleared: pd.DataFrame


def _entries(connection: Connection, batches: Iterable[str], severity: str) -> pd.DataFrame:
    query = (
        select(*_ENTRY_COLUMNS)
        .where(quarantine.c.batch_id.in_(list(batches)), quarantine.c.severity == severity)
        .order_by(quarantine.c.quarantine_id)
    )
    return pd.DataFrame(connection.execute(query).all(), columns=[column.name for column in _ENTRY_COLUMNS])


def _chain(connection: Connection, root: str) -> list:
    columns = ingest_batches.c
    query = select(columns.batch_id, columns.replayed_by).where(
        columns.state == "loaded", (columns.batch_id == root) | (columns.replay_of == root)
    )
    return connection.execute(query).all()


def _open_state(connection: Connection, root: str, replay: str | None = None) -> tuple[tuple[str, ...], pd.DataFrame, pd.DataFrame]:
    """The chain's open batches, open errors and warnings (leaving out the replay being committed)."""
    chain = [row for row in _chain(connection, root) if row.batch_id != replay]
    open_batches = tuple(sorted(row.batch_id for row in chain if row.replayed_by is None))
    return open_batches, _entries(connection, open_batches, "error"), _entries(connection, [row.batch_id for row in chain], "warning")


def replay_target(engine: Engine, batch_id_prefix: str) -> ReplayTarget:
    """The chain of the batch a steward named (its id or first characters; a replay names its chain)."""
    matches = find_batches(engine, batch_id_prefix)
    if not matches:
        raise NotReplayable(f"no batch {batch_id_prefix!r:.40} (see `victim-intake status` for batch ids)")
    if len(matches) > 1:
        raise NotReplayable(f"batch {batch_id_prefix!r:.40} is ambiguous: type more of its id (see `victim-intake status`)")
    columns = ingest_batches.c
    with engine.connect() as connection:
        named = connection.execute(select(columns.state, columns.replay_of).where(columns.batch_id == matches[0].batch_id)).one()
        if named.state != "loaded":
            raise NotReplayable(f"batch {matches[0].batch_id} did not load, so nothing of it is quarantined: use `victim-intake rerun`")
        root = named.replay_of or matches[0].batch_id
        first = connection.execute(
            select(columns.source, columns.file_name, columns.file_path, columns.file_sha256, columns.started_at).where(columns.batch_id == root)
        ).one()
        later = _loaded_later(connection, first.source, first.started_at)
        open_batches, errors, warnings = _open_state(connection, root)
    return ReplayTarget(
        root, first.source, first.file_name, first.file_path, first.file_sha256, open_batches, errors, warnings, later, first.started_at
    )


def _loaded_later(connection: Connection, source: str, delivered_at: dt.datetime) -> bool:
    """Whether a delivery of `source` (not a replay) loaded after `delivered_at`."""
    columns = ingest_batches.c
    query = select(func.count()).where(
        columns.source == source, columns.state == "loaded", columns.replay_of.is_(None), columns.started_at > delivered_at
    )
    return connection.execute(query).scalar_one() > 0


def _chunks(values: list) -> Iterable[list]:
    for start in range(0, len(values), _CHUNK):
        yield values[start:start + _CHUNK]


def stored_registrations(connection: Connection, registration_ids: Iterable[str], *columns: str) -> pd.DataFrame:
    """The stored rows (registration_id, batch_id and `columns`) of these registrations."""
    wanted = sorted(set(registration_ids))
    selected = [registrations.c.registration_id, registrations.c.batch_id, *(registrations.c[name] for name in columns)]
    query = select(*selected).where(registrations.c.registration_id.in_(bindparam("ids", expanding=True)))
    rows = [row for chunk in _chunks(wanted) for row in connection.execute(query, {"ids": chunk}).all()]
    return pd.DataFrame(rows, columns=[column.name for column in selected])


def stored_versions(connection: Connection, registration_ids: Iterable[str]) -> pd.DataFrame:
    """The stored rows of these registrations with what orders their versions: registration_id,
    batch_id, source_exported_at and delivered_at (when the first batch of the stored row's
    chain loaded: a replayed row keeps its delivery's place)."""
    batch, first = ingest_batches.alias("batch"), ingest_batches.alias("first")
    query = (
        select(registrations.c.registration_id, registrations.c.batch_id, registrations.c.source_exported_at, first.c.started_at)
        .select_from(
            registrations.outerjoin(batch, batch.c.batch_id == registrations.c.batch_id).outerjoin(
                first, first.c.batch_id == func.coalesce(batch.c.replay_of, batch.c.batch_id)
            )
        )
        .where(registrations.c.registration_id.in_(bindparam("ids", expanding=True)))
    )
    wanted = sorted(set(registration_ids))
    rows = [row for chunk in _chunks(wanted) for row in connection.execute(query, {"ids": chunk}).all()]
    return pd.DataFrame(rows, columns=["registration_id", "batch_id", "source_exported_at", "delivered_at"])


def _instants(values: pd.Series) -> pd.Series:
    return pd.to_datetime(values, utc=True)


def replaces_stored(replayed: pd.DataFrame, stored: pd.DataFrame, delivered_at: dt.datetime) -> pd.Series:
    """Per replayed registration (aligned with `replayed`), whether a load would write it over what
    is stored: no stored row, or the stored one is older. As in `warehouse.load`, the later export
    (`source_exported_at`) wins; between equal export times the later delivery, where a replayed
    row is placed by the batch it came from (`delivered_at`), never by the time of the replay."""
    found = replayed[["registration_id", "source_exported_at"]].merge(
        stored[["registration_id", "source_exported_at", "delivered_at"]], on="registration_id", how="left",
        suffixes=("", "_stored"), indicator=True,
    )
    # Missing export times compare as the empty text, as the upsert's coalesce does.
    ours, theirs = found["source_exported_at"].fillna(""), found["source_exported_at_stored"].fillna("")
    later_delivery = _instants(pd.Series(delivered_at, index=found.index)) > _instants(found["delivered_at"])
    newer = (ours > theirs) | ((ours == theirs) & later_delivery.fillna(False))
    return pd.Series(((found["_merge"] == "left_only") | newer).to_numpy(dtype=bool), index=replayed.index)


def _same_rows(before: pd.DataFrame, now: pd.DataFrame) -> bool:
    def keys(frame: pd.DataFrame) -> list[tuple]:
        return sorted(frame[["registration_id", "batch_id"]].itertuples(index=False, name=None))

    return keys(before) == keys(now)


def _unchanged(connection: Connection, target: ReplayTarget, rows: ReplayRows, replay: str, snapshot: bool) -> bool:
    """Whether the chain's open entries, the stored rows of the records the replay writes or
    ignores and the registrations of the warnings to clear are as the replay was prepared from,
    and no later snapshot replaced the batch meanwhile (read under the load lock)."""
    if snapshot and _loaded_later(connection, target.source, target.delivered_at):
        return False
    open_batches, errors, warnings = _open_state(connection, target.root, replay)
    if open_batches != target.open_batches or errors["quarantine_id"].tolist() != target.errors["quarantine_id"].tolist():
        return False
    if warnings["quarantine_id"].tolist() != target.warnings["quarantine_id"].tolist():
        return False
    passing = [*rows.registrations["registration_id"], *rows.ignored_older] if len(rows.registrations) else list(rows.ignored_older)
    if passing and not _same_rows(rows.stored, stored_registrations(connection, passing)):
        return False
    cleared = rows.cleared
    for field, group in cleared.groupby("field"):
        stored = stored_registrations(connection, group["registration_id"], field)
        still = stored.merge(group, on=["registration_id", "batch_id"])
        if len(still) != len(group) or not still[field].eq("unknown").all():
            return False
    return True


def _clear_warnings(connection: Connection, cleared: pd.DataFrame) -> None:
    """Code the fields in place, drop the warnings, and count the batches' warned rows again."""
    for field, group in cleared.groupby("field"):
        # `field` is one of the three listed fields (`schemas.coding.LISTED_FIELDS`), never input.
        connection.execute(
            text(f"UPDATE registrations SET {field} = :code WHERE registration_id = :registration_id AND batch_id = :batch_id AND {field} = 'unknown'"),
            group[["code", "registration_id", "batch_id"]].to_dict("records"),
        )
    ids = cleared["quarantine_id"].astype(int).tolist()
    deleted = sum(
        connection.execute(quarantine.delete().where(quarantine.c.quarantine_id.in_(bindparam("ids", expanding=True))), {"ids": chunk}).rowcount
        for chunk in _chunks(ids)
    )
    if deleted != len(ids):
        raise ReplayConflict("another replay cleared these warnings meanwhile; nothing was written")
    # A row counts as warned while any warning about it remains.
    keys = ["batch_id", "row_number", "source_record_id"]
    remaining = _entries(connection, sorted(set(cleared["batch_id"])), "warning")
    gone = cleared[keys].drop_duplicates().merge(remaining[keys].drop_duplicates(), how="left", on=keys, indicator=True)
    per_batch = gone[gone["_merge"] == "left_only"].groupby("batch_id").size()
    if len(per_batch):
        connection.execute(
            update(ingest_batches)
            .where(ingest_batches.c.batch_id == bindparam("b"))
            .values(rows_warned=ingest_batches.c.rows_warned - bindparam("n")),
            [{"b": batch_id, "n": int(count)} for batch_id, count in per_batch.items()],
        )


def commit_replay(
    engine: Engine,
    batch: BatchRecord,
    target: ReplayTarget,
    rows: ReplayRows,
    *,
    lock_timeout_seconds: float = 300,
    before_commit: Callable[[], None] | None = None,
    max_person_registrations: int | None = DEFAULT_MAX_PERSON_REGISTRATIONS,
    snapshot: bool = False,
) -> LoadOutcome:
    """Load the replay's rows as batch `batch` (linked to the chain's first batch), take over the
    chain's open errors and clear the warnings, in one transaction; ReplayConflict, with nothing
    written, when the chain or the rows changed since the replay was prepared, or (`snapshot`: the
    source delivers snapshots) a later snapshot loaded meanwhile."""
    with loading(
        engine, batch, lock_timeout_seconds=lock_timeout_seconds, before_commit=before_commit, max_person_registrations=max_person_registrations
    ) as load:
        connection = load.connection
        lock_loads(connection)
        if not _unchanged(connection, target, rows, batch.batch_id, snapshot):
            raise ReplayConflict(
                f"batch {target.root} was replayed, or its records or a later snapshot loaded, meanwhile; nothing was written"
            )
        if rows.rows_in:
            load.add(rows.registrations, rows.quarantined, rows.identities if len(rows.registrations) else None)
        load.count_ignored(len(rows.ignored_older))
        taken = connection.execute(
            update(ingest_batches)
            .where(ingest_batches.c.batch_id.in_(target.open_batches), ingest_batches.c.replayed_by.is_(None))
            .values(replayed_by=batch.batch_id)
        ).rowcount
        if taken != len(target.open_batches):
            raise ReplayConflict(f"batch {target.root} was replayed meanwhile; nothing was written")
        if len(rows.cleared):
            _clear_warnings(connection, rows.cleared)
        outcome = load.finish(rows.rows_in)
        connection.execute(
            update(ingest_batches).where(ingest_batches.c.batch_id == batch.batch_id).values(warnings_cleared=len(rows.cleared))
        )
    return outcome
