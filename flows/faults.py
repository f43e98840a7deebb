"""Crash points for fault-injection tests; inert unless VICTIM_INTAKE_CRASH_AT is set.

`VICTIM_INTAKE_CRASH_AT=<stage>` makes the process kill itself (SIGKILL, no clean-up of any kind)
when it reaches that stage, so tests can prove that a crash anywhere leaves the warehouse either
with the whole file or none of it. Stages, in the order a file meets them: `discover`, `read`,
`validate`, `pseudonymise`, `load-transaction` (rows merged, transaction not yet committed),
`after-commit` (file committed, run bookkeeping not yet written). Costs one environment lookup
per stage per file. Never set it in production.
"""

from __future__ import annotations

import os
import signal

CRASH_VARIABLE = "VICTIM_INTAKE_CRASH_AT"
STAGES = ("discover", "read", "validate", "pseudonymise", "load-transaction", "after-commit")


def crash_point(stage: str) -> None:
    """Kill this process now if the crash variable names `stage`."""
    if os.environ.get(CRASH_VARIABLE) == stage:
        os.kill(os.getpid(), signal.SIGKILL)
