"""Erasure of one person (GDPR art. 17) and the retention period, set-based and audited.

Both run in one transaction: the person is gone from registrations, vault, linkage, quarantine,
the marts and the analyst tier together, or nothing changed. Counts after erasure no longer include the person.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass

import pandas as pd
from sqlalchemy import Connection, Engine, and_, column, delete, func, or_, select, table

from store.bulk import bulk_insert
from store.locks import lock_loads
from store.privacy_tables import person_links, vault_identities
from store.qualified import temporary_table
from store.tables import ingest_batches, quarantine, registrations
from vault.entries import UnknownPerson, audit, open_entry
from vault.owners import keep_owners
from warehouse.decisions import forget_decisions
from warehouse.marts import forget_person, mark_all_stale, refresh_marts


@dataclass(frozen=True)
class Removed:
    """Rows removed per table; counts only."""

    registrations: int
    vault_entries: int
    links: int  # overrides of identifier owners (`vault.owners`)
    quarantine_entries: int
    persons: int

    def __str__(self) -> str:
        return (
            f"{self.persons} person(s), {self.registrations} registration(s), {self.vault_entries} vault "
            f"entr(ies), {self.links} link(s), {self.quarantine_entries} quarantine entr(ies)"
        )


def _quarantine_of(connection: Connection, records: dict[str, set[str]]) -> int:
    """Delete quarantine entries of these source record ids, per source."""
    removed = 0
    for source, record_ids in records.items():
        batches = select(ingest_batches.c.batch_id).where(ingest_batches.c.source == source)
        removed += connection.execute(
            delete(quarantine).where(
                quarantine.c.batch_id.in_(batches), quarantine.c.source_record_id.in_(sorted(record_ids))
            )
        ).rowcount
    return removed


def erase_person(engine: Engine, person_id: str, vault_key: bytes) -> Removed:
    """Remove one person from every table that holds anything of them, and audit it."""
    with engine.begin() as connection:
        # Not while a load links or writes: it would link to persons this removes (store.locks).
        lock_loads(connection)
        entries = connection.execute(
            select(vault_identities.c.registration_id, vault_identities.c.sealed, registrations.c.source)
            .select_from(
                vault_identities.outerjoin(
                    registrations, registrations.c.registration_id == vault_identities.c.registration_id
                )
            )
            .where(vault_identities.c.person_id == person_id)
        ).all()
        held = connection.execute(
            select(func.count()).select_from(registrations).where(registrations.c.person_id == person_id)
        ).scalar_one()
        if not entries and not held:
            raise UnknownPerson(f"no person {person_id} in the warehouse (never loaded, erased or purged)")
        # Quarantined rows carry the source's record id, which only the vault links to the person.
        records: dict[str, set[str]] = defaultdict(set)
        for registration_id, sealed, source in entries:
            if source is not None:
                records[source].add(open_entry(vault_key, sealed, registration_id)["source_record_id"])
        forget_decisions(connection, select(registrations.c.registration_id).where(registrations.c.person_id == person_id))
        # The person's identifiers belong to no one afterwards; those it carried of others stay theirs.
        with keep_owners(connection, persons=[person_id], moves={person_id: None}):
            removed = Removed(
                registrations=connection.execute(delete(registrations).where(registrations.c.person_id == person_id)).rowcount,
                vault_entries=connection.execute(delete(vault_identities).where(vault_identities.c.person_id == person_id)).rowcount,
                links=connection.execute(delete(person_links).where(person_links.c.person_id == person_id)).rowcount,
                quarantine_entries=_quarantine_of(connection, records),
                persons=1,
            )
        # The person leaves the marts and the analyst tier in the same transaction.
        forget_person(connection, person_id)
        refresh_marts(connection)
        audit(connection, "erase", person_id=person_id, detail=str(removed))
    return removed


def cutoff_year(years: int, today: dt.date | None = None) -> int:
    """Registrations of years before this one are past a retention period of `years` years."""
    return (today or dt.date.today()).year - years


_EXPIRED = "stage_expired_persons"


def purge_older_than(engine: Engine, years: int, *, today: dt.date | None = None) -> Removed:
    """Apply the retention period: remove every person whose latest registration is more than
    `years` years old (with all their registrations), registrations naming no one of that age, and
    quarantine entries of loads finished before the cut-off. Audited with counts only."""
    if years < 0:
        raise ValueError("the retention period cannot be negative")
    first_kept = cutoff_year(years, today)
    cutoff_moment = dt.datetime(first_kept, 1, 1, tzinfo=dt.UTC)
    with engine.begin() as connection:
        # Not while a load links or writes: it would link to persons this removes (store.locks).
        lock_loads(connection)
        expired = connection.execute(
            select(registrations.c.person_id)
            .where(registrations.c.person_id.is_not(None))
            .group_by(registrations.c.person_id)
            .having(func.max(registrations.c.registration_year) < first_kept)
        ).scalars().all()
        connection.execute(temporary_table(connection, _EXPIRED, "person_id varchar(48)"))
        bulk_insert(connection, _EXPIRED, pd.DataFrame({"person_id": expired}, dtype=object))
        expired_persons = select(table(_EXPIRED, column("person_id")).c.person_id)
        anonymous_old = and_(registrations.c.person_id.is_(None), registrations.c.registration_year < first_kept)
        anonymous_ids = select(registrations.c.registration_id).where(anonymous_old)
        forget_decisions(connection, select(registrations.c.registration_id).where(registrations.c.person_id.in_(expired_persons)))
        # As for an erasure: the purged persons' identifiers belong to no one afterwards.
        with keep_owners(connection, persons=list(expired), moves=dict.fromkeys(expired)):
            removed = Removed(
                vault_entries=connection.execute(
                    delete(vault_identities).where(
                        or_(vault_identities.c.person_id.in_(expired_persons), vault_identities.c.registration_id.in_(anonymous_ids))
                    )
                ).rowcount,
                links=connection.execute(delete(person_links).where(person_links.c.person_id.in_(expired_persons))).rowcount,
                registrations=connection.execute(
                    delete(registrations).where(or_(registrations.c.person_id.in_(expired_persons), anonymous_old))
                ).rowcount,
                quarantine_entries=connection.execute(
                    delete(quarantine).where(
                        quarantine.c.batch_id.in_(
                            select(ingest_batches.c.batch_id).where(ingest_batches.c.finished_at < cutoff_moment)
                        )
                    )
                ).rowcount,
                persons=len(expired),
            )
        if connection.dialect.name == "sqlite":
            connection.exec_driver_sql(f"DROP TABLE temp.{_EXPIRED}")
        # Purged pseudonyms leave the marts in the same transaction.
        mark_all_stale(connection)
        refresh_marts(connection)
        audit(connection, "purge", reason=f"retention period of {years} year(s)", detail=f"before {first_kept}: {removed}")
    return removed
