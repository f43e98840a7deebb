"""The contract every source implements: the police feed and each partner's files alike.

A source opens a delivered file (verifying it as a whole), yields it in raw parts, and validates
each part into canonical records and value-free quarantine entries. What follows is the same for
every source (`sources.prepare`): keyed pseudonyms, the linkage and vault input, the matches among
the part's own records, and the warnings' text sealed; the load takes the prepared part.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import numpy as np
import pandas as pd


@dataclass(frozen=True, repr=False)  # holds personal data: never shown in a log or traceback
class Validated:
    """One part's valid canonical records, and quarantine entries for the rest."""

    records: pd.DataFrame
    # row_number (in the file), column_name, rule, source_record_id, severity (error: the row is
    # held back; warning: the row loads, a text no code list knew became `unknown`) and value: the
    # offending text, in memory only (sealed before the part is prepared) or None.
    quarantined: pd.DataFrame
    rows_in: int  # rows of the part
    exported_at: str | None  # the delivery's export time in UTC text, where the source states one
    # Registration columns the source decides itself, by the records' index (CTDC's age bins).
    decided: pd.DataFrame | None = None


class OpenedFile(Protocol):
    """A delivered file, verified as a whole and ready to be read part by part."""

    @property
    def record_count(self) -> int:
        """Rows in the whole file."""

    @property
    def part_count(self) -> int:
        """How many parts `parts` yields."""

    @property
    def notes(self) -> tuple[str, ...]:
        """Value-free notes about the file's layout (a CTDC file's absent and unknown headers)."""

    def parts(self) -> Iterator[Any]:
        """The raw parts, in order; the last raises FileRejected when the file changed meanwhile."""

    def rows(self, row_numbers: np.ndarray) -> Any:
        """One raw part holding only these rows (numbered as in the quarantine), for a replay."""


class Source(Protocol):
    """A source of deliveries: the police feed, or one partner as its definition describes it."""

    @property
    def id(self) -> str:
        """`police` or the partner's id: the inbox folder and the registrations' `source`."""

    @property
    def kind(self) -> str:
        """The registrations' `source_kind`."""

    @property
    def scope(self) -> str:
        """The registrations' `scope`: `national`, or `reference` for victims elsewhere."""

    @property
    def snapshot(self) -> bool:
        """Whether each delivery replaces everything the source delivered before."""

    def rules_fingerprint(self) -> str:
        """The rules a load applies, so that `status` can tell when a replay may load more."""

    def open(self, path: Path, sha256: str, *, max_bytes: int, part_bytes: int) -> OpenedFile:
        """Verify the file whose content hash is `sha256`; FileRejected when it must not load at all."""

    def validate(self, part: Any, opened: OpenedFile) -> Validated:
        """Valid canonical records and quarantine entries of one raw part."""


def quarantine_entries(
    failures: pd.DataFrame,
    warnings: pd.DataFrame,
    *,
    row_numbers: Callable[[np.ndarray], np.ndarray],
    record_ids: pd.Series,
    headers: Mapping[str, str],
    error_values: np.ndarray | None = None,
) -> pd.DataFrame:
    """A part's quarantine entries (`Validated.quarantined`): its failures (row, column, rule) as
    errors, whose row is held back, with `error_values` where the source keeps them; and the
    warnings of rows that load (row, field, rule, value), named by the source's `headers`.
    `row_numbers` turns the part's row positions into the file's row numbers, and `record_ids`
    (by row position) gives each entry its source record id."""

    def entries(found: pd.DataFrame, columns: np.ndarray, severity: str, values: object) -> pd.DataFrame:
        return pd.DataFrame(
            {
                "row_number": row_numbers(found["row"].to_numpy()),
                "column_name": columns,
                "rule": found["rule"].to_numpy(),
                "source_record_id": record_ids.reindex(found["row"]).to_numpy(),
                "severity": severity,
                "value": values,
            }
        )

    return pd.concat(
        [
            entries(failures, failures["column"].to_numpy(), "error", error_values),
            entries(warnings, warnings["field"].map(headers).to_numpy(), "warning", warnings["value"].to_numpy()),
        ],
        ignore_index=True,
    )
