"""How vault entries were bound before revision 0015: to their person, or to their registration
when it named no one. Only the migrations that read or rewrite entries of that time use it."""

from __future__ import annotations

import orjson

from vault.sealing import unseal


def person_bound_context(person_id: str | None, registration_id: str) -> str:
    """The associated data a sealed entry of that time was bound to."""
    return f"person:{person_id}" if person_id else f"registration:{registration_id}"


def open_person_bound(key: bytes, sealed: bytes, person_id: str | None, registration_id: str) -> dict:
    """The identifying fields of one entry sealed to its person."""
    return orjson.loads(unseal(key, bytes(sealed), person_bound_context(person_id, registration_id)))
