"""Partner definitions: one YAML file declares how a partner's files map into the canonical record.

Shipped definitions live in `schemas/partners/`; a folder named by `VICTIM_INTAKE_PARTNERS` adds
to or overrides them (same `id`). A definition is checked as a whole before any file is read;
a wrong one raises DefinitionError naming the file and the key.
"""

from __future__ import annotations

import codecs
import datetime as dt
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from schemas.codelists.catalogue import municipality_codes, sector_codes
from schemas.codelists.matching import UNIT_CODE, CodeList, fold, unit_list
from schemas.vocabulary import EXPLOITATION_TYPES, GENDERS, SCOPES, SOURCE_KINDS

SHIPPED_FOLDER = Path(__file__).with_name("partners")

# Canonical fields a definition may map (docs/partners.md); `notes` is accepted and never read.
MAPPABLE_FIELDS: tuple[str, ...] = (
    "source_record_id", "surname", "given_names", "birth_date", "age", "gender", "nationality",
    "reported_on", "registration_year", "exploitation_type", "exploitation_country",
    "exploitation_sector", "exploitation_municipality", "reporting_unit", "bsn", "alien_number",
    "b8_reflection_offered", "report_filed", "notes",
)
DATE_FIELDS = ("birth_date", "reported_on")
COUNTRY_FIELDS = ("nationality", "exploitation_country")
BOOLEAN_FIELDS = ("b8_reflection_offered", "report_filed")
# Fields whose file values must become one of a fixed list of canonical values.
CODED_FIELDS: dict[str, tuple[str, ...]] = {"gender": GENDERS, "exploitation_type": EXPLOITATION_TYPES}
# Fields stored as codes of a shipped list (`schemas.coding`); a value table may map file values to
# those codes. Reporting units have no shipped list for partners: each declares its own (`units`).
LISTED_CODES = {"exploitation_municipality": municipality_codes, "exploitation_sector": sector_codes}
# Identifying fields (and free text): a column that feeds one of them feeds nothing else.
IDENTITY_FIELDS = ("surname", "given_names", "birth_date", "bsn", "alien_number", "notes")
# Header wording that names an identifying field (compared folded): never mapped to another field.
_IDENTITY_HEADER_WORDS = frozenset({
    "surname", "surnames", "lastname", "familyname", "achternaam", "achternamen", "familienaam", "geslachtsnaam",
    "voornaam", "voornamen", "roepnaam", "firstname", "firstnames", "givenname", "givennames", "forename", "forenames",
    "geboortedatum", "birthdate", "dateofbirth", "dob", "bsn", "burgerservicenummer", "sofinummer", "citizenservicenumber",
    "vnummer", "vnumber", "aliennumber", "vreemdelingennummer", "opmerking", "opmerkingen", "toelichting", "notitie",
    "notities", "note", "notes", "remark", "remarks", "comment", "comments",
})
_IDENTITY_HEADERS = frozenset({"naam", "namen", "name", "names", "fullname", "volledigenaam"})
FORMATS = ("csv", "xlsx")
DELIVERIES = ("incremental", "snapshot")
LAYOUTS = ("ctdc_global", "ctdc_synthetic")
_KNOWN_KEYS = {
    "id", "source", "format", "encoding", "delimiter", "sheet", "date_format", "delivery", "layout",
    "columns", "values", "description", "units", "scope",
}
_MAX_UNIT_NAME = 100
_ID = re.compile(r"[a-z0-9][a-z0-9_-]{0,62}")
_PROBE_DATE = dt.date(2031, 12, 28)


class DefinitionError(Exception):
    """A partner definition is wrong; the message names the file and the key to fix."""

    def __init__(self, path: Path, key: str, problem: str) -> None:
        super().__init__(f"partner definition {path}: key `{key}`: {problem}")

    def __reduce__(self) -> tuple:
        # Rebuilt from its message in another process (the helper that prepares files ahead).
        return _definition_error, self.args


def _definition_error(message: str) -> DefinitionError:
    error = DefinitionError.__new__(DefinitionError)
    Exception.__init__(error, message)
    return error


@dataclass(frozen=True)
class PartnerDefinition:
    """How one partner's files are read and mapped; the format is written out in docs/partners.md."""

    id: str
    source: str
    format: str
    columns: Mapping[str, str]  # canonical field -> header in the file
    values: Mapping[str, Mapping[str, str]] = field(default_factory=dict)
    encoding: str = "utf-8"
    delimiter: str = ","
    sheet: str | None = None
    date_format: str = "%Y-%m-%d"
    delivery: str = "incremental"
    layout: str | None = None
    path: Path | None = None
    units: Mapping[str, tuple[str, ...]] = field(default_factory=dict)  # unit code -> names the partner writes
    scope: str = "national"

    def unit_list(self) -> CodeList:
        """The partner's reporting units, as a code list (empty when it maps no reporting unit)."""
        return unit_list(self.units)


def _require(condition: bool, path: Path, key: str, problem: str) -> None:
    if not condition:
        raise DefinitionError(path, key, problem)


def _check_date_format(path: Path, date_format: object) -> None:
    _require(isinstance(date_format, str) and date_format != "", path, "date_format", "must be a strftime pattern such as %d-%m-%Y")
    try:
        written = _PROBE_DATE.strftime(date_format)
        parsed = dt.datetime.strptime(written, date_format).date()
    except ValueError:
        parsed = None
    _require(parsed == _PROBE_DATE, path, "date_format", f"{date_format!r} does not read back a full date (needs day, month and year)")


def _check_encoding(path: Path, encoding: object) -> str:
    """The canonical name of a text encoding; refuses unknown codecs and the bytes-to-bytes or
    text-to-text ones (`hex`, `base64`, `rot13`), which Python knows but cannot decode a file with."""
    _require(isinstance(encoding, str) and encoding.strip() != "", path, "encoding", "must name a text encoding such as utf-8 or cp1252")
    try:
        codec = codecs.lookup(encoding)
    except LookupError:
        raise DefinitionError(path, "encoding", f"unknown encoding {encoding!r}") from None
    # Codecs such as hex_codec mark themselves as no text encoding; str.decode refuses them too.
    _require(getattr(codec, "_is_text_encoding", True), path, "encoding", f"{encoding!r} is not a text encoding (use e.g. utf-8 or cp1252)")
    return codec.name


def _names_identity(header: str) -> bool:
    """Whether a header's wording names an identifying field ("Achternaam", "Date of birth", "BSN")."""
    words = {fold(word) for word in re.split(r"[^\w]+", header) if word}
    return fold(header) in _IDENTITY_HEADER_WORDS | _IDENTITY_HEADERS or bool(words & _IDENTITY_HEADER_WORDS)


def _check_identity_columns(path: Path, columns: Mapping[str, str]) -> None:
    """A column that feeds an identifying field (or is named like one) feeds no other field: mapped
    elsewhere its names, numbers or free text would reach the warehouse in clear, outside the vault."""
    identity = {fold(header): name for name, header in columns.items() if name in IDENTITY_FIELDS}
    for name, header in columns.items():
        if name in IDENTITY_FIELDS:
            continue
        _require(
            fold(header) not in identity, path, f"columns.{name}",
            f"header {header!r} also feeds the identifying field {identity.get(fold(header))}; a column that feeds an "
            "identifying field feeds nothing else",
        )
        _require(
            not _names_identity(header), path, f"columns.{name}",
            f"header {header!r} names an identifying field (a name, birth date, BSN, V-number or notes); map it to that "
            "field or leave it out",
        )


def _check_columns(path: Path, columns: object, layout: str | None) -> dict[str, str]:
    _require(isinstance(columns, dict) and bool(columns), path, "columns", "must map canonical fields to headers")
    for name, header in columns.items():
        _require(name in MAPPABLE_FIELDS, path, f"columns.{name}", f"unknown canonical field (known: {', '.join(MAPPABLE_FIELDS)})")
        _require(isinstance(header, str) and header.strip() != "", path, f"columns.{name}", "header must be a non-empty text")
        # Quarantine entries name the header (quarantine.column_name holds up to 128 characters).
        _require(len(header) <= 128, path, f"columns.{name}", "header is longer than 128 characters")
    _check_identity_columns(path, columns)
    headers = list(columns.values())
    _require(len(set(headers)) == len(headers), path, "columns", "two fields map to the same header")
    if layout is None:
        _require("source_record_id" in columns, path, "columns.source_record_id", "required mapping is missing")
    _require(
        "reported_on" in columns or "registration_year" in columns,
        path, "columns.reported_on", "required mapping is missing (or map registration_year)",
    )
    return {name: header for name, header in columns.items()}


def _check_values(path: Path, values: object, columns: Mapping[str, str]) -> dict[str, dict[str, str]]:
    if values is None:
        return {}
    _require(isinstance(values, dict), path, "values", "must map canonical fields to value tables")
    checked: dict[str, dict[str, str]] = {}
    for name, table in values.items():
        _require(name in columns, path, f"values.{name}", "field is not mapped under `columns`")
        _require(name != "reporting_unit", path, f"values.{name}", "declare the partner's units and their names under `units`")
        _require(name not in IDENTITY_FIELDS, path, f"values.{name}", "identifying fields take no value table")
        _require(isinstance(table, dict), path, f"values.{name}", "must map file values to canonical values")
        for canonical in table.values():
            allowed = CODED_FIELDS.get(name)
            if name in LISTED_CODES:
                allowed = tuple(sorted(LISTED_CODES[name]()))
                _require(
                    str(canonical) in allowed, path, f"values.{name}",
                    f"{canonical!r} is not a code of the {name.removeprefix('exploitation_')} list (schemas/codelists)",
                )
            if name in BOOLEAN_FIELDS:
                allowed = ("true", "false")
                canonical = str(canonical).lower()
            _require(
                allowed is None or str(canonical) in allowed,
                path, f"values.{name}", f"{canonical!r} is not a canonical value ({', '.join(allowed or ())})",
            )
        checked[name] = {str(raw): str(canonical).lower() if name in BOOLEAN_FIELDS else str(canonical) for raw, canonical in table.items()}
    return checked


def _check_units(path: Path, units: object, columns: Mapping[str, str]) -> dict[str, tuple[str, ...]]:
    """The partner's reporting units: code -> the names its files use. Needed when `reporting_unit`
    is mapped, since a unit is stored as its code, never as the text of the file."""
    if "reporting_unit" not in columns:
        _require(units is None, path, "units", "declared, but `reporting_unit` is not mapped under `columns`")
        return {}
    _require(
        isinstance(units, dict) and bool(units), path, "columns.reporting_unit",
        "a reporting unit is stored as a code: declare the partner's units under `units` (code: [names used])",
    )
    checked: dict[str, tuple[str, ...]] = {}
    for code, names in units.items():
        _require(
            isinstance(code, str) and bool(UNIT_CODE.fullmatch(code)), path, f"units.{code}",
            "a unit code is upper-case letters and digits in up to four parts joined by -, such as ZC-NN",
        )
        names = [names] if isinstance(names, str) else names
        _require(
            isinstance(names, list) and all(isinstance(n, str) and n.strip() for n in names), path, f"units.{code}",
            "must list the names used for the unit",
        )
        _require(all(len(n) <= _MAX_UNIT_NAME for n in names), path, f"units.{code}", f"a name is longer than {_MAX_UNIT_NAME} characters")
        checked[code] = tuple(n.strip() for n in names)
    try:
        unit_list(checked)
    except ValueError:
        raise DefinitionError(path, "units", "a name (compared without case, accents or spaces) is listed for two units") from None
    return checked


def parse_definition(path: Path, document: object) -> PartnerDefinition:
    """Check a parsed YAML document and return its definition."""
    _require(isinstance(document, dict), path, "(file)", "must be a YAML mapping")
    unknown = sorted(set(document) - _KNOWN_KEYS)
    _require(not unknown, path, unknown[0] if unknown else "", "unknown key")
    identifier = document.get("id")
    _require(isinstance(identifier, str) and bool(_ID.fullmatch(identifier)), path, "id", "must be lower-case letters, digits, - or _")
    _require(identifier != "police", path, "id", "`police` is the police feed's folder")
    _require(document.get("source") in SOURCE_KINDS, path, "source", f"must be one of {', '.join(SOURCE_KINDS)}")
    file_format = document.get("format", "csv")
    _require(file_format in FORMATS, path, "format", f"must be one of {', '.join(FORMATS)}")
    encoding = _check_encoding(path, document.get("encoding", "utf-8"))
    delimiter = document.get("delimiter", ",")
    _require(isinstance(delimiter, str) and len(delimiter) == 1 and delimiter not in "\"\r\n", path, "delimiter", "must be one character")
    date_format = document.get("date_format", "%Y-%m-%d")
    _check_date_format(path, date_format)
    delivery = document.get("delivery", "incremental")
    _require(delivery in DELIVERIES, path, "delivery", f"must be one of {', '.join(DELIVERIES)}")
    layout = document.get("layout")
    _require(layout is None or layout in LAYOUTS, path, "layout", f"must be one of {', '.join(LAYOUTS)}")
    _require(layout is None or delivery == "snapshot", path, "delivery", "a CTDC layout has no record ids, so it must be a snapshot")
    sheet = document.get("sheet")
    _require(sheet is None or isinstance(sheet, str), path, "sheet", "must be a sheet name")
    columns = _check_columns(path, document.get("columns"), layout)
    units = _check_units(path, document.get("units"), columns)
    # CTDC layouts describe victims in about 190 countries: reference data unless declared otherwise.
    scope = document.get("scope", "reference" if layout else "national")
    _require(scope in SCOPES, path, "scope", f"must be one of {', '.join(SCOPES)}")
    return PartnerDefinition(
        id=identifier,
        source=document["source"],
        format=file_format,
        columns=columns,
        values=_check_values(path, document.get("values"), columns),
        encoding=encoding,
        delimiter=delimiter,
        sheet=sheet,
        date_format=date_format,
        delivery=delivery,
        layout=layout,
        path=path,
        units=units,
        scope=scope,
    )


def load_definition(path: Path) -> PartnerDefinition:
    try:
        # libyaml's safe loader when present: the same documents, parsed about ten times faster.
        document = yaml.load(path.read_text(encoding="utf-8"), Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as error:
        raise DefinitionError(path, "(file)", f"cannot be read as YAML ({type(error).__name__})") from None
    return parse_definition(path, document)


def load_definitions(extra_folder: Path | None = None) -> dict[str, PartnerDefinition]:
    """Shipped definitions, then those of `extra_folder` (which override by `id`)."""
    folders: Iterable[Path] = [SHIPPED_FOLDER] + ([extra_folder] if extra_folder else [])
    definitions: dict[str, PartnerDefinition] = {}
    for folder in folders:
        if not folder.is_dir():
            raise DefinitionError(folder, "VICTIM_INTAKE_PARTNERS", "is not a folder")
        for path in sorted([*folder.glob("*.yaml"), *folder.glob("*.yml")]):
            definition = load_definition(path)
            definitions[definition.id] = definition
    return definitions
