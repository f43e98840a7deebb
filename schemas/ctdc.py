"""The CTDC exchange layouts and their documented mapping rules.

Both layouts describe persons without identifiers. What the generic partner mapping cannot do
from a value table alone is derived here:

A file needs `yearOfRegistration` and the headers its definition maps (`columns`); every other
column the layout reads (the flags, `ageBroad`) is optional: an absent one is unknown for every row,
and the run names it once. Headers the layout does not know (coordinates, country names, alpha-3
codes someone added) are ignored and named too. Rows carry no key: identical rows are different
persons (the data are k-anonymised), never a row sent twice.

`exploitation_type` from the exploitation flags, written `1`, `1.0`, `0`, `0.0`, `-99` or empty (a
flag counts when it is `1` or `1.0`):
- organ removal alone -> organ_removal; sexual exploitation alone -> sexual;
- forced labour alone -> labour, or begging when only `typeOfLabourBegging` is set among begging
  and illicit activities, or criminal when only `typeOfLabourIllicitActivities` is;
- only other forms (other, forced marriage, forced military, slavery and practices) -> other;
- two or more of sexual, labour, organ removal and other, or `isSexAndLabour` -> other;
- no flag set -> unknown.

`exploitation_sector` from the sector flags (`typeOfLabour*`, `typeOfSex*`, `SECTOR_FLAGS`): the
sector of the list (`schemas/codelists/sectors.csv`) when the set flags name exactly one, `unknown`
when they name none or several.

`age_group` from `ageBroad`: a CTDC bin lying inside one canonical group maps to it (0--8 -> 0-11,
18--20 -> 18-22, 24--26 and 27--29 -> 23-29, 30--38 -> 30-39); a bin straddling two groups (9--17,
21--23, 39--47, 48+) gives `unknown`, and `is_minor` is still known from every bin (true up to
17). Missing or -99 gives unknown and null.
"""

from __future__ import annotations

import pandas as pd

from schemas.vocabulary import UNKNOWN_AGE_GROUP

GLOBAL_FLAGS: tuple[str, ...] = (
    "isForcedLabour", "isSexualExploit", "isOtherExploit", "isSexAndLabour", "isForcedMarriage",
    "isForcedMilitary", "isOrganRemoval", "isSlaveryAndPractices", "typeOfLabourBegging",
    "typeOfLabourIllicitActivities",
)
SYNTHETIC_FLAGS: tuple[str, ...] = ("isForcedLabour", "isSexualExploit", "isOtherExploit")
AGE_COLUMN = "ageBroad"

# The 63 columns of the 2017-2020 global dataset, in file order.
GLOBAL_COLUMNS: tuple[str, ...] = (
    "yearOfRegistration", "Datasource", "gender", "ageBroad", "majorityStatus",
    "majorityStatusAtExploit", "majorityEntry", "citizenship",
    "meansOfControlDebtBondage", "meansOfControlTakesEarnings", "meansOfControlRestrictsFinancialAccess",
    "meansOfControlThreats", "meansOfControlPsychologicalAbuse", "meansOfControlPhysicalAbuse",
    "meansOfControlSexualAbuse", "meansOfControlFalsePromises", "meansOfControlPsychoactiveSubstances",
    "meansOfControlRestrictsMovement", "meansOfControlRestrictsMedicalCare",
    "meansOfControlExcessiveWorkingHours", "meansOfControlUsesChildren",
    "meansOfControlThreatOfLawEnforcement", "meansOfControlWithholdsNecessities",
    "meansOfControlWithholdsDocuments", "meansOfControlOther", "meansOfControlNotSpecified",
    "meansOfControlConcatenated",
    "isForcedLabour", "isSexualExploit", "isOtherExploit", "isSexAndLabour", "isForcedMarriage",
    "isForcedMilitary", "isOrganRemoval", "isSlaveryAndPractices", "typeOfExploitConcatenated",
    "typeOfLabourAgriculture", "typeOfLabourAquafarming", "typeOfLabourBegging",
    "typeOfLabourConstruction", "typeOfLabourDomesticWork", "typeOfLabourHospitality",
    "typeOfLabourIllicitActivities", "typeOfLabourManufacturing", "typeOfLabourMiningOrDrilling",
    "typeOfLabourPeddling", "typeOfLabourTransportation", "typeOfLabourOther",
    "typeOfLabourNotSpecified", "typeOfLabourConcatenated",
    "typeOfSexProstitution", "typeOfSexPornography", "typeOfSexRemoteInteractiveServices",
    "typeOfSexPrivateSexualServices", "typeOfSexConcatenated",
    "isAbduction", "RecruiterRelationship", "CountryOfExploitation",
    "recruiterRelationIntimatePartner", "recruiterRelationFriend", "recruiterRelationFamily",
    "recruiterRelationOther", "recruiterRelationUnknown",
)
# The 27 columns of the synthetic dataset (2021 onwards), in file order.
SYNTHETIC_COLUMNS: tuple[str, ...] = (
    "yearOfRegistration", "gender", "ageBroad", "citizenship", "CountryOfExploitation", "traffickMonths",
    "meansDebtBondageEarnings", "meansThreats", "meansAbusePsyPhySex", "meansFalsePromises",
    "meansDrugsAlcohol", "meansDenyBasicNeeds", "meansExcessiveWorkHours", "meansWithholdDocs",
    "isForcedLabour", "isSexualExploit", "isOtherExploit",
    "typeOfLabourAgriculture", "typeOfLabourConstruction", "typeOfLabourDomesticWork",
    "typeOfLabourHospitality", "typeOfSexProstitution", "typeOfSexPornography",
    "RecruiterRelationIntimatePartner", "RecruiterRelationFriend", "RecruiterRelationFamily",
    "RecruiterRelationOther",
)

# Flag values both layouts may hold (null = empty cell): spreadsheets and statistics packages
# write the global dataset's flags as floats, and `-99` (not recorded) also appears blank.
FLAG_VALUES: tuple[str, ...] = ("0", "1", "0.0", "1.0", "-99")
FLAG_SET: tuple[str, ...] = ("1", "1.0")

AGE_BINS: dict[str, tuple[str, bool]] = {
    "0--8": ("0-11", True),
    "9--17": (UNKNOWN_AGE_GROUP, True),
    "18--20": ("18-22", False),
    "21--23": (UNKNOWN_AGE_GROUP, False),
    "24--26": ("23-29", False),
    "27--29": ("23-29", False),
    "30--38": ("30-39", False),
    "39--47": (UNKNOWN_AGE_GROUP, False),
    "48+": (UNKNOWN_AGE_GROUP, False),
}
MISSING_AGE = ("-99",)


# Sector flags -> a code of the sector list; the flags of sectors the list has no code for are `other`.
SECTOR_FLAGS: dict[str, str] = {
    "typeOfLabourAgriculture": "agriculture_horticulture",
    "typeOfLabourAquafarming": "other",
    "typeOfLabourBegging": "begging",
    "typeOfLabourConstruction": "construction",
    "typeOfLabourDomesticWork": "domestic_work",
    "typeOfLabourHospitality": "hospitality",
    "typeOfLabourIllicitActivities": "criminal_other",
    "typeOfLabourManufacturing": "other",
    "typeOfLabourMiningOrDrilling": "other",
    "typeOfLabourPeddling": "other",
    "typeOfLabourTransportation": "transport_distribution",
    "typeOfLabourOther": "other",
    "typeOfSexProstitution": "prostitution_other",
    "typeOfSexPornography": "other",
    "typeOfSexRemoteInteractiveServices": "online_prostitution",
    "typeOfSexPrivateSexualServices": "prostitution_other",
}


def sector_columns(layout: str) -> tuple[str, ...]:
    """The layout's sector flags that are no exploitation flag too."""
    flags = flag_columns(layout)
    return tuple(name for name in known_columns(layout) if name in SECTOR_FLAGS and name not in flags)


def flag_columns(layout: str) -> tuple[str, ...]:
    return GLOBAL_FLAGS if layout == "ctdc_global" else SYNTHETIC_FLAGS


def layout_columns(layout: str) -> tuple[str, ...]:
    """Columns the mapping reads besides the definition's `columns`: optional in a file."""
    return (*flag_columns(layout), *sector_columns(layout), AGE_COLUMN)


def known_columns(layout: str) -> tuple[str, ...]:
    """Every column of the layout's published release; others in a file are someone's additions."""
    return GLOBAL_COLUMNS if layout == "ctdc_global" else SYNTHETIC_COLUMNS


def exploitation_types(raw: pd.DataFrame, layout: str) -> pd.Series:
    """Canonical exploitation type of each row by the rules in the module docstring."""

    def flag(name: str) -> pd.Series:
        if name not in raw:
            return pd.Series(False, index=raw.index)
        return raw[name].isin(FLAG_SET).fillna(False).astype(bool)

    sexual, labour, organ = flag("isSexualExploit"), flag("isForcedLabour"), flag("isOrganRemoval")
    other = flag("isOtherExploit") | flag("isForcedMarriage") | flag("isForcedMilitary") | flag("isSlaveryAndPractices")
    begging, illicit = flag("typeOfLabourBegging"), flag("typeOfLabourIllicitActivities")
    forms = sexual.astype(int) + labour.astype(int) + organ.astype(int) + other.astype(int)
    result = pd.Series("unknown", index=raw.index, dtype="str")
    result[other] = "other"
    result[labour] = "labour"
    result[labour & begging & ~illicit] = "begging"
    result[labour & illicit & ~begging] = "criminal"
    result[organ] = "organ_removal"
    result[sexual] = "sexual"
    result[(forms > 1) | flag("isSexAndLabour")] = "other"
    return result


def sectors(raw: pd.DataFrame) -> pd.Series:
    """The sector code of each row from its sector flags, by the rule in the module docstring."""
    named = pd.DataFrame(
        {code: pd.Series(False, index=raw.index) for code in dict.fromkeys(SECTOR_FLAGS.values())}
    )
    for flag, code in SECTOR_FLAGS.items():
        if flag in raw:
            named[code] |= raw[flag].isin(FLAG_SET).fillna(False).astype(bool)
    single = named.sum(axis=1) == 1
    found = pd.Series("unknown", index=raw.index, dtype="str")
    found[single] = named[single].idxmax(axis=1)
    return found


def age_groups(raw: pd.DataFrame) -> tuple[pd.Series, pd.Series]:
    """(age_group, is_minor) of each row from `ageBroad` (unknown for every row without it)."""
    bins = raw[AGE_COLUMN] if AGE_COLUMN in raw else pd.Series(None, index=raw.index, dtype="str")
    group = bins.map({name: value[0] for name, value in AGE_BINS.items()}).fillna(UNKNOWN_AGE_GROUP).astype("str")
    minor = bins.map({name: value[1] for name, value in AGE_BINS.items()}).astype("boolean")
    return group, minor


# Writing the global layout (an export for the global dataset): canonical values -> CTDC's.
GLOBAL_GENDERS: dict[str, str] = {"female": "Female", "male": "Male", "other": "Transgender/NonConforming", "unknown": "Unknown"}
MISSING = "-99"
UNKNOWN_COUNTRY_CODE = "00"
# The flags each canonical form sets (every other flag 0; an unknown form leaves every flag -99).
FORM_FLAGS: dict[str, tuple[str, ...]] = {
    "sexual": ("isSexualExploit",),
    "labour": ("isForcedLabour",),
    "begging": ("isForcedLabour", "typeOfLabourBegging"),
    "criminal": ("isForcedLabour", "typeOfLabourIllicitActivities"),
    "organ_removal": ("isOrganRemoval",),
    "other": ("isOtherExploit",),
}
_BIN_EDGES = ((8, "0--8"), (17, "9--17"), (20, "18--20"), (23, "21--23"), (26, "24--26"), (29, "27--29"), (38, "30--38"), (47, "39--47"))


def age_bin(age: float | None) -> str:
    """The `ageBroad` bin of an age in years (`-99` when unknown)."""
    if age is None or pd.isna(age):
        return MISSING
    return next((name for upper, name in _BIN_EDGES if age <= upper), "48+")
