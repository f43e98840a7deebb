"""The true persons behind the synthetic data: drawn once, then reported by every source.

Values are canonical (`schemas.vocabulary`), so each source writer recodes them its own way.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace

import numpy as np
import pandas as pd

from pseudonyms.canonical import canonical_given_names, canonical_surname
from victim_intake.synthetic import weights
from victim_intake.synthetic.identifiers import draw_alien_numbers, draw_bsns
from victim_intake.synthetic.names import draw_names
from victim_intake.synthetic.sampling import NOBODY, choose, dates_in_years, group_rows


@dataclass(frozen=True)
class People:
    """One entry per person in every array; missing values are None."""

    key: np.ndarray  # truth key "T0000001"
    surname: np.ndarray
    given_names: np.ndarray
    birth_date: np.ndarray  # datetime64[D]
    birth_day_unknown: np.ndarray  # bool: registered on 1 January because the day is unknown
    gender: np.ndarray  # canonical gender
    nationality: np.ndarray  # ISO alpha-3 or None
    birth_country: np.ndarray  # ISO alpha-3 or None
    bsn: np.ndarray
    alien_number: np.ndarray
    exploitation_type: np.ndarray  # canonical form of exploitation
    exploitation_country: np.ndarray  # ISO alpha-3 or None
    sector: np.ndarray
    first_seen: np.ndarray  # datetime64[D]: the day the first report was made

    def __len__(self) -> int:
        return len(self.key)


def draw_people(rng: np.random.Generator, size: int, first_seen_years: Mapping[int, float]) -> People:
    """`size` invented persons, no two alike in canonical name and birth date, no BSN shared.

    `first_seen_years` weighs the years of the persons' first reports.
    """
    first_seen = dates_in_years(rng, first_seen_years, size)
    exploitation = choose(rng, weights.EXPLOITATION, size)
    gender = np.empty(size, dtype=object)
    nationality = np.empty(size, dtype=object)
    by_form = group_rows(exploitation)
    for form in weights.EXPLOITATION:
        members = by_form.get(form, NOBODY)
        gender[members] = choose(rng, weights.GENDER_BY_EXPLOITATION[form], len(members))
        nationality[members] = choose(rng, weights.NATIONALITY_BY_EXPLOITATION[form], len(members))

    # Persons of other or unknown gender carry names of either sex.
    either = rng.random(size) < 0.5
    female = np.where(gender == "female", True, np.where(gender == "male", False, either))
    surname, given_names = draw_names(rng, nationality, female)
    birth_date = _distinct_birth_dates(rng, surname, given_names, first_seen - _ages_in_days(rng, size))

    eu = np.isin(nationality, list(weights.EU_NATIONALITIES))
    group = np.where(nationality == weights.DUTCH, "dutch", np.where(eu, "eu", "other"))
    bsn = _some(rng, group, weights.BSN_SHARE, draw_bsns)
    alien_number = _some(rng, group, weights.ALIEN_NUMBER_SHARE, draw_alien_numbers)
    exploitation_country = _exploitation_countries(rng, nationality)
    birth_country = _birth_countries(rng, nationality)
    # Some nationalities are never established; names and numbers were drawn before, as in life.
    unknown = rng.random(size) < weights.NATIONALITY_UNKNOWN
    nationality[unknown] = None
    birth_country[unknown] = None
    # Drawn last, so every earlier draw of a seed stays what it was.
    day_unknown = rng.random(size) < np.array([weights.BIRTH_DAY_UNKNOWN[g] for g in group.tolist()])
    birth_date = _placeholder_dates(rng, surname, given_names, birth_date, day_unknown)
    return People(
        key=np.array([f"T{i:07d}" for i in range(1, size + 1)], dtype=object),
        surname=surname,
        given_names=given_names,
        birth_date=birth_date,
        birth_day_unknown=day_unknown,
        gender=gender,
        nationality=nationality,
        birth_country=birth_country,
        bsn=bsn,
        alien_number=alien_number,
        exploitation_type=exploitation,
        exploitation_country=exploitation_country,
        sector=_sectors(rng, size, by_form),
        first_seen=first_seen,
    )


def draw_more_people(rng: np.random.Generator, size: int, first_seen_years: Mapping[int, float], known: People) -> People:
    """`size` invented persons beside `known`: none alike with them in canonical name and birth date,
    none sharing their BSN or alien number, keys numbered on after theirs."""
    more = draw_people(rng, size, first_seen_years)
    surname = np.concatenate([known.surname, more.surname])
    given_names = np.concatenate([known.given_names, more.given_names])
    day_unknown = np.concatenate([known.birth_day_unknown, more.birth_day_unknown])
    # `known` comes first and its persons are already distinct, so only the new persons' dates move.
    dates = _placeholder_dates(rng, surname, given_names, np.concatenate([known.birth_date, more.birth_date]), day_unknown)
    bsn, alien_number = more.bsn.copy(), more.alien_number.copy()
    # A shared number would make two persons one; the newcomer goes without it instead.
    bsn[pd.Series(bsn).isin(set(known.bsn.tolist()) - {None}).to_numpy()] = None
    alien_number[pd.Series(alien_number).isin(set(known.alien_number.tolist()) - {None}).to_numpy()] = None
    return replace(
        more,
        key=np.array([f"T{i:07d}" for i in range(len(known) + 1, len(known) + size + 1)], dtype=object),
        birth_date=dates[len(known) :],
        bsn=bsn,
        alien_number=alien_number,
    )


def _ages_in_days(rng: np.random.Generator, size: int) -> np.ndarray:
    youngest, oldest, weight = (np.array(column) for column in zip(*weights.AGE_BANDS, strict=True))
    band = rng.choice(len(weight), size=size, p=weight / weight.sum())
    years = rng.integers(youngest[band], oldest[band] + 1)
    return (years * 365.25 + rng.random(size) * 365).astype(np.int64)


def _distinct_birth_dates(
    rng: np.random.Generator, surname: np.ndarray, given_names: np.ndarray, birth_date: np.ndarray
) -> np.ndarray:
    """Move birth dates until no two persons share canonical name and birth date."""
    names = _canonical_name_codes(surname, given_names)
    days = birth_date.astype(np.int64)
    while True:
        # Days fit in 20 bits (2,800 years), so name code and day pack into one int64 key.
        clash = np.flatnonzero(pd.Series(names << 20 | (days - days.min())).duplicated().to_numpy())
        if not clash.size:
            return days.astype("datetime64[D]")
        # Earlier birth dates only, so no one becomes younger than the age drawn for them.
        days[clash] -= rng.integers(1, 366, clash.size)


def _placeholder_dates(
    rng: np.random.Generator, surname: np.ndarray, given_names: np.ndarray, birth_date: np.ndarray, day_unknown: np.ndarray
) -> np.ndarray:
    """1 January of the birth year where the day is unknown; still no two persons alike in
    canonical name and birth date (a clash moves a placeholder a year back, another date some days)."""
    names = _canonical_name_codes(surname, given_names)
    days = birth_date.astype("datetime64[D]").copy()
    days[day_unknown] = days[day_unknown].astype("datetime64[Y]").astype("datetime64[D]")
    while True:
        numbers = days.astype(np.int64)
        clash = np.flatnonzero(pd.Series(names << 20 | (numbers - numbers.min())).duplicated().to_numpy())
        if not clash.size:
            return days
        moved = day_unknown[clash]
        back_a_year = (days[clash[moved]].astype("datetime64[Y]") - 1).astype("datetime64[D]")
        days[clash[moved]] = back_a_year
        days[clash[~moved]] -= rng.integers(1, 366, int((~moved).sum()))


def _canonical_name_codes(surnames: np.ndarray, given_names: np.ndarray) -> np.ndarray:
    """Integer codes, equal exactly when the pipeline's canonical surname and given names are.

    The pipeline's own canonicalisation is the one that must tell persons apart: it drops name
    particles, so "El Amrani" and "Amrani" are one name to it.
    """
    surname = _codes(surnames, canonical_surname)
    given = _codes(given_names, canonical_given_names)
    return surname * np.int64(given.max(initial=0) + 1) + given


def _codes(values: np.ndarray, canonical: Callable[[pd.Series], pd.Series]) -> np.ndarray:
    # Names repeat a lot, so canonicalise each distinct spelling once.
    codes, distinct = pd.factorize(values)
    canonical_codes, _ = pd.factorize(canonical(pd.Series(distinct, dtype=object)))
    return canonical_codes[codes].astype(np.int64)


def _some(
    rng: np.random.Generator,
    group: np.ndarray,
    share: dict[str, float],
    draw: Callable[[np.random.Generator, int], np.ndarray],
) -> np.ndarray:
    """Identifiers from `draw` for a `share` (by group) of the persons, None for the others."""
    has = rng.random(len(group)) < np.array([share[g] for g in group.tolist()])
    values = np.full(len(group), None, dtype=object)
    values[has] = draw(rng, int(has.sum()))
    return values


def _exploitation_countries(rng: np.random.Generator, nationality: np.ndarray) -> np.ndarray:
    size = len(nationality)
    dutch = nationality == weights.DUTCH
    share_abroad = np.where(dutch, weights.EXPLOITED_ABROAD["dutch"], weights.EXPLOITED_ABROAD["foreign"])
    abroad = rng.random(size) < share_abroad
    countries = np.array(weights.ABROAD_COUNTRIES, dtype=object)
    elsewhere = countries[rng.integers(0, len(countries), size)]
    own_country = ~dutch & (rng.random(size) < weights.ABROAD_OWN_COUNTRY)
    country = np.where(abroad, np.where(own_country, nationality, elsewhere), weights.DUTCH)
    country[rng.random(size) < weights.EXPLOITATION_COUNTRY_UNKNOWN] = None
    return country


def _birth_countries(rng: np.random.Generator, nationality: np.ndarray) -> np.ndarray:
    size = len(nationality)
    draw = rng.random(size)
    dutch_alternative = np.array(weights.BIRTH_COUNTRIES_OF_DUTCH, dtype=object)
    foreign_alternative = np.array(weights.BIRTH_COUNTRIES_OF_FOREIGNERS, dtype=object)
    alternative = np.where(
        nationality == weights.DUTCH,
        dutch_alternative[rng.integers(0, len(dutch_alternative), size)],
        foreign_alternative[rng.integers(0, len(foreign_alternative), size)],
    )
    country = np.where(draw < weights.BIRTH_COUNTRY_SAME, nationality, alternative)
    country[draw > 1 - weights.BIRTH_COUNTRY_UNKNOWN] = None
    return country


def _sectors(rng: np.random.Generator, size: int, by_form: dict[str, np.ndarray]) -> np.ndarray:
    sector = np.full(size, None, dtype=object)
    known = rng.random(size) >= weights.SECTOR_UNKNOWN
    for form, options in weights.SECTORS.items():
        members = by_form.get(form, NOBODY)
        members = members[known[members]]
        sector[members] = np.array(options, dtype=object)[rng.integers(0, len(options), len(members))]
    return sector
