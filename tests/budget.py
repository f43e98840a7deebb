"""How many examples a property-based test draws: all of them in `make test` (and CI), a quarter
in `make test-fast` (TEST_TIER=fast), which is for quick feedback while working."""

from __future__ import annotations

import os


def examples(full: int) -> int:
    """`full` in the whole suite; a quarter of it (at least 10) in the fast tier."""
    return max(10, full // 4) if os.environ.get("TEST_TIER") == "fast" else full
