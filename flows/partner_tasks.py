"""Tasks that take one partner file (CSV or XLSX, described by its YAML definition) to the warehouse.

Like the police tasks they pass DataFrames in memory only (no caching, no persisted results).
Offending values of quarantined rows are sealed under the vault key before they leave memory.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import pandas as pd
from prefect import task
from prefect.cache_policies import NO_CACHE

from config.settings import current
from connectors.files import FileRejected
from connectors.tabular import TextTable, read_table
from flows.errors import value_free_errors
from flows.faults import crash_point
from flows.identities import batch_identities
from flows.resources import configured_key, warehouse_engine
from flows.retries import LOAD_RETRIES
from pseudonyms.pseudonymise import to_registrations
from schemas import ctdc
from schemas.canonical import record_schema, registration_schema
from schemas.coding import code_records
from schemas.partner import layout_notes, optional_columns, raw_schema, read_columns, to_canonical
from schemas.partner_definition import PartnerDefinition, load_definitions
from schemas.rules import partner_fingerprint
from schemas.validation import SchemaViolation, split_valid
from vault.quarantine_seal import seal_values
from warehouse.ledger import BatchRecord
from warehouse.load import LoadOutcome, load_batch

_IN_MEMORY_ONLY = {"cache_policy": NO_CACHE, "persist_result": False}
ROW_COLUMN = "(row)"  # quarantine entries about a whole row rather than one column


@dataclass(frozen=True)
class ValidatedPartnerFile:
    """Valid canonical records, quarantine entries (with the offending values, in memory only)."""

    records: pd.DataFrame
    # row_number, column_name, rule, source_record_id, severity (error: the row is held back;
    # warning: the row loads, a value no code list knows became `unknown`) and value
    quarantined: pd.DataFrame
    rows_in: int
    age_groups: pd.DataFrame | None  # CTDC: age_group and is_minor from the age bins


def partner_definition(partner_id: str) -> PartnerDefinition:
    """The definition for an inbox folder; a folder without one is refused."""
    definitions = load_definitions(current().partners)
    if partner_id not in definitions:
        # The folder's name is not quoted: someone typed it, and this message reaches Prefect.
        raise FileRejected("no partner definition for this inbox folder (add a YAML file with the folder's name as its id to VICTIM_INTAKE_PARTNERS)")
    return definitions[partner_id]


@task(name="read_partner_file", **_IN_MEMORY_ONLY)
def read_partner_file(path: str, definition: PartnerDefinition) -> TextTable:
    with value_free_errors("read"):
        return read_table(
            Path(path),
            read_columns(definition),
            file_format=definition.format,
            encoding=definition.encoding,
            delimiter=definition.delimiter,
            sheet=definition.sheet,
            date_format=definition.date_format,
            max_bytes=current().max_file_bytes,
            optional=optional_columns(definition),
        )


def _row_failures(rows: np.ndarray, rule: str) -> pd.DataFrame:
    return pd.DataFrame({"row": rows.astype("int64"), "column": ROW_COLUMN, "rule": rule})


def _offending_values(raw: pd.DataFrame, failures: pd.DataFrame, definition: PartnerDefinition) -> np.ndarray:
    """The file's cell behind each failure (None for whole-row failures), looked up per column."""
    headers = failures["column"].map(lambda name: definition.columns.get(name, name))
    values = np.full(len(failures), None, dtype=object)
    for header in headers.unique():
        if header in raw.columns:
            at = (headers == header).to_numpy()
            values[at] = raw[header].reindex(failures["row"][at]).astype(object).to_numpy()
    return values


@task(name="validate_partner_file", **_IN_MEMORY_ONLY)
def validate_partner_file(table: TextTable, definition: PartnerDefinition, only: np.ndarray | None = None) -> ValidatedPartnerFile:
    """Valid records and quarantine entries of the file; with `only` (a mask of the file's rows)
    of those rows alone, judged against the whole file for repeated rows (a replay)."""
    with value_free_errors("validate"):
        raw = table.frame
        selected = np.ones(len(raw), dtype=bool) if only is None else only
        ragged = table.ragged & selected
        duplicate = raw.duplicated(keep="first").to_numpy() & ~table.ragged
        if "source_record_id" not in definition.columns:
            # Anonymous rows (CTDC) carry no key: equal rows are different persons, not a re-sent row.
            duplicate[:] = False
        # Every copy of a repeated record id breaks the uniqueness rule, so the copies of a
        # quarantined row are all selected too: uniqueness among them is uniqueness in the file.
        candidates = raw[~table.ragged & ~duplicate & selected]
        duplicate &= selected
        schema, frame_columns = raw_schema(definition)
        raw_split = split_valid(candidates, schema, frame_columns)
        row_ids = pd.Series(table.row_numbers.astype(str), index=raw.index)
        coded = code_records(to_canonical(raw_split.valid, definition, row_ids), definition.unit_list())
        canonical_split = split_valid(coded.records, record_schema())
        failures = pd.concat(
            [
                _row_failures(np.flatnonzero(ragged), "field_count"),
                _row_failures(np.flatnonzero(duplicate), "duplicate_row"),
                raw_split.failures,
                canonical_split.failures,
            ],
            ignore_index=True,
        )
        id_header = definition.columns.get("source_record_id")
        record_ids = raw[id_header] if id_header else row_ids
        # Warnings of the rows that load; a quarantined row is the steward's already.
        warnings = coded.warnings[coded.warnings["row"].isin(canonical_split.valid.index)]
        quarantined = pd.concat(
            [
                pd.DataFrame(
                    {
                        "row_number": table.row_numbers[failures["row"].to_numpy()],
                        "column_name": failures["column"].to_numpy(),
                        "rule": failures["rule"].to_numpy(),
                        "source_record_id": record_ids.reindex(failures["row"]).to_numpy(),
                        "severity": "error",
                        "value": _offending_values(raw, failures, definition),
                    }
                ),
                pd.DataFrame(
                    {
                        "row_number": table.row_numbers[warnings["row"].to_numpy()],
                        "column_name": warnings["field"].map(definition.columns).to_numpy(),
                        "rule": warnings["rule"].to_numpy(),
                        "source_record_id": record_ids.reindex(warnings["row"]).to_numpy(),
                        "severity": "warning",
                        "value": warnings["value"].to_numpy(),
                    }
                ),
            ],
            ignore_index=True,
        )
        ages = None
        if definition.layout:
            group, minor = ctdc.age_groups(raw.loc[canonical_split.valid.index])
            ages = pd.DataFrame({"age_group": group, "is_minor": minor})
        return ValidatedPartnerFile(canonical_split.valid, quarantined, int(selected.sum()), ages)


@task(name="pseudonymise_partner_file", **_IN_MEMORY_ONLY)
def pseudonymise_partner_file(validated: ValidatedPartnerFile, definition: PartnerDefinition, batch_id: str) -> pd.DataFrame:
    with value_free_errors("pseudonymise"):
        key = configured_key("pseudonym")
        registrations = to_registrations(
            validated.records,
            source=definition.id,
            source_kind=definition.source,
            key=key.material,
            batch_id=batch_id,
            exported_at=None,
            scope=definition.scope,
        )
        # Partners state no export time; typed as text so that even an empty batch keeps its contract.
        registrations["source_exported_at"] = registrations["source_exported_at"].astype("str")
        if validated.age_groups is not None:
            # CTDC gives age bins, not ages: the layout's documented rules decide group and minority.
            registrations["age_group"] = validated.age_groups["age_group"]
            registrations["is_minor"] = validated.age_groups["is_minor"]
        if split_valid(registrations, registration_schema()).failures.shape[0]:
            raise SchemaViolation("pseudonymised rows break the registration contract (a bug: report it)")
        return registrations


@task(name="load_partner_batch", **LOAD_RETRIES, **_IN_MEMORY_ONLY)
def load_partner_batch(batch: BatchRecord, registrations: pd.DataFrame, validated: ValidatedPartnerFile, definition: PartnerDefinition) -> LoadOutcome:
    settings = current()
    with value_free_errors("load"):
        quarantined = validated.quarantined
        # The vault key is needed only when there is a value to seal.
        if len(quarantined):
            quarantined = seal_values(quarantined, batch.batch_id, configured_key("vault").material)
        else:
            quarantined = quarantined.drop(columns="value")
        return load_batch(
            warehouse_engine(),
            batch,
            registrations,
            quarantined,
            validated.rows_in,
            replace_source=definition.id if definition.delivery == "snapshot" else None,
            lock_timeout_seconds=settings.lock_timeout_s,
            before_commit=lambda: crash_point("load-transaction"),
            identities=batch_identities(validated.records, registrations["registration_id"]),
            max_person_registrations=settings.max_person_registrations,
        )


def ingest_partner_file(
    path: str, batch: BatchRecord, clock: Callable[[str], AbstractContextManager[None]]
) -> tuple[LoadOutcome, list[str]]:
    """Read, validate, pseudonymise and load one partner file; `clock` times each stage. Returns
    the outcome and the value-free notes about the file's columns (`schemas.partner.layout_notes`)."""
    with value_free_errors("definition"):
        definition = partner_definition(batch.source)
    # The ledger remembers the rules, so that `status` can tell when a replay may load more.
    batch = replace(batch, rules_fingerprint=partner_fingerprint(definition))
    with clock("read"):
        table = read_partner_file(path, definition)
    with clock("validate"):
        validated = validate_partner_file(table, definition)
    with clock("pseudonymise"):
        registrations = pseudonymise_partner_file(validated, definition, batch.batch_id)
    with clock("load"):
        outcome = load_partner_batch(batch, registrations, validated, definition)
    return outcome, layout_notes(definition, table.absent, table.headers)
