"""Vectorised checks shared by the source contracts. Each returns a boolean Series (True = valid)."""

from __future__ import annotations

import datetime as dt
from functools import cache

import numpy as np
import pandas as pd
import pycountry

ISO_DATE_FORMAT = "%Y-%m-%d"
_BSN_WEIGHTS = np.array([9, 8, 7, 6, 5, 4, 3, 2, -1])


@cache
def alpha3_codes() -> frozenset[str]:
    """ISO 3166-1 alpha-3 codes, plus Kosovo's XKX which Dutch registries use."""
    return frozenset(country.alpha_3 for country in pycountry.countries) | {"XKX"}


def parse_iso_dates(values: pd.Series) -> pd.Series:
    """Datetimes of `YYYY-MM-DD` texts; anything else (and null) becomes NaT."""
    return pd.to_datetime(values, format=ISO_DATE_FORMAT, errors="coerce")


def today() -> pd.Timestamp:
    return pd.Timestamp(dt.date.today())


def is_iso_date(values: pd.Series) -> pd.Series:
    return parse_iso_dates(values).notna()


def is_not_future(values: pd.Series) -> pd.Series:
    """Unparseable dates pass here: `is_iso_date` reports them, so each row breaks one rule."""
    parsed = parse_iso_dates(values)
    return parsed.isna() | (parsed <= today())


def is_on_or_after_year(values: pd.Series, first_year: int) -> pd.Series:
    parsed = parse_iso_dates(values)
    return parsed.isna() | (parsed.dt.year >= first_year)


def passes_elfproef(values: pd.Series) -> pd.Series:
    """The BSN 11-test: nine digits whose weighted sum (9..2, -1) is divisible by 11."""
    nine_digits = values.str.fullmatch(r"\d{9}").fillna(False).astype(bool)
    result = pd.Series(False, index=values.index)
    candidates = values[nine_digits]
    if len(candidates):
        digits = np.frombuffer("".join(candidates.tolist()).encode("ascii"), dtype=np.uint8)
        weighted = (digits.reshape(-1, 9).astype(np.int64) - 48) @ _BSN_WEIGHTS
        result[nine_digits] = (weighted % 11 == 0) & (weighted != 0)
    return result


def is_alpha3_country(values: pd.Series) -> pd.Series:
    return values.isin(alpha3_codes())
