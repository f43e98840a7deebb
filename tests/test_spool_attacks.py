"""Attacks on the spool and on the helper that prepares files ahead: what a failed preparation or
write leaves on disk, a night of many files that fail before their load, errors crossing the
pipe, a run without a Prefect server, spools of runs in other process namespaces, and canaries
through the helper."""

from __future__ import annotations

import fcntl
import pickle
import shutil
import sqlite3
import subprocess
import sys
import termios
import threading
import time
import uuid
from pathlib import Path

import pytest

from connectors.files import sha256_of
from flows.stage_clock import StageClock
from flows.stages import FileJob
from sources.spool import spool_in
from victim_intake.synthetic import write_demo_inbox


@pytest.fixture
def feed_job(tmp_path: Path, pseudonym_key: bytes, monkeypatch: pytest.MonkeyPatch) -> FileJob:
    """One demo police file of several parts (parts of about 20 KB)."""
    monkeypatch.setenv("VICTIM_INTAKE_PART_MB", "0.02")
    write_demo_inbox(tmp_path / "inbox", persons=300, seed=3, files=1)
    path = sorted((tmp_path / "inbox" / "police").glob("*.ndjson"))[0]
    return FileJob(str(path), sha256_of(path), uuid.uuid4().hex, "police")


def fail_on_call(monkeypatch: pytest.MonkeyPatch, failing: int) -> None:
    """Make the preparation of the `failing`-th part (from 1) raise, as a broken part would."""
    import flows.stages

    prepare = flows.stages.prepared_part
    calls = []

    def prepared_or_broken(*arguments, **keywords):
        calls.append(1)
        if len(calls) == failing:
            raise ValueError("a part that cannot be prepared")
        return prepare(*arguments, **keywords)

    monkeypatch.setattr("flows.stages.prepared_part", prepared_or_broken)


def test_a_file_whose_preparation_fails_midway_leaves_none_of_its_parts_in_the_spool(feed_job, tmp_path, monkeypatch) -> None:
    """The load is over for a file whose third part cannot be prepared: the two parts prepared
    before it must not wait in the spool (keyed pseudonyms and sealed rows, encrypted) until the run ends."""
    from flows.errors import StageFailed
    from flows.loading import LocalSupply

    fail_on_call(monkeypatch, 3)
    with spool_in(tmp_path / "spool") as spool:
        supply = LocalSupply(spool)
        with pytest.raises(StageFailed):
            next(supply.prepared(feed_job, StageClock()))
        supply.release(feed_job)
        assert sorted(path.name for path in spool.folder.iterdir()) == []


def test_a_part_whose_writing_fails_leaves_no_file_behind(tmp_path, monkeypatch) -> None:
    """A write that fails midway (the disk full) leaves no half-written part in the spool."""
    from sources import spool as spool_module

    write = spool_module._Records.write
    written = []

    def write_until_the_disk_is_full(self, file, kind, plaintext):
        written.append(1)
        if len(written) == 3:
            raise OSError(28, "No space left on device")
        return write(self, file, kind, plaintext)

    monkeypatch.setattr(spool_module._Records, "write", write_until_the_disk_is_full)
    with spool_in(tmp_path / "spool") as spool:
        with pytest.raises(OSError):
            spool.put("batch-0", {"payload": "x" * (40 * 2**20)})
        assert list(spool.folder.iterdir()) == []


def test_every_value_free_error_crosses_the_pipe_with_its_message() -> None:
    """The helper sends the stages' value-free errors to the flow's process: one that cannot be
    rebuilt there becomes a bare `prepare: unexpected ...` and loses the reason the steward needs."""
    from flows.errors import VALUE_FREE
    from schemas.partner_definition import DefinitionError
    from warehouse.replay import NotReplayable

    examples = {DefinitionError: DefinitionError(Path("/definitions/partner.yaml"), "units", "not a list"), NotReplayable: NotReplayable("gone")}
    for kind in VALUE_FREE:
        error = examples.get(kind) or kind("a value-free message")
        back = pickle.loads(pickle.dumps(error))
        assert (type(back), str(back)) == (kind, str(error))


def pipe_bytes(connection) -> int:
    """Bytes waiting in a pipe."""
    return int.from_bytes(fcntl.ioctl(connection.fileno(), termios.FIONREAD, b"\0" * 4), sys.byteorder)


@pytest.mark.e2e
def test_a_night_of_many_files_that_fail_before_their_load_does_not_hang(feed_job, tmp_path, monkeypatch) -> None:
    """A big file first, then many files of a folder without a partner definition: while the big
    file loads, the helper runs ahead through the others, each an error notice (which no lead
    bounds); the flow's process then gives each up before its load (`source_of`) and only tells
    the helper so. Neither side may wait for the other for good once both pipes are full."""
    from flows.ahead import AheadSupply
    from flows.loading import ingest_file_parts
    from store.clock import utc_now
    from warehouse.ledger import BatchRecord

    monkeypatch.setenv("VICTIM_INTAKE_PARTNERS", str(tmp_path / "no-definitions"))
    (tmp_path / "no-definitions").mkdir()
    undefined = [FileJob(str(tmp_path / f"file-{number}.csv"), "0" * 64, uuid.uuid4().hex, "undefined-folder") for number in range(1600)]
    with spool_in(tmp_path / "spool") as spool:
        supply = AheadSupply(spool, [feed_job, *undefined])
        try:
            assert list(supply.prepared(feed_job, StageClock()))  # the big file, loaded
            supply.release(feed_job)
            deadline = time.monotonic() + 60  # until the helper has filled the pipe of notices
            while pipe_bytes(supply._notices) < 60_000 and time.monotonic() < deadline:
                time.sleep(0.2)
            given_up = []

            def load_the_rest() -> None:
                for job in undefined:
                    batch = BatchRecord(job.batch_id, "run", job.source, "file.csv", job.sha256, utc_now(), job.path)
                    try:
                        ingest_file_parts(job, batch, supply, StageClock())
                    except Exception:  # noqa: BLE001 - each fails before its load, as in `ingest`
                        given_up.append(job)

            loader = threading.Thread(target=load_the_rest, daemon=True)
            loader.start()
            seen, still = -1, time.monotonic()
            while loader.is_alive() and time.monotonic() - still < 30:  # stuck: no file given up for 30 s
                if len(given_up) != seen:
                    seen, still = len(given_up), time.monotonic()
                loader.join(0.5)
            assert not loader.is_alive(), f"the flow's process hangs after giving up {len(given_up)} of {len(undefined)} files"
        finally:
            supply._process.kill()  # unblocks a hung loader: its pipe's other end is gone
            supply.close()
        assert len(given_up) == len(undefined)


@pytest.mark.e2e
def test_a_live_spool_of_a_run_in_another_process_namespace_is_not_removed(tmp_path) -> None:
    """Runs in containers (or on machines) that share the home folder see each other's spools but
    not each other's processes: a spool whose pid is unknown here may belong to a live run."""
    if shutil.which("unshare") is None or subprocess.run(["unshare", "--pid", "--fork", "true"], check=False).returncode != 0:
        pytest.skip("no `unshare --pid` here")
    parent = tmp_path / "spool"
    script = (
        "import pathlib, sys\n"
        "from sources.spool import spool_in\n"
        f"with spool_in(pathlib.Path({str(parent)!r})) as spool:\n"
        "    spool.put('batch-0', 1)\n"
        "    print(spool.folder.name, flush=True)\n"
        "    sys.stdin.readline()\n"
        "    spool.take('batch-0')\n"
    )
    # In its namespace the run gets a pid that no process has here (above this machine's pid_max).
    numbered = 'echo 2999999 > /proc/sys/kernel/ns_last_pid 2>/dev/null; "$0" -c "$1"'
    other = subprocess.Popen(
        ["unshare", "--pid", "--fork", "--mount-proc", "--kill-child", "sh", "-c", numbered, sys.executable, script],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        folder = parent / other.stdout.readline().strip()
        pid = int(folder.name.split("-")[1])
        if Path(f"/proc/{pid}").exists():
            pytest.skip("that pid is taken here as well")
        with spool_in(parent):
            assert folder.is_dir(), "the spool of a live run was removed"
        other.stdin.write("\n")
        other.stdin.flush()
        assert other.wait(timeout=60) == 0
    finally:
        other.kill()


@pytest.mark.usefixtures("console_scripts")
def test_a_run_without_a_prefect_server_prepares_ahead_on_its_one_temporary_server(tmp_path) -> None:
    """A steward's `run` (no Prefect server configured) starts one temporary server; the helper
    records its stages there, as tasks of the run, rather than starting a server of its own
    (seconds before the first part, and a server left running when the helper is killed)."""
    from test_idle_night import accepts_connections, run_command, server_ports, steward_env

    inbox = tmp_path / "inbox"
    write_demo_inbox(inbox, persons=200, seed=5, files=1)
    environment = steward_env(tmp_path, VICTIM_INTAKE_PREPARE_AHEAD="1", VICTIM_INTAKE_PART_MB="0.02")
    code, output = run_command(inbox, environment)
    assert code == 0, output
    ports = server_ports(output)
    assert len(ports) == 1, output
    assert not any(accepts_connections(port) for port in ports)
    prefect = sqlite3.connect(tmp_path / "prefect" / "prefect.db")
    stages = dict(prefect.execute("SELECT substr(name, 1, instr(name, '-') - 1), count(*) FROM task_run GROUP BY 1").fetchall())
    prefect.close()
    files = len([path for path in inbox.rglob("*") if path.suffix in (".ndjson", ".csv", ".xlsx")])
    assert stages["read"] == stages["load"] == files
    assert stages["validate"] == stages["pseudonymise"] > files


@pytest.mark.usefixtures("prefect_server")
def test_canaries_prepared_ahead_surface_nowhere(tmp_path, pseudonym_key, isolated_settings, monkeypatch, capfd) -> None:
    """The canary inbox (valid, invalid and broken files) prepared by the helper: its task runs,
    logs and errors, the spool and Prefect's database and home hold none of the canaries."""
    import os

    from test_canary import canary_needles, files_under, prefect_database_bytes, warehouse_dump, write_canary_inbox
    from test_flow_end_to_end import flow_run_texts, run_cli
    from warehouse_checks import find_in_bytes

    from flows.ahead import AheadSupply

    inbox = tmp_path / "inbox"
    write_canary_inbox(inbox)
    monkeypatch.setenv("VICTIM_INTAKE_PREPARE_AHEAD", "1")
    started = []
    monkeypatch.setattr(AheadSupply, "__init__", lambda self, spool, jobs, start=AheadSupply.__init__: started.append(1) or start(self, spool, jobs))
    code, output = run_cli("run", "--inbox", str(inbox))
    assert code == 1, output  # the four broken files fail, the others load
    assert started == [1]
    assert list((isolated_settings / "spool").iterdir()) == []
    places = {
        "console": (output + "".join(capfd.readouterr())).encode(),
        "prefect api": flow_run_texts().encode(),
        **prefect_database_bytes(),
        **files_under(Path(os.environ["PREFECT_HOME"])),
        **files_under(isolated_settings),
        **warehouse_dump(f"sqlite:///{isolated_settings / 'warehouse.sqlite'}", isolated_settings),
    }
    assert find_in_bytes(canary_needles(), places) == []


@pytest.mark.usefixtures("prefect_server", "console_scripts")
def test_the_spool_of_a_run_killed_while_preparing_ahead_is_gone_after_the_next_run(tmp_path, pseudonym_key) -> None:
    """kill -9 of the flow's process while the helper prepares: its spool stays (unreadable: the
    key died with it) until the next run, which removes it and leaves no spool of its own."""
    from test_crashes import command_env, run_command
    from test_prepare_ahead import helpers

    inbox = tmp_path / "inbox"
    write_demo_inbox(inbox, persons=200, seed=7, files=2)
    url = f"sqlite:///{tmp_path / 'killed.sqlite'}"
    home = tmp_path / "killed"
    settings = {"VICTIM_INTAKE_PREPARE_AHEAD": "1", "VICTIM_INTAKE_PART_MB": "0.02"}
    code, output = run_command(inbox, command_env(url, pseudonym_key, home, VICTIM_INTAKE_CRASH_AT="pseudonymise", **settings))
    assert code == -9, output
    deadline = time.monotonic() + 30
    while helpers() and time.monotonic() < deadline:
        time.sleep(0.2)
    assert helpers() == []
    assert len(list((home / "spool").iterdir())) == 1
    code, output = run_command(inbox, command_env(url, pseudonym_key, home, **settings))
    assert code == 0, output
    assert list((home / "spool").iterdir()) == []
