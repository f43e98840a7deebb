"""The two ways an estimate can be refused: a malformed table, or a table no model can estimate."""

from __future__ import annotations


class OverlapTableError(ValueError):
    """The overlap table is malformed (columns, values) or cannot support MSE at all."""


class EstimationError(RuntimeError):
    """The requested log-linear model has no finite, identifiable estimate for this table."""
