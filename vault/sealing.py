"""Authenticated encryption of identifying values under the vault key (AES-256-GCM).

A sealed value is `nonce (12 bytes) || ciphertext || tag`. The associated data binds it to its
context (a registration, a quarantine entry), so a sealed value copied elsewhere fails to open.
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


def seal_many(key: bytes, plaintexts: list[str], associated_data: list[str]) -> list[bytes]:
    """`seal` for many values: one cipher object and one draw of random nonces for all of them."""
    cipher = AESGCM(key)
    nonces = os.urandom(NONCE_BYTES * len(plaintexts))
    sealed = []
    for index, (plaintext, context) in enumerate(zip(plaintexts, associated_data, strict=True)):
        nonce = nonces[index * NONCE_BYTES : (index + 1) * NONCE_BYTES]
        sealed.append(nonce + cipher.encrypt(nonce, plaintext.encode("utf-8"), context.encode("utf-8")))
    return sealed


def unseal_many(key: bytes, sealed: list[bytes], associated_data: list[str]) -> list[str]:
    """`unseal` for many values with one cipher object; any value that does not open fails them all."""
    cipher = AESGCM(key)
    try:
        return [
            cipher.decrypt(value[:NONCE_BYTES], value[NONCE_BYTES:], context.encode("utf-8")).decode("utf-8")
            for value, context in zip(sealed, associated_data, strict=True)
        ]
    except InvalidTag:
        raise SealBroken("a sealed value does not open with this key and context") from None


def unseal(key: bytes, sealed: bytes, associated_data: str) -> str:
    try:
        plaintext = AESGCM(key).decrypt(sealed[:NONCE_BYTES], sealed[NONCE_BYTES:], associated_data.encode("utf-8"))
    except InvalidTag:
        raise SealBroken("sealed value does not open with this key and context") from None
    return plaintext.decode("utf-8")
