"""Police contract, canonical contract and the value-free split of valid and invalid rows."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from feed import record, write_feed

from connectors.files import sha256_of
from connectors.police import read_police_file
from schemas.canonical import PERSONAL_FIELDS, record_schema
from schemas.checks import passes_elfproef
from schemas.codelists.matching import police_unit_list
from schemas.coding import code_records
from schemas.police import FRAME_CHECK_COLUMNS, PoliceRecord, to_canonical
from schemas.validation import SchemaViolation, split_valid


def frame(tmp_path: Path, records: list[dict]) -> pd.DataFrame:
    path = write_feed(tmp_path, "f", records)
    return read_police_file(path, sha256_of(path), 10**9).records()


def failures_of(tmp_path: Path, bad: dict) -> set[tuple[str, str]]:
    raw = frame(tmp_path, [record("OK-1"), record("BAD-1", **bad)])
    split = split_valid(raw, PoliceRecord.to_schema(), FRAME_CHECK_COLUMNS)
    assert list(split.valid["registratie_id"]) == ["OK-1"]
    assert set(split.failures["row"]) == {1}
    return set(zip(split.failures["column"], split.failures["rule"], strict=True))


@pytest.mark.parametrize(
    ("bad", "expected"),
    [
        ({"eenheid": "Atlantis"}, ("eenheid", "allowed_values")),
        ({"geslacht": "Q"}, ("geslacht", "allowed_values")),
        ({"vorm": "piraterij"}, ("vorm", "allowed_values")),
        ({"datum_signaal": "2099-01-01"}, ("datum_signaal", "not_in_future")),
        ({"datum_signaal": "14-03-2025"}, ("datum_signaal", "iso_date")),
        ({"datum_signaal": "1975-01-01"}, ("datum_signaal", "year_from_2000")),
        ({"geboortedatum": "1999-02-30"}, ("geboortedatum", "iso_date")),
        ({"geboortedatum": "2025-06-01"}, ("geboortedatum", "birth_on_or_before_signal")),
        ({"geboortedatum": "1900-01-01"}, ("geboortedatum", "age_at_signal_at_most_110")),
        ({"bsn": "123456789"}, ("bsn", "bsn_elfproef")),
        ({"bsn": "12345678"}, ("bsn", "bsn_elfproef")),
        ({"v_nummer": "12AB"}, ("v_nummer", r"str_matches('^\d{10}$')")),
        ({"nationaliteit": "XXX"}, ("nationaliteit", "iso_alpha3_country")),
        ({"achternaam": None}, ("achternaam", "not_nullable")),
        ({"schema_version": "2"}, ("schema_version", "allowed_values")),
    ],
)
def test_each_rule_quarantines_the_row_with_column_and_rule(tmp_path: Path, bad: dict, expected: tuple) -> None:
    assert expected in failures_of(tmp_path, bad)


def test_failure_entries_never_hold_the_failing_value(tmp_path: Path) -> None:
    raw = frame(tmp_path, [record("BAD-1", achternaam="Zzyzx" * 50, bsn="111111111", geboortedatum="2199-01-01")])
    split = split_valid(raw, PoliceRecord.to_schema(), FRAME_CHECK_COLUMNS)
    text = split.failures.to_csv()
    for value in ("Zzyzx", "111111111", "2199"):
        assert value not in text


def test_duplicate_registration_ids_quarantine_every_copy(tmp_path: Path) -> None:
    raw = frame(tmp_path, [record("DUP"), record("OK"), record("DUP")])
    split = split_valid(raw, PoliceRecord.to_schema(), FRAME_CHECK_COLUMNS)
    assert list(split.valid["registratie_id"]) == ["OK"]
    assert set(split.failures["row"]) == {0, 2}
    assert set(split.failures["rule"]) == {"field_uniqueness"}


def test_missing_column_fails_the_whole_frame(tmp_path: Path) -> None:
    raw = frame(tmp_path, [record()]).drop(columns="eenheid")
    with pytest.raises(SchemaViolation, match="eenheid"):
        split_valid(raw, PoliceRecord.to_schema())


def test_elfproef() -> None:
    values = pd.Series(["123456782", "123456789", "000000000", None, "12345678a", "111222333"], dtype="str")
    assert passes_elfproef(values).tolist() == [True, False, False, False, False, True]


def test_canonical_mapping_gives_a_valid_canonical_record(tmp_path: Path) -> None:
    raw = frame(tmp_path, [record("A", geslacht="M", vorm="arbeid", nationaliteit=None, land=None)])
    # Unit, municipality and sector are text after the mapping, codes of the shipped lists after coding.
    coded = code_records(to_canonical(raw), police_unit_list())
    canonical = coded.records
    split = split_valid(canonical, record_schema())
    assert split.failures.empty and coded.warnings.empty
    row = canonical.iloc[0]
    assert (row["gender"], row["exploitation_type"], row["nationality"], row["exploitation_country"]) == (
        "male", "labour", "UNK", "UNK",
    )
    assert (row["reporting_unit"], row["exploitation_municipality"], row["exploitation_sector"]) == ("PE-RT", "GM0599", "unknown")
    assert row["registration_year"] == 2025


def test_the_canonical_record_refuses_text_in_coded_fields(tmp_path: Path) -> None:
    raw = frame(tmp_path, [record("A")])
    canonical = code_records(to_canonical(raw), police_unit_list()).records.assign(
        reporting_unit="Regio Jansen", exploitation_municipality="Kerkstraat 9", exploitation_sector="Nagelsalon Jansen",
    )
    split = split_valid(canonical, record_schema())
    assert set(split.failures["column"]) == {"reporting_unit", "exploitation_municipality", "exploitation_sector"}


def test_canonical_schema_is_strict_about_stray_columns(tmp_path: Path) -> None:
    canonical = to_canonical(frame(tmp_path, [record()])).assign(toelichting="free text")
    with pytest.raises(SchemaViolation, match="toelichting"):
        split_valid(canonical, record_schema())


def test_personal_fields_are_tagged() -> None:
    assert set(PERSONAL_FIELDS) == {"surname", "given_names", "birth_date", "bsn", "alien_number"}
