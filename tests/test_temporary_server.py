"""Prefect's temporary server ends with the command that started it, even when the command is killed."""

from __future__ import annotations

import os
import signal
import subprocess
import time
import uuid
from pathlib import Path

import pytest
from programs import VICTIM_INTAKE
from test_idle_night import accepts_connections, one_record_inbox, server_ports, steward_env

pytestmark = pytest.mark.usefixtures("console_scripts")
MARK = "VICTIM_INTAKE_TEST_PROCESS_MARK"


def processes_marked(mark: str) -> list[int]:
    """Processes whose environment carries `MARK=mark`: the command and everything it started."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            environment = (entry / "environ").read_bytes()
        except OSError:  # ended meanwhile, or not ours to read
            continue
        if f"{MARK}={mark}".encode() in environment.split(b"\0"):
            found.append(int(entry.name))
    return found


def test_a_run_killed_inside_its_load_leaves_no_server_and_no_process_behind(tmp_path: Path) -> None:
    inbox = one_record_inbox(tmp_path)
    mark = uuid.uuid4().hex
    environment = steward_env(tmp_path, VICTIM_INTAKE_CRASH_AT="load-transaction", **{MARK: mark})
    log = tmp_path / "run.log"
    # Output to a file, not a pipe: a server left behind would hold a pipe open, and wait forever.
    with log.open("w") as output:
        command = subprocess.run([VICTIM_INTAKE, "run", "--inbox", str(inbox)], env=environment, stdout=output, stderr=output, timeout=300, check=False)
    assert command.returncode == -signal.SIGKILL, log.read_text()
    [port] = server_ports(log.read_text())
    deadline = time.monotonic() + 10
    while (accepts_connections(port) or processes_marked(mark)) and time.monotonic() < deadline:
        time.sleep(0.2)
    left = processes_marked(mark)
    for pid in left:  # so that a failure leaves nothing running either
        os.kill(pid, signal.SIGKILL)
    assert not accepts_connections(port), "the temporary server outlived the command"
    assert left == [], "processes of the command outlived it"
