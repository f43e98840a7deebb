"""Contract of the automated police feed, schema version 1 (raw text fields, one row per line)."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

import pandas as pd
import pandera.pandas as pa
from pandera.typing import Series

from schemas import checks
from schemas.vocabulary import (
    FIRST_REGISTRATION_YEAR,
    MAX_PLAUSIBLE_AGE,
    POLICE_EXPLOITATION,
    POLICE_GENDER,
    POLICE_UNITS,
    UNKNOWN_COUNTRY,
)


class PoliceRecord(pa.DataFrameModel):
    """One presumed-victim signal as the police deliver it; grain: one row per feed line.

    A field's `group` metadata is the object that holds it in a feed line (`persoon.bsn`); the
    reader's schema and the demo feed's writer are built from this model (`feed_fields`).
    """

    schema_version: Series[str] = pa.Field(isin=["1"])
    registratie_id: Series[str] = pa.Field(unique=True, str_length={"min_value": 1, "max_value": 64})
    eenheid: Series[str] = pa.Field(isin=list(POLICE_UNITS))
    datum_signaal: Series[str]
    achternaam: Series[str] = pa.Field(str_length={"min_value": 1, "max_value": 200}, metadata={"group": "persoon"})
    voornamen: Series[str] = pa.Field(nullable=True, str_length={"max_value": 200}, metadata={"group": "persoon"})
    geboortedatum: Series[str] = pa.Field(nullable=True, metadata={"group": "persoon"})
    geslacht: Series[str] = pa.Field(isin=list(POLICE_GENDER), metadata={"group": "persoon"})
    nationaliteit: Series[str] = pa.Field(nullable=True, metadata={"group": "persoon"})
    geboorteland: Series[str] = pa.Field(nullable=True, metadata={"group": "persoon"})
    bsn: Series[str] = pa.Field(nullable=True, metadata={"group": "persoon"})
    v_nummer: Series[str] = pa.Field(nullable=True, str_matches=r"^\d{10}$", metadata={"group": "persoon"})
    vorm: Series[str] = pa.Field(isin=list(POLICE_EXPLOITATION), metadata={"group": "uitbuiting"})
    sector: Series[str] = pa.Field(nullable=True, str_length={"max_value": 100}, metadata={"group": "uitbuiting"})
    land: Series[str] = pa.Field(nullable=True, metadata={"group": "uitbuiting"})
    gemeente: Series[str] = pa.Field(nullable=True, str_length={"max_value": 100}, metadata={"group": "uitbuiting"})
    bedenktijd_aangeboden: Series[pd.BooleanDtype] = pa.Field(nullable=True, metadata={"group": "b8"})
    aangifte: Series[pd.BooleanDtype] = pa.Field(nullable=True, metadata={"group": "b8"})

    class Config:
        strict = True

    @pa.check("datum_signaal", "geboortedatum", name="iso_date")
    def _iso_date(cls, values: Series[str]) -> Series[bool]:
        return checks.is_iso_date(values)

    @pa.check("datum_signaal", "geboortedatum", name="not_in_future")
    def _not_future(cls, values: Series[str]) -> Series[bool]:
        return checks.is_not_future(values)

    @pa.check("datum_signaal", name=f"year_from_{FIRST_REGISTRATION_YEAR}")
    def _recent_enough(cls, values: Series[str]) -> Series[bool]:
        return checks.is_on_or_after_year(values, FIRST_REGISTRATION_YEAR)

    @pa.check("bsn", name="bsn_elfproef")
    def _bsn(cls, values: Series[str]) -> Series[bool]:
        return checks.passes_elfproef(values)

    @pa.check("nationaliteit", "geboorteland", "land", name="iso_alpha3_country")
    def _country(cls, values: Series[str]) -> Series[bool]:
        return checks.is_alpha3_country(values)

    @pa.dataframe_check(name="birth_on_or_before_signal")
    def _born_before_signal(cls, frame: pd.DataFrame) -> Series[bool]:
        birth = checks.parse_iso_dates(frame["geboortedatum"])
        signal = checks.parse_iso_dates(frame["datum_signaal"])
        return birth.isna() | signal.isna() | (birth <= signal)

    @pa.dataframe_check(name=f"age_at_signal_at_most_{MAX_PLAUSIBLE_AGE}")
    def _plausible_age(cls, frame: pd.DataFrame) -> Series[bool]:
        birth = checks.parse_iso_dates(frame["geboortedatum"])
        signal = checks.parse_iso_dates(frame["datum_signaal"])
        return birth.isna() | signal.isna() | (signal.dt.year - birth.dt.year <= MAX_PLAUSIBLE_AGE)


@dataclass(frozen=True)
class FeedField:
    """One field of a feed line: its name, the object holding it (None: the line itself), and
    whether it is a JSON boolean (every other field is read as text)."""

    name: str
    group: str | None
    boolean: bool


@cache
def feed_fields() -> tuple[FeedField, ...]:
    """The fields of a feed line in the model's order (the officer's free text is not one of them)."""
    return tuple(
        FeedField(name, (column.metadata or {}).get("group"), str(column.dtype) == "boolean")
        for name, column in PoliceRecord.to_schema().columns.items()
    )


# The feed's field behind each canonical field that holds a code (`schemas.coding`): a warning
# about a value no code list knows names the field a steward finds in the feed.
FIELD_COLUMNS: dict[str, str] = {"reporting_unit": "eenheid", "exploitation_municipality": "gemeente", "exploitation_sector": "sector"}

# Frame-level checks report no column of their own; this says which field a steward should fix.
FRAME_CHECK_COLUMNS: dict[str, str] = {
    "birth_on_or_before_signal": "geboortedatum",
    f"age_at_signal_at_most_{MAX_PLAUSIBLE_AGE}": "geboortedatum",
}


def repeated_id_failures(raw: pd.DataFrame, repeated_ids: frozenset[str]) -> pd.DataFrame:
    """Failure entries (row, column, rule) for the records whose `registratie_id` occurs more than
    once in the whole file: every copy fails, as Pandera's uniqueness check does within one part,
    also when the copies fall in different parts of a large file."""
    rows = raw.index[raw["registratie_id"].isin(repeated_ids)] if repeated_ids else raw.index[:0]
    return pd.DataFrame({"row": rows.astype("int64"), "column": "registratie_id", "rule": "field_uniqueness"})


def to_canonical(raw: pd.DataFrame) -> pd.DataFrame:
    """Valid police rows -> canonical records (rename and cast only; the index is kept). Unit,
    municipality and sector are still text: `schemas.coding.code_records` makes them codes."""
    reported_on = checks.parse_iso_dates(raw["datum_signaal"])
    return pd.DataFrame(
        {
            "source_record_id": raw["registratie_id"],
            "surname": raw["achternaam"],
            "given_names": raw["voornamen"],
            "birth_date": checks.parse_iso_dates(raw["geboortedatum"]),
            "bsn": raw["bsn"],
            "alien_number": raw["v_nummer"],
            "age": pd.Series(pd.NA, index=raw.index, dtype="Int64"),
            "gender": raw["geslacht"].map(POLICE_GENDER).astype("str"),
            "nationality": raw["nationaliteit"].fillna(UNKNOWN_COUNTRY).astype("str"),
            "reported_on": reported_on,
            "registration_year": reported_on.dt.year.astype("Int64"),
            "exploitation_type": raw["vorm"].map(POLICE_EXPLOITATION).astype("str"),
            "exploitation_country": raw["land"].fillna(UNKNOWN_COUNTRY).astype("str"),
            "exploitation_sector": raw["sector"],
            "exploitation_municipality": raw["gemeente"],
            "reporting_unit": raw["eenheid"],
            "b8_reflection_offered": raw["bedenktijd_aangeboden"],
            "report_filed": raw["aangifte"],
        },
        index=raw.index,
    )
