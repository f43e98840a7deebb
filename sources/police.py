"""The police feed as a source: NDJSON files with a manifest, read in parts (`connectors.police`)
and validated against the police model (`schemas.police`)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from connectors.police import SOURCE, PoliceFile, read_police_file
from schemas.canonical import record_schema
from schemas.codelists.matching import police_unit_list
from schemas.coding import code_records
from schemas.police import FIELD_COLUMNS, FRAME_CHECK_COLUMNS, PoliceRecord, repeated_id_failures, to_canonical
from schemas.rules import police_fingerprint
from schemas.validation import split_valid
from sources.contract import Validated, quarantine_entries


def utc_text(timestamp: str | None) -> str | None:
    """The manifest's export time in UTC, so that text comparison orders deliveries correctly."""
    parsed = pd.to_datetime(timestamp, utc=True, errors="coerce") if timestamp else pd.NaT
    return None if pd.isna(parsed) else parsed.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


@dataclass(frozen=True)
class OpenedFeed:
    """A verified feed file (`OpenedFile`); its parts are frames indexed by line number - 1."""

    feed: PoliceFile
    notes: tuple[str, ...] = ()

    @property
    def record_count(self) -> int:
        return self.feed.record_count

    @property
    def part_count(self) -> int:
        return self.feed.part_count

    def parts(self) -> Iterator[pd.DataFrame]:
        return self.feed.parts()

    def rows(self, row_numbers: np.ndarray) -> pd.DataFrame:
        wanted = pd.Index(row_numbers - 1)
        return pd.concat([part.loc[part.index.intersection(wanted)] for part in self.feed.parts()])


class PoliceSource:
    """The automated police feed (`Source`)."""

    id = SOURCE
    kind = "police"
    scope = "national"
    snapshot = False

    def rules_fingerprint(self) -> str:
        return police_fingerprint()

    def open(self, path: Path, sha256: str, *, max_bytes: int, part_bytes: int) -> OpenedFeed:
        return OpenedFeed(read_police_file(path, sha256, max_bytes, part_bytes))

    def validate(self, part: pd.DataFrame, opened: OpenedFeed) -> Validated:
        raw_split = split_valid(part, PoliceRecord.to_schema(), FRAME_CHECK_COLUMNS)
        repeated = repeated_id_failures(part, opened.feed.duplicate_ids)
        coded = code_records(to_canonical(raw_split.valid.drop(index=repeated["row"], errors="ignore")), police_unit_list())
        canonical_split = split_valid(coded.records, record_schema())
        failures = pd.concat([raw_split.failures, repeated, canonical_split.failures], ignore_index=True).drop_duplicates()
        # Warnings of the rows that load; a quarantined row is the steward's already.
        warnings = coded.warnings[coded.warnings["row"].isin(canonical_split.valid.index)]
        # The feed's offending values are not kept: only the warnings' text is.
        quarantined = quarantine_entries(
            failures, warnings, row_numbers=lambda rows: rows + 1, record_ids=part["registratie_id"], headers=FIELD_COLUMNS
        )
        return Validated(canonical_split.valid, quarantined, len(part), utc_text(opened.feed.exported_at))
