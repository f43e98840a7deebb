"""Prefect's temporary API server, run so that it ends with the command that started it.

`python -m victim_intake.server_watchdog PARENT_PID <uvicorn arguments>` runs uvicorn as Prefect
would (`python -m uvicorn ...`), with one thread more: it checks every quarter of a second that the
process's parent is still PARENT_PID. When the command ends in any way, a SIGKILL included, its
children are given to another parent (init, or a subreaper), the check sees it, and the server
shuts down (SIGTERM to itself: uvicorn's orderly stop), or is ended outright if that takes longer
than a few seconds. Without it a command killed mid-run left the server listening on 127.0.0.1,
without authentication, reparented to PID 1.

Why a watchdog in the server and not the alternatives: a parent-death signal (PR_SET_PDEATHSIG)
fires when the *thread* that started the child ends, and the server is started from a short-lived
thread (`victim_intake.temporary_server`), so it would be killed as soon as it was up; it also needs
a pre-exec hook, which is unsafe in a process that runs threads, and exists on Linux only. A
process group or session only helps a parent that is still alive to signal it. A pipe whose end of
file tells of the parent's death stays open as long as any other child inherited it. Polling the
parent's id needs nothing from the parent, works on every POSIX system, and costs a wake-up four
times a second.
"""

from __future__ import annotations

import os
import signal
import sys
import threading
import time

POLL_SECONDS = 0.25
STOP_GRACE_SECONDS = 3.0


def watch_parent(parent: int) -> None:
    """Return once this process's parent is no longer `parent` (it ended), then stop the server."""
    while os.getppid() == parent:
        time.sleep(POLL_SECONDS)
    os.kill(os.getpid(), signal.SIGTERM)
    time.sleep(STOP_GRACE_SECONDS)
    os._exit(1)


def main(arguments: list[str]) -> None:
    parent, uvicorn_arguments = int(arguments[0]), arguments[1:]
    threading.Thread(target=watch_parent, args=(parent,), name="parent-watch", daemon=True).start()
    import uvicorn

    sys.argv = ["uvicorn", *uvicorn_arguments]
    uvicorn.main()


if __name__ == "__main__":
    main(sys.argv[1:])
