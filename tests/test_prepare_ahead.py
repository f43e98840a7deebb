"""Files prepared ahead in a second process (flows.ahead) are exactly the parts the flow's own
process prepares, in any order a load asks for them; failures arrive as the same value-free
errors; and Prefect sees the preparing stages as tasks of the flow run either way."""

from __future__ import annotations

import signal
import sqlite3
import time
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest
from feed import record, write_feed
from test_crashes import command_env, run_command
from test_flow_end_to_end import run_cli

from config.settings import current
from connectors.files import FileRejected, sha256_of
from flows.ahead import AheadSupply, part_supply
from flows.loading import LocalSupply, Prepared
from flows.stage_clock import StageClock
from flows.stages import FileJob
from pseudonyms.keys import load_key
from sources.spool import Spool, spool_in
from vault.entries import open_entry
from vault.quarantine_seal import open_value
from victim_intake.synthetic import write_demo_inbox

pytestmark = pytest.mark.usefixtures("prefect_server")


@pytest.fixture
def jobs(tmp_path: Path, pseudonym_key: bytes, monkeypatch: pytest.MonkeyPatch) -> list[FileJob]:
    """Three demo feed files of several parts each (parts of about 20 KB), and a partner file."""
    monkeypatch.setenv("VICTIM_INTAKE_PART_MB", "0.02")
    write_demo_inbox(tmp_path / "inbox", persons=300, seed=3, files=3)
    paths = sorted((tmp_path / "inbox" / "police").glob("*.ndjson"))
    police = [FileJob(str(path), sha256_of(path), f"batch{number}", "police") for number, path in enumerate(paths)]
    partner = sorted((tmp_path / "inbox" / "zorgcoordinatie").glob("*.csv"))[0]
    return [*police[:2], FileJob(str(partner), sha256_of(partner), "partner", "zorgcoordinatie"), police[2]]


@pytest.fixture
def spool(tmp_path: Path) -> Iterator[Spool]:
    with spool_in(tmp_path / "spool") as opened:
        yield opened


def here(job: FileJob, tmp_path: Path) -> list[Prepared]:
    """The file's parts as the flow's own process prepares them."""
    with spool_in(tmp_path / "reference") as reference:
        return list(LocalSupply(reference).prepared(job, StageClock()))


def opened(quarantined: pd.DataFrame, batch_id: str) -> pd.DataFrame:
    """The entries with their sealed values opened: sealing draws a fresh nonce each time."""
    if "sealed_value" not in quarantined:
        return quarantined
    key = load_key("vault", current().keys_dir).material
    entries = quarantined.assign(batch_id=batch_id).to_dict("records")
    return quarantined.assign(sealed_value=[open_value(key, entry) for entry in entries])


def opened_vault(rows: pd.DataFrame) -> pd.DataFrame:
    """The vault rows with their sealed identities opened and no sealing time."""
    key = load_key("vault", current().keys_dir).material
    fields = [open_entry(key, sealed, registration) for sealed, registration in zip(rows["sealed"], rows["registration_id"], strict=True)]
    return rows.drop(columns="sealed_at").assign(sealed=fields)


def assert_same(ahead: list[Prepared], job: FileJob, tmp_path: Path) -> None:
    """The parts prepared ahead are those this process prepares for `job`."""
    reference = here(job, tmp_path)
    shown = [(item.notice.number, item.notice.last, item.notice.record_count, item.notice.notes) for item in ahead]
    assert shown == [(item.notice.number, item.notice.last, item.notice.record_count, item.notice.notes) for item in reference]
    for mine, theirs in zip(ahead, reference, strict=True):
        assert (mine.part is None) == (theirs.part is None)
        if mine.part is None:
            continue
        pd.testing.assert_frame_equal(mine.part.registrations, theirs.part.registrations)
        pd.testing.assert_frame_equal(opened(mine.part.quarantined, job.batch_id), opened(theirs.part.quarantined, job.batch_id))
        for name in ("links", "encodings", "payloads", "named", "own_matches"):
            pd.testing.assert_frame_equal(getattr(mine.part.identities, name), getattr(theirs.part.identities, name))
        pd.testing.assert_frame_equal(opened_vault(mine.part.identities.vault_rows), opened_vault(theirs.part.identities.vault_rows))
        assert mine.part.identities.key_version == theirs.part.identities.key_version


def test_parts_prepared_ahead_are_the_parts_prepared_here(jobs, spool, tmp_path) -> None:
    supply = AheadSupply(spool, jobs)
    try:
        for job in jobs:
            clock = StageClock()
            ahead = list(supply.prepared(job, clock))
            assert len(ahead) >= (3 if job.source == "police" else 1)
            assert_same(ahead, job, tmp_path)
            assert {"read", "validate", "pseudonymise"} <= set(clock.seconds)
            supply.release(job)
    finally:
        supply.close()
    assert not supply._process.is_alive()
    assert list(spool.folder.iterdir()) == []  # every part removed once its load was over


def test_a_load_that_starts_over_or_gives_up_midway_gets_the_right_parts(jobs, spool, tmp_path) -> None:
    supply = AheadSupply(spool, jobs)
    try:
        first = supply.prepared(jobs[0], StageClock())
        next(first), next(first)  # a load that failed after two parts...
        assert_same(list(supply.prepared(jobs[0], StageClock())), jobs[0], tmp_path)  # ...and its retry
        supply.release(jobs[0])
        next(supply.prepared(jobs[1], StageClock()))  # a load that gave up after one part
        supply.release(jobs[1])
        assert_same(list(supply.prepared(jobs[2], StageClock())), jobs[2], tmp_path)
        supply.release(jobs[2])
        assert_same(list(supply.prepared(jobs[3], StageClock())), jobs[3], tmp_path)
    finally:
        supply.close()


def test_a_rejected_file_raises_the_same_value_free_error_and_the_next_file_loads(tmp_path, jobs, spool) -> None:
    bad = write_feed(tmp_path / "bad", "politie-2025-03-15", [record("PL-1")], manifest_changes={"aantal_records": 2})
    mixed = [jobs[0], FileJob(str(bad), sha256_of(bad), "bad", "police"), jobs[1]]
    with pytest.raises(FileRejected) as here_error:
        here(mixed[1], tmp_path)
    supply = AheadSupply(spool, mixed)
    try:
        assert_same(list(supply.prepared(mixed[0], StageClock())), mixed[0], tmp_path)
        for _ in range(2):  # a retried load meets the same error
            with pytest.raises(FileRejected) as ahead_error:
                list(supply.prepared(mixed[1], StageClock()))
            assert str(ahead_error.value) == str(here_error.value)
        assert_same(list(supply.prepared(mixed[2], StageClock())), mixed[2], tmp_path)
    finally:
        supply.close()


def test_a_helper_that_ends_after_giving_every_part_is_no_failure(jobs, spool, caplog) -> None:
    supply = AheadSupply(spool, jobs)
    try:
        for job in jobs:
            list(supply.prepared(job, StageClock()))
            if job is not jobs[-1]:
                supply.release(job)
        supply._process.join(timeout=60)  # every part given: the helper ends by itself...
        assert supply._process.exitcode == 0
        supply.release(jobs[-1])  # ...and the next order meets its closed pipe
    finally:
        supply.close()
    assert "ended unexpectedly" not in caplog.text


def test_when_the_helper_dies_the_parts_are_prepared_here(jobs, spool, tmp_path, caplog) -> None:
    supply = AheadSupply(spool, jobs)
    try:
        parts = supply.prepared(jobs[0], StageClock())
        taken = [next(parts)]
        supply._process.kill()
        taken += list(parts)
        assert_same(taken, jobs[0], tmp_path)
        assert_same(list(supply.prepared(jobs[1], StageClock())), jobs[1], tmp_path)
    finally:
        supply.close()
    assert "ended unexpectedly" in caplog.text


def test_the_helper_is_used_only_where_it_can_gain(jobs, monkeypatch) -> None:
    def kind(selected: list[FileJob]) -> type:
        with part_supply(selected) as supply:
            return type(supply)

    monkeypatch.setenv("VICTIM_INTAKE_PREPARE_AHEAD", "1")
    assert kind(jobs) is AheadSupply
    monkeypatch.setenv("VICTIM_INTAKE_PART_MB", "256")
    assert kind(jobs[2:3]) is LocalSupply  # one part in all: nothing to overlap
    assert kind(jobs) is AheadSupply
    monkeypatch.setenv("VICTIM_INTAKE_PREPARE_AHEAD", "auto")
    assert kind(jobs) is LocalSupply  # a few hundred KB: the helper's start would cost more than it saves
    monkeypatch.setenv("VICTIM_INTAKE_PREPARE_AHEAD", "0")
    assert kind(jobs) is LocalSupply
    monkeypatch.setenv("VICTIM_INTAKE_PREPARE_AHEAD", "yes")
    with pytest.raises(ValueError, match="auto, 1 or 0"):
        kind(jobs)


def test_a_run_prepared_ahead_loads_what_a_run_prepared_here_loads(jobs, tmp_path, monkeypatch) -> None:
    inbox = Path(jobs[0].path).parent.parent
    started = []
    monkeypatch.setattr(AheadSupply, "__init__", lambda self, spool, jobs, start=AheadSupply.__init__: started.append(1) or start(self, spool, jobs))
    warehouses = {}
    for mode in ("1", "0"):
        monkeypatch.setenv("VICTIM_INTAKE_PREPARE_AHEAD", mode)
        monkeypatch.setenv("VICTIM_INTAKE_DATABASE_URL", f"sqlite:///{tmp_path / f'warehouse-{mode}.sqlite'}")
        code, output = run_cli("run", "--inbox", str(inbox))
        assert code == 0, output
        warehouses[mode] = contents(tmp_path / f"warehouse-{mode}.sqlite")
    assert started == [1]  # one helper, in the first run only
    assert warehouses["1"] == warehouses["0"]
    assert len(warehouses["1"]["registrations"]) > 300


def contents(path: Path) -> dict[str, list[tuple]]:
    """Every table a load writes, without the random batch ids and the load times."""

    database = sqlite3.connect(path)
    registration_columns = [row[1] for row in database.execute("PRAGMA table_info(registrations)") if row[1] != "batch_id"]
    queries = {
        "registrations": f"SELECT {', '.join(registration_columns)} FROM registrations",
        "quarantine": "SELECT row_number, column_name, rule, source_record_id FROM quarantine",
        "links": "SELECT identifier, kind, person_id, key_version FROM person_links",
        "vault": (
            "SELECT registration_id, person_id, name_key, bsn_key, vnr_key, key_version, birth_key, swapped_key, bloom, script_key, scheme "
            "FROM vault_identities"
        ),
    }
    result = {name: sorted(database.execute(query).fetchall(), key=repr) for name, query in queries.items()}
    database.close()
    return result


def test_a_crash_while_a_part_is_prepared_ahead_kills_the_run_and_leaves_no_helper(jobs, pseudonym_key, tmp_path) -> None:
    inbox = Path(jobs[0].path).parent.parent
    url = f"sqlite:///{tmp_path / 'crashed.sqlite'}"
    environment = command_env(url, pseudonym_key, tmp_path / "crashed", VICTIM_INTAKE_PREPARE_AHEAD="1", VICTIM_INTAKE_CRASH_AT="validate")
    code, output = run_command(inbox, environment)
    assert code == -signal.SIGKILL, output
    # The helper sees its pipe close with the killed process and ends by itself.
    deadline = time.monotonic() + 30
    while helpers() and time.monotonic() < deadline:
        time.sleep(0.2)
    assert helpers() == []
    code, output = run_command(inbox, command_env(url, pseudonym_key, tmp_path / "crashed", VICTIM_INTAKE_PREPARE_AHEAD="1"))
    assert code == 0, output


def helpers() -> list[str]:
    """Processes still running the helper's code that were started from this test's inbox runs."""
    found = []
    for status in Path("/proc").glob("[0-9]*/cmdline"):
        try:
            command = status.read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if "multiprocessing.spawn" in command and status.parent.joinpath("environ").exists():
            try:
                if b"VICTIM_INTAKE_CRASH_AT" in status.parent.joinpath("environ").read_bytes():
                    found.append(command)
            except OSError:
                continue
    return found


def stage_tasks(flow_run_ids: set) -> dict[str, int]:
    """How many task runs of each preparing or loading stage these flow runs hold."""
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterId

    with get_client(sync_client=True) as client:
        runs = client.read_task_runs(flow_run_filter=FlowRunFilter(id=FlowRunFilterId(any_=list(flow_run_ids))))
    counts: dict[str, int] = {}
    for run in runs:
        stage = run.name.rsplit("-", 1)[0]
        if stage in ("read", "validate", "pseudonymise", "load") and run.state_name == "Completed":
            counts[stage] = counts.get(stage, 0) + 1
    return counts


def flow_run_ids() -> set:
    from prefect.client.orchestration import get_client

    with get_client(sync_client=True) as client:
        return {run.id for run in client.read_flow_runs()}


def test_prefect_sees_every_preparing_stage_as_a_task_whether_prepared_ahead_or_here(jobs, tmp_path, monkeypatch) -> None:
    inbox = Path(jobs[0].path).parent.parent
    files = len([path for path in inbox.rglob("*") if path.suffix in (".ndjson", ".csv", ".xlsx")])
    seen = {}
    for mode in ("1", "0"):
        monkeypatch.setenv("VICTIM_INTAKE_PREPARE_AHEAD", mode)
        monkeypatch.setenv("VICTIM_INTAKE_DATABASE_URL", f"sqlite:///{tmp_path / f'tasks-{mode}.sqlite'}")
        before = flow_run_ids()
        code, output = run_cli("run", "--inbox", str(inbox))
        assert code == 0, output
        seen[mode] = stage_tasks(flow_run_ids() - before)
    assert seen["1"] == seen["0"]
    assert seen["1"]["read"] == seen["1"]["load"] == files
    # Every part of every file is validated and pseudonymised by a task of the run.
    assert seen["1"]["validate"] == seen["1"]["pseudonymise"] > files


def test_the_load_transaction_opens_only_once_the_file_is_prepared(jobs, tmp_path, monkeypatch) -> None:
    """While a file is being prepared, the warehouse takes another writer at once: the load holds
    no lock yet (SQLite has one writer at a time, and the load's first write takes it)."""
    import sources.prepare

    database = tmp_path / "open.sqlite"
    monkeypatch.setenv("VICTIM_INTAKE_DATABASE_URL", f"sqlite:///{database}")
    monkeypatch.setenv("VICTIM_INTAKE_PREPARE_AHEAD", "0")
    prepare = sources.prepare.prepared_part
    writes = []

    def prepared_while_writing(*arguments, **keywords):
        if database.exists():
            other = sqlite3.connect(database, timeout=0)
            try:
                other.execute("BEGIN IMMEDIATE")  # fails at once if another connection writes
                other.rollback()
                writes.append("free")
            except sqlite3.OperationalError:
                writes.append("locked")
            finally:
                other.close()
        return prepare(*arguments, **keywords)

    monkeypatch.setattr("flows.stages.prepared_part", prepared_while_writing)
    code, output = run_cli("run", "--inbox", str(Path(jobs[0].path).parent.parent))
    assert code == 0, output
    assert len(writes) > len(jobs) and set(writes) == {"free"}
