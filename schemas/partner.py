"""Contract of a partner file, built from its definition, and the mapping into the canonical record.

The raw schema checks the file's own columns (named by their headers, so a steward sees the
header that holds the problem): dates in the definition's format and not in the future, codes
that the value tables know, countries that ISO 3166 knows, plausible ages, no formula-looking
cells, unique record ids. `to_canonical` then only renames and converts.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import pandas as pd
import pandera.pandas as pa

from schemas import checks, ctdc
from schemas.countries import to_alpha3
from schemas.partner_definition import BOOLEAN_FIELDS, CODED_FIELDS, COUNTRY_FIELDS, DATE_FIELDS, PartnerDefinition
from schemas.vocabulary import FIRST_REGISTRATION_YEAR, MAX_PLAUSIBLE_AGE, UNKNOWN_COUNTRY

# Spreadsheet formula triggers (CSV injection); "-" only when no number follows (flags are -99).
# A pattern string without look-ahead, so pandas hands it to pyarrow's regex engine instead of
# calling Python's `re` once per cell.
_FORMULA = r"^(?:[=+@\t\r]|-(?:[^0-9]|$))"
_BOOLEAN_WORDS = {
    "true": "true", "false": "false", "ja": "true", "nee": "false", "yes": "true", "no": "false",
    "j": "true", "n": "false", "y": "true", "1": "true", "0": "false",
}
_TEXT_LIMITS = {"surname": 200, "given_names": 200, "source_record_id": 64, "reporting_unit": 100,
                "exploitation_sector": 100, "exploitation_municipality": 100}
UNREADABLE_COLUMNS = ("notes",)  # mapped so the header is known, never read


def _fold(values: pd.Series) -> pd.Series:
    return values.str.strip().str.casefold()


def per_distinct(values: pd.Series, convert: Callable[[pd.Series], pd.Series]) -> pd.Series:
    """`convert` applied to each distinct value once, spread back over the rows (nulls stay null).

    A column holds far fewer distinct codes, countries and dates than rows: a million rows of
    birth dates hold a few tens of thousands, so parsing those is what costs."""
    codes, distinct = pd.factorize(values)
    converted = convert(pd.Series(distinct, dtype=values.dtype)).reset_index(drop=True)
    # Code -1 (a null) is no label of `converted`, so reindexing makes it null.
    return converted.reindex(codes).set_axis(values.index)


def value_table(definition: PartnerDefinition, field: str) -> dict[str, str]:
    """The definition's value table for `field`, keyed by folded file value."""
    return {raw.strip().casefold(): canonical for raw, canonical in definition.values.get(field, {}).items()}


def read_columns(definition: PartnerDefinition) -> list[str]:
    """Headers the connector must find and keep (free-text columns are left in the file)."""
    return [header for name, header in definition.columns.items() if name not in UNREADABLE_COLUMNS]


def optional_columns(definition: PartnerDefinition) -> list[str]:
    """Headers the connector keeps when the file has them: the columns a CTDC layout reads beyond
    the definition's (flags, age bins); an absent one is unknown for every row."""
    if not definition.layout:
        return []
    return [name for name in ctdc.layout_columns(definition.layout) if name not in definition.columns.values()]


def layout_notes(definition: PartnerDefinition, absent: tuple[str, ...], headers: tuple[str, ...]) -> list[str]:
    """Value-free warnings about a CTDC file's columns: the optional ones it lacks (unknown for every
    row) and the ones the layout does not know (ignored). Headers only, never a cell."""
    if not definition.layout:
        return []
    known = {*ctdc.known_columns(definition.layout), *definition.columns.values()}
    ignored = [header for header in headers if header and header not in known]
    notes = []
    if absent:
        notes.append(f"column(s) absent, unknown for every row: {_listed_headers(absent)}")
    if ignored:
        notes.append(f"column(s) the {definition.layout} layout does not know, ignored: {_listed_headers(ignored)}")
    return notes


def _listed_headers(headers: Sequence[str], limit: int = 20) -> str:
    # Headers are the file's text: cut, so that a hostile header cannot fill a summary.
    shown = [header if len(header) <= 40 else f"{header[:37]}..." for header in headers[:limit]]
    more = f" and {len(headers) - limit} more" if len(headers) > limit else ""
    return ", ".join(shown) + more


def coded_values(definition: PartnerDefinition, field: str, values: pd.Series) -> pd.Series:
    """File values -> canonical codes through the value table; canonical codes pass as they are."""
    table = value_table(definition, field)
    allowed = CODED_FIELDS.get(field, ())

    def convert(distinct: pd.Series) -> pd.Series:
        folded = _fold(distinct)
        return folded.map(table).astype(object).fillna(folded.where(folded.isin(allowed)).astype(object))

    return per_distinct(values, convert).astype(object)


def listed_text(definition: PartnerDefinition, field: str, values: pd.Series) -> pd.Series:
    """A place, sector or unit as the file writes it, or the code its value table gives
    (`schemas.coding` then matches the text against the shipped lists)."""
    table = value_table(definition, field)
    if not table:
        return values.astype("str")

    def convert(distinct: pd.Series) -> pd.Series:
        return _fold(distinct).map(table).astype(object).fillna(distinct.astype(object))

    return per_distinct(values, convert).astype("str")


def boolean_values(definition: PartnerDefinition, field: str, values: pd.Series) -> pd.Series:
    table = value_table(definition, field)

    def convert(distinct: pd.Series) -> pd.Series:
        folded = _fold(distinct)
        return folded.map(table).astype(object).fillna(folded.map(_BOOLEAN_WORDS).astype(object))

    return per_distinct(values, convert).map({"true": True, "false": False}).astype("boolean")


def country_values(definition: PartnerDefinition, field: str, values: pd.Series) -> pd.Series:
    """ISO alpha-3 of each value (after the value table, e.g. CTDC's "00" -> UNK); null if unknown."""
    table = value_table(definition, field)

    def convert(distinct: pd.Series) -> pd.Series:
        return _fold(distinct).map(table).astype(object).fillna(to_alpha3(distinct).astype(object))

    return per_distinct(values, convert).astype(object)


def parse_dates(definition: PartnerDefinition, values: pd.Series) -> pd.Series:
    return per_distinct(values, lambda distinct: pd.to_datetime(distinct, format=definition.date_format, errors="coerce"))


def _check(name: str, test: Callable[[pd.Series], pd.Series]) -> pa.Check:
    return pa.Check(test, name=name)


def _field_checks(definition: PartnerDefinition, field: str) -> list[pa.Check]:
    found: list[pa.Check] = [_check("no_formula", lambda v: ~v.str.contains(_FORMULA))]
    if field in _TEXT_LIMITS:
        limit = _TEXT_LIMITS[field]
        found.append(_check(f"at_most_{limit}_characters", lambda v: v.str.len() <= limit))
    if field in DATE_FIELDS:
        found.append(_check(f"date_format_{definition.date_format}", lambda v: parse_dates(definition, v).notna()))
        found.append(_check("not_in_future", lambda v: parse_dates(definition, v).isna() | (parse_dates(definition, v) <= checks.today())))
    if field == "birth_date":
        found.append(_check("year_from_1900", lambda v: parse_dates(definition, v).isna() | (parse_dates(definition, v).dt.year >= 1900)))
    if field == "reported_on":
        found.append(
            _check(
                f"year_from_{FIRST_REGISTRATION_YEAR}",
                lambda v: parse_dates(definition, v).isna() | (parse_dates(definition, v).dt.year >= FIRST_REGISTRATION_YEAR),
            )
        )
    if field == "registration_year":
        found.append(_check("year", lambda v: v.str.fullmatch(r"\d{4}").fillna(False).astype(bool)))
        found.append(
            _check(
                f"year_{FIRST_REGISTRATION_YEAR}_to_now",
                lambda v: pd.to_numeric(v, errors="coerce").between(FIRST_REGISTRATION_YEAR, checks.today().year),
            )
        )
    if field == "age":
        found.append(
            _check(
                f"age_0_to_{MAX_PLAUSIBLE_AGE}",
                lambda v: pd.to_numeric(v.where(v.str.fullmatch(r"\d{1,3}").fillna(False).astype(bool)), errors="coerce").between(0, MAX_PLAUSIBLE_AGE),
            )
        )
    if field in CODED_FIELDS:
        found.append(_check("allowed_values", lambda v: coded_values(definition, field, v).notna()))
    if field in COUNTRY_FIELDS:
        found.append(_check("known_country", lambda v: country_values(definition, field, v).notna()))
    if field in BOOLEAN_FIELDS:
        found.append(_check("yes_or_no", lambda v: boolean_values(definition, field, v).notna()))
    if field == "bsn":
        found.append(_check("bsn_elfproef", checks.passes_elfproef))
    if field == "alien_number":
        found.append(_check("ten_digits", lambda v: v.str.fullmatch(r"\d{10}").fillna(False).astype(bool)))
    return found


def _birth_and_report(definition: PartnerDefinition, frame: pd.DataFrame) -> tuple[pd.Series, pd.Series]:
    columns = definition.columns
    birth = parse_dates(definition, frame[columns["birth_date"]])
    report = parse_dates(definition, frame[columns["reported_on"]])
    return birth, report


def raw_schema(definition: PartnerDefinition) -> tuple[pa.DataFrameSchema, dict[str, str]]:
    """The per-partner contract on its text columns, and which header each frame check is about."""
    columns: dict[str, pa.Column] = {}
    for field, header in definition.columns.items():
        if field in UNREADABLE_COLUMNS:
            continue
        required = field in ("source_record_id", "reported_on", "registration_year")
        columns[header] = pa.Column(
            str, checks=_field_checks(definition, field), nullable=not required,
            unique=field == "source_record_id",
        )
    if definition.layout:
        # Not required: a file without one of them holds no value of it (unknown for every row).
        for flag in (*ctdc.flag_columns(definition.layout), *ctdc.sector_columns(definition.layout)):
            columns[flag] = pa.Column(str, checks=[pa.Check.isin(list(ctdc.FLAG_VALUES))], nullable=True, required=False)
        columns[ctdc.AGE_COLUMN] = pa.Column(
            str, checks=[pa.Check.isin([*ctdc.AGE_BINS, *ctdc.MISSING_AGE])], nullable=True, required=False
        )

    frame_checks: list[pa.Check] = []
    frame_columns: dict[str, str] = {}
    if "birth_date" in definition.columns and "reported_on" in definition.columns:
        def born_before(frame: pd.DataFrame) -> pd.Series:
            birth, report = _birth_and_report(definition, frame)
            return birth.isna() | report.isna() | (birth <= report)

        def plausible_age(frame: pd.DataFrame) -> pd.Series:
            birth, report = _birth_and_report(definition, frame)
            return birth.isna() | report.isna() | (report.dt.year - birth.dt.year <= MAX_PLAUSIBLE_AGE)

        frame_checks = [
            pa.Check(born_before, name="birth_on_or_before_report"),
            pa.Check(plausible_age, name=f"age_at_report_at_most_{MAX_PLAUSIBLE_AGE}"),
        ]
        header = definition.columns["birth_date"]
        frame_columns = {"birth_on_or_before_report": header, f"age_at_report_at_most_{MAX_PLAUSIBLE_AGE}": header}
    # Not strict: the connector hands over exactly the wanted headers.
    return pa.DataFrameSchema(columns, checks=frame_checks, name=f"Partner:{definition.id}"), frame_columns


def _text(raw: pd.DataFrame, definition: PartnerDefinition, field: str) -> pd.Series:
    header = definition.columns.get(field)
    if header is None:
        return pd.Series(None, index=raw.index, dtype="str")
    return raw[header].astype("str")


def _listed(raw: pd.DataFrame, definition: PartnerDefinition, field: str) -> pd.Series:
    header = definition.columns.get(field)
    if header is None:
        return pd.Series(None, index=raw.index, dtype="str")
    return listed_text(definition, field, raw[header])


def to_canonical(raw: pd.DataFrame, definition: PartnerDefinition, source_record_ids: pd.Series) -> pd.DataFrame:
    """Valid raw rows -> canonical records (rename and convert only; the index is kept). Places,
    sectors and units are still text: `schemas.coding.code_records` makes them codes.

    `source_record_ids` is used when the definition maps no record id (CTDC: the row number).
    """
    columns = definition.columns
    index = raw.index

    def dates(field: str) -> pd.Series:
        if field not in columns:
            return pd.Series(pd.NaT, index=index, dtype="datetime64[us]")
        return parse_dates(definition, raw[columns[field]]).astype("datetime64[us]")

    def coded(field: str) -> pd.Series:
        if field == "exploitation_type" and definition.layout:
            return ctdc.exploitation_types(raw, definition.layout)
        if field not in columns:
            return pd.Series("unknown", index=index, dtype="str")
        return coded_values(definition, field, raw[columns[field]]).fillna("unknown").astype("str")

    def country(field: str) -> pd.Series:
        if field not in columns:
            return pd.Series(UNKNOWN_COUNTRY, index=index, dtype="str")
        return country_values(definition, field, raw[columns[field]]).fillna(UNKNOWN_COUNTRY).astype("str")

    def boolean(field: str) -> pd.Series:
        if field not in columns:
            return pd.Series(pd.NA, index=index, dtype="boolean")
        return boolean_values(definition, field, raw[columns[field]])

    reported_on = dates("reported_on")
    if "registration_year" in columns:
        year = pd.to_numeric(raw[columns["registration_year"]], errors="coerce").astype("Int64")
        year = year.fillna(reported_on.dt.year.astype("Int64"))
    else:
        year = reported_on.dt.year.astype("Int64")
    age = pd.to_numeric(raw[columns["age"]], errors="coerce").astype("Int64") if "age" in columns else pd.Series(pd.NA, index=index, dtype="Int64")
    record_ids = _text(raw, definition, "source_record_id") if "source_record_id" in columns else source_record_ids.reindex(index).astype("str")
    return pd.DataFrame(
        {
            "source_record_id": record_ids,
            "surname": _text(raw, definition, "surname"),
            "given_names": _text(raw, definition, "given_names"),
            "birth_date": dates("birth_date"),
            "bsn": _text(raw, definition, "bsn"),
            "alien_number": _text(raw, definition, "alien_number"),
            "age": age,
            "gender": coded("gender"),
            "nationality": country("nationality"),
            "reported_on": reported_on,
            "registration_year": year,
            "exploitation_type": coded("exploitation_type"),
            "exploitation_country": country("exploitation_country"),
            # Still text here: `schemas.coding` turns it into codes of the shipped lists.
            "exploitation_sector": (
                ctdc.sectors(raw) if definition.layout and "exploitation_sector" not in columns else _listed(raw, definition, "exploitation_sector")
            ),
            "exploitation_municipality": _listed(raw, definition, "exploitation_municipality"),
            "reporting_unit": _listed(raw, definition, "reporting_unit"),
            "b8_reflection_offered": boolean("b8_reflection_offered"),
            "report_filed": boolean("report_filed"),
        },
        index=index,
    )
