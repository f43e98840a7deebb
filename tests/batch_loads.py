"""A whole file's rows loaded in one transaction, without preparing it through a source (tests)."""

from __future__ import annotations

from collections.abc import Callable

import pandas as pd
from sqlalchemy import Engine

from linkage.resolution import DEFAULT_MAX_PERSON_REGISTRATIONS
from pseudonyms.person_identities import PersonIdentities
from warehouse.ledger import BatchRecord
from warehouse.load import LoadOutcome, loading


def load_batch(
    engine: Engine,
    batch: BatchRecord,
    registrations: pd.DataFrame,
    quarantined: pd.DataFrame,
    rows_in: int,
    *,
    replace_source: str | None = None,
    lock_timeout_seconds: float = 300,
    before_commit: Callable[[], None] | None = None,
    identities: PersonIdentities | None = None,
    max_person_registrations: int | None = DEFAULT_MAX_PERSON_REGISTRATIONS,
) -> LoadOutcome:
    """Commit a whole file's registrations, quarantine entries and `loaded` ledger entry together.

    With `identities`, the rows' `person_id` is resolved by linkage with the persons already known
    and their identifying fields go sealed into the vault, in the same transaction; without, the
    rows keep the `person_id` they carry (sources without identifying fields).
    """
    with loading(
        engine, batch, replace_source=replace_source, lock_timeout_seconds=lock_timeout_seconds, before_commit=before_commit,
        max_person_registrations=max_person_registrations,
    ) as load:
        load.add(registrations, quarantined, identities)
        return load.finish(rows_in)
