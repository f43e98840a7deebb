"""Build the warehouse of an earlier release that `test_release_upgrade.py` migrates, with the
results that release gives on it (`release_results.py`). Synthetic demo data and demo keys only.

    git worktree add /tmp/release 7f61fa5      # the release before the lean vault (migration 0012)
    (cd /tmp/release && python3 -m venv .venv && .venv/bin/pip install -q -e '.[test]')
    .venv/bin/python tests/make_release_warehouse.py /tmp/release

The release's own command line writes demo keys, a small demo inbox and runs the nightly flow;
the release's Python then computes the expected results on a copy.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sqlite3
import subprocess
import sys
import tempfile
from pathlib import Path

FIXTURE = Path(__file__).resolve().parent / "fixtures" / "release_warehouse"
WAREHOUSE = "warehouse.sqlite3"  # not `.sqlite`: those are ignored by git as scratch files
_EXPECT = """
import json, sys
from pathlib import Path
sys.path.insert(0, {tests!r})
from release_results import results
print(json.dumps(results({url!r}, Path({keys!r})), sort_keys=True))
"""


def build(release: Path, home: Path) -> None:
    command = str(release / ".venv" / "bin" / "victim-intake")
    environment = {**os.environ, "VICTIM_INTAKE_HOME": str(home)}
    for arguments in (["keys", "init", "--demo"], ["demo", "--persons", "60", "--files", "2"], ["run"]):
        subprocess.run([command, *arguments], env=environment, check=True, cwd=release, stdout=subprocess.DEVNULL)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("release", type=Path, help="checkout of the earlier release, with its .venv")
    release = parser.parse_args().release.resolve()
    with tempfile.TemporaryDirectory() as scratch:
        home = Path(scratch) / "home"
        build(release, home)
        FIXTURE.mkdir(parents=True, exist_ok=True)
        (FIXTURE / "keys").mkdir(exist_ok=True)
        target = FIXTURE / WAREHOUSE
        target.unlink(missing_ok=True)
        with sqlite3.connect(home / "warehouse.sqlite") as source:
            source.execute(f"VACUUM INTO '{target}'")
        for key in ("pseudonym.key", "vault.key"):
            shutil.copyfile(home / "keys" / key, FIXTURE / "keys" / key)
            (FIXTURE / "keys" / key).chmod(0o600)
        copy = Path(scratch) / "copy.sqlite"
        shutil.copyfile(target, copy)
        script = _EXPECT.format(tests=str(Path(__file__).resolve().parent), url=f"sqlite:///{copy}", keys=str(FIXTURE / "keys"))
        expected = subprocess.run(
            [str(release / ".venv" / "bin" / "python"), "-c", script], cwd=release, check=True, capture_output=True, text=True
        ).stdout
        (FIXTURE / "expected.json").write_text(json.dumps(json.loads(expected.splitlines()[-1]), indent=1, sort_keys=True) + "\n")
    print(f"wrote {FIXTURE}", file=sys.stderr)


if __name__ == "__main__":
    main()
