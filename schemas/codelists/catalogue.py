"""The shipped code lists, read once from their CSV files (`catalogue.yaml` names file, vintage, source).

Plain dataclasses from the standard library's CSV reader: the lists are small (a few hundred rows)
and read once per process.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import yaml

from schemas.vocabulary import POLICE_UNITS

FOLDER = Path(__file__).parent


@dataclass(frozen=True)
class ListEdition:
    """One shipped list: its file, the date it describes and where it comes from."""

    name: str
    file: str
    vintage: str
    source: str


@dataclass(frozen=True)
class Municipality:
    code: str  # CBS code, GM + four digits
    name: str  # official name, with CBS's disambiguating suffix where it has one: "Hengelo (O.)"
    other_names: tuple[str, ...]
    safety_region_code: str
    safety_region: str
    police_unit: str  # code of the regional police unit whose area holds the municipality


@dataclass(frozen=True)
class FormerMunicipality:
    code: str
    name: str
    successor: str | None  # CBS code of the municipality it became part of; None when it was divided
    effective: str
    kind: str  # merger | rename | split
    note: str


@dataclass(frozen=True)
class Sector:
    code: str
    group: str
    label_nl: str
    label_en: str
    synonyms: tuple[str, ...]


@dataclass(frozen=True)
class SectorGroup:
    code: str
    label_nl: str
    label_en: str


@dataclass(frozen=True)
class NationalityRegion:
    code: str  # ISO 3166-1 alpha-3 (XKX for Kosovo)
    name: str
    region: str  # UN M49 region of the world: africa, americas, asia, europe, oceania, antarctica
    eu_member: bool


@dataclass(frozen=True)
class PoliceUnit:
    code: str
    name: str  # as the police feed writes it (`eenheid`)
    other_names: tuple[str, ...]


@cache
def editions() -> dict[str, ListEdition]:
    """Every shipped list by name, from `catalogue.yaml`."""
    document = yaml.safe_load((FOLDER / "catalogue.yaml").read_text(encoding="utf-8"))
    return {name: ListEdition(name, entry["file"], str(entry["vintage"]), " ".join(str(entry["source"]).split())) for name, entry in document.items()}


def _rows(name: str) -> list[dict[str, str]]:
    with (FOLDER / editions()[name].file).open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def _names(text: str) -> tuple[str, ...]:
    return tuple(part.strip() for part in text.split("|") if part.strip())


@cache
def police_units() -> tuple[PoliceUnit, ...]:
    units = tuple(PoliceUnit(row["code"], row["name"], _names(row["other_names"])) for row in _rows("police_units"))
    # The feed's `eenheid` values are part of the contract: an edition of the list must keep them.
    if tuple(unit.name for unit in units) != POLICE_UNITS:
        raise ValueError("police_units.csv must name the contract's police units, in their order")
    return units


@cache
def municipalities() -> tuple[Municipality, ...]:
    unit_codes = {unit.name: unit.code for unit in police_units()}
    return tuple(
        Municipality(
            row["cbs_code"], row["name"], _names(row["also_known_as"]), row["safety_region_code"], row["safety_region"],
            unit_codes[row["police_unit"]],
        )
        for row in _rows("municipalities")
    )


@cache
def former_municipalities() -> tuple[FormerMunicipality, ...]:
    current = {municipality.code for municipality in municipalities()}
    former = tuple(
        FormerMunicipality(row["former_code"], row["former_name"], row["successor_code"] or None, row["effective"], row["kind"], row["note"])
        for row in _rows("municipal_mergers")
    )
    stale = [entry.code for entry in former if entry.successor is not None and entry.successor not in current]
    if stale:
        raise ValueError(f"municipal_mergers.csv names successors that are not current municipalities: {', '.join(stale)}")
    return former


@cache
def sector_groups() -> tuple[SectorGroup, ...]:
    return tuple(SectorGroup(row["code"], row["label_nl"], row["label_en"]) for row in _rows("sector_groups"))


@cache
def sectors() -> tuple[Sector, ...]:
    groups = {group.code for group in sector_groups()}
    found = tuple(
        Sector(row["code"], row["group"], row["label_nl"], row["label_en"], _names(row["synonyms"])) for row in _rows("sectors")
    )
    if any(sector.group not in groups for sector in found):
        raise ValueError("sectors.csv names a sector group that sector_groups.csv does not list")
    return found


@cache
def nationality_regions() -> tuple[NationalityRegion, ...]:
    return tuple(
        NationalityRegion(row["code"], row["name"], row["region"], row["eu_member"] == "yes") for row in _rows("nationality_regions")
    )


def municipality_codes() -> frozenset[str]:
    return frozenset(municipality.code for municipality in municipalities())


def sector_codes() -> frozenset[str]:
    return frozenset(sector.code for sector in sectors())
