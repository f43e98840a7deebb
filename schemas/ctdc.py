"""The CTDC exchange layouts and their documented mapping rules.

Both layouts describe persons without identifiers. What the generic partner mapping cannot do
from a value table alone is derived here:

`exploitation_type` from the exploitation flags (a flag counts when it is "1"; 0, -99 and empty
do not):
- organ removal alone -> organ_removal; sexual exploitation alone -> sexual;
- forced labour alone -> labour, or begging when only `typeOfLabourBegging` is set among begging
  and illicit activities, or criminal when only `typeOfLabourIllicitActivities` is;
- only other forms (other, forced marriage, forced military, slavery and practices) -> other;
- two or more of sexual, labour, organ removal and other, or `isSexAndLabour` -> other;
- no flag set -> unknown.

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

# Flag values each layout may hold (null = empty cell).
FLAG_VALUES: dict[str, tuple[str, ...]] = {"ctdc_global": ("0", "1", "-99"), "ctdc_synthetic": ("1", "0")}

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


def flag_columns(layout: str) -> tuple[str, ...]:
    return GLOBAL_FLAGS if layout == "ctdc_global" else SYNTHETIC_FLAGS


def layout_columns(layout: str) -> tuple[str, ...]:
    """Columns the mapping reads besides the definition's `columns`."""
    return (*flag_columns(layout), AGE_COLUMN)


def exploitation_types(raw: pd.DataFrame, layout: str) -> pd.Series:
    """Canonical exploitation type of each row by the rules in the module docstring."""

    def flag(name: str) -> pd.Series:
        if name not in raw:
            return pd.Series(False, index=raw.index)
        return raw[name].eq("1").fillna(False).astype(bool)

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


def age_groups(raw: pd.DataFrame) -> tuple[pd.Series, pd.Series]:
    """(age_group, is_minor) of each row from `ageBroad`."""
    bins = raw[AGE_COLUMN]
    group = bins.map({name: value[0] for name, value in AGE_BINS.items()}).fillna(UNKNOWN_AGE_GROUP).astype("str")
    minor = bins.map({name: value[1] for name, value in AGE_BINS.items()}).astype("boolean")
    return group, minor
