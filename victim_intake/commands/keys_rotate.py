"""`victim-intake keys rotate`: a new pseudonym key version, and the warehouse re-pseudonymised.

Key files: the new key is written as `pseudonym.vN.key.pending`, the warehouse is re-keyed in one
transaction, then the pending file becomes `pseudonym.vN.key` and the old key file is deleted
(the vault, under its own key, is what lets the pseudonyms be recomputed; the old key is not
needed again). A rotation interrupted after the commit is completed by running it again.
Keys from the environment: the new key comes from `VICTIM_INTAKE_NEXT_PSEUDONYM_KEY`; afterwards
the secret store must hand it out as `VICTIM_INTAKE_PSEUDONYM_KEY` with `..._VERSION` = N.
"""

from __future__ import annotations

from pathlib import Path

from config.settings import current, variable
from victim_intake.commands.common import console, usage_error

NEXT_KEY_VARIABLE = variable("next_pseudonym_key")


def _pending(keys_dir: Path, version: int) -> Path:
    from pseudonyms.keys import key_path

    return key_path(keys_dir, "pseudonym", version).with_suffix(".key.pending")


def _recorded_fingerprint(engine) -> str | None:
    from sqlalchemy import select

    from store.tables import key_fingerprints

    with engine.connect() as connection:
        return connection.execute(
            select(key_fingerprints.c.fingerprint).where(key_fingerprints.c.purpose == "pseudonym")
        ).scalar_one_or_none()


def keys_rotate() -> None:
    """Create a new pseudonym key version and re-pseudonymise every person through the vault."""
    from pseudonyms.keys import KeyConfigError, LoadedKey, decode_key, key_path, load_key, read_key_file, write_new_key
    from store.engines import shared_engine
    from warehouse.database import create_tables
    from warehouse.ledger import KeyMismatch
    from warehouse.migration_inputs import migration_inputs
    from warehouse.rotation import RotationImpossible, rotate_pseudonyms

    settings = current()
    keys_dir = settings.keys_dir
    try:
        old = load_key("pseudonym", keys_dir)
        vault_key = load_key("vault", keys_dir).material
    except KeyConfigError as error:
        raise usage_error(str(error)) from None
    engine = shared_engine(settings.warehouse_url)
    create_tables(engine, migration_inputs())
    version = old.version + 1
    from_environment = old.origin.startswith("$")
    if from_environment:
        if settings.next_pseudonym_key is None:
            raise usage_error(
                f"the pseudonym key comes from the environment: put the new key (base64 of 32 random bytes) "
                f"in ${NEXT_KEY_VARIABLE} and run `victim-intake keys rotate` again"
            )
        try:
            new = LoadedKey("pseudonym", decode_key(settings.next_pseudonym_key.get_secret_value(), f"${NEXT_KEY_VARIABLE}"), f"${NEXT_KEY_VARIABLE}", version)
        except KeyConfigError as error:
            raise usage_error(str(error)) from None
    else:
        pending = _pending(keys_dir, version)
        if not pending.exists():
            write_new_key(pending)
        new = read_key_file("pseudonym", pending, version)
    if _recorded_fingerprint(engine) != new.fingerprint:
        try:
            outcome = rotate_pseudonyms(engine, old, new, vault_key)
        except (KeyMismatch, RotationImpossible) as error:
            raise usage_error(str(error)) from None
        console.print(
            f"Re-keyed {outcome.registrations:,} registrations of {outcome.persons:,} persons "
            f"({outcome.links:,} identifier links) to pseudonym key version {outcome.version}, "
            f"fingerprint {new.fingerprint}."
        )
    if from_environment:
        console.print(
            f"Now store the new key as VICTIM_INTAKE_PSEUDONYM_KEY with VICTIM_INTAKE_PSEUDONYM_KEY_VERSION={version} "
            "and destroy the old one."
        )
        return
    _pending(keys_dir, version).rename(key_path(keys_dir, "pseudonym", version))
    Path(old.origin).unlink()
    console.print(f"Key file {key_path(keys_dir, 'pseudonym', version)} is now in use; the old key file was deleted.")
