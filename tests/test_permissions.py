"""Everything the product writes is private to its user (files 0600, folders 0700), whatever the
umask of the shell it runs from; what others can already read under the home is warned about, once."""

from __future__ import annotations

import os
import sqlite3
import stat
import subprocess
from pathlib import Path

import pytest
from programs import VICTIM_INTAKE
from test_idle_night import steward_env

pytestmark = pytest.mark.usefixtures("console_scripts")


def command(environment: dict[str, str], *arguments: str) -> subprocess.CompletedProcess:
    """`victim-intake ARGUMENTS` from a shell whose umask lets everyone read what it creates."""
    return subprocess.run(
        ["sh", "-c", 'umask 022; exec "$@"', "sh", VICTIM_INTAKE, *arguments],
        env=environment, capture_output=True, text=True, timeout=600, check=False,
    )


def loose(*roots: Path) -> list[str]:
    """Every file or folder under the roots (the roots included) with any permission for group or others."""
    found = []
    for root in roots:
        for folder, _, files in os.walk(root):
            for path in (Path(folder), *(Path(folder) / name for name in files)):
                mode = stat.S_IMODE(path.lstat().st_mode)
                if mode & 0o077:
                    found.append(f"{path} {mode:o}")
    return found


def test_every_file_and_folder_the_commands_write_is_private(tmp_path: Path) -> None:
    home, prefect_home, reports = tmp_path / "home", tmp_path / "prefect", tmp_path / "reports"
    environment = steward_env(tmp_path)
    environment.pop("VICTIM_INTAKE_PSEUDONYM_KEY")
    environment.pop("VICTIM_INTAKE_VAULT_KEY")  # `keys init` writes the key files
    assert environment["PREFECT_HOME"] == str(prefect_home)

    results = [
        command(environment, "keys", "init", "--demo"),
        command(environment, "demo", "--persons", "60", "--files", "2"),
        command(environment, "run"),
    ]
    with sqlite3.connect(home / "warehouse.sqlite") as database:
        year = database.execute("SELECT max(registration_year) FROM registrations WHERE source_kind = 'police'").fetchone()[0]
    results += [
        command(environment, "report", "--year", str(year), "--min-cell", "1", "--out", str(reports / "html" / "report.html")),
        command(environment, "report", "--year", str(year), "--min-cell", "1", "--format", "csv", "--out", str(reports / "csv")),
        command(environment, "report", "--year", str(year), "--min-cell", "1", "--format", "md"),  # default: under the home
        command(environment, "status"),
    ]
    for result in results:
        assert result.returncode in (0, 1), result.stdout + result.stderr
        assert "other users" not in result.stderr, result.stderr
    assert (home / "warehouse.sqlite-wal").exists() or (home / "warehouse.sqlite").exists()
    assert (prefect_home / "prefect.db").exists() and any(reports.rglob("*.csv")) and any((home / "reports").iterdir())
    assert loose(home, prefect_home, reports) == []


def test_what_others_can_already_read_under_the_home_is_warned_about_once(tmp_path: Path) -> None:
    environment = steward_env(tmp_path)
    home = tmp_path / "home"
    assert command(environment, "status").returncode == 0
    (home / "warehouse.sqlite").chmod(0o644)
    (home / "inbox" / "police").mkdir(parents=True)
    (home / "inbox" / "police" / "Jansen-2025.ndjson").write_text("{}\n")
    (home / "inbox" / "police" / "Jansen-2025.ndjson").chmod(0o640)
    result = command(environment, "status")
    assert result.returncode == 0, result.stderr
    assert result.stderr.count("other users") == 1, result.stderr
    assert "warehouse.sqlite" in result.stderr and "inbox/" in result.stderr
    assert "Jansen" not in result.stderr  # names inside the inbox come from sources: never listed
