"""A partner as a source: CSV or XLSX files described by the partner's YAML definition
(`schemas.partner_definition`), read whole as text (`connectors.tabular`) in one part."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from connectors.files import FileRejected
from connectors.tabular import TextTable, read_table
from schemas import ctdc
from schemas.canonical import record_schema
from schemas.coding import code_records
from schemas.partner import layout_notes, optional_columns, raw_schema, read_columns, to_canonical
from schemas.partner_definition import PartnerDefinition
from schemas.rules import partner_fingerprint
from schemas.validation import split_valid
from sources.contract import Validated, quarantine_entries

ROW_COLUMN = "(row)"  # quarantine entries about a whole row rather than one column


@dataclass(frozen=True, repr=False)  # holds personal data: never shown in a log or traceback
class TablePart:
    """A partner file's one part: the whole table, and (for a replay) the mask of the rows to validate."""

    table: TextTable
    only: np.ndarray | None = None


@dataclass(frozen=True, repr=False)
class OpenedTable:
    """A partner file read and checked as a whole (`OpenedFile`): one part."""

    table: TextTable
    notes: tuple[str, ...]
    part_count: int = 1

    @property
    def record_count(self) -> int:
        return len(self.table.frame)

    def parts(self) -> Iterator[TablePart]:
        yield TablePart(self.table)

    def rows(self, row_numbers: np.ndarray) -> TablePart:
        return TablePart(self.table, np.isin(self.table.row_numbers, row_numbers))


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


class PartnerSource:
    """One partner's deliveries, as its definition describes them (`Source`)."""

    def __init__(self, definition: PartnerDefinition) -> None:
        self.definition = definition

    @property
    def id(self) -> str:
        return self.definition.id

    @property
    def kind(self) -> str:
        return self.definition.source

    @property
    def scope(self) -> str:
        return self.definition.scope

    @property
    def snapshot(self) -> bool:
        return self.definition.delivery == "snapshot"

    def rules_fingerprint(self) -> str:
        return partner_fingerprint(self.definition)

    def open(self, path: Path, sha256: str, *, max_bytes: int, part_bytes: int) -> OpenedTable:
        """Read the whole file as text (`part_bytes` does not apply: repeated rows are judged
        across the file); `sha256` was checked by whoever found the file."""
        definition = self.definition
        table = read_table(
            path,
            read_columns(definition),
            file_format=definition.format,
            encoding=definition.encoding,
            delimiter=definition.delimiter,
            sheet=definition.sheet,
            date_format=definition.date_format,
            max_bytes=max_bytes,
            optional=optional_columns(definition),
        )
        return OpenedTable(table, tuple(layout_notes(definition, table.absent, table.headers)))

    def validate(self, part: TablePart, opened: OpenedTable) -> Validated:
        """Valid records and quarantine entries of the file; with `part.only` (a mask of the
        file's rows) of those rows alone, judged against the whole file for repeated rows."""
        definition, table = self.definition, part.table
        raw = table.frame
        selected = np.ones(len(raw), dtype=bool) if part.only is None else part.only
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
        quarantined = quarantine_entries(
            failures,
            warnings,
            row_numbers=lambda rows: table.row_numbers[rows],
            record_ids=record_ids,
            headers=definition.columns,
            error_values=_offending_values(raw, failures, definition),
        )
        decided = None
        if definition.layout:
            # CTDC gives age bins, not ages: the layout's documented rules decide group and minority.
            group, minor = ctdc.age_groups(raw.loc[canonical_split.valid.index])
            decided = pd.DataFrame({"age_group": group, "is_minor": minor}, index=canonical_split.valid.index)
        return Validated(canonical_split.valid, quarantined, int(selected.sum()), None, decided)


def partner_source(partner_id: str, definitions: dict[str, PartnerDefinition]) -> PartnerSource:
    """The source for an inbox folder; a folder without a definition is refused."""
    if partner_id not in definitions:
        # The folder's name is not quoted: someone typed it, and this message reaches Prefect.
        raise FileRejected("no partner definition for this inbox folder (add a YAML file with the folder's name as its id to VICTIM_INTAKE_PARTNERS)")
    return PartnerSource(definitions[partner_id])
