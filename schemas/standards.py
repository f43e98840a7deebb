"""Code lists of the statistics the registry owes: what each canonical category becomes in them.

UNODC's Global Report on Trafficking in Persons counts detected victims as `girls` (female, under
18), `boys` (male, under 18), `women` (female, 18 or over) and `men` (male, 18 or over); a person of
another or unknown gender, or of unknown age, is `unknown` here.

Eurostat's data collection on trafficking in human beings (the `crim_thb_*` tables) codes
registered victims by:
- `sex`: `F`, `M`, `UNK` (Eurostat's list has no code for another gender: such persons are `UNK`);
- `age`: `Y_LT18` (under 18), `Y_GE18` (18 or over), `UNK`;
- `citizen`: `NAT` (the reporting country, Dutch), `EU27_2020_FOR` (another member state of the
  European Union as composed since 1 February 2020), `NEU27_2020_FOR` (outside that Union), `UNK`.
  The code fixes the composition for every year: Croatia counts as a member state and the United
  Kingdom as outside the Union in every year, whatever the year of the registration;
- `exploitation`: `SEX` (sexual exploitation), `LAB` (labour exploitation), `OTH` (criminal
  activities, begging, organ removal and every other form), `UNK`.
"""

from __future__ import annotations

# The 27 member states of EU27_2020 (ISO 3166-1 alpha-3), in Eurostat's protocol order.
EU27_2020: tuple[str, ...] = (
    "BEL", "BGR", "CZE", "DNK", "DEU", "EST", "IRL", "GRC", "ESP", "FRA", "HRV", "ITA", "CYP", "LVA",
    "LTU", "LUX", "HUN", "MLT", "NLD", "AUT", "POL", "PRT", "ROU", "SVN", "SVK", "FIN", "SWE",
)
REPORTING_COUNTRY = "NLD"
UNKNOWN = "UNK"

SEX: dict[str, str] = {"female": "F", "male": "M", "other": UNKNOWN, "unknown": UNKNOWN}
# From the marts' `minor` dimension (under 18 at the report).
AGE: dict[str, str] = {"minor": "Y_LT18", "adult": "Y_GE18", "unknown": UNKNOWN}
EXPLOITATION: dict[str, str] = {
    "sexual": "SEX", "labour": "LAB", "criminal": "OTH", "begging": "OTH", "organ_removal": "OTH", "other": "OTH",
    "unknown": UNKNOWN,
}
CITIZEN_CODES: tuple[str, ...] = ("NAT", "EU27_2020_FOR", "NEU27_2020_FOR", UNKNOWN)

# Each standard dimension, the marts' dimension it is made of, and its codes in output order.
DIMENSIONS: dict[str, tuple[str, tuple[str, ...]]] = {
    "sex": ("gender", ("F", "M", UNKNOWN)),
    "age": ("minor", ("Y_LT18", "Y_GE18", UNKNOWN)),
    "citizen": ("nationality", CITIZEN_CODES),
    "exploitation": ("exploitation_type", ("SEX", "LAB", "OTH", UNKNOWN)),
}


def citizen(nationality: str) -> str:
    """The Eurostat citizenship group of an alpha-3 nationality (`UNK` unknown)."""
    if nationality == REPORTING_COUNTRY:
        return "NAT"
    if nationality == UNKNOWN:
        return UNKNOWN
    return "EU27_2020_FOR" if nationality in EU27_2020 else "NEU27_2020_FOR"


def code(dimension: str, category: str) -> str:
    """A mart category (of the mart dimension behind `dimension`) as the standard's code."""
    if dimension == "citizen":
        return citizen(category)
    return {"sex": SEX, "age": AGE, "exploitation": EXPLOITATION}[dimension][category]


def categories(dimension: str, code_: str, nationalities: tuple[str, ...] = ()) -> tuple[str, ...]:
    """The mart categories a standard code is made of (for `citizen`: among `nationalities`)."""
    if dimension == "citizen":
        return tuple(nationality for nationality in nationalities if citizen(nationality) == code_)
    table = {"sex": SEX, "age": AGE, "exploitation": EXPLOITATION}[dimension]
    return tuple(category for category, coded in table.items() if coded == code_)



UNODC_PERSONS: tuple[str, ...] = ("girls", "boys", "women", "men", "unknown")
_UNODC = {("female", "minor"): "girls", ("male", "minor"): "boys", ("female", "adult"): "women", ("male", "adult"): "men"}


def unodc_person(gender: str, minor: str) -> str:
    """Girls, boys, women, men or unknown, from a canonical gender and the marts' `minor` category."""
    return _UNODC.get((gender, minor), "unknown")
