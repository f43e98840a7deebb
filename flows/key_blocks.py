"""Keys from Prefect Secret blocks, for deployments whose workers keep no key files.

Set `VICTIM_INTAKE_PSEUDONYM_KEY_BLOCK` (and `VICTIM_INTAKE_VAULT_KEY_BLOCK`) to the names of
Secret blocks holding the base64 keys. At the start of a flow run the keys are read from the
blocks into this process's environment, where `pseudonyms.keys.load_key` finds them; a key set
directly in the environment wins. The block name may appear in parameters and logs, the key never.
"""

from __future__ import annotations

import os

from config.settings import current
from pseudonyms.keys import KEY_PURPOSES, KeyConfigError


def load_key_blocks() -> None:
    """Copy keys from the configured Secret blocks into the environment (only where unset)."""
    given = current().key_variables()
    for variable in KEY_PURPOSES.values():
        block = given.get(f"{variable}_BLOCK")
        if not block or given.get(variable):
            continue
        from prefect.blocks.system import Secret

        try:
            value = Secret.load(block).get()
        except ValueError:
            raise KeyConfigError(f"Prefect Secret block {block!r} (from ${variable}_BLOCK) does not exist.") from None
        # Handed on through the environment, where every later `config.settings.current()` finds it.
        os.environ[variable] = str(value)
