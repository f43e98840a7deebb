"""What a warehouse answers, in a form that two releases can compare: persons per registration,
what `reveal` opens, what the quarantine's sealed values open to, and the results of `erase` and
`keys rotate` (with a fixed new key). Only digests of opened values are kept, never the values.

Run by `make_release_warehouse.py` with the release that built the warehouse (the expected
results), and by `test_release_upgrade.py` with this code after migrating a copy.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from sqlalchemy import select

REASON = "Upgrade check, case UPG-1"
# The next pseudonym key of the rotation: fixed, so that both releases rotate to the same pseudonyms.
NEXT_KEY = hashlib.sha256(b"victim-intake release fixture: next pseudonym key").digest()


def _digest(value: object) -> str:
    return hashlib.sha256(json.dumps(value, sort_keys=True, default=str).encode()).hexdigest()


def _persons(engine) -> dict[str, str | None]:
    from store.tables import registrations

    with engine.connect() as connection:
        return dict(connection.execute(select(registrations.c.registration_id, registrations.c.person_id)).all())


def _reveals(engine, persons: dict[str, str | None], vault_key: bytes) -> dict[str, str]:
    from vault.entries import reveal

    opened = {}
    for person in sorted({person for person in persons.values() if person}):
        entries = reveal(engine, person, REASON, vault_key)
        opened[person] = _digest(sorted((entry.registration_id, entry.source, entry.fields) for entry in entries))
    return opened


def _quarantine(engine, vault_key: bytes) -> dict[str, str]:
    from store.tables import quarantine
    from warehouse.quarantine_opening import open_quarantine

    with engine.connect() as connection:
        batches = sorted(set(connection.execute(select(quarantine.c.batch_id)).scalars()))
    return {
        batch: _digest(sorted((entry["row_number"], entry["column_name"], entry["value"]) for entry in open_quarantine(engine, batch, REASON, vault_key)))
        for batch in batches
    }


def results(url: str, keys_dir: Path) -> dict:
    """Every result, in this order: persons, reveals and quarantine values; then the person with the
    most registrations erased; then the pseudonyms rotated to `NEXT_KEY` (the warehouse changes)."""
    from pseudonyms.keys import LoadedKey, load_key
    from store.engines import make_engine
    from warehouse.erasure import erase_person
    from warehouse.rotation import rotate_pseudonyms

    engine = make_engine(url)
    try:
        old = load_key("pseudonym", keys_dir, {})
        vault_key = load_key("vault", keys_dir, {}).material
        persons = _persons(engine)
        found = {"persons": persons, "reveals": _reveals(engine, persons, vault_key), "quarantine": _quarantine(engine, vault_key)}
        held: dict[str, int] = {}
        for person in persons.values():
            if person:
                held[person] = held.get(person, 0) + 1
        erased = min(held, key=lambda person: (-held[person], person))
        removed = erase_person(engine, erased, vault_key)
        found["erase"] = {
            "person": erased, "registrations": removed.registrations, "vault_entries": removed.vault_entries,
            "quarantine_entries": removed.quarantine_entries, "persons_after": _persons(engine),
        }
        rotated = rotate_pseudonyms(engine, old, LoadedKey("pseudonym", NEXT_KEY, "fixture", old.version + 1), vault_key)
        after = _persons(engine)
        found["rotate"] = {
            "registrations": rotated.registrations, "persons": rotated.persons, "links": rotated.links, "version": rotated.version,
            "persons_after": after, "reveals_after": _reveals(engine, after, vault_key),
        }
        return found
    finally:
        engine.dispose()
