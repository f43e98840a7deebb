"""Stewards' corrections of linkage: `persons split` and `persons join`, kept for later loads.

A split takes registrations out of their person into a new person of their own; a join merges
two persons. Both are decisions about registrations, recorded in `vault.link_decisions`, so the
linkage of every later load respects them (`linkage.components`): the two sides of a split are
never linked again, by name or identifier, and a registration the steward placed stays with its
person when it is delivered again. Each is audited like `reveal` (who, when, why; counts only),
and the marts are recomputed in the same transaction, as after an erasure.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd
from sqlalchemy import Connection, Engine, bindparam, delete, func, select, update

from store.bulk import bulk_insert
from store.locks import lock_loads
from store.privacy_tables import link_decisions, person_links, vault_identities
from store.qualified import qualified_name, timestamp_text
from store.tables import registrations
from vault.entries import ReasonQuotesValues, UnknownPerson, audit, open_entry, quotes_values
from vault.owners import keep_owners
from warehouse.marts import mark_all_stale, refresh_marts

APART, TOGETHER = "apart", "together"


class NotOnePerson(Exception):
    """The registrations named for a split do not all belong to one person, or are all of it."""


@dataclass(frozen=True)
class Decided:
    decision: int
    person_id: str  # the new person (split) or the surviving one (join)
    registrations: int


def _next_decision(connection: Connection) -> int:
    return int(connection.execute(select(func.coalesce(func.max(link_decisions.c.decision_id), 0))).scalar_one()) + 1


def _members(connection: Connection, person_id: str) -> list[str]:
    return list(connection.execute(select(registrations.c.registration_id).where(registrations.c.person_id == person_id)).scalars())


def _record(connection: Connection, decision: int, kind: str, sides: dict[int, list[str]]) -> None:
    rows = pd.DataFrame(
        [(decision, registration, kind, side, timestamp_text()) for side, members in sides.items() for registration in members],
        columns=["decision_id", "registration_id", "kind", "side", "decided_at"],
        dtype=object,
    )
    bulk_insert(connection, qualified_name(connection, link_decisions), rows)


def _refuse_quoted(connection: Connection, person_ids: list[str], reason: str, vault_key: bytes) -> None:
    """The audit trail holds no personal values: refuse a reason that quotes the persons' own."""
    rows = connection.execute(
        select(vault_identities.c.registration_id, vault_identities.c.sealed).where(vault_identities.c.person_id.in_(person_ids))
    ).all()
    if quotes_values(reason, [open_entry(vault_key, sealed, registration) for registration, sealed in rows]):
        raise ReasonQuotesValues("the reason quotes an identifying value; state the purpose and case number only")


def _move(connection: Connection, moves: dict[str, str]) -> None:
    """Move registrations (registration_id -> new person) in registrations and the vault."""
    parameters = [{"target": registration, "new_person": person} for registration, person in moves.items()]
    # A vault row is sealed to its registration: it moves as it is.
    for table in (registrations, vault_identities):
        connection.execute(
            update(table).where(table.c.registration_id == bindparam("target")).values(person_id=bindparam("new_person")),
            parameters,
        )


def split_person(engine: Engine, registration_ids: list[str], reason: str, vault_key: bytes, new_person_id: str) -> Decided:
    """Take `registration_ids` (all of one person, not all of it) out into person `new_person_id`,
    and keep the two sides apart in every later load. Audited; marts recomputed."""
    with engine.begin() as connection:
        lock_loads(connection)
        owners = dict(
            connection.execute(
                select(registrations.c.registration_id, registrations.c.person_id).where(registrations.c.registration_id.in_(registration_ids))
            ).all()
        )
        persons = set(owners.values())
        if len(owners) != len(set(registration_ids)) or len(persons) != 1 or None in persons:
            raise NotOnePerson("the registrations named are not all registrations of one person")
        (person_id,) = persons
        _refuse_quoted(connection, [person_id], reason, vault_key)
        remaining = [registration for registration in _members(connection, person_id) if registration not in owners]
        if not remaining:
            raise NotOnePerson("these are all the person's registrations: there is nothing to split them from")
        decision = _next_decision(connection)
        _record(connection, decision, APART, {1: sorted(owners), 2: sorted(remaining)})
        # The identifiers the split-off registrations carry stay with the person they belonged to.
        with keep_owners(connection, registrations=select(registrations.c.registration_id).where(registrations.c.registration_id.in_(list(owners)))):
            _move(connection, dict.fromkeys(owners, new_person_id))
        mark_all_stale(connection)
        refresh_marts(connection)
        audit(connection, "split", person_id=person_id, reason=reason,
              detail=f"decision {decision}: {len(owners)} of {len(owners) + len(remaining)} registration(s) to a new person")
    return Decided(decision, new_person_id, len(owners))


def join_persons(engine: Engine, first: str, second: str, reason: str, vault_key: bytes) -> Decided:
    """Merge two persons into the smaller id (vault rows and link overrides follow), and keep the
    registrations together in every later load. Audited; marts recomputed."""
    if first == second:
        raise NotOnePerson("a person cannot be joined with itself")
    survivor, absorbed = sorted((first, second))
    with engine.begin() as connection:
        lock_loads(connection)
        members = {person: _members(connection, person) for person in (survivor, absorbed)}
        for person, held in members.items():
            if not held:
                raise UnknownPerson(f"no person {person} in the warehouse (never loaded, erased or purged)")
        _refuse_quoted(connection, [survivor, absorbed], reason, vault_key)
        decision = _next_decision(connection)
        _record(connection, decision, TOGETHER, {1: sorted(members[survivor] + members[absorbed])})
        # A split that kept these two apart is overruled by this decision.
        def splits_of(held: list[str]):
            return select(link_decisions.c.decision_id).where(link_decisions.c.kind == APART, link_decisions.c.registration_id.in_(held))

        connection.execute(
            delete(link_decisions).where(
                link_decisions.c.decision_id.in_(splits_of(members[absorbed])), link_decisions.c.decision_id.in_(splits_of(members[survivor]))
            )
        )
        # Vault rows and overrides of the absorbed person move alike: every owner follows.
        _move(connection, dict.fromkeys(members[absorbed], survivor))
        connection.execute(update(person_links).where(person_links.c.person_id == absorbed).values(person_id=survivor))
        mark_all_stale(connection)
        refresh_marts(connection)
        audit(connection, "join", person_id=survivor, reason=reason,
              detail=f"decision {decision}: person {absorbed} ({len(members[absorbed])} registration(s)) joined")
    return Decided(decision, survivor, len(members[absorbed]))


def forget_decisions(connection: Connection, registration_ids) -> None:
    """Decisions about registrations that are gone (erased, purged): nothing of them stays."""
    connection.execute(delete(link_decisions).where(link_decisions.c.registration_id.in_(registration_ids)))

