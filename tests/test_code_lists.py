"""The shipped code lists and how text is matched to them: names, other names, codes, suffixes,
former municipalities, units deciding a shared name, and free text that no list knows."""

from __future__ import annotations

import pandas as pd
import pytest

from schemas.codelists import matching
from schemas.codelists.catalogue import editions, former_municipalities, municipalities, police_units, sector_groups, sectors
from schemas.codelists.matching import (
    AMBIGUOUS_MUNICIPALITY,
    UNKNOWN_MUNICIPALITY,
    UNKNOWN_REPORTING_UNIT,
    UNKNOWN_SECTOR,
    match_municipalities,
    match_sectors,
    municipality_list,
    police_unit_list,
    sector_list,
    unit_list,
)
from schemas.coding import code_records
from schemas.vocabulary import POLICE_UNITS

FREE_TEXT = "Woning van Quibblethorpe, Kerkstraat 9"


def municipality(text: str, unit: str | None = None) -> tuple[str, str | None]:
    found = match_municipalities(pd.Series([text], dtype=object), pd.Series([unit], dtype=object))
    return found.codes.iloc[0], found.rules.iloc[0]


@pytest.mark.parametrize(
    "text,unit,code",
    [
        ("Den Haag", None, "GM0518"),
        ("'s-Gravenhage", None, "GM0518"),
        ("s-Gravenhage", None, "GM0518"),
        ("GM0518", None, "GM0518"),
        ("gm0518", None, "GM0518"),
        ("0518", None, "GM0518"),
        ("den  haag", None, "GM0518"),
        ("  DEN HAAG ", None, "GM0518"),
        ("Den Bosch", None, "GM0796"),
        ("'s-Hertogenbosch", None, "GM0796"),
        ("Hengelo", None, "GM0164"),
        ("Hengelo (O.)", None, "GM0164"),
        ("Súdwest-Fryslân", None, "GM1900"),
        ("Sudwest Fryslan", None, "GM1900"),
        ("Bergen", "PE-NH", "GM0373"),
        ("Bergen", "PE-LB", "GM0893"),
        ("Bergen (L.)", None, "GM0893"),
        ("Bergen op Zoom", None, "GM0748"),
        # Former municipalities map to the municipality they became part of.
        ("Weesp", None, "GM0363"),
        ("GM0457", None, "GM0363"),
        ("Uden", None, "GM1991"),
        ("Landerd", None, "GM1991"),
        ("Appingedam", None, "GM1979"),
        ("Delfzijl", None, "GM1979"),
        ("Bussum", None, "GM1942"),
        ("Groesbeek", None, "GM1945"),
    ],
)
def test_names_codes_and_former_municipalities_map_to_the_cbs_code(text, unit, code) -> None:
    assert municipality(text, unit) == (code, None)


@pytest.mark.parametrize(
    "text,unit,rule",
    [
        ("Bergen", None, AMBIGUOUS_MUNICIPALITY),  # two municipalities, no police unit to decide
        ("Bergen", "PE-LE", AMBIGUOUS_MUNICIPALITY),  # the national unit lies in neither's area
        ("Bergen", "ZC-NOORD", AMBIGUOUS_MUNICIPALITY),  # a partner's unit decides nothing
        ("Haaren", None, AMBIGUOUS_MUNICIPALITY),  # divided between four municipalities in 2021
        (FREE_TEXT, None, UNKNOWN_MUNICIPALITY),
        ("Atlantis", None, UNKNOWN_MUNICIPALITY),
    ],
)
def test_what_names_no_single_municipality_stays_unknown_with_a_warning(text, unit, rule) -> None:
    assert municipality(text, unit) == ("unknown", rule)


@pytest.mark.parametrize("text", [None, "", "  ", "onbekend", "Onbekend", "n.v.t.", "-", "?", "unknown"])
def test_not_stated_is_unknown_without_a_warning(text) -> None:
    assert municipality(text) == ("unknown", None)
    found = match_sectors(pd.Series([text], dtype=object))
    assert (found.codes.iloc[0], found.rules.iloc[0]) == ("unknown", None)


def test_sectors_by_code_label_and_synonym() -> None:
    written = ["raamprostitutie", "Window prostitution", "window_prostitution", "Escortbureau", "land- en tuinbouw",
               "kassen", "Horeca", "schoonmaak", "huishoudelijk werk", "binnenvaart", "vleesverwerking", "detailhandel",
               "nagelsalon", "car wash", "drugshandel", "hennepteelt", "winkeldiefstal", "zakkenrollen",
               "uitkeringsfraude", "straatbedelarij", "overig", "Nagelsalon Quibblethorpe"]
    found = match_sectors(pd.Series(written, dtype=object))
    assert found.codes.tolist() == [
        "window_prostitution", "window_prostitution", "window_prostitution", "escort", "agriculture_horticulture",
        "agriculture_horticulture", "hospitality", "cleaning", "domestic_work", "transport_distribution",
        "meat_processing", "retail", "beauty_salon", "car_wash", "drug_trade", "drug_trade", "shoplifting",
        "pickpocketing", "benefit_fraud", "begging", "other", "unknown",
    ]
    assert found.rules.tolist() == [None] * 21 + [UNKNOWN_SECTOR]


def test_police_units_by_name_other_name_and_code() -> None:
    found = police_unit_list().match(pd.Series(["Rotterdam", "Eenheid Noord-Nederland", "PE-LE", "landelijke eenheid", "Regio Quibblethorpe"]))
    assert found.codes.tolist() == ["PE-RT", "PE-NN", "PE-LE", "PE-LE", "unknown"]
    assert found.rules.tolist() == [None, None, None, None, UNKNOWN_REPORTING_UNIT]


def test_a_partner_unit_list_refuses_a_name_for_two_units() -> None:
    assert unit_list({"ZC-A": ["Noord"], "ZC-B": ["Zuid"]}).match(pd.Series(["noord", "ZC-B"])).codes.tolist() == ["ZC-A", "ZC-B"]
    with pytest.raises(ValueError, match="two units"):
        unit_list({"ZC-A": ["Noord"], "ZC-B": ["NOORD "]})


def test_code_records_replaces_the_text_and_warns_about_what_no_list_knows() -> None:
    records = pd.DataFrame(
        {
            "reporting_unit": ["Noord-Holland", "Limburg", "Regio Quibblethorpe"],
            "exploitation_municipality": ["Bergen", "bergen", FREE_TEXT],
            "exploitation_sector": ["club", None, "Nagelsalon Quibblethorpe"],
        },
        index=[10, 11, 12],
    )
    coded = code_records(records, police_unit_list())
    assert coded.records.to_dict("list") == {
        "reporting_unit": ["PE-NH", "PE-LB", "unknown"],
        "exploitation_municipality": ["GM0373", "GM0893", "unknown"],
        "exploitation_sector": ["club_prostitution", "unknown", "unknown"],
    }
    assert sorted(map(tuple, coded.warnings[["row", "field", "rule", "value"]].to_numpy().tolist())) == [
        (12, "exploitation_municipality", UNKNOWN_MUNICIPALITY, FREE_TEXT),
        (12, "exploitation_sector", UNKNOWN_SECTOR, "Nagelsalon Quibblethorpe"),
        (12, "reporting_unit", UNKNOWN_REPORTING_UNIT, "Regio Quibblethorpe"),
    ]


def test_a_column_is_matched_once_per_distinct_value(monkeypatch) -> None:
    folded = []
    original = matching.fold
    monkeypatch.setattr(matching, "fold", lambda text: folded.append(text) or original(text))
    values = pd.Series(["Den Haag", "Rotterdam", FREE_TEXT, None] * 50_000, dtype=object)
    found = match_municipalities(values)
    assert found.codes.value_counts().to_dict() == {"GM0518": 50_000, "GM0599": 50_000, "unknown": 100_000}
    assert len(folded) == 3


def test_the_lists_are_whole_and_consistent() -> None:
    assert len(municipalities()) == 342 and len({m.code for m in municipalities()}) == 342
    assert len({m.safety_region_code for m in municipalities()}) == 25
    assert {m.police_unit for m in municipalities()} == {u.code for u in police_units()} - {"PE-LE"}
    assert tuple(unit.name for unit in police_units()) == POLICE_UNITS
    current = {m.code for m in municipalities()}
    assert all(f.successor in current for f in former_municipalities() if f.kind != "split")
    assert {f.name for f in former_municipalities() if f.kind == "split"} == {"Maasdonk", "Littenseradiel", "Haaren"}
    assert not {f.code for f in former_municipalities()} & current
    # Only Bergen names two current municipalities; sectors never share a spelling.
    assert set(municipality_list().ambiguous()) == {"bergen"}
    assert sector_list().ambiguous() == {}
    assert {s.group for s in sectors()} <= {g.code for g in sector_groups()}
    assert all(s.label_nl and s.label_en for s in sectors())
    for name in ("municipalities", "municipal_mergers", "sectors", "sector_groups", "police_units"):
        assert editions()[name].vintage and editions()[name].source


def test_the_documentation_names_every_sector_group_and_unit_code() -> None:
    from pathlib import Path

    text = (Path(__file__).resolve().parents[1] / "docs" / "code-lists.md").read_text(encoding="utf-8")
    codes = [*(s.code for s in sectors()), *(g.code for g in sector_groups()), *(u.code for u in police_units())]
    assert [code for code in codes if f"`{code}`" not in text] == []
