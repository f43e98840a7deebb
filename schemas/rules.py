"""Fingerprints of the rules a file's rows are validated under, so that a steward learns when a
replay of its quarantined rows is worth trying without any file being read again.

A batch records the fingerprint of its rules when it loads (`ingest_batches.rules_fingerprint`);
`status` compares it with today's. The rules are the partner's definition (or the police feed's
contract) and the code lists: the shipped list files and the country names of pycountry.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict
from functools import cache
from importlib.metadata import version

from schemas import vocabulary
from schemas.codelists.catalogue import FOLDER, editions
from schemas.partner_definition import PartnerDefinition

# Raise when a check of the contracts changes meaning, so that every stored batch counts as
# validated under other rules.
CHECKS_VERSION = "1"


def _digest(*parts: bytes) -> str:
    hasher = hashlib.sha256()
    for part in parts:
        hasher.update(len(part).to_bytes(8, "big"))
        hasher.update(part)
    return hasher.hexdigest()


@cache
def code_lists_fingerprint() -> str:
    """The shipped lists (catalogue and files) and the country names' edition."""
    files = [FOLDER / "catalogue.yaml", *(FOLDER / edition.file for edition in editions().values())]
    return _digest(*(path.read_bytes() for path in files), version("pycountry").encode(), CHECKS_VERSION.encode())


def _contract(document: object) -> bytes:
    return json.dumps(document, sort_keys=True, default=str).encode()


def police_fingerprint() -> str:
    """The police feed's contract (its code lists and bounds) and the code lists."""
    contract = {
        name: getattr(vocabulary, name)
        for name in ("POLICE_UNITS", "POLICE_GENDER", "POLICE_EXPLOITATION", "FIRST_REGISTRATION_YEAR", "MAX_PLAUSIBLE_AGE", "UNKNOWN_COUNTRY")
    }
    return _digest(b"police", _contract(contract), code_lists_fingerprint().encode())


def partner_fingerprint(definition: PartnerDefinition) -> str:
    """The partner's definition (wherever its file lies) and the code lists."""
    document = asdict(definition)
    document.pop("path")
    bounds = {"FIRST_REGISTRATION_YEAR": vocabulary.FIRST_REGISTRATION_YEAR, "MAX_PLAUSIBLE_AGE": vocabulary.MAX_PLAUSIBLE_AGE}
    return _digest(b"partner", _contract(document), _contract(bounds), code_lists_fingerprint().encode())


def current_fingerprints(definitions: dict[str, PartnerDefinition]) -> dict[str, str]:
    """Today's fingerprint per source: the police feed and every defined partner."""
    return {"police": police_fingerprint(), **{partner: partner_fingerprint(d) for partner, d in definitions.items()}}
