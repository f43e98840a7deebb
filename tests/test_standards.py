"""The statistics the registry owes: Eurostat's codes, a delivery that adds up to the year's
persons, and disclosure control across deliveries and reports."""

from __future__ import annotations

import csv
import itertools
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import sqlalchemy as sa
from disclosure_attack import pinned_sums
from published_tables import OTHER, read_report, read_table
from scipy.optimize import Bounds, LinearConstraint
from scipy.sparse import csr_array
from source_files import read_and_validate
from test_flow_end_to_end import run_cli
from test_report import warehouse_with

from schemas import standards
from schemas.partner_definition import load_definitions
from schemas.vocabulary import EXPLOITATION_TYPES, GENDERS
from sources.partner import PartnerSource
from victim_intake.synthetic.registrations import synthetic_registrations

YEAR = 2024
HEADER = ["sex", "age", "citizen", "exploitation", "value", "flag"]


def test_eu27_2020_is_fixed_whatever_the_year() -> None:
    assert len(standards.EU27_2020) == len(set(standards.EU27_2020)) == 27
    assert standards.citizen("NLD") == "NAT"
    assert standards.citizen("UNK") == "UNK"
    # Croatia joined in 2013, the United Kingdom left in 2020: EU27_2020 counts them so for every year.
    assert standards.citizen("HRV") == "EU27_2020_FOR"
    assert standards.citizen("GBR") == "NEU27_2020_FOR"
    assert [standards.citizen(code) for code in ("POL", "BGR", "ROU", "DEU", "SWE")] == ["EU27_2020_FOR"] * 5
    assert [standards.citizen(code) for code in ("NOR", "CHE", "UKR", "NGA", "TUR")] == ["NEU27_2020_FOR"] * 5


def test_codes_cover_every_canonical_category() -> None:
    assert {standards.SEX[gender] for gender in GENDERS} == {"F", "M", "UNK"}
    assert standards.SEX["other"] == "UNK"
    assert {standards.EXPLOITATION[form] for form in EXPLOITATION_TYPES} == {"SEX", "LAB", "OTH", "UNK"}
    assert [standards.EXPLOITATION[form] for form in ("criminal", "begging", "organ_removal", "other")] == ["OTH"] * 4
    assert standards.AGE == {"minor": "Y_LT18", "adult": "Y_GE18", "unknown": "UNK"}


@pytest.fixture
def frame() -> pd.DataFrame:
    rows = synthetic_registrations(1000, range(YEAR - 1, YEAR + 1), seed=11, persons=800)
    # Citizens of a late member state and of a state that left: their group must not follow the year.
    return rows.replace({"nationality": {"HUN": "HRV", "VNM": "GBR"}})


@pytest.fixture
def engine(isolated_settings, frame):
    engine = warehouse_with(f"sqlite:///{isolated_settings / 'warehouse.sqlite'}", frame)
    yield engine
    engine.dispose()


def first_registrations(frame: pd.DataFrame, year: int) -> pd.DataFrame:
    """Each person's first registration of the year, worked out here from the raw rows."""
    people = frame[frame["registration_year"] == year]
    people = people.assign(person_key=people["person_id"].fillna("registration:" + people["registration_id"]))
    return people.sort_values(["person_key", "reported_on", "registration_id"]).drop_duplicates("person_key")


def deliver(path: Path, *options: str) -> pd.DataFrame:
    code, output = run_cli("report", "--year", str(YEAR), "--standard", "eurostat", "--out", str(path), *options)
    assert code == 0, output
    with path.open(encoding="utf-8", newline="") as handle:
        rows = list(csv.reader(handle))
    assert rows[0] == HEADER
    return pd.DataFrame(rows[1:], columns=HEADER).astype({"value": int})


def test_delivery_adds_up_to_the_years_persons(tmp_path, engine, frame) -> None:
    delivered = deliver(tmp_path / "eurostat.csv")
    persons = first_registrations(frame, YEAR)
    assert delivered["value"].sum() == len(persons)
    by_citizen = persons["nationality"].map(standards.citizen).value_counts()
    pd.testing.assert_series_equal(delivered.groupby("citizen")["value"].sum().sort_index(), by_citizen.sort_index(), check_names=False)
    by_sex = persons["gender"].map(standards.SEX).value_counts()
    pd.testing.assert_series_equal(delivered.groupby("sex")["value"].sum().sort_index(), by_sex.sort_index(), check_names=False)
    assert {"HRV", "GBR"} <= set(persons["nationality"])

    # One row per combination that occurs, no totals, codes from the lists only.
    keys = delivered[HEADER[:4]]
    assert not keys.duplicated().any()
    assert (delivered["value"] > 0).all()
    for column, dimension in zip(HEADER[:4], ("sex", "age", "citizen", "exploitation"), strict=True):
        assert set(delivered[column]) <= set(standards.DIMENSIONS[dimension][1])
    # Every value is delivered; each cell under 10 carries the flag.
    assert set(delivered["flag"]) == {"", "c"}
    assert (delivered.loc[delivered["value"] < 10, "flag"] == "c").all()

    unflagged = deliver(tmp_path / "internal.csv", "--min-cell", "0")
    assert set(unflagged["flag"]) == {""}
    assert unflagged["value"].tolist() == delivered["value"].tolist()

    with engine.connect() as connection:
        recorded = connection.execute(sa.text("SELECT report, min_cell, table_count FROM publications ORDER BY publication_id")).all()
    assert [tuple(row) for row in recorded] == [("eurostat", 10, 1), ("eurostat", 0, 1)]
    code, output = run_cli("report", "--list-published", "--year", str(YEAR))
    assert code == 0 and output.count("eurostat, min-cell") == 2


TABLES = {
    "exploitation_type", "gender", "minor", "nationality", "dutch",
    "exploitation_type_by_gender", "exploitation_type_by_minor", "nationality_by_exploitation_type",
}
_ATOM_DIMENSIONS = ("exploitation_type", "gender", "minor", "nationality")


def attack_delivery_and_report(engine, delivered: pd.DataFrame, report_folder: Path, long_tables: Path | None = None) -> list[tuple]:
    """An attacker holding a delivery and a report of the year, who writes every person of the
    year as one of the categories (form, gender, minor, nationality), written apart from
    `reporting.standards`: returns every suppressed or flagged count (not zero) pinned to one value."""
    with engine.connect() as connection:
        truth = pd.read_sql(
            sa.text(f"SELECT {', '.join(_ATOM_DIMENSIONS)}, COUNT(*) AS n FROM mart_person_years WHERE registration_year = :y "
                    f"GROUP BY {', '.join(_ATOM_DIMENSIONS)}"),
            connection, params={"y": YEAR},
        )
    nationalities = sorted(set(truth["nationality"]))
    atoms = list(itertools.product(EXPLOITATION_TYPES, GENDERS, ("minor", "adult", "unknown"), nationalities))
    true = dict(zip(map(tuple, truth[list(_ATOM_DIMENSIONS)].to_numpy()), truth["n"], strict=True))
    facts: list[tuple[str, np.ndarray, int | None]] = []  # (what, atoms summed, published value or None)

    def members(test) -> np.ndarray:
        return np.array([bool(test(dict(zip(_ATOM_DIMENSIONS, atom, strict=True)))) for atom in atoms])

    present = {tuple(row[:4]): (row[4], row[5]) for row in delivered.itertuples(index=False)}
    for combination in itertools.product(*(standards.DIMENSIONS[d][1] for d in ("sex", "age", "citizen", "exploitation"))):
        value, flag = present.get(combination, (0, ""))
        sex, age, citizen, form = combination

        def test(atom, sex=sex, age=age, citizen=citizen, form=form) -> bool:
            return (standards.SEX[atom["gender"]] == sex and standards.AGE[atom["minor"]] == age
                    and standards.citizen(atom["nationality"]) == citizen and standards.EXPLOITATION[atom["exploitation_type"]] == form)

        facts.append((f"eurostat {combination}", members(test), None if flag == "c" else value))
    for table in read_report(report_folder, "csv", sorted(TABLES)):
        if table.name not in TABLES:
            continue
        read = read_table(table, "en", YEAR)
        named = [code for code in read.named.get("nationality", []) if code != OTHER]
        for (identity, value) in read.cells.values():
            measure, _, pairs = identity
            if measure != "persons":
                continue

            def test(atom, pairs=pairs, named=named) -> bool:
                for dimension, code in pairs:
                    if dimension == "dutch":
                        group = "dutch" if atom["nationality"] == "NLD" else "unknown" if atom["nationality"] == "UNK" else "non_dutch"
                        if group != code:
                            return False
                    elif dimension == "nationality" and code == OTHER:
                        if atom["nationality"] in named or atom["nationality"] == "UNK":
                            return False
                    elif atom[dimension] != code:
                        return False
                return True

            facts.append((f"report {table.name} {pairs}", members(test), value))
    if long_tables is not None:
        with long_tables.open(encoding="utf-8", newline="") as handle:
            for row in csv.DictReader(handle):
                assert row["table"] == "unodc" and row["measure"] == "persons"

                def test(atom, row=row) -> bool:
                    person = standards.unodc_person(atom["gender"], atom["minor"])
                    return row["row"] in ("total", atom["exploitation_type"]) and row["column"] in ("total", person)

                facts.append((f"unodc {row['row']} {row['column']}", members(test), None if row["value"] == "x" else int(row["value"])))
    matrix = csr_array(np.array([chosen.astype(float) for _, chosen, value in facts if value is not None]))
    values = np.array([value for _, _, value in facts if value is not None], dtype=float)
    hidden = [(what, chosen) for what, chosen, value in facts if value is None]
    floors = csr_array(np.array([chosen.astype(float) for _, chosen in hidden]) if hidden else np.zeros((0, len(atoms))))
    constraints = [LinearConstraint(matrix, values, values), LinearConstraint(floors, 1, np.inf)]
    bounds = Bounds(np.zeros(len(atoms)), np.full(len(atoms), 1e6))
    actual = [sum(true.get(atom, 0) for atom, inside in zip(atoms, chosen, strict=True) if inside) for _, chosen in hidden]
    sums = {index: chosen.astype(float) for index, (_, chosen) in enumerate(hidden)}
    return [(hidden[index][0], actual[index]) for index in sorted(pinned_sums(sums, dict(enumerate(actual)), constraints, bounds))]


def test_a_delivery_and_a_later_report_of_the_year_pin_no_hidden_cell(tmp_path, engine) -> None:
    delivered = deliver(tmp_path / "eurostat.csv")
    assert {"", "c"} == set(delivered["flag"])
    report = tmp_path / "report"
    code, output = run_cli("report", "--year", str(YEAR), "--format", "csv", "--lang", "en", "--out", str(report))
    assert code == 0, output
    assert attack_delivery_and_report(engine, delivered, report) == []


def test_a_delivery_after_a_report_that_pins_its_cells_flags_every_cell(tmp_path, engine) -> None:
    """The report tells how many persons of sexual exploitation have another or unknown gender; the
    delivery splits them by age and citizenship, and leaves out the empty combinations: cells of 1
    follow whatever it flags. It still goes out, with every cell flagged, and says so."""
    code, output = run_cli("report", "--year", str(YEAR), "--format", "csv", "--lang", "en", "--out", str(tmp_path / "report"))
    assert code == 0, output
    code, output = run_cli("report", "--year", str(YEAR), "--standard", "eurostat", "--out", str(tmp_path / "eurostat.csv"))
    assert code == 0, output
    assert "follow from earlier releases" in output and "every cell is flagged c" in output
    with (tmp_path / "eurostat.csv").open(encoding="utf-8", newline="") as handle:
        rows = list(csv.reader(handle))
    assert {row[5] for row in rows[1:]} == {"c"}


def test_unodc_codes() -> None:
    assert [standards.unodc_person(g, m) for g, m in (("female", "minor"), ("male", "minor"), ("female", "adult"), ("male", "adult"))] == [
        "girls", "boys", "women", "men"
    ]
    assert {standards.unodc_person(g, m) for g in ("other", "unknown") for m in ("minor", "adult", "unknown")} == {"unknown"}
    assert standards.unodc_person("female", "unknown") == "unknown"


def read_long(path: Path) -> pd.DataFrame:
    return pd.read_csv(path, dtype=str, keep_default_na=False)


def test_unodc_tables_add_up_and_every_release_of_the_year_together_pins_nothing(tmp_path, engine, frame) -> None:
    delivered = deliver(tmp_path / "eurostat.csv")
    code, output = run_cli("report", "--year", str(YEAR), "--standard", "unodc", "--out", str(tmp_path / "unodc.csv"))
    assert code == 0, output
    unodc = read_long(tmp_path / "unodc.csv")
    assert set(unodc["column"]) == {"girls", "boys", "women", "men", "unknown", "total"}
    persons = first_registrations(frame, YEAR)
    minor = persons["is_minor"].map({True: "minor", False: "adult"}).fillna("unknown")
    people = pd.DataFrame({"row": persons["exploitation_type"].to_numpy(), "column": [
        standards.unodc_person(g, m) for g, m in zip(persons["gender"], minor, strict=True)
    ]})
    # Every number printed is the count worked out here; suppressed ones are x.
    for row in unodc.itertuples(index=False):
        chosen = people[(row.row == "total") | (people["row"] == row.row)]
        chosen = chosen[(row.column == "total") | (chosen["column"] == row.column)]
        assert row.value == "x" or int(row.value) == len(chosen), row
    assert len(unodc) == 8 * 6
    assert (unodc["value"] == "x").any()

    report = tmp_path / "report"
    code, output = run_cli("report", "--year", str(YEAR), "--format", "csv", "--lang", "en", "--out", str(report))
    assert code == 0, output
    assert attack_delivery_and_report(engine, delivered, report, tmp_path / "unodc.csv") == []
    with engine.connect() as connection:
        reports = connection.execute(sa.text("SELECT report FROM publications ORDER BY publication_id")).scalars().all()
    assert reports == ["eurostat", "unodc", "scale_and_nature"]


def test_border_of_nationality_and_country() -> None:
    from reporting.rapporteur import border

    nationality = pd.Series(["NLD", "NLD", "NLD", "POL", "UNK", "UNK", "UNK", "POL"])
    country = pd.Series(["NLD", "DEU", "UNK", "NLD", "NLD", "BEL", "UNK", "UNK"])
    assert border(nationality, country).tolist() == [
        "domestic", "cross_border", "unknown", "cross_border", "unknown", "cross_border", "unknown", "cross_border"
    ]


@pytest.fixture
def monitored(isolated_settings, frame):
    rng = np.random.default_rng(3)
    choices = np.array([True, False, None], dtype=object)
    frame = frame.assign(
        b8_reflection_offered=pd.array(choices[rng.integers(0, 3, len(frame))], dtype="boolean"),
        report_filed=pd.array(choices[rng.integers(0, 3, len(frame))], dtype="boolean"),
    )
    engine = warehouse_with(f"sqlite:///{isolated_settings / 'warehouse.sqlite'}", frame)
    yield engine, frame
    engine.dispose()


def test_rapporteur_tables_count_what_the_registrations_hold(tmp_path, monitored) -> None:
    from schemas.codelists.catalogue import sectors

    engine, frame = monitored
    code, output = run_cli("report", "--year", str(YEAR), "--standard", "rapporteur", "--out", str(tmp_path / "monitor.csv"))
    assert code == 0, output
    tables = read_long(tmp_path / "monitor.csv")
    assert set(tables["table"]) == {
        "rapporteur_sector_group", "rapporteur_border", "rapporteur_b8_by_source", "rapporteur_b8_by_unit",
        "rapporteur_report_by_source", "rapporteur_report_by_unit",
    }
    rows = frame[frame["registration_year"] == YEAR]
    group_of = {sector.code: sector.group for sector in sectors()}
    yes_no = {"b8": ("offered", "not_offered"), "report": ("filed", "not_filed")}
    registrations = pd.DataFrame({
        "sector_group": rows["exploitation_sector"].map(group_of).fillna("unknown"),
        "exploitation_type": rows["exploitation_type"],
        "source": rows["source_kind"],
        "unit": rows["reporting_unit"],
        **{
            word: rows[column].map({True: words[0], False: words[1]}).fillna("unknown")
            for word, column, words in (("b8", "b8_reflection_offered", yes_no["b8"]), ("report", "report_filed", yes_no["report"]))
        },
    })
    persons = first_registrations(frame, YEAR)
    people = pd.DataFrame({
        "exploitation_type": persons["exploitation_type"].to_numpy(),
        "border": np.where(
            (persons["nationality"] == "NLD") & (persons["exploitation_country"] == "NLD"), "domestic",
            np.where(~persons["nationality"].isin(["NLD", "UNK"]) | ~persons["exploitation_country"].isin(["NLD", "UNK"]), "cross_border", "unknown"),
        ),
    })
    checked = 0
    for row in tables.itertuples(index=False):
        name = row.table.removeprefix("rapporteur_")
        if name == "border":
            source, row_column, column_column = people, "exploitation_type", "border"
        elif name == "sector_group":
            source, row_column, column_column = registrations, "exploitation_type", "sector_group"
        else:
            word, _, by = name.split("_")
            source, row_column, column_column = registrations, by, word
        chosen = source[((row.row == "total") | (source[row_column] == row.row)) & ((row.column == "total") | (source[column_column] == row.column))]
        if row.value != "x":
            assert int(row.value) == len(chosen), row
            checked += 1
        else:
            assert len(chosen) > 0
    assert checked > 100 and (tables["value"] == "x").any()
    with engine.connect() as connection:
        assert connection.execute(sa.text("SELECT report FROM publications")).scalars().all() == ["rapporteur"]

    # A report of the year afterwards is protected jointly with the monitor's tables.
    code, output = run_cli("report", "--year", str(YEAR), "--format", "csv", "--lang", "en", "--out", str(tmp_path / "report"))
    assert code == 0, output


@pytest.fixture
def with_reference(isolated_settings, frame):
    """The national rows, and reference rows (unlinked, as CTDC's) of the same years."""
    rng = np.random.default_rng(8)
    reference = frame.sample(600, random_state=4).assign(
        scope="reference", source="ctdc", source_kind="ctdc", person_id=None, registration_id=[f"ref{n}" for n in range(600)],
    )
    reference["nationality"] = np.array(["UKR", "ROU", "NGA", "HRV", "GBR", "UNK", "NLD"], dtype=object)[rng.integers(0, 7, 600)]
    engine = warehouse_with(f"sqlite:///{isolated_settings / 'warehouse.sqlite'}", pd.concat([frame, reference], ignore_index=True))
    yield engine, frame, reference
    engine.dispose()


def test_report_sets_the_reference_data_beside_the_national_figures(tmp_path, with_reference) -> None:
    from reporting import labels
    from reporting.reference import ROWS

    engine, frame, reference = with_reference
    folder = tmp_path / "report"
    code, output = run_cli("report", "--year", str(YEAR), "--format", "csv", "--lang", "en", "--out", str(folder))
    assert code == 0, output
    persons = first_registrations(frame, YEAR)
    theirs = reference[reference["registration_year"] == YEAR]
    categories = {
        "exploitation_type": (persons["exploitation_type"], theirs["exploitation_type"]),
        "gender": (persons["gender"], theirs["gender"]),
        "minor": tuple(part["is_minor"].map({True: "minor", False: "adult"}).fillna("unknown") for part in (persons, theirs)),
        "citizen": tuple(part["nationality"].map(standards.citizen) for part in (persons, theirs)),
    }
    for dimension, codes in ROWS.items():
        with (folder / f"{YEAR}_reference_{dimension}.csv").open(encoding="utf-8", newline="") as handle:
            rows = list(csv.reader(handle))
        assert rows[0][1:] == ["Persons", "Reference registrations"]
        assert rows[-1] == ["Total", str(len(persons)), str(len(theirs))]
        by_label = {labels.category("en", dimension, code): code for code in codes}
        for label, national, other in rows[1:-1]:
            code = by_label[label]
            for printed, values in ((national, categories[dimension][0]), (other, categories[dimension][1])):
                truth = int((values == code).sum())
                assert truth > 0 if printed == "x" else int(printed) == truth
    # The reference rows count in no national table: the year's persons are the national ones.
    with (folder / f"{YEAR}_overview.csv").open(encoding="utf-8", newline="") as handle:
        overview = list(csv.reader(handle))
    assert [str(YEAR), str(len(frame[frame["registration_year"] == YEAR])), str(len(persons))] in overview
    for output in ("md", "html"):
        code, printed = run_cli("report", "--year", str(YEAR), "--format", output, "--lang", "nl", "--out", str(tmp_path / f"report.{output}"))
        assert code == 0, printed
        assert "Nederland naast de referentiegegevens" in (tmp_path / f"report.{output}").read_text(encoding="utf-8")


def test_no_reference_table_without_reference_rows(tmp_path, engine) -> None:
    code, output = run_cli("report", "--year", str(YEAR), "--format", "csv", "--lang", "en", "--out", str(tmp_path / "report"))
    assert code == 0, output
    assert not list((tmp_path / "report").glob("*reference*"))


def test_ctdc_age_bins_and_k_anonymity() -> None:
    from schemas import ctdc
    from warehouse.ctdc_export import QUASI_IDENTIFIERS, k_anonymous

    assert [ctdc.age_bin(age) for age in (0, 8, 9, 17, 18, 20, 29, 30, 47, 48, 90, None)] == [
        "0--8", "0--8", "9--17", "9--17", "18--20", "18--20", "27--29", "30--38", "39--47", "48+", "48+", "-99"
    ]
    rng = np.random.default_rng(2)
    frame = pd.DataFrame({
        "gender": np.array(["Female", "Male"], dtype=object)[rng.integers(0, 2, 500)],
        "ageBroad": np.array(["18--20", "21--23", "9--17"], dtype=object)[rng.integers(0, 3, 500)],
        "citizenship": np.array(["RO", "NL", "UA", "LU"], dtype=object)[rng.choice(4, 500, p=[0.5, 0.45, 0.04, 0.01])],
        "CountryOfExploitation": "NL",
        "yearOfRegistration": "2024",
    })
    kept, suppressed, withheld = k_anonymous(frame, 11)
    assert len(kept) + withheld == 500
    assert kept.groupby(list(QUASI_IDENTIFIERS)).size().min() >= 11
    assert suppressed["citizenship"] > 0 and "LU" not in set(kept["citizenship"])
    # Groups of 11 or more keep every value.
    assert (kept["citizenship"] == "RO").sum() == (frame["citizenship"] == "RO").sum()


def test_export_ctdc_writes_the_global_layout_k_anonymous_and_audited(tmp_path, engine, frame) -> None:
    from schemas import ctdc
    from warehouse.ctdc_export import QUASI_IDENTIFIERS, K

    path = tmp_path / "ctdc.csv"
    code, output = run_cli("export", "--standard", "ctdc", "--year", str(YEAR), "--out", str(path))
    assert code == 0, output
    exported = pd.read_csv(path, dtype=str, keep_default_na=False)
    assert list(exported.columns) == list(ctdc.GLOBAL_COLUMNS)
    persons = first_registrations(frame, YEAR)
    with engine.connect() as connection:
        action, detail = connection.execute(sa.text("SELECT action, detail FROM privacy_audit WHERE action = 'export'")).one()
    withheld = int(detail.rsplit("rows withheld: ", 1)[1])
    assert len(exported) + withheld == len(persons)
    assert len(exported) > len(persons) / 2, detail
    assert exported.groupby(list(QUASI_IDENTIFIERS)).size().min() >= K
    assert set(exported["yearOfRegistration"]) == {str(YEAR)}

    # The file reads back through the shipped CTDC definition: every row valid, forms as registered.
    definition = load_definitions()["ctdc"]
    _, validated = read_and_validate(PartnerSource(definition), path)
    assert validated.quarantined.empty and len(validated.records) == len(exported)
    read_back = validated.records["exploitation_type"].value_counts()
    registered = persons["exploitation_type"].value_counts()
    assert all(read_back[form] <= registered[form] for form in read_back.index)
    assert read_back.sum() >= len(persons) - withheld

    code, output = run_cli("export", "--standard", "ctdc", "--year", "1999", "--out", str(tmp_path / "none.csv"))
    assert code == 2 and "no national registrations of 1999" in output


@pytest.mark.postgres
def test_postgres_gives_the_same_standards_as_sqlite(tmp_path, frame, scratch_postgres) -> None:
    from reporting.build import build_report, build_standard
    from warehouse.ctdc_export import ctdc_export

    rng = np.random.default_rng(3)
    choices = np.array([True, False, None], dtype=object)
    rows = frame.assign(b8_reflection_offered=pd.array(choices[rng.integers(0, 3, len(frame))], dtype="boolean"))
    reference = frame.sample(300, random_state=1).assign(
        scope="reference", source="ctdc", person_id=None, registration_id=[f"ref{n}" for n in range(300)]
    )
    rows = pd.concat([rows, reference], ignore_index=True)
    made = []
    for url in (scratch_postgres, f"sqlite:///{tmp_path / 'w.sqlite'}"):
        engine = warehouse_with(url, rows)
        with engine.connect() as connection:
            built = [build_standard(connection, YEAR, 10, standard)[0] for standard in ("eurostat", "unodc", "rapporteur")]
            built.append(build_report(connection, YEAR, 10))
            exported = ctdc_export(connection, YEAR).frame
        engine.dispose()
        made.append(([(report.values, report.hidden) for report in built], exported))
    (on_postgres, exported_postgres), (on_sqlite, exported_sqlite) = made
    assert on_postgres == on_sqlite
    pd.testing.assert_frame_equal(exported_postgres, exported_sqlite)
    assert any(cell[0] == "reference" for cell in on_sqlite[3][0])
