"""Distributions of the synthetic population, after published figures: registrations per year, the
forms of exploitation, gender, age and nationality as the national registry of presumed victims
and the National Rapporteur's victim monitor (Slachtoffermonitor mensenhandel) publish them.

Weights are relative (they need not sum to 100). Keys are the canonical values of
`schemas.vocabulary`, so every source writer can recode them into its own wording.
"""

from __future__ import annotations

# Registrations per year as published (2023 and 2024 derived from shares); 2025 is not published
# yet and repeats 2024.
YEAR_VOLUMES: dict[int, float] = {
    2019: 1372,
    2020: 1013,
    2021: 791,
    2022: 814,
    2023: 1044,
    2024: 1061,
    2025: 1061,
}

# The police-side mix of 2019-2022: 72 % sexual, 12 % criminal, 8 % labour; the rest split by guess.
EXPLOITATION: dict[str, float] = {
    "sexual": 72.0,
    "criminal": 12.0,
    "labour": 8.0,
    "begging": 2.5,
    "other": 2.5,
    "unknown": 2.95,
    "organ_removal": 0.05,
}

GENDER_BY_EXPLOITATION: dict[str, dict[str, float]] = {
    "sexual": {"female": 90.0, "male": 8.0, "other": 1.5, "unknown": 0.5},
    "criminal": {"female": 33.0, "male": 65.0, "other": 1.0, "unknown": 1.0},
    "labour": {"female": 23.0, "male": 75.5, "other": 0.5, "unknown": 1.0},
    "begging": {"female": 55.0, "male": 43.0, "other": 0.5, "unknown": 1.5},
    "other": {"female": 60.0, "male": 37.0, "other": 1.0, "unknown": 2.0},
    "unknown": {"female": 58.0, "male": 37.0, "other": 1.0, "unknown": 4.0},
    "organ_removal": {"female": 30.0, "male": 70.0},
}

# Age in whole years at the first report: (youngest, oldest, weight). About 6 % minors and 15 %
# aged 18-22 at a report, as in 2023 (52 minors and 130 adolescents of 868 persons); repeat
# reports come later, so minors weigh a little more here.
AGE_BANDS: tuple[tuple[int, int, float], ...] = (
    (9, 11, 0.5),
    (12, 17, 6.0),
    (18, 22, 15.0),
    (23, 29, 30.0),
    (30, 39, 27.0),
    (40, 49, 15.0),
    (50, 66, 7.0),
)

# Nationality (ISO alpha-3) by form: Dutch victims mostly in sexual exploitation; labour mostly EU
# (PL, RO, BG, HU) and non-EU (UA, PH, VN, CN, IN) workers; NG, UG, SL frequent in shelters.
NATIONALITY_BY_EXPLOITATION: dict[str, dict[str, float]] = {
    "sexual": {
        "NLD": 34, "NGA": 9, "ROU": 8, "HUN": 6, "BGR": 6, "POL": 5, "UGA": 4, "SLE": 3, "BRA": 3,
        "UKR": 3, "THA": 2, "CHN": 2, "COL": 2, "DOM": 2, "MAR": 2, "SUR": 2, "MDA": 2, "TUR": 1,
        "VNM": 1, "ERI": 1,
    },
    "labour": {
        "POL": 20, "ROU": 14, "UKR": 10, "BGR": 9, "PHL": 7, "VNM": 7, "HUN": 6, "CHN": 6, "IND": 6,
        "LTU": 3, "NLD": 3, "TUR": 2, "ERI": 2, "MDA": 2, "THA": 2, "MAR": 1,
    },
    "criminal": {
        "NLD": 35, "ROU": 10, "MAR": 8, "VNM": 8, "BGR": 5, "POL": 5, "ERI": 4, "SUR": 4, "NGA": 3,
        "HUN": 3, "TUR": 3, "LTU": 2, "UKR": 2, "CHN": 2,
    },
    "begging": {"ROU": 40, "BGR": 25, "HUN": 10, "MDA": 8, "NLD": 5, "UKR": 5, "NGA": 4, "SLE": 3},
    "organ_removal": {"NGA": 30, "ERI": 20, "IND": 20, "UKR": 15, "MDA": 15},
    "other": {
        "NLD": 30, "NGA": 10, "UGA": 10, "SLE": 8, "ROU": 8, "POL": 8, "PHL": 6, "CHN": 5, "ERI": 5,
        "UKR": 5, "IND": 5,
    },
    "unknown": {
        "NLD": 25, "NGA": 12, "UGA": 10, "SLE": 10, "ROU": 8, "POL": 8, "ERI": 7, "BGR": 5, "HUN": 5,
        "UKR": 5, "VNM": 5,
    },
}
DUTCH = "NLD"
EU_NATIONALITIES: frozenset[str] = frozenset({"NLD", "POL", "ROU", "BGR", "HUN", "LTU"})
# Share of persons whose nationality is not established at all.
NATIONALITY_UNKNOWN = 0.01

# Country of birth: usually the nationality; otherwise one of these.
BIRTH_COUNTRY_SAME = 0.88
BIRTH_COUNTRY_UNKNOWN = 0.02
BIRTH_COUNTRIES_OF_DUTCH = ("SUR", "MAR", "TUR", "CUW", "IDN", "DEU")
BIRTH_COUNTRIES_OF_FOREIGNERS = ("NLD", "DEU", "ITA", "ESP", "GRC", "BEL")

# Identifiers: a BSN for nearly every Dutch national and for registered (mostly EU) workers; an
# alien number (V-nummer) for non-Dutch persons who met the immigration service.
# Share of persons whose birth day is unknown and who are registered on 1 January of their
# (estimated) birth year, as is common for migrants without papers (by the BSN groups).
BIRTH_DAY_UNKNOWN = {"dutch": 0.005, "eu": 0.04, "other": 0.2}
BSN_SHARE = {"dutch": 0.92, "eu": 0.35, "other": 0.10}
ALIEN_NUMBER_SHARE = {"dutch": 0.0, "eu": 0.05, "other": 0.55}

# Country of exploitation: mostly the Netherlands; abroad often the victim's own country.
EXPLOITED_ABROAD = {"dutch": 0.04, "foreign": 0.14}
EXPLOITATION_COUNTRY_UNKNOWN = 0.01
ABROAD_OWN_COUNTRY = 0.4
ABROAD_COUNTRIES = ("BEL", "DEU", "FRA", "ESP", "ITA", "GBR")

# Sector in the words Dutch reporters use; unknown for a quarter of the persons.
SECTOR_UNKNOWN = 0.25
SECTORS: dict[str, tuple[str, ...]] = {
    "sexual": ("raamprostitutie", "escort", "thuisprostitutie", "club", "online"),
    "labour": (
        "land- en tuinbouw",
        "horeca",
        "distributie en logistiek",
        "bouw",
        "schoonmaak",
        "vleesverwerking",
        "huishoudelijk werk",
        "binnenvaart",
        "autowasstraat",
        "nagelsalon",
        "detailhandel",
    ),
    "criminal": ("drugshandel", "hennepteelt", "winkeldiefstal", "zakkenrollen", "uitkeringsfraude", "fraude", "geldezel"),
    "begging": ("straatbedelarij",),
}
