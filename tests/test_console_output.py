"""What the steward reads: the run summary, `status` and the quarantine, printed by the real command
with its output piped (as in CI logs, cron mail or `| tee`) on an 80-column console, from an inbox
whose file names and record ids carry Rich markup and terminal escape sequences."""

from __future__ import annotations

import base64
import os
import re
import secrets
import sqlite3
import subprocess
from pathlib import Path

import pytest
import sqlalchemy as sa
from feed import record, write_feed
from programs import VICTIM_INTAKE

pytestmark = pytest.mark.usefixtures("console_scripts")

# File names and record ids are written by sources: markup (a style here, a closing tag that would
# crash Rich there) and escape sequences must print as text.
HOSTILE_NAME = "politie-[bold red]x-\x1b[31m-2025-03-15"
HOSTILE_ID = "[/Name 1990-02-02]\x1b[2J"
SHOWN_ID = "[/Name 1990-02-02]\ufffd[2J"
MISSING_MANIFEST_REASON = "its manifest is missing (partial delivery?)"
KEYS = (secrets.token_bytes(32), secrets.token_bytes(32))
# Prefect's log records (and the tracebacks of failed task runs under them) go to the console too.
PREFECT_LOG_LINE = re.compile(r"^(\d\d:\d\d:\d\d\.\d{3} \| |See https://www\.prefect\.io/|\s+File \"|Traceback|\s{4}|[A-Za-z_.]+(Error|Rejected|Exception):)")


def steward(tmp_path: Path, *arguments: str) -> str:
    """The command's output as a steward's cron mail gets it; Prefect's own log lines left out."""
    environment = {
        **os.environ,
        "VICTIM_INTAKE_HOME": str(tmp_path / "home"),
        "PREFECT_HOME": str(tmp_path / "prefect"),
        "VICTIM_INTAKE_PSEUDONYM_KEY": base64.b64encode(KEYS[0]).decode(),
        "VICTIM_INTAKE_VAULT_KEY": base64.b64encode(KEYS[1]).decode(),
        "COLUMNS": "80",
    }
    for name in ("PREFECT_API_URL", "VICTIM_INTAKE_DATABASE_URL", "VICTIM_INTAKE_INBOX"):
        environment.pop(name, None)
    result = subprocess.run(
        [VICTIM_INTAKE, *arguments], env=environment, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=300, check=False
    )
    output = result.stdout.decode("utf-8")
    assert result.returncode in (0, 1), output
    assert "MarkupError" not in output and "\x1b" not in output, output
    ours = "\n".join(line for line in output.splitlines() if not PREFECT_LOG_LINE.match(line))
    assert "Traceback" not in ours, output
    return ours


def assert_readable(output: str, *whole: str) -> None:
    """No line wider than the console, and each of `whole` printed unbroken on one line."""
    lines = output.splitlines()
    assert max(len(line) for line in lines) <= 80, output
    for text in whole:
        assert any(text in line for line in lines), f"{text!r} is not printed whole:\n{output}"


def test_summary_status_and_quarantine_are_readable_at_80_columns_piped(tmp_path) -> None:
    inbox = tmp_path / "inbox"
    hostile = write_feed(inbox / "police", HOSTILE_NAME, [record("PL-0001"), record(HOSTILE_ID, datum_signaal="2025-02-30")])
    partial = write_feed(inbox / "police", "politie-2025-03-16-a-long-export-name-of-the-regional-unit", [record("PL-0002")])
    (partial.parent / f"{partial.name.removesuffix('.ndjson')}.manifest.json").unlink()
    shown_name = HOSTILE_NAME.replace("\x1b", "\ufffd") + ".ndjson"
    # A folder no partner definition names: its name was typed by someone.
    (inbox / "Kowalczyk_Zofia_19870312").mkdir()
    (inbox / "Kowalczyk_Zofia_19870312" / "lijst.csv").write_text("a;b\n1;2\n", encoding="utf-8")

    summary = steward(tmp_path, "run", "--inbox", str(inbox))
    assert_readable(summary, shown_name, partial.name, MISSING_MANIFEST_REASON, "Kowalczyk_Zofia_19870312")
    # File names and record ids are steward data: Prefect's logs, states and artifacts name batches.
    prefect = sqlite3.connect(tmp_path / "prefect" / "prefect.db")
    recorded = "\n".join(
        str(value)
        for query in ("SELECT message FROM log", "SELECT data FROM artifact", "SELECT message FROM flow_run_state", "SELECT parameters FROM flow_run")
        for (value,) in prefect.execute(query)
    )
    prefect.close()
    assert "batch" in recorded and "politie" not in recorded and "Name 1990" not in recorded, recorded
    assert "Kowalczyk" not in recorded and "lijst" not in recorded and "(folder without a definition)" in recorded, recorded

    status = steward(tmp_path, "status")
    assert_readable(status, shown_name, partial.name, MISSING_MANIFEST_REASON)

    quarantine = steward(tmp_path, "quarantine", "list")
    assert_readable(quarantine, shown_name)
    engine = sa.create_engine(f"sqlite:///{tmp_path / 'home' / 'warehouse.sqlite'}")
    with engine.connect() as connection:
        batch_id = connection.execute(sa.text("SELECT batch_id FROM ingest_batches WHERE rows_quarantined > 0")).scalar_one()
    engine.dispose()
    rows = steward(tmp_path, "quarantine", "show", batch_id[:12])
    assert_readable(rows, shown_name, SHOWN_ID)
    assert hostile.name == HOSTILE_NAME + ".ndjson"
