"""Code lists: places, sectors and units become codes; warnings beside errors; national or reference scope.

- `registrations.reporting_unit`, `exploitation_municipality` and `exploitation_sector` held what
  sources wrote (up to 100 characters, free text included). Each stored value becomes the code a
  shipped list gives it (`schemas.codelists`); text no list knows becomes `unknown`, and the old
  text goes to the steward as a warning entry in `quarantine`, sealed under the vault key. Null
  becomes `unknown`; the three columns are NOT NULL from now on.
- Without the vault key (a command that migrates without keys configured) the text cannot be
  sealed: it is dropped all the same, and the warning entry is value-free (rule and column, no
  value, no record id). Entries are made only for registrations whose batch is in the ledger.
- `registrations.scope`: `reference` for rows of CTDC sources (`source_kind = 'ctdc'`), else
  `national`; the next run re-scopes each partner's rows to its definition (`flows.nightly`).
- `quarantine.severity` (`error` for every existing entry) and `ingest_batches.rows_warned`.
- The marts held the old unit text: they are emptied and every year is marked stale (the next
  reader or run recomputes them).
- After the commit the freed space is reclaimed (`warehouse.migrate.reclaim_space`: VACUUM and a
  truncated write-ahead log on SQLite, VACUUM FULL on PostgreSQL), so no copy of the old text
  stays in the database file or its journal.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-10
"""

from __future__ import annotations

import base64

import pandas as pd
import sqlalchemy as sa
from alembic import context, op

from schemas.codelists.matching import CodeList, match_municipalities, match_sectors, police_unit_list, unit_list
from schemas.partner_definition import load_definitions
from store.bulk import bulk_insert
from store.privacy_tables import vault_identities
from store.qualified import drop_temporary_table, qualified_name, temporary_table
from vault.person_binding import open_person_bound
from vault.quarantine_seal import quarantine_context
from vault.sealing import SealBroken, seal_many
from warehouse.migrate import INPUTS, RECLAIM, MigrationInputs

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

FIELDS = ("reporting_unit", "exploitation_municipality", "exploitation_sector")
MARTS = ("mart_yearly_crossings", "mart_yearly_counts", "mart_person_years")
_MAP = "recode_0007"
# A warning made here is about a stored registration, not a row of a file.
MIGRATION_ROW = 0

_COMMENTS = {
    "scope": "`national`: counts towards the Dutch figures; `reference`: data about victims elsewhere (CTDC), kept for "
    "comparison and never counted in marts, reports or estimates",
    "reporting_unit": "code of the reporting unit: a police unit (`PE-RT`) or a unit the partner's definition declares; "
    "`unknown` when not given or not on the list",
    "exploitation_municipality": "municipality where the exploitation took place: its CBS code (`GM0363`); `unknown` when "
    "not given, not on the list, or a name several municipalities share",
    "exploitation_sector": "sector where the exploitation took place: a code of the sector list; `unknown` when not given "
    "or not on the list",
}
_SEVERITY = "error: the row was held back; warning: the row loaded, the value no code list knows became `unknown`"
_ROWS_WARNED = "loaded rows with a warning (a place, sector or unit no code list knows became `unknown`); not in rows_quarantined"
_QUARANTINE = "One row per (invalid row, column, rule) of a loaded file, and per warning about a loaded row."
_MART_UNIT = "code of the reporting unit (police unit `PE-..` or a unit a partner declares), `unknown`, from the person's first registration of the year"


def _unit_lists(inputs: MigrationInputs) -> dict[str, CodeList]:
    """Each source's reporting units: the police units, and each partner's declared units."""
    declared = inputs.units if inputs.units is not None else {d.id: d.units for d in load_definitions().values()}
    return {"police": police_unit_list(), **{source: unit_list(units) for source, units in declared.items()}}


def _recoded(stored: pd.DataFrame, inputs: MigrationInputs) -> pd.DataFrame:
    """New codes and warning rules for each distinct stored (source, unit, municipality, sector)."""
    lists = _unit_lists(inputs)
    none = unit_list({})
    parts = []
    for source, group in stored.groupby("source", sort=False):
        unit = lists.get(source, none).match(group["reporting_unit"])
        municipality = match_municipalities(group["exploitation_municipality"], unit.codes)
        sector = match_sectors(group["exploitation_sector"])
        parts.append(
            group.assign(
                new_unit=unit.codes, unit_rule=unit.rules,
                new_municipality=municipality.codes, municipality_rule=municipality.rules,
                new_sector=sector.codes, sector_rule=sector.rules,
            )
        )
    return pd.concat(parts) if parts else stored.assign(**{c: None for c in ("new_unit", "unit_rule", "new_municipality", "municipality_rule", "new_sector", "sector_rule")})


def _same(connection: sa.Connection, left: str, right: str) -> str:
    """Null-safe equality of two columns."""
    return f"{left} IS {right}" if connection.dialect.name == "sqlite" else f"{left} IS NOT DISTINCT FROM {right}"


def _warnings(connection: sa.Connection, recoded: pd.DataFrame, inputs: MigrationInputs) -> pd.DataFrame:
    """One entry per registration and field whose text no list knew: sealed when the key is given."""
    rules = {"reporting_unit": "unit_rule", "exploitation_municipality": "municipality_rule", "exploitation_sector": "sector_rule"}
    warned = recoded[recoded[list(rules.values())].notna().any(axis=1)]
    if warned.empty:
        return pd.DataFrame()
    match = " AND ".join(
        ["r.source = m.source", *(_same(connection, f"r.{name}", f"m.{name}") for name in FIELDS)]
    )
    rows = pd.read_sql(
        sa.text(
            f"SELECT r.registration_id, r.person_id, r.batch_id, m.source, {', '.join(f'm.{name}' for name in FIELDS)}, "
            f"{', '.join(f'm.{rule}' for rule in rules.values())} "
            f"FROM registrations r JOIN {_MAP} m ON {match} "
            f"WHERE r.batch_id IN (SELECT batch_id FROM ingest_batches) "
            f"AND (m.unit_rule IS NOT NULL OR m.municipality_rule IS NOT NULL OR m.sector_rule IS NOT NULL)"
        ),
        connection,
    )
    entries = pd.concat(
        [
            rows[rows[rule].notna()].assign(column_name=name, rule=rows[rule], value=rows[name])[
                ["registration_id", "person_id", "batch_id", "column_name", "rule", "value"]
            ]
            for name, rule in rules.items()
        ],
        ignore_index=True,
    )
    entries["row_number"] = MIGRATION_ROW
    entries["severity"] = "warning"
    entries["source_record_id"] = None
    entries["sealed_value"] = None
    if inputs.vault_key is not None and len(entries):
        entries = _sealed(connection, entries, inputs.vault_key)
    return entries


def _sealed(connection: sa.Connection, entries: pd.DataFrame, key: bytes) -> pd.DataFrame:
    """Seal each entry's text for the steward, and name its record (from the registration's vault entry)."""
    vault = pd.read_sql(
        sa.text(f"SELECT registration_id, sealed FROM {qualified_name(connection, vault_identities)}"
                f" WHERE registration_id IN (SELECT registration_id FROM registrations WHERE batch_id IN (SELECT batch_id FROM ingest_batches))"),
        connection,
    ).set_index("registration_id")["sealed"]
    record_ids = []
    for registration, person in zip(entries["registration_id"].tolist(), entries["person_id"].tolist(), strict=True):
        sealed = vault.get(registration)
        try:
            record_ids.append(open_person_bound(key, bytes.fromhex(sealed), person, registration)["source_record_id"] if sealed else None)
        except SealBroken:
            record_ids.append(None)
    contexts = [
        quarantine_context(batch, MIGRATION_ROW, column, rule)
        for batch, column, rule in zip(entries["batch_id"].tolist(), entries["column_name"].tolist(), entries["rule"].tolist(), strict=True)
    ]
    sealed_values = [base64.b64encode(value).decode("ascii") for value in seal_many(key, entries["value"].astype(str).tolist(), contexts)]
    return entries.assign(source_record_id=record_ids, sealed_value=sealed_values)


def _move_to_codes(connection: sa.Connection, inputs: MigrationInputs) -> None:
    stored = pd.read_sql(
        sa.text(f"SELECT DISTINCT source, {', '.join(FIELDS)} FROM registrations"), connection, dtype=object
    )
    stored = stored.astype(object).where(stored.notna(), None)
    recoded = _recoded(stored, inputs)
    names = ["source", *FIELDS, "new_unit", "unit_rule", "new_municipality", "municipality_rule", "new_sector", "sector_rule"]
    connection.execute(temporary_table(connection, _MAP, ", ".join(f"{name} text" for name in names)))
    bulk_insert(connection, _MAP, recoded[names])
    connection.exec_driver_sql(f"CREATE INDEX ix_{_MAP} ON {_MAP} (source, reporting_unit, exploitation_municipality, exploitation_sector)")

    warnings = _warnings(connection, recoded, inputs)
    if len(warnings):
        bulk_insert(
            connection, "quarantine",
            warnings[["batch_id", "row_number", "column_name", "rule", "source_record_id", "severity", "sealed_value"]],
        )
        per_batch = warnings.groupby("batch_id")["registration_id"].nunique()
        connection.execute(
            sa.text("UPDATE ingest_batches SET rows_warned = COALESCE(rows_warned, 0) + :warned WHERE batch_id = :batch"),
            [{"batch": batch, "warned": int(count)} for batch, count in per_batch.items()],
        )
    match = " AND ".join(
        ["registrations.source = m.source", *(_same(connection, f"registrations.{name}", f"m.{name}") for name in FIELDS)]
    )
    connection.exec_driver_sql(
        "UPDATE registrations SET reporting_unit = m.new_unit, exploitation_municipality = m.new_municipality, "
        f"exploitation_sector = m.new_sector FROM {_MAP} m WHERE {match}"
    )
    drop_temporary_table(connection, _MAP)


def upgrade() -> None:
    connection = op.get_bind()
    inputs = context.config.attributes.get(INPUTS) or MigrationInputs()
    postgresql = connection.dialect.name == "postgresql"
    op.add_column("ingest_batches", sa.Column("rows_warned", sa.Integer(), comment=_ROWS_WARNED))
    op.add_column("quarantine", sa.Column("severity", sa.String(8), nullable=False, server_default="error", comment=_SEVERITY))
    op.add_column("registrations", sa.Column("scope", sa.Text(), comment=_COMMENTS["scope"]))
    connection.exec_driver_sql("UPDATE registrations SET scope = CASE WHEN source_kind = 'ctdc' THEN 'reference' ELSE 'national' END")
    _move_to_codes(connection, inputs)
    with op.batch_alter_table("registrations") as batch:
        for name, comment in _COMMENTS.items():
            batch.alter_column(name, existing_type=sa.Text(), nullable=False, comment=comment)
    for mart in MARTS:
        connection.exec_driver_sql(f"DELETE FROM {mart}")
    connection.exec_driver_sql(
        "INSERT INTO mart_stale_years (registration_year) SELECT DISTINCT registration_year FROM registrations "
        "WHERE true ON CONFLICT (registration_year) DO NOTHING"
    )
    if postgresql:
        op.create_table_comment("quarantine", _QUARANTINE)
        op.alter_column("mart_person_years", "reporting_unit", existing_type=sa.Text(), existing_nullable=False, comment=_MART_UNIT)
    # Rows were rewritten (and on SQLite the registrations table was copied anew): neither their old
    # versions nor the old table's pages may stay in freed pages or the journal. Cheap on an empty warehouse.
    context.config.attributes[RECLAIM] = ["registrations", "quarantine", "ingest_batches", *MARTS]


def downgrade() -> None:
    # The text that was replaced by codes is gone (sealed for the steward at most): codes stay.
    with op.batch_alter_table("registrations") as batch:
        for name in FIELDS:
            batch.alter_column(name, existing_type=sa.Text(), nullable=True)
        batch.drop_column("scope")
    with op.batch_alter_table("quarantine") as batch:
        batch.drop_column("severity")
    with op.batch_alter_table("ingest_batches") as batch:
        batch.drop_column("rows_warned")
