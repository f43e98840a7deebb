"""Synthetic partner files: the same persons as the police feed, reported again by the partners.

One generic writer driven by each shipped partner definition (its headers, value tables, date
format, encoding and delimiter), so the demo exercises exactly what a steward declares. Names carry
only the spelling variants the pipeline's canonicalisation undoes (see `spelling`). A few rows
are invalid on purpose, one problem each, recorded in the truth.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pycountry

from config.private_files import make_private_dir
from schemas.partner_definition import PartnerDefinition
from victim_intake.synthetic.people import People
from victim_intake.synthetic.sampling import choose
from victim_intake.synthetic.spelling import NO_VARIANT, misspell, to_ascii
from victim_intake.synthetic.truth import Truth
from victim_intake.synthetic.written_forms import written_municipalities, written_sectors, written_units


@dataclass(frozen=True)
class PartnerPlan:
    """How often a partner sees the persons, and how its systems write countries."""

    share: float  # of the persons of the forms it works on
    forms: tuple[str, ...] | None  # forms of exploitation it works on (None: all)
    country_style: str  # alpha2 | alpha3 | english | dutch
    prefix: str  # of its record ids
    bom: bool = False


PLANS: dict[str, PartnerPlan] = {
    "zorgcoordinatie": PartnerPlan(0.40, None, "dutch", "ZC"),
    "nla": PartnerPlan(0.30, ("labour", "criminal"), "alpha3", "NLA"),
    "kmar": PartnerPlan(0.08, None, "alpha2", "KM"),
    "fairwork": PartnerPlan(0.6, ("labour",), "english", "FW", bom=True),
    "opvang": PartnerPlan(0.12, ("sexual", "labour", "criminal"), "dutch", "OPV"),
}
# Regions as the care coordinators write them (their definition declares the units and these names).
REGIONS = ("Noord", "Oost", "Midden", "West", "Zuid", "Amsterdam", "Rotterdam", "Den Haag", "Regio Noord", "Rijnmond", "Haaglanden")
MUNICIPALITIES = ("Rotterdam", "Westland", "Venlo", "Zaanstad", "Tilburg", "Amsterdam", "Breda", "'s-Gravenhage", "Hengelo", "Weesp")
VARIANT_SHARE = 0.2
PROBLEM_SHARE = 0.03
# Problems a partner's row may have: each makes exactly one check fail.
PROBLEMS = {"unknown_country": 1.0, "future_date": 1.0, "impossible_date": 1.0, "formula": 0.5}
NOT_A_COUNTRY = "Westeros"
MAX_REPORT_DELAY_DAYS = 120
_TRUTH_ARRAYS = ("file", "line", "source_record_id", "person", "valid", "problem", "variant")


def _country_names(style: str) -> dict[str, str]:
    """Alpha-3 -> the way a partner's system writes the country."""
    if style == "alpha3":
        return {c.alpha_3: c.alpha_3 for c in pycountry.countries}
    if style == "alpha2":
        return {c.alpha_3: c.alpha_2 for c in pycountry.countries}
    if style == "english":
        return {c.alpha_3: getattr(c, "common_name", c.name) for c in pycountry.countries}
    import gettext

    dutch = gettext.translation("iso3166-1", pycountry.LOCALES_DIR, languages=["nl"])
    return {c.alpha_3: dutch.gettext(c.name) for c in pycountry.countries}


def _reverse(definition: PartnerDefinition, field: str) -> dict[str, str]:
    """Canonical value -> the first file value the definition maps to it."""
    reverse: dict[str, str] = {}
    for raw, canonical in definition.values.get(field, {}).items():
        reverse.setdefault(canonical, raw)
    return reverse


def _encodable(surname: np.ndarray, given: np.ndarray, variant: np.ndarray, encoding: str) -> None:
    """Names a code page cannot hold are written without diacritics, as such systems do."""
    for row, (last, first) in enumerate(zip(surname.tolist(), given.tolist(), strict=True)):
        try:
            (last + first).encode(encoding)
        except UnicodeEncodeError:
            surname[row], given[row] = to_ascii(last), to_ascii(first)
            variant[row] = "diacritics"


def partner_rows(
    rng: np.random.Generator, people: People, definition: PartnerDefinition, today: dt.date, share_factor: float = 1.0, first_number: int = 1
) -> tuple[list[list[object]], Truth]:
    """The rows (cells in header order, header first) of one partner's file, and their truth.

    The partner reports `share_factor` times its usual share of `people`; record numbers (and
    file lines) start at `first_number`, so rows about other persons can follow earlier ones.
    """
    plan = PLANS[definition.id]
    eligible = np.ones(len(people), dtype=bool) if plan.forms is None else np.isin(people.exploitation_type, plan.forms)
    persons = np.flatnonzero(eligible & (rng.random(len(people)) < plan.share * share_factor))
    size = len(persons)
    delay = rng.integers(0, MAX_REPORT_DELAY_DAYS, size)
    last_day = np.datetime64(today - dt.timedelta(days=1), "D")
    reported = np.minimum(people.first_seen[persons] + delay, last_day)
    order = np.argsort(reported, kind="stable")
    persons, reported = persons[order], reported[order]

    surname, given, variant = misspell(
        rng, people.surname[persons], people.given_names[persons], rng.random(size) < VARIANT_SHARE
    )
    if definition.format == "csv":
        _encodable(surname, given, variant, definition.encoding)
    problem = np.where(rng.random(size) < PROBLEM_SHARE, choose(rng, PROBLEMS, size), "")
    countries = _country_names(plan.country_style)
    gender = _reverse(definition, "gender")
    forms = _reverse(definition, "exploitation_type")
    booleans = {field: _reverse(definition, field) for field in ("b8_reflection_offered", "report_filed")}
    fmt = definition.date_format
    record_ids = np.array([f"{plan.prefix}-{str(day)[:4]}-{n:05d}" for n, day in enumerate(reported.tolist(), first_number)], dtype=object)
    # Places, sectors and regions in the forms the code lists read, now and then free text naming the person.
    (forms_rng,) = rng.spawn(1)
    surnames = surname  # as the file writes them (free text names the person as the file does)

    def country(code: object) -> str:
        return "" if code is None else countries.get(code, code)

    values: dict[str, list[object]] = {
        "source_record_id": record_ids.tolist(),
        "surname": surname.tolist(),
        "given_names": given.tolist(),
        "birth_date": [
            day.astype(dt.date) if definition.format == "xlsx" else day.astype(dt.date).strftime(fmt)
            for day in people.birth_date[persons]
        ],
        "gender": [gender.get(g, gender.get("unknown", g)) for g in people.gender[persons].tolist()],
        "nationality": [country(c) for c in people.nationality[persons].tolist()],
        "reported_on": [day.astype(dt.date).strftime(fmt) for day in reported],
        "exploitation_type": [forms.get(f, forms.get("other", forms.get("unknown"))) for f in people.exploitation_type[persons].tolist()],
        "exploitation_country": [country(c) for c in people.exploitation_country[persons].tolist()],
        "exploitation_sector": [s or "" for s in written_sectors(forms_rng, people.sector[persons], surnames).tolist()],
        "exploitation_municipality": written_municipalities(forms_rng, rng.choice(MUNICIPALITIES, size).astype(object), surnames).tolist(),
        "reporting_unit": written_units(forms_rng, rng.choice(REGIONS, size).astype(object), surnames).tolist(),
        "alien_number": [a or "" for a in people.alien_number[persons].tolist()],
        "bsn": [b or "" for b in people.bsn[persons].tolist()],
        "b8_reflection_offered": [booleans["b8_reflection_offered"].get(bool(b) and "true" or "false", "") for b in rng.random(size) < 0.4],
        "report_filed": [booleans["report_filed"].get(bool(b) and "true" or "false", "") for b in rng.random(size) < 0.3],
        # Free text names the person: the pipeline must never read it.
        "notes": [f"Gesprek met {first} gevoerd, vervolgafspraak gemaakt" for first in given.tolist()],
    }
    _inject(problem, values, definition, today)
    header = list(definition.columns.values())
    fields = list(definition.columns)
    rows: list[list[object]] = [header]
    rows.extend([values[field][row] for field in fields] for row in range(size))
    truth = Truth(
        source=definition.id,
        file=np.full(size, "", dtype=object),
        line=np.arange(first_number + 1, first_number + size + 1),
        source_record_id=record_ids,
        person=people.key[persons],
        valid=problem == "",
        problem=problem.astype(object),
        variant=np.where(problem == "", variant, NO_VARIANT).astype(object),
    )
    return rows, truth


def _inject(problem: np.ndarray, values: dict[str, list[object]], definition: PartnerDefinition, today: dt.date) -> None:
    """Break each chosen row in the one way its problem code says."""
    future = (today + dt.timedelta(days=400)).strftime(definition.date_format)
    for row in np.flatnonzero(problem != "").tolist():
        kind = problem[row]
        if kind == "unknown_country":
            values["nationality"][row] = NOT_A_COUNTRY
        elif kind == "future_date":
            values["reported_on"][row] = future
        elif kind == "impossible_date":
            values["reported_on"][row] = "31-02-2024"
        elif kind == "formula":
            values["surname"][row] = '=HYPERLINK("http://example.invalid")'


def write_csv(path: Path, rows: list[list[object]], definition: PartnerDefinition, bom: bool) -> None:
    encoding = "utf-8-sig" if bom else definition.encoding
    with path.open("w", encoding=encoding, newline="") as out:
        csv.writer(out, delimiter=definition.delimiter, lineterminator="\r\n").writerows(rows)


def write_xlsx(path: Path, rows: list[list[object]], definition: PartnerDefinition, exported_on: dt.date) -> None:
    """A workbook whose bytes depend only on its content and export day (openpyxl stamps the
    time of saving into the document properties and the zip entries; both are pinned here)."""
    import openpyxl

    workbook = openpyxl.Workbook(write_only=True)
    sheet = workbook.create_sheet(definition.sheet or "Sheet1")
    for row in rows:
        sheet.append(row)
    saved = io.BytesIO()
    workbook.save(saved)
    stamp = dt.datetime.combine(exported_on, dt.time(6, 0))
    iso = stamp.strftime("%Y-%m-%dT%H:%M:%SZ").encode()
    with zipfile.ZipFile(saved) as source, zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as target:
        for member in source.infolist():
            content = source.read(member.filename)
            if member.filename == "docProps/core.xml":
                content = re.sub(rb"(<dcterms:(?:created|modified)[^>]*>)[^<]*", rb"\g<1>" + iso, content)
            target.writestr(zipfile.ZipInfo(member.filename, date_time=stamp.timetuple()[:6]), content, zipfile.ZIP_DEFLATED)


def write_partner_files(
    rng: np.random.Generator,
    people: People,
    definitions: list[PartnerDefinition],
    inbox: Path,
    today: dt.date,
    unmet: tuple[np.random.Generator, People, float] | None = None,
) -> tuple[list[Path], list[Truth]]:
    """One file per planned partner under `<inbox>/<partner id>/`; their truth.

    With `unmet` (a generator, persons the police never met, a share factor), each file goes on
    with the rows about those persons the partner reports, after the rows about `people`.
    """
    paths: list[Path] = []
    truths: list[Truth] = []
    # A stream of their own, so the rows about `people` stay what they were without `unmet`.
    unmet_rngs = unmet[0].spawn(len(definitions)) if unmet is not None else [None] * len(definitions)
    for definition, child, unmet_rng in zip(definitions, rng.spawn(len(definitions)), unmet_rngs, strict=True):
        rows, truth = partner_rows(child, people, definition, today)
        if unmet is not None and unmet_rng is not None:
            more_rows, more_truth = partner_rows(unmet_rng, unmet[1], definition, today, unmet[2], first_number=len(rows))
            rows += more_rows[1:]
            truth = Truth(truth.source, *(np.concatenate([getattr(truth, name), getattr(more_truth, name)]) for name in _TRUTH_ARRAYS))
        folder = inbox / definition.id
        make_private_dir(folder)
        path = folder / f"{definition.id}-{today.isoformat()}.{definition.format}"
        if definition.format == "xlsx":
            write_xlsx(path, rows, definition, today)
        else:
            write_csv(path, rows, definition, PLANS[definition.id].bom)
        paths.append(path)
        truths.append(Truth(**{**truth.__dict__, "file": np.full(len(truth.valid), path.name, dtype=object)}))
    return paths, truths

