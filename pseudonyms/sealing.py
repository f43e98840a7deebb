"""Authenticated encryption of identifying values under the vault key (AES-256-GCM).

A sealed value is `nonce (12 bytes) || ciphertext || tag`. The associated data binds it to its
context (a person id, a quarantine entry), so a sealed value copied elsewhere fails to open.
"""

from __future__ import annotations

import os

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

NONCE_BYTES = 12


class SealBroken(Exception):
    """The value was not sealed under this key and context, or was altered."""


def seal(key: bytes, plaintext: str, associated_data: str) -> bytes:
    nonce = os.urandom(NONCE_BYTES)
    return nonce + AESGCM(key).encrypt(nonce, plaintext.encode("utf-8"), associated_data.encode("utf-8"))


def unseal(key: bytes, sealed: bytes, associated_data: str) -> str:
    try:
        plaintext = AESGCM(key).decrypt(sealed[:NONCE_BYTES], sealed[NONCE_BYTES:], associated_data.encode("utf-8"))
    except InvalidTag:
        raise SealBroken("sealed value does not open with this key and context") from None
    return plaintext.decode("utf-8")
