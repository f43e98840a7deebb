"""A field that is never read or stored cannot cost a file, however large; limits stay on the fields that are read."""

from __future__ import annotations

from pathlib import Path

import pytest
from feed import record, write_feed

from connectors.files import FileRejected, sha256_of
from connectors.police import read_police_file
from connectors.tabular import FIELD_LIMIT, read_csv_table
from sources.police import OpenedFeed, PoliceSource

MAX = 10**9
WANTED = ["Dossier", "Achternaam", "Datum melding"]


@pytest.mark.parametrize("megabytes", [1.5, 4.5])
@pytest.mark.parametrize("part_mb", [256, 1])
def test_a_huge_free_text_costs_the_police_file_nothing(tmp_path: Path, megabytes: float, part_mb: int) -> None:
    notes = "Aangetroffen in een woning. " * int(megabytes * 2**20 / 28)
    records = [record("A-1"), record("A-2", toelichting=notes), record("A-3"), record("A-4", toelichting=notes)]
    path = write_feed(tmp_path, "politie-2025-03-15", records)
    feed = read_police_file(path, sha256_of(path), MAX, part_mb * 2**20)
    frame = feed.records()
    assert list(frame["registratie_id"]) == ["A-1", "A-2", "A-3", "A-4"]
    assert "toelichting" not in frame.columns


def test_a_huge_value_in_a_field_that_is_read_quarantines_its_row_only(tmp_path: Path) -> None:
    path = write_feed(tmp_path, "politie-2025-03-15", [record("A-1"), record("A-2", achternaam="de Vries" * 600_000), record("A-3")])
    feed = read_police_file(path, sha256_of(path), MAX)
    validated = PoliceSource().validate(feed.records(), OpenedFeed(feed))
    assert len(validated.records) == 2
    assert set(validated.quarantined["source_record_id"]) == {"A-2"}


def write_csv(path: Path, rows: list[list[str]]) -> Path:
    path.write_text("".join(";".join(row) + "\r\n" for row in rows), encoding="utf-8")
    return path


def test_a_huge_cell_in_a_column_that_is_never_read_costs_the_partner_file_nothing(tmp_path: Path) -> None:
    remark = "lange opmerking " * (200 * 1024 // 16)
    path = write_csv(
        tmp_path / "levering.csv",
        [["Dossier", "Achternaam", "Opmerkingen", "Datum melding"], ["P-1", "Jansen", remark, "14-03-2025"], ["P-2", "Smit", "", "15-03-2025"]],
    )
    table = read_csv_table(path, WANTED, encoding="utf-8", delimiter=";", max_bytes=MAX)
    assert list(table.frame["Dossier"]) == ["P-1", "P-2"]
    assert "Opmerkingen" not in table.frame.columns


def test_a_cell_over_the_limit_in_a_column_that_is_read_still_refuses_the_file(tmp_path: Path) -> None:
    path = write_csv(
        tmp_path / "levering.csv",
        [["Dossier", "Achternaam", "Datum melding"], ["P-1", "J" * (FIELD_LIMIT + 1), "14-03-2025"], ["P-2", "Smit", "15-03-2025"]],
    )
    with pytest.raises(FileRejected, match="line 2: a field is too long") as refused:
        read_csv_table(path, WANTED, encoding="utf-8", delimiter=";", max_bytes=MAX)
    assert "JJJ" not in str(refused.value)
