"""Canonical records: places, sectors and reporting units become codes from the shipped lists.

The text a source wrote in these fields never goes further than this step. A value no list knows
makes the field `unknown`; the row still loads, and a warning entry (row, field, rule and the
value, for sealing) tells the steward. Empty values and words for "unknown" become `unknown`
without a warning.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from schemas.codelists.matching import CodeList, match_municipalities, match_sectors

# The canonical fields that hold codes from a list (`warehouse` columns of the same names).
LISTED_FIELDS: tuple[str, ...] = ("reporting_unit", "exploitation_municipality", "exploitation_sector")


@dataclass(frozen=True, repr=False)  # holds what sources wrote: never shown in a log or traceback
class Coded:
    """The records with codes, and one warning per (row, field) whose text no list knows."""

    records: pd.DataFrame
    warnings: pd.DataFrame  # row (index label of `records`), field, rule, value (clear, in memory only)


def code_records(records: pd.DataFrame, units: CodeList) -> Coded:
    """Replace the listed fields' text by codes. `units` is the source's list of reporting units;
    the unit found decides a municipality name that several municipalities share."""
    unit = units.match(records["reporting_unit"])
    municipality = match_municipalities(records["exploitation_municipality"], unit.codes)
    sector = match_sectors(records["exploitation_sector"])
    matched = {"reporting_unit": unit, "exploitation_municipality": municipality, "exploitation_sector": sector}
    parts = []
    for field, found in matched.items():
        warned = np.flatnonzero(found.rules.notna().to_numpy())
        parts.append(
            pd.DataFrame(
                {
                    "row": records.index[warned],
                    "field": field,
                    "rule": found.rules.to_numpy()[warned],
                    "value": records[field].iloc[warned].to_numpy(dtype=object),
                }
            )
        )
    warnings = pd.concat(parts, ignore_index=True)
    coded = records.assign(**{field: found.codes for field, found in matched.items()})
    return Coded(coded, warnings)
