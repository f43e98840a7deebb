"""`victim-intake persons split | join`: a steward's way out of a wrong link, audited like `reveal`.

The decision is recorded in the vault (`vault.link_decisions`), so later loads respect it; the
marts are recomputed in the same transaction. Only ids and counts are printed.
"""

from __future__ import annotations

from typing import Annotated

import typer

from config.settings import current
from victim_intake.commands.common import console, usage_error
from victim_intake.commands.privacy import MIN_REASON_LENGTH, _engine, _vault_key

persons_app = typer.Typer(help="Correct linkage: split registrations off a person, or join two persons.", no_args_is_help=True)


def _reason(reason: str) -> str:
    if len(reason.strip()) < MIN_REASON_LENGTH:
        raise usage_error(f"state the purpose and case in --reason (at least {MIN_REASON_LENGTH} characters)")
    return reason.strip()


@persons_app.command("split")
def split(
    registration: Annotated[list[str], typer.Option("--registration", help="Registration id to take out (repeat for several; all of one person).")],
    reason: Annotated[str, typer.Option("--reason", help="Why (case reference); never names or numbers of the person.")],
) -> None:
    """Take registrations out of their person into a new person; later loads keep the two apart."""
    import pandas as pd

    from pseudonyms.keys import KeyConfigError, load_key
    from pseudonyms.person_identities import own_person_ids
    from warehouse.decisions import NotOnePerson, ReasonQuotesValues, split_person

    reason = _reason(reason)
    vault_key = _vault_key()
    try:
        key = load_key("pseudonym", current().keys_dir)
    except KeyConfigError as error:
        raise usage_error(str(error)) from None
    chosen = sorted(set(registration))
    new_person = own_person_ids(pd.Series(chosen[:1]), key.material, key.version).iloc[0]
    try:
        decided = split_person(_engine(), chosen, reason, vault_key, new_person)
    except (NotOnePerson, ReasonQuotesValues) as error:
        raise usage_error(str(error)) from None
    console.print(
        f"Decision {decided.decision}: {decided.registrations} registration(s) now form person {decided.person_id}; "
        "later loads keep them apart from the rest (audited)."
    )


@persons_app.command("join")
def join(
    first: Annotated[str, typer.Argument(help="Person id (pseudonym).")],
    second: Annotated[str, typer.Argument(help="The other person id.")],
    reason: Annotated[str, typer.Option("--reason", help="Why (case reference); never names or numbers of the person.")],
) -> None:
    """Join two persons into one (the smaller id survives); later loads keep them together."""
    from vault.entries import UnknownPerson
    from warehouse.decisions import NotOnePerson, ReasonQuotesValues, join_persons

    reason = _reason(reason)
    vault_key = _vault_key()
    try:
        decided = join_persons(_engine(), first, second, reason, vault_key)
    except (NotOnePerson, UnknownPerson, ReasonQuotesValues) as error:
        raise usage_error(str(error)) from None
    console.print(
        f"Decision {decided.decision}: {decided.registrations} registration(s) joined person {decided.person_id} (audited)."
    )
