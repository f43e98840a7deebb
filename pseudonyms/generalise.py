"""Generalised ages: the birth date becomes an age at the report, an age group and a minor flag."""

from __future__ import annotations

import pandas as pd

from schemas.vocabulary import AGE_GROUPS, MAJORITY_AGE, UNKNOWN_AGE_GROUP


def age_at(birth: pd.Series, on: pd.Series) -> pd.Series:
    """Completed years between two datetime series (nullable integers)."""
    years = on.dt.year - birth.dt.year
    before_birthday = (on.dt.month < birth.dt.month) | (
        (on.dt.month == birth.dt.month) & (on.dt.day < birth.dt.day)
    )
    return (years - before_birthday.astype("int64")).astype("Int64")


def age_groups(ages: pd.Series) -> pd.Series:
    """Age group label of each age; unknown ages get the `unknown` group."""
    bounds = [-1] + [upper for _, upper in AGE_GROUPS]
    labels = [label for label, _ in AGE_GROUPS]
    groups = pd.cut(ages.astype("float64"), bins=bounds, labels=labels).astype("str")
    return groups.where(ages.notna(), UNKNOWN_AGE_GROUP)


def minor_flags(ages: pd.Series) -> pd.Series:
    """True under the age of majority, null when the age is unknown."""
    return (ages < MAJORITY_AGE).astype("boolean").where(ages.notna(), pd.NA)
