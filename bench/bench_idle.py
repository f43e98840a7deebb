"""Benchmark a night with nothing new: `victim-intake run` on an inbox whose files are all loaded.

Reuses a home folder whose warehouse already holds the inbox (keys included), so that a warehouse
of a million registrations is built once (`bench/README.md`). Runs each given `victim-intake`
program in turn, interleaved, and prints per run the wall and CPU seconds of the whole process tree
(the command and Prefect's temporary server) and where the wall time went, from the timestamps of
Prefect's log lines; and, measured in the same rounds as the baseline, Prefect's temporary server
started on its own (`python -m uvicorn --factory prefect.server.api.server:create_app`) until it
answers: the floor of any run that starts one.

    .venv/bin/python bench/bench_idle.py --home /tmp/idle-1m --inbox /tmp/idle-1m-inbox --rounds 3
    .venv/bin/python bench/bench_idle.py --home /tmp/idle-1m --inbox /tmp/idle-1m-inbox \\
        --program before=/path/to/other/.venv/bin/victim-intake --program after=.venv/bin/victim-intake

A program that would upgrade the warehouse's schema gets a copy of the home of its own
(`--program-home after=/tmp/idle-1m-after`), so that the other still finds the revision it knows.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import re
import resource
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

VENV_BIN = Path(sys.executable).parent
# Prefect's console lines start with the local time: "17:10:32.059 | INFO    | ...".
_LINE = re.compile(r"^(\d\d:\d\d:\d\d\.\d{3}) \| \w+\s*\| (.*)$", re.MULTILINE)
_MARKS = {
    "server starting": "Starting temporary server on",
    "flow run begins": "Beginning flow run",
    "flow run ends": "' - Finished in state",
    "server stopping": "Stopping temporary server on",
}


@dataclass(frozen=True)
class Run:
    wall: float
    cpu: float
    marks: dict[str, float]  # seconds after the start, per mark found in the output


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _marks(output: str, started: dt.datetime) -> dict[str, float]:
    """Seconds after `started` of the first log line carrying each mark."""
    found: dict[str, float] = {}
    for clock, text in _LINE.findall(output):
        moment = dt.datetime.combine(started.date(), dt.time.fromisoformat(clock))
        for name, needle in _MARKS.items():
            if name not in found and needle in text and (name != "flow run ends" or text.startswith("Flow run")):
                found[name] = (moment - started).total_seconds()
    return found


def run_once(program: str, inbox: Path, env: dict[str, str]) -> Run:
    """One `victim-intake run`; its CPU is its process tree's (the server is waited for by the command)."""
    cpu_before, started_at, started = _children_cpu(), dt.datetime.now(), time.perf_counter()
    result = subprocess.run([program, "run", "--inbox", str(inbox)], env=env, capture_output=True, text=True, check=False)
    wall = time.perf_counter() - started
    if result.returncode != 0 or "already loaded" not in result.stdout + result.stderr:
        raise SystemExit(f"{program} run exited {result.returncode}, or found new files:\n{(result.stdout + result.stderr)[-3000:]}")
    return Run(wall, _children_cpu() - cpu_before, _marks(result.stdout + result.stderr, started_at))


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def server_alone(env: dict[str, str]) -> Run:
    """Prefect's temporary server started on its own, as Prefect starts it, until /api/health answers."""
    port = _free_port()
    server_env = {**env, "PREFECT_UI_ENABLED": "0", "PREFECT__SERVER_EPHEMERAL": "1", "PREFECT__SERVER_FINAL": "1"}
    cpu_before, started = _children_cpu(), time.perf_counter()
    process = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "--factory", "prefect.server.api.server:create_app", "--host", "127.0.0.1",
         "--port", str(port), "--log-level", "error", "--lifespan", "on"],
        env=server_env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    try:
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/health", timeout=1) as response:
                    if response.status == 200:
                        break
            except OSError:
                if process.poll() is not None:
                    raise SystemExit(f"the server alone exited {process.returncode}") from None
            time.sleep(0.05)
        wall = time.perf_counter() - started
    finally:
        process.terminate()
        process.wait()
    return Run(wall, _children_cpu() - cpu_before, {})


def describe(label: str, runs: list[Run]) -> None:
    walls, cpus = [run.wall for run in runs], [run.cpu for run in runs]
    print(f"{label:>14}: wall {statistics.median(walls):5.1f} s (runs {', '.join(f'{w:.1f}' for w in walls)}), "
          f"CPU {statistics.median(cpus):5.1f} s (runs {', '.join(f'{c:.1f}' for c in cpus)})")
    marks = [run.marks for run in runs if run.marks]
    if not marks:
        return
    names = [name for name in _MARKS if all(name in mark for mark in marks)]
    print(" " * 16 + ", ".join(f"{name} at {statistics.median(mark[name] for mark in marks):.1f} s" for name in names))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--home", type=Path, required=True, help="VICTIM_INTAKE_HOME whose warehouse holds the inbox")
    parser.add_argument("--inbox", type=Path, required=True)
    parser.add_argument("--program", action="append", default=[], metavar="LABEL=PATH",
                        help="a victim-intake program to measure (repeatable; default: this venv's)")
    parser.add_argument("--program-home", action="append", default=[], metavar="LABEL=PATH",
                        help="the home folder of one program (repeatable; default: --home)")
    parser.add_argument("--rounds", type=int, default=3)
    arguments = parser.parse_args()

    programs = dict(entry.split("=", 1) for entry in arguments.program) or {"victim-intake": str(VENV_BIN / "victim-intake")}
    homes = dict(entry.split("=", 1) for entry in arguments.program_home)
    base = {**os.environ, "VICTIM_INTAKE_HOME": str(arguments.home), "COLUMNS": "200"}
    base.pop("PREFECT_API_URL", None)
    environments = {label: {**base, "VICTIM_INTAKE_HOME": homes.get(label, str(arguments.home))} for label in programs}
    results: dict[str, list[Run]] = {label: [] for label in [*programs, "server alone"]}
    print(f"load average at the start: {' '.join(f'{value:.2f}' for value in os.getloadavg())}")
    with tempfile.TemporaryDirectory(prefix="bench-idle-prefect-") as scratch:
        alone_env = {**base, "PREFECT_HOME": scratch}
        server_alone(alone_env)  # once before measuring: Prefect's database created, files in the page cache
        for label, program in programs.items():  # once each before measuring, as the first night after a load
            run_once(program, arguments.inbox, environments[label])
        for _ in range(arguments.rounds):
            for label, program in programs.items():
                results[label].append(run_once(program, arguments.inbox, environments[label]))
            results["server alone"].append(server_alone(alone_env))
    print(f"load average at the end: {' '.join(f'{value:.2f}' for value in os.getloadavg())}")
    for label, runs in results.items():
        describe(label, runs)


if __name__ == "__main__":
    main()
