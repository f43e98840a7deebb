"""`victim-intake reveal | erase | purge`: the audited paths back to, and away from, a person.

Every command writes its audit record (who, when, why, counts; never values) in the same
transaction as its work. Only `reveal` prints identifying values, and only after the audit.
"""

from __future__ import annotations

from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table

from config.settings import current
from victim_intake.commands.common import console, usage_error, warehouse_engine

MIN_REASON_LENGTH = 10


def _engine():
    from warehouse.database import create_tables
    from warehouse.migration_inputs import migration_inputs

    engine = warehouse_engine()
    create_tables(engine, migration_inputs())
    return engine


def _vault_key() -> bytes:
    from pseudonyms.keys import KeyConfigError, load_key

    try:
        return load_key("vault", current().keys_dir).material
    except KeyConfigError as error:
        raise usage_error(str(error)) from None


def reveal(
    person: Annotated[str, typer.Option("--person", help="Person id (pseudonym) to re-identify.")],
    reason: Annotated[str, typer.Option("--reason", help="Lawful purpose and case reference; never names or numbers of the person.")],
) -> None:
    """Lawful re-identification: open a person's vault entries, audited (who, when, why)."""
    from vault.entries import ReasonQuotesValues, UnknownPerson
    from vault.entries import reveal as open_person
    from vault.sealing import SealBroken

    if len(reason.strip()) < MIN_REASON_LENGTH:
        raise usage_error(f"state the lawful purpose in --reason (at least {MIN_REASON_LENGTH} characters)")
    vault_key = _vault_key()
    try:
        entries = open_person(_engine(), person, reason.strip(), vault_key)
    except (UnknownPerson, ReasonQuotesValues) as error:
        raise usage_error(str(error)) from None
    except SealBroken:
        raise usage_error("the vault entries do not open with the configured vault key") from None
    table = Table(title=f"Person {person}: {len(entries)} registration(s) (this reveal is audited)")
    for name in ("registration", "source", "source record", "surname", "given names", "birth date", "BSN", "V-number"):
        table.add_column(name)
    for entry in entries:
        fields = entry.fields
        table.add_row(
            *(
                escape(str(value)) if value is not None else ""
                for value in (
                    entry.registration_id, entry.source, fields["source_record_id"], fields["surname"], fields["given_names"],
                    fields["birth_date"], fields["bsn"], fields["alien_number"],
                )
            )
        )
    console.print(table)


def erase(
    person: Annotated[str, typer.Option("--person", help="Person id (pseudonym) to erase everywhere.")],
) -> None:
    """GDPR erasure: remove one person from registrations, vault, linkage and quarantine, audited."""
    from vault.entries import UnknownPerson
    from warehouse.erasure import erase_person

    vault_key = _vault_key()
    try:
        removed = erase_person(_engine(), person, vault_key)
    except UnknownPerson as error:
        raise usage_error(str(error)) from None
    console.print(f"Erased person {person}: removed {removed}.")


def purge(
    older_than: Annotated[int, typer.Option("--older-than", min=0, help="Retention period in years.")],
) -> None:
    """Apply the retention period: remove persons whose latest registration is older, audited."""
    from warehouse.erasure import cutoff_year, purge_older_than

    removed = purge_older_than(_engine(), older_than)
    console.print(f"Purged everything last registered before {cutoff_year(older_than)}: removed {removed}.")
