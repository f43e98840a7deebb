"""Prefect settings for embedded runs, applied before Prefect is imported."""

from __future__ import annotations

import os

from config.private_files import make_private_dir
from config.settings import current

# Offline machines: no telemetry; a cold ephemeral server may need longer than Prefect's default.
_EMBEDDED_DEFAULTS = {
    "DO_NOT_TRACK": "1",
    "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
    "PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS": "120",
    # Task results may hold personal data: never written to disk.
    "PREFECT_RESULTS_PERSIST_BY_DEFAULT": "false",
    "PREFECT_TASKS_DEFAULT_NO_CACHE": "true",
}


def configure() -> None:
    """Point Prefect at the project's home folder unless the operator configured it already."""
    settings = current()
    # Prefect reads its own variables when it is imported: this process tells it where its home is.
    if settings.prefect_home is None:
        os.environ["PREFECT_HOME"] = str(settings.prefect_folder)
    make_private_dir(settings.prefect_folder)
    for name, value in _EMBEDDED_DEFAULTS.items():
        os.environ.setdefault(name, value)
