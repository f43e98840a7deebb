"""The valid reports the police make about the synthetic persons, as a table of feed fields.

A table is a dict of equally long numpy arrays: the flattened fields of a police record (named as
in the feed) plus `person` (row in `People`), `nominal` (the real signal day, used to order and
split the exports even where a written date is wrong), `variant` and `problem` for the truth file.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from schemas.vocabulary import POLICE_EXPLOITATION, POLICE_GENDER, POLICE_UNITS
from victim_intake.synthetic.people import People
from victim_intake.synthetic.sampling import NOBODY, choose, group_rows, recode
from victim_intake.synthetic.spelling import NO_VARIANT, hard_misspell, misspell
from victim_intake.synthetic.weights import DUTCH, YEAR_VOLUMES

Table = dict[str, np.ndarray]

# Big cities and the national unit report most.
UNIT_WEIGHTS: dict[str, float] = {
    "Noord-Nederland": 6,
    "Oost-Nederland": 9,
    "Midden-Nederland": 8,
    "Noord-Holland": 7,
    "Amsterdam": 14,
    "Den Haag": 11,
    "Rotterdam": 13,
    "Zeeland-West-Brabant": 8,
    "Oost-Brabant": 7,
    "Limburg": 5,
    "Landelijke Eenheid": 12,
}
# Registration numbers start with a code per unit, in the order of the code list.
UNIT_CODES: dict[str, str] = {unit: f"PL{number:02d}00" for number, unit in enumerate(POLICE_UNITS, 1)}
# Municipalities in each unit's region, the largest first; the national unit works everywhere.
UNIT_MUNICIPALITIES: dict[str, tuple[str, ...]] = {
    "Noord-Nederland": (
        "Groningen", "Leeuwarden", "Assen", "Emmen", "Heerenveen", "Hoogeveen", "Smallingerland",
    ),
    "Oost-Nederland": (
        "Arnhem", "Enschede", "Nijmegen", "Apeldoorn", "Zwolle", "Deventer", "Hengelo", "Almelo",
    ),
    "Midden-Nederland": ("Utrecht", "Almere", "Amersfoort", "Lelystad", "Nieuwegein", "Veenendaal", "Zeist"),
    "Noord-Holland": ("Haarlem", "Zaanstad", "Alkmaar", "Haarlemmermeer", "Hilversum", "Hoorn", "Den Helder"),
    "Amsterdam": ("Amsterdam", "Amstelveen", "Diemen", "Ouder-Amstel", "Aalsmeer", "Uithoorn"),
    "Den Haag": ("'s-Gravenhage", "Leiden", "Zoetermeer", "Delft", "Westland", "Alphen aan den Rijn"),
    "Rotterdam": ("Rotterdam", "Dordrecht", "Schiedam", "Vlaardingen", "Nissewaard", "Gorinchem"),
    "Zeeland-West-Brabant": (
        "Breda", "Tilburg", "Middelburg", "Vlissingen", "Roosendaal", "Bergen op Zoom", "Terneuzen",
    ),
    "Oost-Brabant": ("Eindhoven", "'s-Hertogenbosch", "Helmond", "Oss", "Veldhoven"),
    "Limburg": ("Maastricht", "Venlo", "Heerlen", "Sittard-Geleen", "Roermond", "Kerkrade"),
    "Landelijke Eenheid": (),
}
MAIN_CITY_WEIGHT = 3.0  # the largest municipality of a region sees three times the others' reports
MUNICIPALITY_UNKNOWN = 0.12

# Number of police reports per person: ~15 % twice, ~4 % three times.
REPORTS_PER_PERSON: dict[int, float] = {1: 0.81, 2: 0.15, 3: 0.04}
MAX_DAYS_TO_REPEAT = 730  # later reports follow within two years
SAME_UNIT_AGAIN = 0.6
# Share of repeat reports that spell the name differently.
VARIANT_SHARE = 0.4
REFLECTION_OFFERED = 0.35  # bedenktijd offered, among non-Dutch victims
REPORT_FILED = 0.30

LAST_SIGNAL = np.datetime64(f"{max(YEAR_VOLUMES)}-12-31")
_GENDER_CODES = {canonical: code for code, canonical in POLICE_GENDER.items()}
_FORM_CODES = {canonical: code for code, canonical in POLICE_EXPLOITATION.items()}


def draw_police_reports(
    rng: np.random.Generator, people: People, hard_rng: np.random.Generator | None = None, hard_share: float = 0.0
) -> Table:
    """Every person's police reports, valid, in chronological order, with registration numbers.

    With `hard_share` > 0, that share of the repeat reports spelt as the person's own get a hard
    variant (typo, transliteration, day and month swapped), drawn from `hard_rng` so that the
    other draws, and so the files of a seed without hard variants, stay the same.
    """
    counts = np.array(list(REPORTS_PER_PERSON))[
        rng.choice(len(REPORTS_PER_PERSON), size=len(people), p=list(REPORTS_PER_PERSON.values()))
    ]
    person = np.repeat(np.arange(len(people)), counts)
    repeat = np.arange(len(person)) - np.repeat(np.cumsum(counts) - counts, counts) > 0
    size = len(person)

    first = people.first_seen[person]
    room = (LAST_SIGNAL - first).astype(np.int64)
    later = first + rng.integers(np.minimum(1, room), np.minimum(MAX_DAYS_TO_REPEAT, room) + 1)
    nominal = np.where(repeat, later, first)

    first_unit = choose(rng, UNIT_WEIGHTS, len(people))[person]
    other_unit = choose(rng, UNIT_WEIGHTS, size)
    unit = np.where(repeat & (rng.random(size) >= SAME_UNIT_AGAIN), other_unit, first_unit)

    nationality = people.nationality[person]
    surname, given_names, variant = misspell(
        rng, people.surname[person], people.given_names[person], repeat & (rng.random(size) < VARIANT_SHARE)
    )
    birth_date = people.birth_date[person]
    if hard_share > 0 and hard_rng is not None:
        plain = repeat & (variant == NO_VARIANT) & (hard_rng.random(size) < hard_share)
        surname, given_names, birth_date, variant = hard_misspell(hard_rng, surname, given_names, birth_date, plain, variant)
    country = people.exploitation_country[person]
    table: Table = {
        "person": person,
        "nominal": nominal,
        "variant": variant,
        "problem": np.full(size, "", dtype=object),
        "eenheid": unit,
        "datum_signaal": np.datetime_as_string(nominal, unit="D").astype(object),
        "achternaam": surname,
        "voornamen": given_names,
        "geboortedatum": np.datetime_as_string(birth_date, unit="D").astype(object),
        "geslacht": recode(people.gender[person], _GENDER_CODES),
        "nationaliteit": nationality,
        "geboorteland": people.birth_country[person],
        "bsn": people.bsn[person],
        "v_nummer": people.alien_number[person],
        "vorm": recode(people.exploitation_type[person], _FORM_CODES),
        "sector": people.sector[person],
        "land": country,
        "gemeente": _municipalities(rng, unit, country),
        "bedenktijd_aangeboden": (nationality != DUTCH) & (rng.random(size) < REFLECTION_OFFERED),
        "aangifte": rng.random(size) < REPORT_FILED,
    }
    # Reports of one day come in no particular order.
    table = take(table, np.lexsort((rng.random(size), nominal)))
    table["registratie_id"] = _registration_numbers(table["eenheid"], table["nominal"])
    return table


def first_report_years() -> dict[int, float]:
    """Year weights for persons' first reports such that all reports, repeats included, follow
    the published volumes (`YEAR_VOLUMES`) rather than drifting towards later years.
    """
    years = np.array(sorted(YEAR_VOLUMES))
    starts = (years - 1970).astype("datetime64[Y]").astype("datetime64[D]")
    ends = (years - 1969).astype("datetime64[Y]").astype("datetime64[D]") - 1
    first = np.arange(starts[0], LAST_SIGNAL + 1)
    # Repeats fall uniformly within [low, high] days after the first, as `draw_police_reports` draws.
    room = (LAST_SIGNAL - first).astype(np.int64)
    low = first + np.minimum(1, room)
    high = first + np.minimum(MAX_DAYS_TO_REPEAT, room)
    overlap = np.minimum(high[:, None], ends) - np.maximum(low[:, None], starts) + 1
    lands = np.clip(overlap, 0, None) / (high - low + 1)[:, None]  # first day x year of the repeat
    year_of_first = first.astype("datetime64[Y]").astype(np.int64) + 1970
    moves = np.stack([lands[year_of_first == year].mean(axis=0) for year in years])
    repeats = sum((count - 1) * share for count, share in REPORTS_PER_PERSON.items())
    # Reports in year y = firsts in y + repeats * sum over x of firsts in x * moves[x, y].
    target = np.array([YEAR_VOLUMES[year] for year in years])
    firsts = np.linalg.solve(np.eye(len(years)) + repeats * moves.T, target)
    return dict(zip(years.tolist(), firsts.tolist(), strict=True))


def take(table: Table, rows: np.ndarray) -> Table:
    """The table restricted to (and ordered by) `rows`."""
    return {name: column[rows] for name, column in table.items()}


def _municipalities(rng: np.random.Generator, unit: np.ndarray, country: np.ndarray) -> np.ndarray:
    """A municipality in the unit's region where the exploitation was in the Netherlands."""
    municipality = np.full(len(unit), None, dtype=object)
    known = (country == DUTCH) & (rng.random(len(unit)) >= MUNICIPALITY_UNKNOWN)
    everywhere = tuple(m for region in UNIT_MUNICIPALITIES.values() for m in region)
    known_rows = np.flatnonzero(known)
    by_unit = group_rows(unit[known_rows])
    for name, region in UNIT_MUNICIPALITIES.items():
        members = known_rows[by_unit.get(name, NOBODY)]
        options = region or everywhere
        weights = {m: MAIN_CITY_WEIGHT if region and m == region[0] else 1.0 for m in options}
        municipality[members] = choose(rng, weights, len(members))
    return municipality


def _registration_numbers(unit: np.ndarray, day: np.ndarray) -> np.ndarray:
    """"PL0700-2025-004711": unit code, year and a sequence number per unit and year."""
    year = day.astype("datetime64[Y]").astype(np.int64) + 1970
    code = recode(unit, UNIT_CODES)
    group = pd.factorize(code)[0] * 10_000 + year
    sequence = pd.Series(group).groupby(group).cumcount().to_numpy() + 1
    return np.array(
        [f"{c}-{y}-{s:06d}" for c, y, s in zip(code.tolist(), year.tolist(), sequence.tolist(), strict=True)],
        dtype=object,
    )
