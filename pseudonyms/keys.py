"""Key custody: 256-bit keys from the environment or from mode-0600 key files, with fingerprints.

A key is never printed, logged or stored in the warehouse; only its fingerprint is.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import os
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from config import settings

KEY_BYTES = 32

# Purpose -> environment variable that may hold the key (base64).
KEY_PURPOSES: dict[str, str] = {
    "pseudonym": settings.variable("pseudonym_key"),
    "vault": settings.variable("vault_key"),
}


class KeyConfigError(Exception):
    """A key is missing or malformed; the message says how to fix it and never holds key material."""


@dataclass(frozen=True)
class LoadedKey:
    """A key with where it came from, for messages that must not show the key itself."""

    purpose: str
    material: bytes
    origin: str
    version: int = 1  # pseudonyms made under this key carry it; `keys rotate` increments it

    @property
    def fingerprint(self) -> str:
        return fingerprint(self.material)

    def __repr__(self) -> str:  # keep key material out of tracebacks and debuggers' reprs
        return (
            f"LoadedKey(purpose={self.purpose!r}, origin={self.origin!r}, version={self.version}, "
            f"fingerprint={self.fingerprint!r})"
        )


def fingerprint(material: bytes) -> str:
    """A short public identifier of a key: HMAC of a fixed label, so it reveals nothing usable."""
    return hmac.new(material, b"victim-intake key fingerprint", hashlib.sha256).hexdigest()[:16]


def key_path(keys_dir: Path, purpose: str, version: int = 1) -> Path:
    """`pseudonym.key` is version 1; `keys rotate` writes `pseudonym.v2.key`, `pseudonym.v3.key` ..."""
    return keys_dir / (f"{purpose}.key" if version == 1 else f"{purpose}.v{version}.key")


def current_version(keys_dir: Path, purpose: str) -> int:
    """Highest key version with a file in `keys_dir` (1 when there is none yet)."""
    versions = [1] + [
        int(path.name.split(".")[1][1:])
        for path in keys_dir.glob(f"{purpose}.v*.key")
        if path.name.split(".")[1][1:].isdigit()
    ]
    return max(versions)


def _environment_version(environ: Mapping[str, str], variable: str) -> int:
    text = environ.get(f"{variable}_VERSION", "1")
    if not text.isdigit() or int(text) < 1:
        raise KeyConfigError(f"${variable}_VERSION must be a whole number of at least 1.")
    return int(text)


def decode_key(text: str, where: str) -> bytes:
    try:
        material = base64.b64decode(text.strip(), validate=True)
    except (binascii.Error, ValueError):
        raise KeyConfigError(f"{where} is not valid base64.") from None
    if len(material) != KEY_BYTES:
        raise KeyConfigError(f"{where} must hold {KEY_BYTES * 8} bits, found {len(material) * 8}.")
    return material


def load_key(purpose: str, keys_dir: Path, environ: Mapping[str, str] | None = None) -> LoadedKey:
    """The key for `purpose`: its environment variable if set, else its key file. The variables
    come from the settings (`config.settings`) unless `environ` is given."""
    if environ is None:
        environ = settings.current().key_variables()
    variable = KEY_PURPOSES[purpose]
    if environ.get(variable):
        version = _environment_version(environ, variable)
        return LoadedKey(purpose, decode_key(environ[variable], f"${variable}"), f"${variable}", version)
    version = current_version(keys_dir, purpose)
    path = key_path(keys_dir, purpose, version)
    if not path.exists():
        raise KeyConfigError(
            f"No {purpose} key: set ${variable} (base64 of {KEY_BYTES} random bytes) "
            f"or run `victim-intake keys init` to create {path}."
        )
    return read_key_file(purpose, path, version)


def read_key_file(purpose: str, path: Path, version: int) -> LoadedKey:
    """A key file, refused when other users could read it."""
    if path.stat().st_mode & 0o077:
        raise KeyConfigError(f"{path} is readable by other users; run `chmod 600 {path}`.")
    return LoadedKey(purpose, decode_key(path.read_text(encoding="ascii"), str(path)), str(path), version)


@dataclass(frozen=True)
class KeyFile:
    purpose: str
    path: Path
    created: bool
    fingerprint: str


def init_keys(keys_dir: Path) -> list[KeyFile]:
    """Create every missing key file (mode 0600); existing keys are never overwritten."""
    keys_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    os.chmod(keys_dir, 0o700)
    outcome: list[KeyFile] = []
    for purpose in KEY_PURPOSES:
        path = key_path(keys_dir, purpose, current_version(keys_dir, purpose))
        created = not path.exists()
        if created:
            write_new_key(path)
        material = decode_key(path.read_text(encoding="ascii"), str(path))
        outcome.append(KeyFile(purpose, path, created, fingerprint(material)))
    return outcome


def write_new_key(path: Path) -> None:
    """Write a fresh random key to `path`, which must not exist yet."""
    encoded = base64.b64encode(secrets.token_bytes(KEY_BYTES)) + b"\n"
    # O_EXCL: never clobber a key another process created meanwhile; 0600 from the first byte.
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "wb") as handle:
        handle.write(encoded)
