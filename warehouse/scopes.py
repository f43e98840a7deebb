"""Each source's rows carry the scope its definition declares (`national` or `reference`).

A load writes the scope of the definition it loads with; a definition whose scope changed would
leave the source's earlier rows in the old scope. `rescope_sources` runs at the start of every run
(`flows.nightly.prepare_warehouse`): one UPDATE per source whose stored rows disagree, under the
load lock, marking the marts stale, so the marts, reports and estimates of that run count the
partner's rows as its definition now says. Finding out costs two lookups per source in the
index on (source, scope): its least and greatest stored scope. The rows are rewritten only when a
definition's scope changed.
"""

from __future__ import annotations

from collections.abc import Mapping

from sqlalchemy import Connection, Engine, func, select, update

from store.locks import lock_loads
from store.tables import registrations
from warehouse.marts import mark_all_stale


def rescope_sources(engine: Engine, scopes: Mapping[str, str]) -> int:
    """Give every source's rows its scope (`scopes`: source -> scope); returns the rows changed.
    Sources not named (the police, partners without a definition) keep theirs."""
    with engine.connect() as connection:
        stale = {source for source, scope in scopes.items() if _holds_another_scope(connection, source, scope)}
    if not stale:
        return 0
    with engine.begin() as connection:
        lock_loads(connection)
        changed = 0
        for source in sorted(stale):
            scope = scopes[source]
            changed += connection.execute(
                update(registrations)
                .where(registrations.c.source == source, registrations.c.scope != scope)
                .values(scope=scope)
            ).rowcount
        if changed:
            mark_all_stale(connection)
    return changed


def _holds_another_scope(connection: Connection, source: str, scope: str) -> bool:
    """Whether any stored row of `source` has a scope other than `scope` (scope is never null)."""
    of_source = registrations.c.source == source
    least, greatest = connection.execute(
        select(
            select(func.min(registrations.c.scope)).where(of_source).scalar_subquery(),
            select(func.max(registrations.c.scope)).where(of_source).scalar_subquery(),
        )
    ).one()
    return least is not None and (least != scope or greatest != scope)
