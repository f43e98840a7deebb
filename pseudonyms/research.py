"""Pseudonyms for extracts given to a research partner: a purpose key per recipient.

An extract never carries the warehouse's `person_id`. Each recipient gets pseudonyms under its
own HKDF purpose key, so two recipients' extracts cannot be joined with each other or with the
warehouse, while persons stay linkable within one recipient's extracts.
"""

from __future__ import annotations

import pandas as pd

from pseudonyms.hashing import KeyedHasher

RESEARCH_PURPOSE = "victim-intake research export v1"


def research_pseudonyms(person_ids: pd.Series, key: bytes, recipient: str) -> pd.Series:
    """The recipient's pseudonym for each warehouse person id (null stays null)."""
    if not recipient.strip():
        raise ValueError("name the recipient of the extract")
    return "r-" + KeyedHasher(key, f"{RESEARCH_PURPOSE}|{recipient.strip()}").digest_series(person_ids)
