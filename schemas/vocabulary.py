"""Code lists of the contract: the values a raw police record and a canonical registration may hold.

Declared once here; the Pandera models, the warehouse and the synthetic data generator all use them.
"""

from __future__ import annotations

POLICE_UNITS: tuple[str, ...] = (
    "Noord-Nederland",
    "Oost-Nederland",
    "Midden-Nederland",
    "Noord-Holland",
    "Amsterdam",
    "Den Haag",
    "Rotterdam",
    "Zeeland-West-Brabant",
    "Oost-Brabant",
    "Limburg",
    "Landelijke Eenheid",
)

# Police code -> canonical value.
POLICE_GENDER: dict[str, str] = {"V": "female", "M": "male", "X": "other", "O": "unknown"}
POLICE_EXPLOITATION: dict[str, str] = {
    "seksueel": "sexual",
    "arbeid": "labour",
    "crimineel": "criminal",
    "bedelarij": "begging",
    "orgaanverwijdering": "organ_removal",
    "overig": "other",
    "onbekend": "unknown",
}

GENDERS: tuple[str, ...] = ("female", "male", "other", "unknown")
EXPLOITATION_TYPES: tuple[str, ...] = (
    "sexual",
    "labour",
    "criminal",
    "begging",
    "organ_removal",
    "other",
    "unknown",
)
# Upper bounds (inclusive) of each age group; the last group is open.
AGE_GROUPS: tuple[tuple[str, int], ...] = (
    ("0-11", 11),
    ("12-17", 17),
    ("18-22", 22),
    ("23-29", 29),
    ("30-39", 39),
    ("40-49", 49),
    ("50+", 200),
)
UNKNOWN_AGE_GROUP = "unknown"
UNKNOWN_COUNTRY = "UNK"
MAJORITY_AGE = 18
# Oldest plausible age at a report; older birth dates are treated as errors.
MAX_PLAUSIBLE_AGE = 110
# Signals before this year predate the registry's digital records and are treated as typos.
FIRST_REGISTRATION_YEAR = 2000

# `national` rows count towards the Dutch figures; `reference` rows describe victims elsewhere.
SCOPES: tuple[str, ...] = ("national", "reference")

SOURCE_KINDS: tuple[str, ...] = (
    "police",
    "kmar",
    "nla",
    "care_coordination",
    "fairwork",
    "shelter",
    "other",
    "ctdc",
)
