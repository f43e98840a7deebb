"""Crash points for fault-injection tests; inert unless VICTIM_INTAKE_CRASH_AT is set.

`VICTIM_INTAKE_CRASH_AT=<stage>` makes the process kill itself (SIGKILL, no clean-up of any kind)
when it reaches that stage, so tests can prove that a crash anywhere leaves the warehouse either
with the whole file or none of it. Stages, in the order a file meets them: `discover`, `read`,
`validate`, `pseudonymise`, `load-transaction` (rows merged, transaction not yet committed),
`after-commit` (file committed, run bookkeeping not yet written). Costs one reading of the
settings (`config.settings`, about 2 ms) per stage per file or part. Never set it in production.
"""

from __future__ import annotations

import os
import signal

from config.settings import current, variable

CRASH_VARIABLE = variable("crash_at")
STAGES = ("discover", "read", "validate", "pseudonymise", "load-transaction", "after-commit")


def crash_point(stage: str) -> None:
    """Kill this process now if the crash variable names `stage`."""
    if current().crash_at == stage:
        os.kill(os.getpid(), signal.SIGKILL)
