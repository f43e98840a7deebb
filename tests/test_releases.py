"""Disclosure control across releases: every report that goes out is remembered, and no set of
published reports (any --top, language, format, suppression level, or data changed in between)
lets an attacker who reads them all pin a suppressed cell or an erased person."""

from __future__ import annotations

import csv
import itertools
import secrets
from datetime import UTC, datetime
from pathlib import Path

import pytest
import sqlalchemy as sa
from disclosure_attack import Released, attack_releases
from published_tables import OTHER, read_report, read_table
from test_flow_end_to_end import run_cli
from test_report import warehouse_with

from reporting.build import release_cells
from victim_intake.synthetic.registrations import synthetic_registrations
from warehouse.erasure import erase_person
from warehouse.marts import CROSSINGS, DIMENSION_NAMES
from warehouse.publications import Publication, record_publication

YEAR = 2024
FORMATS = ("csv", "md", "html")
# The tables in the order every format prints them (Markdown tables carry no name).
TABLE_NAMES = ["overview", "trend_exploitation_type", *DIMENSION_NAMES, *(f"{row}_by_{column}" for row, column in CROSSINGS)]


@pytest.fixture
def engine(isolated_settings):
    # Two years of a small registry: the trend holds an earlier year, and many cells are small.
    frame = synthetic_registrations(1000, range(YEAR - 1, YEAR + 1), seed=11, persons=800)
    engine = warehouse_with(f"sqlite:///{isolated_settings / 'warehouse.sqlite'}", frame)
    yield engine
    engine.dispose()


def publish(folder: Path, *options: str, top: int = 10, language: str = "en", output: str = "html") -> Path:
    path = folder / (f"report-{len(list(folder.iterdir()))}" + ("" if output == "csv" else f".{output}"))
    code, printed = run_cli(
        "report", "--year", str(YEAR), "--top", str(top), "--lang", language, "--format", output, "--out", str(path), *options
    )
    assert code == 0, printed
    return path


def read_back(path: Path, output: str, language: str, state: int = 0) -> Released:
    return Released(state, [read_table(table, language, YEAR) for table in read_report(path, output, TABLE_NAMES)])


def suppressed(release: Released) -> dict:
    """The suppressed cells that name what they count ("other" differs with --top)."""
    return {
        identity: None
        for table in release.tables
        for identity, value in table.cells.values()
        if value is None and all(code != OTHER for _, code in identity[2])
    }


def test_top_variants_in_both_languages_and_every_format_recover_nothing(tmp_path, engine) -> None:
    """The differencing attack: --top 1 to 15 each publish "other", so two variants side by side
    give the country between them; suppression must hold against all of them read together."""
    releases = []
    for number, (top, language) in enumerate(itertools.product(range(1, 16), ("nl", "en"))):
        output = FORMATS[number % len(FORMATS)]
        releases.append(read_back(publish(tmp_path, top=top, language=language, output=output), output, language))
    assert sum(len(suppressed(release)) for release in releases) > 1000
    verdict = attack_releases(releases)
    # A suppressed cell pinned at zero gives nothing away; one pinned at 1 or more does.
    assert [cell for cell in verdict.cells if cell[2] > 0] == []

    code, printed = run_cli("report", "--list-published", "--year", str(YEAR))
    assert code == 0
    assert sum(f"top {top}, {language}," in printed for top in range(1, 16) for language in ("nl", "en")) == 30


def test_a_cell_suppressed_once_stays_suppressed(tmp_path, engine) -> None:
    first = read_back(publish(tmp_path, "--min-cell", "10", output="csv"), "csv", "en")
    # A lower suppression level would publish cells of 5 to 9 that the first report hid.
    second = read_back(publish(tmp_path, "--min-cell", "5", output="csv"), "csv", "en")
    values = {identity: value for table in second.tables for identity, value in table.cells.values()}
    earlier = suppressed(first)
    assert earlier and all(values[identity] is None for identity in earlier if identity in values)
    # And another variant of the first still hides what the second hid.
    third = read_back(publish(tmp_path, "--min-cell", "10", top=3, output="csv"), "csv", "en")
    values = {identity: value for table in third.tables for identity, value in table.cells.values()}
    assert all(values[identity] is None for identity in suppressed(second) if identity in values)


def test_an_erased_person_cannot_be_read_from_two_releases(tmp_path, engine) -> None:
    before_path = publish(tmp_path)
    with engine.connect() as connection:
        person, registrations = connection.execute(
            sa.text(
                "SELECT person_id, count(*) FROM registrations WHERE registration_year = :year AND person_id IS NOT NULL "
                "GROUP BY person_id ORDER BY count(*) DESC, person_id LIMIT 1"
            ),
            {"year": YEAR},
        ).one()
    erase_person(engine, person, secrets.token_bytes(32))
    after_path = publish(tmp_path)
    before, after = read_back(before_path, "html", "en", 0), read_back(after_path, "html", "en", 1)

    # The attacker knows exactly what happened: one person with this many registrations was erased.
    verdict = attack_releases([before, after], {(0, 1): {"persons": (-1, 0), "registrations": (-registrations, 0)}})
    assert verdict.changes == [], "the erased person's categories can be read from the two releases"
    assert [cell for cell in verdict.cells if cell[2] > 0] == []
    # Everything the first release suppressed, the revision suppresses too.
    values = {identity: value for table in after.tables for identity, value in table.cells.values()}
    assert all(values[identity] is None for identity in suppressed(before))

    page = after_path.read_text(encoding="utf-8")
    assert "This release is a revision" in page and "This release is a revision" not in before_path.read_text(encoding="utf-8")
    code, printed = run_cli("report", "--list-published", "--year", str(YEAR))
    revision = next(line for line in printed.splitlines() if line.strip("│ ").startswith("2 "))
    assert revision.rstrip(" │").endswith("1")


def test_a_draft_is_marked_in_every_format_and_not_recorded(tmp_path, engine) -> None:
    folder = tmp_path / "out"
    folder.mkdir()
    for output in FORMATS:
        target = folder / ("tables" if output == "csv" else f"report.{output}")
        code, printed = run_cli("report", "--year", str(YEAR), "--draft", "--lang", "en", "--format", output, "--out", str(target))
        assert code == 0, printed
        assert "not recorded" in printed
    assert sorted(path.name for path in folder.iterdir()) == ["report-draft.html", "report-draft.md", "tables-draft"]
    assert "DRAFT: a preview" in (folder / "report-draft.md").read_text(encoding="utf-8")
    page = (folder / "report-draft.html").read_text(encoding="utf-8")
    assert "<h1>DRAFT:" in page and "DRAFT: a preview" in page
    files = sorted((folder / "tables-draft").iterdir())
    assert files and all("_draft_" in path.name for path in files)
    assert all(next(csv.reader(path.open(encoding="utf-8")))[0].startswith("DRAFT: a preview") for path in files)
    # Private to their user: a draft shows what the published report may still suppress.
    assert all(path.stat().st_mode & 0o077 == 0 for path in [*files, folder / "report-draft.md", folder / "tables-draft"])

    code, printed = run_cli("report", "--min-cell", "0", "--year", str(YEAR), "--out", str(folder / "internal.html"))
    assert code == 0
    code, printed = run_cli("report", "--list-published")
    assert code == 0 and "Nothing was published yet." in printed
    with engine.connect() as connection:
        assert connection.execute(sa.text("SELECT count(*) FROM published_cells")).scalar_one() == 0

    publish(folder)
    code, printed = run_cli("report", "--list-published")
    assert "top 10, en, html, min-cell 10" in printed and "Nothing was published" not in printed


def test_list_published_needs_no_year_but_report_does(engine) -> None:
    code, printed = run_cli("report")
    assert code == 2 and "--year is required" in printed


@pytest.mark.postgres
def test_publications_are_remembered_on_postgres_as_on_sqlite(tmp_path, scratch_postgres, monkeypatch) -> None:
    frame = synthetic_registrations(1000, range(YEAR - 1, YEAR + 1), seed=11, persons=800)
    variants = ((3, "en"), (4, "nl"), (5, "en"))
    found = {}
    for backend, url in (("postgresql", scratch_postgres), ("sqlite", f"sqlite:///{tmp_path / 'warehouse.sqlite'}")):
        monkeypatch.setenv("VICTIM_INTAKE_DATABASE_URL", url)
        warehouse_with(url, frame).dispose()
        folder = tmp_path / backend
        folder.mkdir()
        found[backend] = [
            read_back(publish(folder, top=top, language=language, output="csv"), "csv", language) for top, language in variants
        ]
        code, printed = run_cli("report", "--list-published")
        assert code == 0 and "top 4, nl, csv, min-cell 10" in printed
    assert [cell for cell in attack_releases(found["postgresql"]).cells if cell[2] > 0] == []
    # The same memory on both: the same cells suppressed in every variant.
    assert [suppressed(release) for release in found["postgresql"]] == [suppressed(release) for release in found["sqlite"]]
    engine = sa.create_engine(sa.make_url(scratch_postgres).set(drivername="postgresql+psycopg"))
    with engine.connect() as connection:
        kinds = connection.execute(sa.text("SELECT count(DISTINCT publication_id), bool_or(suppressed) FROM published_cells")).one()
    engine.dispose()
    assert tuple(kinds) == (3, True)


def test_the_trend_repeats_what_the_year_s_own_release_suppressed(tmp_path, engine) -> None:
    code, printed = run_cli("report", "--year", str(YEAR - 1), "--top", "3", "--lang", "en", "--format", "csv", "--out", str(tmp_path / "earlier"))
    assert code == 0, printed
    earlier = Released(0, [read_table(table, "en", YEAR - 1) for table in read_report(tmp_path / "earlier", "csv", TABLE_NAMES)])
    later = read_back(publish(tmp_path, output="csv"), "csv", "en")
    shown = {identity: value for table in earlier.tables for identity, value in table.cells.values()}
    shared = {
        identity: value for table in later.tables for identity, value in table.cells.values() if identity[1] == YEAR - 1 and identity in shown
    }
    assert shared and None in shared.values()
    assert all(shown[identity] == value for identity, value in shared.items())


def test_a_publication_made_meanwhile_is_taken_into_account(tmp_path, engine, monkeypatch) -> None:
    """Two reports made at the same time: the one recorded second is made again, against the first."""
    import reporting.build

    real_build = reporting.build.build_report
    calls = []

    def build_while_another_goes_out(connection, *arguments):
        built = real_build(connection, *arguments)
        if not calls:
            # Another report of the year is recorded after this one was built.
            other = real_build(connection, *arguments)
            publication = Publication(
                YEAR, "scale_and_nature", 10, "nl", "csv", 10, len(other.tables), datetime.now(UTC), "other", None, other.fingerprints[YEAR]
            )
            with engine.begin() as writer:
                record_publication(writer, publication, release_cells(other))
        calls.append(built.last_publication)
        return built

    monkeypatch.setattr(reporting.build, "build_report", build_while_another_goes_out)
    code, printed = run_cli("report", "--year", str(YEAR), "--out", str(tmp_path / "r.html"))
    assert code == 0, printed
    assert calls == [0, 1] and "Recorded as publication 2." in printed
