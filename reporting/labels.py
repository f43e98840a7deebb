"""Words and numbers of the report in Dutch or English."""

from __future__ import annotations

import gettext
from functools import cache

import pycountry

from reporting.tables import fold_size
from schemas.codelists.catalogue import police_units

LANGUAGES = ("nl", "en")

_WORDS: dict[str, dict[str, str]] = {
    "en": {
        "title": "Presumed victims of human trafficking: scale and nature, {year}",
        "registrations": "Registrations",
        "persons": "Persons",
        "total": "Total",
        "share": "%",
        "year": "Year",
        "other": "other",
        "unknown": "unknown",
        "suppressed": "x",
        "legend": "x = suppressed to protect small groups (see Methods).",
        "overview": "Registrations and persons per year",
        "trend_forms": "Persons per year by form of exploitation",
        "by": "{measure} by {dimension}",
        "crossing": "Persons by {row} and {column}",
        "reference_by": "The Netherlands beside the reference data (victims registered elsewhere, CTDC), by {dimension}",
        "reference": "Reference registrations",
        "chart_forms": "Persons by form of exploitation, {year}",
        "chart_trend": "Registrations and persons, {first}-{last}",
        "chart_nationality": "Persons by nationality, {year}",
        "methods": "Methods",
        "freshness": "Data freshness per source",
        "source": "Source",
        "last_load": "Last file loaded",
        "files": "Files loaded",
        "failed": "Failed loads",
        "contents": "Tables",
        "generated": "Generated {when} from the registry warehouse. All figures are aggregates.",
        "draft_mark": "DRAFT",
        "draft": (
            "DRAFT: a preview, not for publication. This report is not recorded; "
            "the report that goes out may suppress more cells."
        ),
    },
    "nl": {
        "title": "Vermoedelijke slachtoffers van mensenhandel: aard en omvang, {year}",
        "registrations": "Registraties",
        "persons": "Personen",
        "total": "Totaal",
        "share": "%",
        "year": "Jaar",
        "other": "overig",
        "unknown": "onbekend",
        "suppressed": "x",
        "legend": "x = onderdrukt ter bescherming van kleine groepen (zie Methode).",
        "overview": "Registraties en personen per jaar",
        "trend_forms": "Personen per jaar naar vorm van uitbuiting",
        "by": "{measure} naar {dimension}",
        "crossing": "Personen naar {row} en {column}",
        "reference_by": "Nederland naast de referentiegegevens (elders geregistreerde slachtoffers, CTDC), naar {dimension}",
        "reference": "Referentieregistraties",
        "chart_forms": "Personen naar vorm van uitbuiting, {year}",
        "chart_trend": "Registraties en personen, {first}-{last}",
        "chart_nationality": "Personen naar nationaliteit, {year}",
        "methods": "Methode",
        "freshness": "Actualiteit van de gegevens per bron",
        "source": "Bron",
        "last_load": "Laatste bestand geladen",
        "files": "Bestanden geladen",
        "failed": "Mislukte ladingen",
        "contents": "Tabellen",
        "generated": "Gemaakt op {when} uit het registratiedatawarehouse. Alle cijfers zijn totalen.",
        "draft_mark": "CONCEPT (DRAFT)",
        "draft": (
            "CONCEPT (DRAFT): een voorvertoning, niet voor publicatie. Dit rapport is niet vastgelegd; "
            "het rapport dat naar buiten gaat, kan meer cellen onderdrukken."
        ),
    },
}

_DIMENSIONS = {
    "en": {
        "exploitation_type": "form of exploitation",
        "gender": "gender",
        "age_group": "age group",
        "minor": "minor or adult",
        "nationality": "nationality",
        "dutch": "Dutch or non-Dutch",
        "source_kind": "reporting source",
        "reporting_unit": "reporting unit or region",
        "exploitation_country": "country of exploitation",
        "citizen": "citizenship group",
    },
    "nl": {
        "exploitation_type": "vorm van uitbuiting",
        "gender": "geslacht",
        "age_group": "leeftijdsgroep",
        "minor": "minderjarig of meerderjarig",
        "nationality": "nationaliteit",
        "dutch": "Nederlands of niet-Nederlands",
        "source_kind": "melder",
        "reporting_unit": "eenheid of regio van de melder",
        "exploitation_country": "land van uitbuiting",
        "citizen": "groep van nationaliteit",
    },
}

_CATEGORIES = {
    "en": {
        "sexual": "sexual exploitation",
        "labour": "labour exploitation",
        "criminal": "criminal exploitation",
        "begging": "forced begging",
        "organ_removal": "organ removal",
        "female": "female",
        "male": "male",
        "minor": "minor (under 18)",
        "adult": "adult",
        "dutch": "Dutch",
        "non_dutch": "non-Dutch",
        "police": "police",
        "kmar": "Royal Marechaussee",
        "nla": "Labour Authority",
        "care_coordination": "care coordination",
        "fairwork": "FairWork",
        "shelter": "shelter",
        "ctdc": "CTDC exchange",
        "NAT": "Dutch",
        "EU27_2020_FOR": "other EU member state (EU27 since 2020)",
        "NEU27_2020_FOR": "outside the EU",
    },
    "nl": {
        "sexual": "seksuele uitbuiting",
        "labour": "arbeidsuitbuiting",
        "criminal": "criminele uitbuiting",
        "begging": "gedwongen bedelarij",
        "organ_removal": "orgaanverwijdering",
        "other": "overig",
        "unknown": "onbekend",
        "female": "vrouw",
        "male": "man",
        "minor": "minderjarig (onder 18)",
        "adult": "meerderjarig",
        "dutch": "Nederlands",
        "non_dutch": "niet-Nederlands",
        "police": "politie",
        "kmar": "Koninklijke Marechaussee",
        "nla": "Nederlandse Arbeidsinspectie",
        "care_coordination": "zorgcoördinatie",
        "fairwork": "FairWork",
        "shelter": "opvang",
        "ctdc": "CTDC-uitwisseling",
        "NAT": "Nederlands",
        "EU27_2020_FOR": "andere EU-lidstaat (EU27 sinds 2020)",
        "NEU27_2020_FOR": "buiten de EU",
    },
}

_COUNTRY_DIMENSIONS = ("nationality", "exploitation_country")


def word(language: str, name: str, **values: object) -> str:
    return _WORDS[language][name].format(**values)


def dimension(language: str, name: str) -> str:
    return _DIMENSIONS[language][name]


@cache
def _dutch_countries() -> gettext.NullTranslations:
    return gettext.translation("iso3166-1", pycountry.LOCALES_DIR, languages=["nl"], fallback=True)


def country(language: str, code: str) -> str:
    if code == "UNK":
        return word(language, "unknown")
    found = pycountry.countries.get(alpha_3=code)
    if found is None:
        return code
    name = getattr(found, "common_name", None) or found.name
    return _dutch_countries().gettext(found.name) if language == "nl" else name


@cache
def _police_units() -> dict[str, str]:
    return {unit.code: unit.name for unit in police_units()}


def category(language: str, dimension_name: str, code: str) -> str:
    """The label of a category code of a dimension (country codes become country names, police
    unit codes the unit's name; a partner's unit is shown by its declared code)."""
    if code == "other" or fold_size(code) is not None:
        return word(language, "other")
    if dimension_name in _COUNTRY_DIMENSIONS or (dimension_name == "citizen" and code == "UNK"):
        return country(language, code)
    if dimension_name == "reporting_unit" and code in _police_units():
        return _police_units()[code]
    return _CATEGORIES[language].get(code, code)


def number(language: str, value: int) -> str:
    text = f"{value:,}"
    return text.replace(",", ".") if language == "nl" else text


def percentage(language: str, value: float) -> str:
    text = f"{value:.1f}"
    return text.replace(".", ",") if language == "nl" else text
