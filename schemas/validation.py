"""Lazy Pandera validation that splits valid rows from invalid ones without keeping any value.

Pandera's error text and `failure_cases` quote the failing values (personal data); only the
column, the check's name and the row index are kept from them.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd
import pandera.pandas as pa

# Checks about the frame's shape: their `failure_case` is a column name, never a value.
_SHAPE_CHECKS = {"column_in_dataframe", "column_in_schema", "dataframe_column_labels_unique"}
_MAX_RULE_LENGTH = 200


class SchemaViolation(Exception):
    """The frame as a whole breaks its contract (a missing column, a wrong type): load nothing."""


@dataclass(frozen=True)
class Split:
    """Rows that passed, and one failure entry per (row, column, rule) for those that did not."""

    valid: pd.DataFrame
    failures: pd.DataFrame  # columns: row (frame index label), column, rule

    @property
    def invalid_rows(self) -> int:
        return int(self.failures["row"].nunique())


def _whole_frame_message(cases: pd.DataFrame) -> str:
    problems = []
    for case in cases.itertuples(index=False):
        if case.check in _SHAPE_CHECKS:
            problems.append(f"{case.check}: {str(case.failure_case):.60}")
        else:
            problems.append(f"column {case.column}: {str(case.check):.80}")
    return "; ".join(sorted(set(problems)))


def split_valid(
    frame: pd.DataFrame,
    schema: pa.DataFrameSchema,
    frame_check_columns: dict[str, str] | None = None,
) -> Split:
    """Validate lazily; return the valid rows and value-free failure entries for the others.

    Raises SchemaViolation when a failure concerns the whole frame rather than some rows.
    """
    try:
        schema.validate(frame, lazy=True)
    except pa.errors.SchemaErrors as errors:
        cases = errors.failure_cases
    else:
        return Split(frame, pd.DataFrame({"row": pd.Series(dtype="int64"), "column": pd.Series(dtype="str"), "rule": pd.Series(dtype="str")}))

    whole_frame = cases["index"].isna()
    if whole_frame.any():
        raise SchemaViolation(_whole_frame_message(cases[whole_frame])) from None

    failures = pd.DataFrame(
        {
            "row": cases["index"].astype("int64"),
            "column": cases["column"].astype("str"),
            # An allowed-values check names the whole code list; the contract documents it.
            "rule": cases["check"].astype("str").str.replace(r"^isin\(.*", "allowed_values", regex=True).str.slice(0, _MAX_RULE_LENGTH),
        }
    )
    frame_level = cases["schema_context"].eq("DataFrameSchema").to_numpy()
    if frame_level.any():
        # Frame-level checks report an arbitrary column; name the field the rule is about.
        mapping = frame_check_columns or {}
        failures.loc[frame_level, "column"] = failures.loc[frame_level, "rule"].map(mapping).fillna("(record)")
    failures = failures.drop_duplicates().sort_values(["row", "column", "rule"], ignore_index=True)
    valid = frame[~frame.index.isin(failures["row"].unique())]
    return Split(valid, failures)
