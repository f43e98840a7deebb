"""Vault entries sealed to their registration, not to their person.

Until now a registration's identifying fields were sealed with its person id as associated data
(its registration id when it named no one), so every merge and every steward's move re-sealed
entries, and a batch could only be sealed inside its load, once linkage had named the person.
Now the associated data is always the registration id (`vault.entries.associated_data`): a batch
is sealed while it is prepared, and a person moves without re-sealing.

The migration opens each entry bound to a person and seals it again bound to its registration,
under the same vault key, a hundred thousand at a time; the downgrade does the reverse. Both need
the vault key, which the commands that migrate pass (`warehouse.migration_inputs`); a warehouse
with entries to re-seal and no key to do it refuses to migrate, and says why, rather than leave
entries that no longer open.

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-05
"""

from __future__ import annotations

from collections.abc import Callable

import sqlalchemy as sa
from alembic import context, op

from store.binary import binary_type
from vault.person_binding import person_bound_context
from vault.sealing import SealBroken, seal_many, unseal_many
from warehouse.migrate import INPUTS, MigrationInputs

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None

_CHUNK = 100_000
_STAGE = "resealed_0015"
_BY_PERSON = (
    "One row per registration: its identifying fields sealed under the vault key (person id as associated data), "
    "its keyed identifiers for linkage and the keyed encoding of its name and birth date for approximate matching."
)
_BY_REGISTRATION = (
    "One row per registration: its identifying fields sealed under the vault key (registration id as associated data), "
    "its keyed identifiers for linkage and the keyed encoding of its name and birth date for approximate matching."
)


class VaultKeyNeeded(Exception):
    """The vault holds entries to re-seal and the migration was given no vault key."""


def _schema() -> str | None:
    # SQLite has no schemas: the engine maps `vault` away and the tables sit in the main file.
    return "vault" if op.get_bind().dialect.name == "postgresql" else None


def _table() -> str:
    schema = _schema()
    return f"{schema}.vault_identities" if schema else "vault_identities"


def _registration_context(person_id: str | None, registration_id: str) -> str:
    return f"registration:{registration_id}"


def _vault_key(connection: sa.Connection) -> bytes | None:
    """The vault key, where there is an entry bound to a person; refuse without one."""
    if connection.execute(sa.text(f"SELECT 1 FROM {_table()} WHERE person_id IS NOT NULL LIMIT 1")).first() is None:
        return None
    inputs: MigrationInputs = context.config.attributes.get(INPUTS) or MigrationInputs()
    if inputs.vault_key is None:
        raise VaultKeyNeeded(
            "revision 0015 re-seals the vault's entries and needs the vault key: run the upgrade with the keys configured "
            "(the key file under <home>/keys, or VICTIM_INTAKE_VAULT_KEY), for instance `victim-intake status`"
        )
    return inputs.vault_key


def _reseal(opened_with: Callable[[str | None, str], str], sealed_with: Callable[[str | None, str], str]) -> None:
    """Every entry with a person, opened bound as `opened_with` says and sealed again bound as
    `sealed_with` says, in chunks in registration order."""
    connection = op.get_bind()
    key = _vault_key(connection)
    if key is None:
        return
    connection.execute(sa.text(f"CREATE TEMPORARY TABLE {_STAGE} (registration_id text PRIMARY KEY, sealed {binary_type(connection)})"))
    after = ""
    while True:
        rows = connection.execute(
            sa.text(
                f"SELECT registration_id, person_id, sealed FROM {_table()} "
                "WHERE person_id IS NOT NULL AND registration_id > :after ORDER BY registration_id LIMIT :chunk"
            ),
            {"after": after, "chunk": _CHUNK},
        ).all()
        if not rows:
            break
        registrations = [row[0] for row in rows]
        persons = [row[1] for row in rows]
        try:
            payloads = unseal_many(key, [bytes(row[2]) for row in rows], [opened_with(p, r) for p, r in zip(persons, registrations, strict=True)])
        except SealBroken:
            # The usual cause is another vault key than the warehouse's (the key check comes after the upgrade).
            raise SealBroken(
                "revision 0015: a vault entry does not open with the configured vault key; check that it is this "
                "warehouse's vault key (nothing was changed)"
            ) from None
        resealed = seal_many(key, payloads, [sealed_with(p, r) for p, r in zip(persons, registrations, strict=True)])
        connection.execute(sa.text(f"DELETE FROM {_STAGE}"))
        connection.execute(
            sa.text(f"INSERT INTO {_STAGE} (registration_id, sealed) VALUES (:r, :s)"),
            [{"r": registration, "s": value} for registration, value in zip(registrations, resealed, strict=True)],
        )
        connection.execute(
            sa.text(f"UPDATE {_table()} SET sealed = s.sealed FROM {_STAGE} s WHERE {_table()}.registration_id = s.registration_id")
        )
        after = registrations[-1]
    connection.execute(sa.text(f"DROP TABLE {_STAGE}"))


def _comment(new: str, old: str) -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.create_table_comment("vault_identities", new, existing_comment=old, schema=_schema())


def upgrade() -> None:
    _reseal(person_bound_context, _registration_context)
    _comment(_BY_REGISTRATION, _BY_PERSON)


def downgrade() -> None:
    _reseal(_registration_context, person_bound_context)
    _comment(_BY_PERSON, _BY_REGISTRATION)
