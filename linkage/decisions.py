"""The stewards' decisions that linkage respects, read as they stand (`warehouse.decisions` records them)."""

from __future__ import annotations

import pandas as pd
from sqlalchemy import Connection, select

from store.privacy_tables import link_decisions
from store.tables import registrations


def current_decisions(connection: Connection) -> pd.DataFrame:
    """Every decision row with the current person of its registration (null once erased):
    decision_id, registration_id, kind, side, person_id. Stewards' decisions are few: read whole."""
    rows = connection.execute(
        select(
            link_decisions.c.decision_id, link_decisions.c.registration_id, link_decisions.c.kind,
            link_decisions.c.side, registrations.c.person_id,
        ).select_from(link_decisions.outerjoin(registrations, registrations.c.registration_id == link_decisions.c.registration_id))
    ).all()
    return pd.DataFrame([tuple(row) for row in rows], columns=["decision_id", "registration_id", "kind", "side", "person_id"], dtype=object)
