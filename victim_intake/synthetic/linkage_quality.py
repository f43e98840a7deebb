"""Linkage quality against the truth file: precision and recall over pairs of registrations."""

from __future__ import annotations

import numpy as np
import pandas as pd


def pairs(groups: pd.Series) -> int:
    """Number of pairs of rows that share a group."""
    sizes = groups.value_counts().to_numpy(dtype=np.int64)
    return int((sizes * (sizes - 1) // 2).sum())


def group_quality(joined: pd.DataFrame, members: pd.Series) -> dict:
    """Precision and recall for the registrations of some persons (`members`: a boolean per row):
    predicted pairs that involve at least one of them, true pairs among them."""
    predicted = pairs(joined["person_id"]) - pairs(joined.loc[~members, "person_id"])
    both = pairs((joined["person"] + "|" + joined["person_id"])[members])
    true = pairs(joined.loc[members, "person"])
    return {
        "registrations": int(members.sum()),
        "persons": joined.loc[members, "person"].nunique(),
        "precision": both / predicted if predicted else 1.0,
        "recall": both / true if true else 1.0,
    }


def quality(truth: pd.DataFrame, stored: pd.DataFrame) -> dict:
    """`truth` (valid rows with `person`, `variant`, `birth_day_unknown`, `registration_id`) against
    `stored` (`registration_id`, `person_id`): counts, pair precision and recall (overall, and for
    persons with a real birth date and with a placeholder one), unlinked records by variant."""
    # Anonymous rows (CTDC exchange files) have no true person and cannot be linked by design.
    truth = truth[truth["person"] != ""]
    joined = truth.merge(stored, on="registration_id", how="inner", validate="one_to_one")
    true_pairs = pairs(joined["person"])
    predicted_pairs = pairs(joined["person_id"])
    both = pairs(joined["person"] + "|" + joined["person_id"])
    # A record is "not linked" when its person id is not the one most of its true person's records carry.
    sizes = joined.groupby(["person", "person_id"]).size().sort_values(kind="stable")
    modal = sizes.reset_index().drop_duplicates("person", keep="last").set_index("person")["person_id"]
    split = joined["person_id"] != joined["person"].map(modal)
    by_variant = joined.assign(split=split).groupby("variant")["split"].agg(["size", "sum"])
    return {
        "registrations": len(joined),
        "true persons": joined["person"].nunique(),
        "linked persons": joined["person_id"].nunique(),
        "precision": both / predicted_pairs if predicted_pairs else 1.0,
        "recall": both / true_pairs if true_pairs else 1.0,
        "by_variant": by_variant.rename(columns={"size": "records", "sum": "not linked"}),
        "real birth date": group_quality(joined, joined["birth_day_unknown"] != "true"),
        "placeholder birth date": group_quality(joined, joined["birth_day_unknown"] == "true"),
    }
