"""Benchmark a CTDC global-dataset file (63 columns) through `victim-intake run`, per stage too.

Writes a synthetic file of `--rows` rows into a fresh inbox and home, runs the real CLI (a real
Prefect flow on an ephemeral server) and prints its wall time and the per-stage seconds the flow
logs for the file.

    .venv/bin/python bench/bench_ctdc.py --rows 50000
"""

from __future__ import annotations

import argparse
import base64
import os
import re
import secrets
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from victim_intake.synthetic.ctdc_files import write_ctdc_file

_STAGES = re.compile(r"ctdc\.csv: ((?:\w+ [\d.]+ s(?:, )?)+)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=50_000)
    arguments = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-ctdc-") as folder:
        home = Path(folder)
        write_ctdc_file(np.random.default_rng(1), home / "inbox" / "ctdc" / "ctdc.csv", arguments.rows, "ctdc_global", "ctdc")
        environment = os.environ | {
            "VICTIM_INTAKE_HOME": str(home),
            "VICTIM_INTAKE_PSEUDONYM_KEY": base64.b64encode(secrets.token_bytes(32)).decode(),
            "VICTIM_INTAKE_VAULT_KEY": base64.b64encode(secrets.token_bytes(32)).decode(),
            "DO_NOT_TRACK": "1",
            "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
            "COLUMNS": "200",
        }
        command = [str(Path(sys.executable).parent / "victim-intake"), "run", "--inbox", str(home / "inbox")]
        started = time.perf_counter()
        finished = subprocess.run(command, env=environment, capture_output=True, text=True, check=False)
        seconds = time.perf_counter() - started
        stages = _STAGES.search(finished.stdout + finished.stderr)
        print(f"{arguments.rows:,} CTDC rows: `victim-intake run` exit {finished.returncode} in {seconds:.1f} s "
              f"(including the ephemeral Prefect server); file stages: {stages.group(1) if stages else 'not logged'}")


if __name__ == "__main__":
    main()
