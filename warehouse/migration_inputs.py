"""What the warehouse's migrations may need from the configuration: the vault key and partner units.

Commands and flows that migrate pass these (`warehouse.migrate.MigrationInputs`). A command that
runs without keys configured still migrates: the migration then does what it can without the
key (migration 0007 records value-free warnings instead of sealing the text it removes).
"""

from __future__ import annotations

from config.settings import current
from pseudonyms.keys import KeyConfigError, load_key
from schemas.partner_definition import DefinitionError, load_definitions
from warehouse.migrate import MigrationInputs


def migration_inputs() -> MigrationInputs:
    """The configured vault key (if any) and the reporting units of the configured definitions
    (the shipped ones when the extra folder's definitions do not load)."""
    settings = current()
    try:
        vault_key = load_key("vault", settings.keys_dir).material
    except KeyConfigError:
        vault_key = None
    try:
        definitions = load_definitions(settings.partners)
    except DefinitionError:
        definitions = load_definitions()
    return MigrationInputs(vault_key, {definition.id: definition.units for definition in definitions.values()})
