"""The canonical registration, declared once.

Two stages share these declarations:
- the *canonical record* every source maps into (still holding identifying fields, in memory only);
- the *registration* the warehouse stores (identifiers replaced by pseudonyms and generalised ages).

The Pandera schemas below, the warehouse columns (`store.tables`) and the data dictionary are
all generated from these declarations, so they cannot drift apart.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandera.pandas as pa

from schemas import checks
from schemas.codelists.catalogue import editions, municipality_codes, sector_codes
from schemas.codelists.matching import UNIT_CODE, UNKNOWN
from schemas.vocabulary import AGE_GROUPS, EXPLOITATION_TYPES, GENDERS, SCOPES, SOURCE_KINDS, UNKNOWN_AGE_GROUP, UNKNOWN_COUNTRY


@dataclass(frozen=True)
class FieldSpec:
    """One canonical field: its type, whether it may be null, what it means, and whether it is personal."""

    name: str
    kind: str  # text | date | year | integer | boolean
    nullable: bool
    description: str
    personal: bool = False
    allowed: tuple[str, ...] | None = None
    country: bool = False
    code_list: str | None = None  # municipalities | sectors | reporting_units: a code from that list or `unknown`


_COUNTRY = "ISO 3166-1 alpha-3 code, `UNK` when unknown"

# Fields a source delivers and the warehouse keeps as they are: declared once, used by both stages.
_GENDER = FieldSpec("gender", "text", False, "gender", allowed=GENDERS)
_NATIONALITY = FieldSpec("nationality", "text", False, f"nationality, {_COUNTRY}", country=True)
_REPORTED_ON = FieldSpec("reported_on", "date", True, "date of the report, if known")
_REGISTRATION_YEAR = FieldSpec("registration_year", "year", False, "year of the report")
_EXPLOITATION_TYPE = FieldSpec("exploitation_type", "text", False, "form of exploitation", allowed=EXPLOITATION_TYPES)
_EXPLOITATION_COUNTRY = FieldSpec("exploitation_country", "text", False, f"country of exploitation, {_COUNTRY}", country=True)
# Codes from the shipped lists (`schemas.coding`), never the text a source wrote.
_EXPLOITATION_SECTOR = FieldSpec(
    "exploitation_sector", "text", False,
    "sector where the exploitation took place: a code of the sector list; `unknown` when not given or not on the list",
    code_list="sectors",
)
_EXPLOITATION_MUNICIPALITY = FieldSpec(
    "exploitation_municipality", "text", False,
    "municipality where the exploitation took place: its CBS code (`GM0363`); `unknown` when not given, not on the list, "
    "or a name several municipalities share",
    code_list="municipalities",
)
_REPORTING_UNIT = FieldSpec(
    "reporting_unit", "text", False,
    "code of the reporting unit: a police unit (`PE-RT`) or a unit the partner's definition declares; `unknown` when not "
    "given or not on the list",
    code_list="reporting_units",
)
_B8_REFLECTION_OFFERED = FieldSpec("b8_reflection_offered", "boolean", True, "a B8/3 reflection period was offered; null when unknown")
_REPORT_FILED = FieldSpec("report_filed", "boolean", True, "the person filed a report (aangifte); null when unknown")

# What a source maps into. Personal fields never leave the pseudonymisation step.
RECORD_FIELDS: tuple[FieldSpec, ...] = (
    FieldSpec("source_record_id", "text", False, "the source's own key of the report"),
    FieldSpec("surname", "text", True, "surname as written by the source", personal=True),
    FieldSpec("given_names", "text", True, "given names as written by the source", personal=True),
    FieldSpec("birth_date", "date", True, "date of birth", personal=True),
    FieldSpec("bsn", "text", True, "citizen service number", personal=True),
    FieldSpec("alien_number", "text", True, "V-number (alien registration number)", personal=True),
    FieldSpec("age", "integer", True, "age at the report, for sources that give no birth date"),
    _GENDER,
    _NATIONALITY,
    _REPORTED_ON,
    _REGISTRATION_YEAR,
    _EXPLOITATION_TYPE,
    _EXPLOITATION_COUNTRY,
    _EXPLOITATION_SECTOR,
    _EXPLOITATION_MUNICIPALITY,
    _REPORTING_UNIT,
    _B8_REFLECTION_OFFERED,
    _REPORT_FILED,
)

# What the warehouse stores: `registrations`, one row per registration (a report of one source).
REGISTRATION_COLUMNS: tuple[FieldSpec, ...] = (
    FieldSpec("registration_id", "text", False, "stable keyed pseudonym of (source, source record id)"),
    FieldSpec("source", "text", False, "source name: `police` or the partner id"),
    FieldSpec("source_kind", "text", False, "the source's category", allowed=SOURCE_KINDS),
    FieldSpec(
        "scope", "text", False,
        "`national`: counts towards the Dutch figures; `reference`: data about victims elsewhere (CTDC), kept for "
        "comparison and never counted in marts, reports or estimates",
        allowed=SCOPES,
    ),
    _REPORTING_UNIT,
    _REPORTED_ON,
    _REGISTRATION_YEAR,
    FieldSpec("person_id", "text", True, "keyed pseudonym of the person; null when the source carries no identifiers"),
    FieldSpec("birth_year", "year", True, "year of birth"),
    FieldSpec("age_at_report", "integer", True, "age in completed years on the report date"),
    FieldSpec("age_group", "text", False, "age group at the report", allowed=tuple(g for g, _ in AGE_GROUPS) + (UNKNOWN_AGE_GROUP,)),
    FieldSpec("is_minor", "boolean", True, "under 18 at the report; null when the age is unknown"),
    _GENDER,
    _NATIONALITY,
    _EXPLOITATION_TYPE,
    _EXPLOITATION_COUNTRY,
    _EXPLOITATION_SECTOR,
    _EXPLOITATION_MUNICIPALITY,
    _B8_REFLECTION_OFFERED,
    _REPORT_FILED,
    FieldSpec("source_exported_at", "text", True, "export time the source gave the delivery; a later export wins"),
    FieldSpec("batch_id", "text", False, "the load that brought (or last updated) the row"),
)

_PANDERA_TYPES = {"text": str, "date": "datetime64[us]", "year": "Int64", "integer": "Int64", "boolean": "boolean"}


# Where each code list comes from, for the data dictionary.
CODE_LIST_FILES = {"municipalities": "municipalities", "sectors": "sectors", "reporting_units": "police_units"}


def _listed(spec: FieldSpec) -> pa.Check:
    if spec.code_list == "reporting_units":
        # Police units and the units partner definitions declare: a code, never a name or free text.
        return pa.Check(lambda values: values.str.fullmatch(UNIT_CODE.pattern) | values.eq(UNKNOWN), name="unit_code")
    codes = municipality_codes() if spec.code_list == "municipalities" else sector_codes()
    return pa.Check(lambda values: values.isin(codes | {UNKNOWN}), name=f"{spec.code_list}_code")


def code_list_note(spec: FieldSpec) -> str:
    """What the data dictionary says about a coded column's values."""
    edition = editions()[CODE_LIST_FILES[spec.code_list]]
    extra = " or a code a partner definition declares" if spec.code_list == "reporting_units" else ""
    return f"code from `schemas/codelists/{edition.file}` (vintage {edition.vintage}){extra}, `{UNKNOWN}`"


def _checks(spec: FieldSpec) -> list[pa.Check]:
    if spec.code_list is not None:
        return [_listed(spec)]
    if spec.allowed is not None:
        return [pa.Check.isin(list(spec.allowed))]
    if spec.country:
        return [pa.Check(lambda values: values.isin(checks.alpha3_codes() | {UNKNOWN_COUNTRY}), name="iso_alpha3_country")]
    if spec.kind == "year":
        return [pa.Check.in_range(1900, 2100)]
    return []


def _schema(name: str, fields: tuple[FieldSpec, ...]) -> pa.DataFrameSchema:
    columns = {
        spec.name: pa.Column(_PANDERA_TYPES[spec.kind], checks=_checks(spec), nullable=spec.nullable)
        for spec in fields
    }
    # strict: a column that is not declared (a stray name or BSN column, say) fails the whole frame.
    return pa.DataFrameSchema(columns, strict=True, name=name)


def record_schema() -> pa.DataFrameSchema:
    """Contract of the canonical record a source maps into."""
    return _schema("CanonicalRecord", RECORD_FIELDS)


def registration_schema() -> pa.DataFrameSchema:
    """Contract of the rows loaded into `registrations`; the last gate before the warehouse."""
    return _schema("Registration", REGISTRATION_COLUMNS)


PERSONAL_FIELDS: tuple[str, ...] = tuple(spec.name for spec in RECORD_FIELDS if spec.personal)
