"""The scale-and-nature report: marts against the raw rows, suppression across all tables, outputs."""

from __future__ import annotations

import atexit
import csv
import hashlib
import os
import shutil
import sqlite3
import tempfile
from pathlib import Path

import pandas as pd
import pytest
import sqlalchemy as sa
from disclosure_attack import attack
from test_flow_end_to_end import run_cli

from reporting.build import build_report
from reporting.tables import key
from store.bulk import bulk_insert
from store.engines import make_engine
from victim_intake.synthetic.registrations import synthetic_registrations
from warehouse.database import create_tables
from warehouse.marts import refresh_marts

YEARS = range(2020, 2025)


# SQLite warehouses built in this test process, by the content of their rows: building one (tables,
# marts, analyst tier) takes about a second, and many tests start from the same rows.
_BUILT: dict[str, Path] = {}


def warehouse_with(url: str, frame: pd.DataFrame) -> sa.Engine:
    """A warehouse holding `frame` as registrations, marts and analyst tier refreshed. On SQLite, a
    warehouse built earlier from the same rows and settings is copied (SQLite's backup), not built again."""
    # The rows, and the settings the build reads besides the location: the analyst tier's.
    settings = sorted((name, value) for name, value in os.environ.items() if name.startswith("VICTIM_INTAKE_ANALYST_"))
    content = pd.util.hash_pandas_object(frame).to_numpy().tobytes() + repr((list(frame.columns), settings)).encode()
    digest = hashlib.sha256(content).hexdigest()
    target = url.removeprefix("sqlite:///") if url.startswith("sqlite:///") else None
    engine = make_engine(url)
    if target is not None and digest in _BUILT:
        Path(target).parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        with sqlite3.connect(_BUILT[digest]) as built, sqlite3.connect(target) as copy:
            built.backup(copy)
        return engine
    create_tables(engine)
    with engine.begin() as connection:
        bulk_insert(connection, "registrations", frame)
        refresh_marts(connection, YEARS)
    if target is not None:
        folder = tempfile.mkdtemp(prefix="built-warehouse-")
        atexit.register(shutil.rmtree, folder, True)
        kept = Path(folder) / "warehouse.sqlite"
        with sqlite3.connect(target) as fresh, sqlite3.connect(kept) as copy:
            fresh.backup(copy)
        _BUILT[digest] = kept
    return engine


@pytest.fixture
def rows() -> pd.DataFrame:
    # Few persons per year: plenty of small cells to suppress.
    frame = synthetic_registrations(1500, YEARS, seed=5, persons=1200)
    # A reporting unit that a spreadsheet would run as a formula.
    frame.loc[frame.index[:40], "reporting_unit"] = "=HYPERLINK(1)"
    return frame


def expected_persons(frame: pd.DataFrame, dimension: str) -> pd.Series:
    """Persons per year and category, computed here from the raw rows: first registration wins."""
    people = frame.assign(person_key=frame["person_id"].fillna("registration:" + frame["registration_id"]))
    people = people.sort_values(["registration_year", "person_key", "reported_on", "registration_id"])
    first = people.drop_duplicates(["registration_year", "person_key"])
    return first.groupby(["registration_year", dimension]).size()


def mart_counts(engine: sa.Engine, measure: str, dimension: str) -> pd.Series:
    with engine.connect() as connection:
        found = pd.read_sql(
            sa.text(
                "SELECT registration_year, category, count FROM mart_yearly_counts "
                "WHERE measure = :measure AND dimension = :dimension"
            ),
            connection,
            params={"measure": measure, "dimension": dimension},
        )
    return found.set_index(["registration_year", "category"])["count"].sort_index()


def check_marts(engine: sa.Engine, frame: pd.DataFrame) -> None:
    for dimension in ("exploitation_type", "gender", "source_kind", "nationality"):
        persons = expected_persons(frame, dimension).rename_axis(["registration_year", "category"])
        assert mart_counts(engine, "persons", dimension).to_dict() == persons.sort_index().to_dict()
        registrations = frame.groupby(["registration_year", dimension]).size().rename_axis(["registration_year", "category"])
        assert mart_counts(engine, "registrations", dimension).to_dict() == registrations.sort_index().to_dict()


def test_marts_count_persons_once_per_year(tmp_path, rows) -> None:
    engine = warehouse_with(f"sqlite:///{tmp_path / 'w.sqlite'}", rows)
    check_marts(engine, rows)
    # Several sources reported some persons, and rows without a pseudonym count one each.
    assert rows["person_id"].isna().any()
    year = rows[rows["registration_year"] == 2024]
    linked = year["person_id"].nunique()
    with engine.connect() as connection:
        persons = connection.execute(sa.text("SELECT count(*) FROM mart_person_years WHERE registration_year = 2024")).scalar_one()
    assert persons == linked + year["person_id"].isna().sum() < len(year)


def test_a_registration_moved_to_another_year_refreshes_both_years(tmp_path, rows) -> None:
    engine = warehouse_with(f"sqlite:///{tmp_path / 'w.sqlite'}", rows)
    moved = rows.iloc[0]["registration_id"]
    with engine.begin() as connection:
        connection.execute(sa.text("UPDATE registrations SET registration_year = 2019 WHERE registration_id = :id"), {"id": moved})
        refreshed = refresh_marts(connection)
    assert {2019, int(rows.iloc[0]["registration_year"])} <= refreshed
    changed = rows.copy()
    changed.loc[changed.index[0], "registration_year"] = 2019
    check_marts(engine, changed)


def test_no_published_cell_is_small_or_recoverable(tmp_path, rows) -> None:
    engine = warehouse_with(f"sqlite:///{tmp_path / 'w.sqlite'}", rows)
    with engine.connect() as connection:
        report = build_report(connection, 2024, min_cell=10)
    keys = {cell for table in report.tables for cell in table.keys()}
    assert report.hidden, "the synthetic year should have small cells"
    assert not [cell for cell in keys - report.hidden if 0 < report.values[cell] < 10]
    values = {cell: report.values[cell] for cell in keys}
    lines = [line for table in report.tables for line in table.lines()]
    for cell, (least, most) in attack(values, lines, report.hidden).items():
        assert least < most, f"{cell} recovered"
    # Percentages only where the denominator is published and at least 50.
    forms = next(table for table in report.tables if table.name == "exploitation_type")
    assert report.share(forms.cells[0][1], forms.column_totals[1]) is not None
    assert all(report.share(cell, key("persons", 2024)) is None for cell in report.hidden)


@pytest.mark.postgres
def test_postgres_gives_the_same_report_as_sqlite(tmp_path, rows, scratch_postgres) -> None:  # noqa: F811
    reports = []
    for url in (scratch_postgres, f"sqlite:///{tmp_path / 'w.sqlite'}"):
        engine = warehouse_with(url, rows)
        check_marts(engine, rows)
        with engine.connect() as connection:
            reports.append(build_report(connection, 2024, min_cell=10))
        engine.dispose()
    on_postgres, on_sqlite = reports
    assert on_postgres.values == on_sqlite.values
    assert on_postgres.hidden == on_sqlite.hidden


def test_report_command_writes_md_csv_html(tmp_path, rows, isolated_settings) -> None:
    warehouse_with(f"sqlite:///{isolated_settings / 'warehouse.sqlite'}", rows).dispose()
    code, output = run_cli("report", "--year", "2024", "--format", "md", "--lang", "en", "--out", str(tmp_path / "r.md"))
    assert code == 0, output
    markdown = (tmp_path / "r.md").read_text(encoding="utf-8")
    assert "## Methods" in markdown and "| x |" in markdown

    code, output = run_cli("report", "--year", "2024", "--format", "csv", "--out", str(tmp_path / "csv"))
    assert code == 0, output
    files = sorted((tmp_path / "csv").glob("*.csv"))
    assert len(files) >= 12
    cells = [cell for path in files for row in csv.reader(path.open(encoding="utf-8")) for cell in row]
    assert "'=HYPERLINK(1)" in cells
    assert not [cell for cell in cells if cell[:1] in ("=", "+", "-", "@", "\t", "\r")]
    numbers = [int(cell) for cell in cells if cell.isdigit()]
    assert not [number for number in numbers if 0 < number < 10]

    code, output = run_cli("report", "--year", "2024", "--lang", "nl", "--out", str(tmp_path / "r.html"))
    assert code == 0, output
    page = (tmp_path / "r.html").read_text(encoding="utf-8")
    assert page.count("<svg") == 3 and "Methode" in page and "<script" not in page
    assert "http://" not in page.replace('xmlns="http://www.w3.org/2000/svg"', "") and "https://" not in page


def test_report_of_an_empty_year_or_missing_warehouse_exits_2(tmp_path, rows, isolated_settings) -> None:
    code, output = run_cli("report", "--year", "2024")
    assert code == 2 and "no warehouse" in output
    warehouse_with(f"sqlite:///{isolated_settings / 'warehouse.sqlite'}", rows).dispose()
    code, output = run_cli("report", "--year", "2031")
    assert code == 2 and "no registrations of 2031" in output


def test_min_cell_zero_publishes_small_cells_with_a_warning(tmp_path, rows, isolated_settings) -> None:
    warehouse_with(f"sqlite:///{isolated_settings / 'warehouse.sqlite'}", rows).dispose()
    code, output = run_cli("report", "--year", "2024", "--format", "md", "--min-cell", "0", "--lang", "en", "--out", str(tmp_path / "r.md"))
    assert code == 0
    assert "INTERNAL USE ONLY" in (tmp_path / "r.md").read_text(encoding="utf-8")
    assert "| x |" not in (tmp_path / "r.md").read_text(encoding="utf-8")


def test_reports_of_two_years_publish_the_same_cells_of_a_shared_year(tmp_path, rows) -> None:
    """Side by side, the 2023 and 2024 reports must not reveal a 2023 cell that either hides."""
    engine = warehouse_with(f"sqlite:///{tmp_path / 'w.sqlite'}", rows)
    with engine.connect() as connection:
        earlier, later = (build_report(connection, year, min_cell=10) for year in (2023, 2024))
    shared = [cell for cell in later.values if cell[1] == 2023 and cell in {c for t in later.tables for c in t.keys()}]
    assert shared and any(cell in later.hidden for cell in shared)
    for cell in shared:
        assert later.published(cell) == earlier.published(cell), cell


def test_a_category_with_registrations_but_no_first_registration_is_a_row(tmp_path, rows) -> None:
    # A person counts under their first registration's category only: give the later registrations
    # of a few persons a unit and a country of their own, which then hold registrations and no person.
    ordered = rows[rows["person_id"].notna()].sort_values(["registration_year", "person_id", "reported_on", "registration_id"])
    later = ordered[ordered.duplicated(["registration_year", "person_id"]) & (ordered["registration_year"] == 2024)].index[:3]
    assert len(later) == 3
    frame = rows.copy()
    frame.loc[later, "reporting_unit"] = "ZC-LATER"
    frame.loc[later, "exploitation_country"] = "ISL"
    assert "ZC-LATER" not in expected_persons(frame, "reporting_unit").loc[2024]
    engine = warehouse_with(f"sqlite:///{tmp_path / 'w.sqlite'}", frame)
    with engine.connect() as connection:
        report = build_report(connection, 2024, min_cell=10)
    for name in ("reporting_unit", "exploitation_country"):
        table = next(table for table in report.tables if table.name == name)
        # Every published equation holds: the rows of registrations add up to the year's registrations.
        column = [row[0] for row in table.cells]
        assert sum(report.values[cell] for cell in column) == report.values[table.column_totals[0]]
    units = next(table for table in report.tables if table.name == "reporting_unit")
    assert "ZC-LATER" in units.rows


def test_the_order_of_rows_tells_nothing_of_their_counts(tmp_path, rows) -> None:
    # Printed largest first, a table's rows would say how its suppressed cells compare: with the
    # margins, four hidden cells that sum to 7 in the order 1st >= 2nd > 3rd >= 4th are 3, 2, 1, 1.
    # Give each unit and source the counts of another: the rows must come out in the same order.
    def report_rows(frame: pd.DataFrame, name: str) -> dict[str, list[str]]:
        engine = warehouse_with(f"sqlite:///{tmp_path / name}", frame)
        with engine.connect() as connection:
            report = build_report(connection, 2024, min_cell=10)
        engine.dispose()
        return {table.name: table.rows for table in report.tables if table.name in ("reporting_unit", "source_kind")}

    swapped = rows.copy()
    for column in ("reporting_unit", "source_kind"):
        codes = sorted(rows[column].dropna().unique())
        swapped[column] = rows[column].map(dict(zip(codes, reversed(codes), strict=True)))
    assert report_rows(rows, "a.sqlite") == report_rows(swapped, "b.sqlite")
