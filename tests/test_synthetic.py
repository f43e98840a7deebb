"""The synthetic data generator: real files on disk, checked against the contract and the truth file."""

from __future__ import annotations

import csv
import gzip
import hashlib
import unicodedata
from collections import Counter, defaultdict
from datetime import date, datetime, timedelta
from itertools import pairwise
from pathlib import Path

import orjson
import pandas as pd
import pytest

from pseudonyms.canonical import canonical_given_names, canonical_surname
from schemas.codelists.matching import match_municipalities, match_sectors, municipality_list
from schemas.vocabulary import (
    EXPLOITATION_TYPES,
    GENDERS,
    MAX_PLAUSIBLE_AGE,
    POLICE_EXPLOITATION,
    POLICE_GENDER,
    POLICE_UNITS,
)
from victim_intake.synthetic import DemoSummary, write_demo_inbox
from victim_intake.synthetic.names import CULTURES
from victim_intake.synthetic.police_reports import UNIT_MUNICIPALITIES, UNIT_WEIGHTS
from victim_intake.synthetic.spelling import to_ascii
from victim_intake.synthetic.weights import EXPLOITATION, GENDER_BY_EXPLOITATION, YEAR_VOLUMES

PROBLEMS = {
    "unknown_unit",
    "future_date",
    "bad_bsn",
    "unknown_form",
    "birth_after_signal",
    "bad_gender",
    "bad_country",
    "duplicate_id",
}
VARIANTS = {"case", "diacritics", "spacing", "given_name_order", "hyphen"}
RECORD_KEYS = [
    "schema_version", "registratie_id", "eenheid", "datum_signaal",
    "persoon", "uitbuiting", "b8", "toelichting",
]
PERSON_KEYS = [
    "achternaam", "voornamen", "geboortedatum", "geslacht",
    "nationaliteit", "geboorteland", "bsn", "v_nummer",
]
TRUTH_HEADER = ["source", "file", "line", "source_record_id", "person", "valid", "problem", "variant", "birth_day_unknown"]


def passes_11_test(number: str) -> bool:
    """The BSN 11-test, written out independently of the generator."""
    if len(number) != 9 or not number.isdigit():
        return False
    return sum(w * int(d) for w, d in zip((9, 8, 7, 6, 5, 4, 3, 2, -1), number, strict=True)) % 11 == 0


def canonical(name: str) -> str:
    """What canonicalisation is expected to do: undo case, diacritics, spacing and hyphens."""
    # ł, Ł and ı have no Unicode decomposition, so they are mapped by hand.
    folded = unicodedata.normalize("NFKD", name.translate(str.maketrans("łŁı", "lLi")))
    ascii_name = "".join(c for c in folded if not unicodedata.combining(c))
    return " ".join(ascii_name.replace("-", " ").casefold().split())


def identity(record: dict) -> tuple[str, str, str]:
    person = record["persoon"]
    given = " ".join(sorted(canonical(person["voornamen"]).split()))
    return canonical(person["achternaam"]), given, person["geboortedatum"]


def read_feed(folder: Path) -> list[dict]:
    """Every line of every data file, with the file name and line number, in truth-file order."""
    lines = []
    for path in sorted(folder.glob("politie-*.ndjson*")):
        opener = gzip.open if path.suffix == ".gz" else open
        with opener(path, "rb") as data:
            for number, line in enumerate(data, start=1):
                lines.append({"file": path.name, "line": number, "record": orjson.loads(line)})
    return lines


def manifest_of(path: Path) -> dict:
    name = path.name.removesuffix(".gz").removesuffix(".ndjson")
    return orjson.loads((path.parent / f"{name}.manifest.json").read_bytes())


def read_truth(path: Path) -> list[dict]:
    with path.open(newline="", encoding="utf-8") as truth:
        return list(csv.DictReader(truth))


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> tuple[DemoSummary, Path, list[dict], list[dict]]:
    inbox = tmp_path_factory.mktemp("demo") / "inbox"
    summary = write_demo_inbox(inbox, persons=5000, seed=7)
    lines = read_feed(inbox / "police")
    # The police checks below are about the police rows; partner rows are checked on their own.
    truth = [row for row in read_truth(summary.truth_path) if row["source"] == "police"]
    for line, row in zip(lines, truth, strict=True):
        line["truth"] = row
    return summary, inbox, lines, truth


def valid_lines(lines: list[dict]) -> list[dict]:
    return [line for line in lines if line["truth"]["valid"] == "true"]


def test_same_arguments_give_identical_bytes(tmp_path: Path) -> None:
    first = write_demo_inbox(tmp_path / "a" / "inbox", persons=400, seed=3, files=3)
    second = write_demo_inbox(tmp_path / "b" / "inbox", persons=400, seed=3, files=3)
    write_demo_inbox(tmp_path / "c" / "inbox", persons=400, seed=4, files=3)

    def contents(root: Path) -> dict[str, bytes]:
        return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}

    assert contents(tmp_path / "a") == contents(tmp_path / "b")
    assert [p.name for p in first.files] == [p.name for p in second.files]
    assert first.truth_path.read_bytes() == second.truth_path.read_bytes()
    assert contents(tmp_path / "a") != contents(tmp_path / "c")


def test_manifests_match_their_files(demo) -> None:
    summary, inbox, lines, _ = demo
    folder = inbox / "police"
    assert len(summary.files) == 7
    manifests = [folder / p.name.replace(".ndjson", ".manifest.json") for p in summary.files]
    assert sorted(folder.iterdir()) == sorted([*summary.files, *manifests])
    for path in summary.files:
        manifest = manifest_of(path)
        assert list(manifest) == ["bestand", "sha256", "aantal_records", "geexporteerd_op", "schema_version"]
        assert manifest["bestand"] == path.name
        assert manifest["sha256"] == hashlib.sha256(path.read_bytes()).hexdigest()
        assert manifest["aantal_records"] == sum(1 for line in lines if line["file"] == path.name)
        assert manifest["schema_version"] == "1"
        exported = datetime.fromisoformat(manifest["geexporteerd_op"])
        # The file is named after its export day, the day after the last signal it holds.
        assert path.name == f"politie-{exported.date()}.ndjson"


def test_exports_are_chronological_and_dated_the_day_after_their_last_signal(demo) -> None:
    _, _, lines, _ = demo
    by_file: dict[str, list[date]] = defaultdict(list)
    delivered: set[str] = set()
    for line in lines:
        record, truth = line["record"], line["truth"]
        # A re-delivery corrects an older signal, so it is out of order by design.
        redelivery = truth["valid"] == "true" and record["registratie_id"] in delivered
        if truth["valid"] == "true":
            delivered.add(record["registratie_id"])
        if not redelivery and truth["problem"] != "future_date":
            by_file[line["file"]].append(date.fromisoformat(record["datum_signaal"]))
    files = sorted(by_file)
    for name in files:
        days = by_file[name]
        assert days == sorted(days)
        assert name == f"politie-{max(days) + timedelta(days=1)}.ndjson"
    for earlier, later in pairwise(files):
        assert max(by_file[earlier]) < min(by_file[later])


def test_records_have_schema_version_1_shape_and_types(demo) -> None:
    _, _, lines, _ = demo
    for line in lines:
        record = line["record"]
        assert list(record) == RECORD_KEYS
        assert list(record["persoon"]) == PERSON_KEYS
        assert list(record["uitbuiting"]) == ["vorm", "sector", "land", "gemeente"]
        assert list(record["b8"]) == ["bedenktijd_aangeboden", "aangifte"]
        assert record["schema_version"] == "1"
        for value in [*record["persoon"].values(), *record["uitbuiting"].values()]:
            assert value is None or isinstance(value, str)
        assert all(isinstance(flag, bool) for flag in record["b8"].values())
        assert isinstance(record["toelichting"], str)


def test_valid_records_use_the_code_lists(demo) -> None:
    _, _, lines, _ = demo
    places = []
    for line in valid_lines(lines):
        record = line["record"]
        person = record["persoon"]
        assert record["eenheid"] in POLICE_UNITS
        assert person["geslacht"] in POLICE_GENDER
        assert record["uitbuiting"]["vorm"] in POLICE_EXPLOITATION
        assert "2019-01-01" <= record["datum_signaal"] <= "2025-12-31"
        assert person["achternaam"] and person["voornamen"] and person["geboortedatum"]
        assert person["geboortedatum"] < record["datum_signaal"]
        for country in (person["nationaliteit"], person["geboorteland"], record["uitbuiting"]["land"]):
            assert country is None or (len(country) == 3 and country.isupper() and country != "XXX")
        assert person["v_nummer"] is None or (len(person["v_nummer"]) == 10 and person["v_nummer"].isdigit())
        prefix = record["registratie_id"].split("-")
        assert prefix[0].startswith("PL") and prefix[1] == record["datum_signaal"][:4] and len(prefix[2]) == 6
        municipality = record["uitbuiting"]["gemeente"]
        region = UNIT_MUNICIPALITIES[record["eenheid"]]
        if municipality is not None and region:
            places.append((municipality, {code for name in region for code in municipality_list().candidates(name)}))
    # Written in any form the list reads (name, other name, CBS code, any case): a municipality of
    # the unit's region; or, now and then, free text that no list knows.
    matched = match_municipalities(pd.Series([written for written, _ in places], dtype=object))
    free = matched.rules.notna()
    assert all(code in region for code, (_, region) in zip(matched.codes[~free], [places[i] for i in free[~free].index], strict=True))
    assert 0 < free.mean() < 0.05


def test_places_and_sectors_come_in_the_forms_sources_write(demo) -> None:
    """Official and other names, CBS codes with and without `GM`, any case, sector words, and free
    text naming the person (`make run` shows warnings for it)."""
    _, _, lines, _ = demo
    records = [line["record"] for line in valid_lines(lines)]
    places = pd.Series([r["uitbuiting"]["gemeente"] for r in records if r["uitbuiting"]["gemeente"]], dtype=object)
    sectors = pd.Series([r["uitbuiting"]["sector"] for r in records if r["uitbuiting"]["sector"]], dtype=object)
    assert places.str.fullmatch(r"GM\d{4}").any() and places.str.fullmatch(r"\d{4}").any()
    assert places.isin(["Den Haag", "Den Bosch"]).any() and places.isin(["'s-Gravenhage", "'s-Hertogenbosch"]).any()
    assert (places.str.islower() | places.str.isupper()).any()
    unknown_places = places[match_municipalities(places).rules.notna()]
    unknown_sectors = sectors[match_sectors(sectors).rules.notna()]
    surnames = {r["persoon"]["achternaam"] for r in records}
    assert len(unknown_places) and len(unknown_sectors)
    # Free text names the person it is about.
    assert all(any(surname in text for surname in surnames) for text in [*unknown_places, *unknown_sectors])


def test_valid_bsns_pass_the_11_test_and_belong_to_one_person(demo) -> None:
    _, _, lines, _ = demo
    owners: dict[str, set[str]] = defaultdict(set)
    for line in valid_lines(lines):
        bsn = line["record"]["persoon"]["bsn"]
        if bsn is not None:
            assert passes_11_test(bsn), bsn
            owners[bsn].add(line["truth"]["person"])
    assert owners and all(len(persons) == 1 for persons in owners.values())
    people = [line["record"]["persoon"] for line in valid_lines(lines)]
    dutch = [person for person in people if person["nationaliteit"] == "NLD"]
    foreign = [person for person in people if person["nationaliteit"] != "NLD"]
    assert sum(p["bsn"] is not None for p in dutch) / len(dutch) > 0.8
    assert 0 < sum(p["bsn"] is not None for p in foreign) / len(foreign) < 0.5
    assert any(p["v_nummer"] for p in foreign) and not any(p["v_nummer"] for p in dutch)


def test_truth_file_lies_outside_the_inbox_and_matches_every_line(demo) -> None:
    summary, inbox, lines, truth = demo
    assert summary.truth_path == inbox.parent / "inbox.truth.csv"
    assert not summary.truth_path.resolve().is_relative_to(inbox.resolve())
    assert list(truth[0]) == TRUTH_HEADER
    assert len(truth) == len(lines) == summary.records
    for line, row in zip(lines, truth, strict=True):
        assert (row["source"], row["file"], int(row["line"])) == ("police", line["file"], line["line"])
        assert row["source_record_id"] == line["record"]["registratie_id"]
        assert row["person"].startswith("T") and len(row["person"]) == 8
        assert row["valid"] in ("true", "false")
        assert (row["problem"] == "") == (row["valid"] == "true")
        assert row["variant"] in VARIANTS | {"none"}
        assert row["birth_day_unknown"] in ("true", "false")
    valid = [row for row in truth if row["valid"] == "true"]
    assert summary.invalid_records == len(truth) - len(valid)
    assert summary.persons == len({row["person"] for row in valid})
    assert summary.registrations == len({row["source_record_id"] for row in valid})
    assert 0.015 < summary.invalid_records / summary.records < 0.03
    # About 1.23 reports per person (15 % twice, 4 % three times).
    assert 1.15 < summary.records / 5000 < 1.32


def test_truth_file_inside_the_inbox_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="outside the inbox"):
        write_demo_inbox(tmp_path / "inbox", persons=10, truth_path=tmp_path / "inbox" / "truth.csv")


def test_every_problem_appears_and_is_the_only_one(demo) -> None:
    _, _, lines, truth = demo
    assert {row["problem"] for row in truth} - {""} == PROBLEMS
    ids_per_file = Counter((line["file"], line["record"]["registratie_id"]) for line in lines)
    for line in lines:
        record, problem = line["record"], line["truth"]["problem"]
        person = record["persoon"]
        problems = {
            "unknown_unit": record["eenheid"] not in POLICE_UNITS,
            "future_date": record["datum_signaal"].startswith("2099"),
            "bad_bsn": person["bsn"] is not None and not passes_11_test(person["bsn"]),
            "unknown_form": record["uitbuiting"]["vorm"] not in POLICE_EXPLOITATION,
            "birth_after_signal": person["geboortedatum"] > record["datum_signaal"],
            "bad_gender": person["geslacht"] not in POLICE_GENDER,
            "bad_country": person["nationaliteit"] == "XXX",
            "duplicate_id": ids_per_file[line["file"], record["registratie_id"]] > 1,
            # Not problems of their own, so never allowed to come along with one:
            "implausible_age": int(record["datum_signaal"][:4]) - int(person["geboortedatum"][:4])
            > MAX_PLAUSIBLE_AGE,
            "birth_after_the_data": person["geboortedatum"] > "2026-01-01",
        }
        assert {name for name, found in problems.items() if found} == ({problem} if problem else set())


def test_registrations_are_redelivered_later_as_corrections(demo) -> None:
    _, _, lines, _ = demo
    deliveries: dict[str, list[dict]] = defaultdict(list)
    for line in valid_lines(lines):
        deliveries[line["record"]["registratie_id"]].append(line)
    redelivered = [pair for pair in deliveries.values() if len(pair) > 1]
    assert 0.005 < len(redelivered) / len(deliveries) < 0.02
    for first, correction in redelivered:
        assert first["file"] < correction["file"]
        assert first["truth"]["person"] == correction["truth"]["person"]
        assert correction["record"]["b8"]["aangifte"] != first["record"]["b8"]["aangifte"]
        assert correction["record"]["persoon"] == first["record"]["persoon"]


def test_spelling_variants_are_undone_by_canonicalisation(demo) -> None:
    _, _, lines, truth = demo
    assert {row["variant"] for row in truth} == VARIANTS | {"none"}
    names: dict[str, set[tuple[str, str, str]]] = defaultdict(set)
    spelt: dict[str, set[tuple[str, str]]] = defaultdict(set)
    for line in valid_lines(lines):
        person = line["record"]["persoon"]
        names[line["truth"]["person"]].add(identity(line["record"]))
        spelt[line["truth"]["person"]].add((person["achternaam"], person["voornamen"]))
        if line["truth"]["variant"] == "diacritics":
            assert (person["achternaam"] + person["voornamen"]).isascii()
    # Every person has one identity, and no two persons share one.
    assert all(len(keys) == 1 for keys in names.values())
    identities = [next(iter(keys)) for keys in names.values()]
    assert len(identities) == len(set(identities))
    assert any(len(spellings) > 1 for spellings in spelt.values())


def test_persons_stay_distinct_under_the_pipelines_canonicalisation(demo) -> None:
    _, _, lines, _ = demo
    valid = valid_lines(lines)
    people = pd.DataFrame([line["record"]["persoon"] for line in valid])
    key = (
        canonical_surname(people["achternaam"])
        + "|"
        + canonical_given_names(people["voornamen"])
        + "|"
        + people["geboortedatum"]
    )
    key_of_person = pd.DataFrame({"person": [line["truth"]["person"] for line in valid], "key": key})
    assert (key_of_person.groupby("person")["key"].nunique() == 1).all()
    assert (key_of_person.groupby("key")["person"].nunique() == 1).all()


def test_names_look_like_their_nationality(demo) -> None:
    _, _, lines, _ = demo
    people = [line["record"]["persoon"] for line in valid_lines(lines)]
    surnames = {p["achternaam"] for p in people}
    assert {"de Vries", "van der Berg", "van den Heuvel"} <= surnames
    assert any("-" in s and " " in s for s in surnames)  # "Jansen-de Vries"
    assert any(p["nationaliteit"] == "POL" and not p["achternaam"].isascii() for p in people)
    assert sum(" " in p["voornamen"] for p in people) / len(people) > 0.25
    for culture in CULTURES.values():
        for name in (*culture.female, *culture.male, *culture.surnames, *culture.female_surnames):
            assert to_ascii(name).isascii(), name


def test_notes_name_the_person_and_birth_date(demo) -> None:
    _, _, lines, _ = demo
    for line in lines:
        person = line["record"]["persoon"]
        born = date.fromisoformat(person["geboortedatum"]).strftime("%d-%m-%Y")
        assert f"{person['voornamen']} {person['achternaam']}" in line["record"]["toelichting"]
        assert born in line["record"]["toelichting"]


def test_distributions_follow_the_published_figures(demo) -> None:
    _, _, lines, _ = demo
    records = [line["record"] for line in valid_lines(lines)]
    forms = Counter(r["uitbuiting"]["vorm"] for r in records)
    assert 0.66 < forms["seksueel"] / len(records) < 0.78
    assert 0.08 < forms["crimineel"] / len(records) < 0.16
    assert 0.05 < forms["arbeid"] / len(records) < 0.11
    def most_common(field: str, form: str) -> str:
        values = Counter(r["persoon"][field] for r in records if r["uitbuiting"]["vorm"] == form)
        return values.most_common(1)[0][0]

    assert most_common("geslacht", "seksueel") == "V"
    assert most_common("geslacht", "arbeid") == "M"
    assert most_common("nationaliteit", "seksueel") == "NLD"
    assert most_common("nationaliteit", "arbeid") in {"POL", "ROU"}

    ages = [
        (date.fromisoformat(r["datum_signaal"]) - date.fromisoformat(r["persoon"]["geboortedatum"])).days
        / 365.25
        for r in records
    ]
    assert 0.04 < sum(age < 18 for age in ages) / len(ages) < 0.08
    assert 0.12 < sum(18 <= age < 23 for age in ages) / len(ages) < 0.18

    years = Counter(int(r["datum_signaal"][:4]) for r in records)
    total = sum(YEAR_VOLUMES.values())
    for year, volume in YEAR_VOLUMES.items():
        assert abs(years[year] / len(records) - volume / total) < 0.025, year

    units = Counter(r["eenheid"] for r in records)
    assert units["Amsterdam"] > units["Limburg"]
    assert units["Landelijke Eenheid"] > units["Zeeland-West-Brabant"]
    assert Counter(r["persoon"]["nationaliteit"] for r in records).most_common(1)[0][0] == "NLD"
    dutch = [r for r in records if r["persoon"]["nationaliteit"] == "NLD"]
    assert not any(r["b8"]["bedenktijd_aangeboden"] for r in dutch)
    assert 0.2 < sum(r["b8"]["aangifte"] for r in records) / len(records) < 0.4


def test_gzip_output_is_readable_and_checksummed_as_written(demo, tmp_path: Path) -> None:
    summary, inbox, lines, _ = demo
    zipped = write_demo_inbox(tmp_path / "inbox", persons=5000, seed=7, gzip=True)
    assert [p.name for p in zipped.files] == [p.name + ".gz" for p in summary.files]
    for path in zipped.files:
        manifest = manifest_of(path)
        assert manifest["bestand"] == path.name
        assert manifest["sha256"] == hashlib.sha256(path.read_bytes()).hexdigest()
    unzipped = read_feed(tmp_path / "inbox" / "police")
    assert [line["record"] for line in unzipped] == [line["record"] for line in lines]


def test_small_runs_and_bad_arguments(tmp_path: Path) -> None:
    one = write_demo_inbox(tmp_path / "one", persons=1, files=7)
    assert one.records >= 1 and len(one.files) == 1 and one.persons <= 1
    with pytest.raises(ValueError):
        write_demo_inbox(tmp_path / "none", persons=0)


def test_weights_cover_the_code_lists() -> None:
    assert set(EXPLOITATION) == set(EXPLOITATION_TYPES) == set(GENDER_BY_EXPLOITATION)
    assert all(set(weights) <= set(GENDERS) for weights in GENDER_BY_EXPLOITATION.values())
    assert set(UNIT_WEIGHTS) == set(UNIT_MUNICIPALITIES) == set(POLICE_UNITS)


def test_hard_variants_are_a_parameter_and_leave_other_draws_alone(tmp_path) -> None:
    import pandas as pd

    from victim_intake.synthetic.spelling import HARD_VARIANTS

    plain = write_demo_inbox(tmp_path / "plain" / "inbox", persons=1000, seed=9, files=2)
    hard = write_demo_inbox(tmp_path / "hard" / "inbox", persons=1000, seed=9, files=2, hard_variant_share=1.0)
    plain_truth = pd.read_csv(plain.truth_path, dtype=str, keep_default_na=False)
    hard_truth = pd.read_csv(hard.truth_path, dtype=str, keep_default_na=False)
    assert not set(plain_truth["variant"]) & set(HARD_VARIANTS)
    assert set(HARD_VARIANTS) <= set(hard_truth["variant"])
    # Same records and persons; only the spelling of some repeats differs.
    assert plain_truth.drop(columns="variant").equals(hard_truth.drop(columns="variant"))


def test_persons_whose_birth_day_is_unknown_are_registered_on_1_january(demo) -> None:
    _, _, lines, _ = demo
    valid = [line for line in valid_lines(lines) if line["record"]["persoon"]["geboortedatum"]]
    unknown = [line for line in valid if line["truth"]["birth_day_unknown"] == "true"]
    known = [line for line in valid if line["truth"]["birth_day_unknown"] == "false"]
    assert all(line["record"]["persoon"]["geboortedatum"].endswith("-01-01") for line in unknown)
    # A real share of persons, and everyone else born on 1 January no more often than chance (1/365).
    assert 0.03 < len({line["truth"]["person"] for line in unknown}) / len({line["truth"]["person"] for line in valid}) < 0.2
    first_of_january = sum(line["record"]["persoon"]["geboortedatum"].endswith("-01-01") for line in known)
    assert first_of_january / len(known) < 2.5 / 365


def test_hard_variants_write_names_in_cyrillic_and_chinese_script(tmp_path) -> None:
    import pandas as pd

    from pseudonyms.scripts import to_latin

    summary = write_demo_inbox(tmp_path / "inbox", persons=3000, seed=5, files=2, partners=False, hard_variant_share=1.0)
    truth = pd.read_csv(summary.truth_path, dtype=str, keep_default_na=False)
    lines = {(line["file"], line["line"]): line["record"]["persoon"] for line in read_feed(tmp_path / "inbox" / "police")}
    written = [lines[(row.file, int(row.line))] for row in truth[truth["variant"] == "script"].itertuples()]
    cyrillic = [person for person in written if any("\u0400" <= char <= "\u04ff" for char in person["achternaam"])]
    chinese = [person for person in written if any("\u4e00" <= char <= "\u9fff" for char in person["achternaam"])]
    assert cyrillic and chinese and len(cyrillic) + len(chinese) == len(written)
    assert all(to_latin(person["achternaam"]).isascii() for person in written)
