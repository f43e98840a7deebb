"""What the tasks of a flow run share: the configured warehouse's engine and the configured keys.

Both come from the settings when a task asks (`config.settings.current`), in whichever process
runs it. Keys are loaded where they are used and never passed as task parameters, so they stay
out of everything Prefect records.
"""

from __future__ import annotations

from sqlalchemy import Engine

from config.settings import current
from pseudonyms.keys import LoadedKey, load_key
from store.engines import shared_engine


def warehouse_engine() -> Engine:
    """The configured warehouse's engine, one per process and URL (`store.engines.shared_engine`)."""
    return shared_engine(current().warehouse_url)


def configured_key(purpose: str) -> LoadedKey:
    """The `pseudonym` or `vault` key, from its variable or its key file (`pseudonyms.keys.load_key`)."""
    return load_key(purpose, current().keys_dir)
