"""Plain-language warnings about when a multiple-systems estimate should not be trusted."""

from __future__ import annotations

from estimation.bootstrap import BootstrapResult
from estimation.design import cell_structure, pair_overlaps
from estimation.table import OverlapTable

# Below this share of persons on two or more lists, every model rests on a handful of linked
# persons, and a few linkage errors move the estimate a lot.
LOW_OVERLAP_SHARE = 0.05
# Pairs of lists sharing fewer persons than this say next to nothing about their interaction.
SPARSE_PAIR_PERSONS = 5
# Independence and stepwise totals further apart than this factor (either way) mean the figure
# depends more on which interactions are modelled than on sampling error: a swing of 50 % is far
# beyond the conditional 95 % intervals of either model on the Ned table (about +-10 to 20 %).
INSTABILITY_FACTOR = 1.5


def overlap_warnings(table: OverlapTable) -> list[str]:
    """Warn when lists barely overlap, overall or pair by pair."""
    warnings = []
    share = table.on_several_lists / table.observed
    if share < LOW_OVERLAP_SHARE:
        warnings.append(
            f"Lists barely overlap: only {table.on_several_lists:,} of {table.observed:,} persons "
            f"({share:.1%}) are on more than one list (below {LOW_OVERLAP_SHARE:.0%}); the "
            "estimate rests on very few linked persons."
        )
    overlaps = pair_overlaps(table.counts, table.n_lists)
    # A small positive overlap is a small count of persons: it is shown as a band, not in clear.
    sparse = [
        f"{table.pair_name(pair)} {int(shared) if shared == 0 else f'1-{SPARSE_PAIR_PERSONS - 1}'}"
        for pair, shared in zip(cell_structure(table.n_lists).pairs, overlaps, strict=True)
        if shared < SPARSE_PAIR_PERSONS
    ]
    if sparse:
        warnings.append(
            f"{len(sparse)} of {len(overlaps)} pairs of lists share fewer than "
            f"{SPARSE_PAIR_PERSONS} persons ({', '.join(sparse)}); a pair sharing none can only "
            "enter the stepwise model as a structural zero."
        )
    return warnings


def instability_warnings(independence_total: float, stepwise_total: float) -> list[str]:
    """Warn when the two models disagree by more than `INSTABILITY_FACTOR`."""
    factor = max(independence_total, stepwise_total) / min(independence_total, stepwise_total)
    if factor <= INSTABILITY_FACTOR:
        return []
    return [
        f"Unstable estimate: the independence ({independence_total:,.0f}) and stepwise "
        f"({stepwise_total:,.0f}) totals differ by a factor of {factor:.1f} (more than "
        f"{INSTABILITY_FACTOR}); the figure depends on how list interactions are modelled, so "
        "quote the bootstrap interval rather than a point."
    ]


def bootstrap_warnings(result: BootstrapResult) -> list[str]:
    """Warn about replicates without an estimate and about an undefined BCa interval."""
    warnings = []
    if result.failed:
        warnings.append(
            f"{result.failed} of {len(result.replicates)} bootstrap replicates had no estimable "
            "model and were left out of the interval."
        )
    if result.interval is None:
        warnings.append(
            "No BCa interval: all bootstrap replicates fall on one side of the point estimate."
        )
    return warnings
