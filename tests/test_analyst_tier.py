"""The analyst tier: every class covers K persons, no free text, determinism, erasure, and the analyst login."""

from __future__ import annotations

import datetime as dt
import itertools
import stat
import time
import uuid
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pandas as pd
import pytest
import sqlalchemy as sa
from pycanon import anonymity
from scratch_db import POSTGRES_ADMIN_URL
from test_flow_end_to_end import run_cli
from test_report import warehouse_with

from config.settings import current
from pseudonyms.hashing import KeyedHasher
from victim_intake.synthetic.registrations import synthetic_registrations
from warehouse.analyst_tier import ANALYST_RELATIONS, ClassUnderK, check_classes, refresh_tier, tier_secret
from warehouse.anonymise import Lattice
from warehouse.erasure import erase_person, purge_older_than
from warehouse.hierarchies import QUASI_IDENTIFIERS, TOP
from warehouse.marts import mark_all_stale, refresh_marts

YEARS = range(2021, 2025)
CANARY = "Kerkstraat 9 canary"
CODED = (
    "gender", "nationality", "exploitation_country", "exploitation_municipality", "exploitation_sector",
    "reporting_unit", "source_kind", "exploitation_type",
)


@pytest.fixture
def frame() -> pd.DataFrame:
    rows = synthetic_registrations(2400, YEARS, seed=11, persons=1800)
    # Rows written outside the pipeline: free text in every coded column.
    for offset, column in enumerate(CODED):
        rows.loc[rows.index[offset * 7 : offset * 7 + 7], column] = CANARY
    return rows


def tier(engine: sa.Engine, relation: str = "analyst_registrations") -> pd.DataFrame:
    with engine.connect() as connection:
        found = pd.read_sql(sa.text(f"SELECT * FROM {relation}"), connection)
    return found.sort_values(list(found.columns), ignore_index=True, na_position="last")


def persons_of(rows: pd.DataFrame) -> pd.DataFrame:
    """One row per person and year, as the marts count persons."""
    return rows.drop_duplicates(["registration_year", "analyst_person"])


def test_every_class_of_persons_covers_k(tmp_path, frame, monkeypatch) -> None:
    for k in (5, 8):
        monkeypatch.setenv("VICTIM_INTAKE_ANALYST_K", str(k))
        engine = warehouse_with(f"sqlite:///{tmp_path / f'k{k}.sqlite'}", frame)
        rows = tier(engine)
        assert len(rows) == len(frame)
        persons = persons_of(rows)
        # A person's registrations of a year all carry the person's quasi-identifiers.
        assert (rows.groupby(["registration_year", "analyst_person"])[list(QUASI_IDENTIFIERS)].nunique() == 1).all().all()
        for _, year in persons.groupby("registration_year"):
            assert anonymity.k_anonymity(year.reset_index(drop=True), list(QUASI_IDENTIFIERS)) >= k
        assert persons.groupby(["registration_year", *QUASI_IDENTIFIERS]).size().min() >= k
        levels = tier(engine, "analyst_tier_levels")
        # One scheme for every year, and the suppression budget (2 % of a year's persons, at least K) kept.
        assert levels.groupby("quasi_identifier")["level"].nunique().eq(1).all()
        assert (levels["suppressed"] <= (levels["persons"] * 0.02).clip(lower=k)).all()
        assert set(levels["k"]) == {k}
        counts = tier(engine, "analyst_yearly_counts")
        over_quasi = counts[counts["dimension"].isin(QUASI_IDENTIFIERS)]
        assert over_quasi["count"].min() >= k
        engine.dispose()


def test_the_tier_generalises_no_more_than_it_must(tmp_path) -> None:
    # Many persons of few kinds: every class is large at the finest levels, so nothing is generalised.
    rows = synthetic_registrations(3000, range(2024, 2025), seed=3, persons=2500)
    for column, value in (("exploitation_country", "NLD"), ("nationality", "NLD"), ("exploitation_sector", "unknown"),
                          ("exploitation_municipality", "GM0363"), ("reporting_unit", "PE-AM"), ("age_group", "23-29")):
        rows[column] = value
    rows["reported_on"] = pd.Timestamp("2024-03-15")
    engine = warehouse_with(f"sqlite:///{tmp_path / 'w.sqlite'}", rows)
    levels = tier(engine, "analyst_tier_levels")
    assert set(levels["level"]) == {0}
    assert set(tier(engine)["reported"]) == {"2024-03"}
    engine.dispose()


def test_no_free_text_and_no_steward_key_in_the_tier(tmp_path, frame) -> None:
    engine = warehouse_with(f"sqlite:///{tmp_path / 'w.sqlite'}", frame)
    for relation in ANALYST_RELATIONS:
        shown = tier(engine, relation.name).astype(str)
        assert not shown.apply(lambda column: column.str.contains("canary", case=False)).any().any(), relation.name
    rows = tier(engine)
    assert not set(rows["analyst_person"]) & set(frame["person_id"].dropna())
    assert not set(rows["analyst_person"]) & set(frame["registration_id"])
    # The same person has another key in every year: classes of different years cannot be intersected.
    with engine.connect() as connection:
        hasher = KeyedHasher(tier_secret(connection), "analyst-tier person key")
    person = frame["person_id"].value_counts().index[0]
    keys = {hasher.digest(f"{year}\x1f{person}") for year in frame.loc[frame["person_id"] == person, "registration_year"]}
    assert len(keys) == frame.loc[frame["person_id"] == person, "registration_year"].nunique() > 1
    assert keys <= set(rows["analyst_person"])
    engine.dispose()


def test_an_unchanged_warehouse_gives_an_identical_tier(tmp_path, frame) -> None:
    engine = warehouse_with(f"sqlite:///{tmp_path / 'w.sqlite'}", frame)
    before = {relation.name: tier(engine, relation.name) for relation in ANALYST_RELATIONS}
    with engine.begin() as connection:
        mark_all_stale(connection)
        assert refresh_marts(connection)
    for relation in ANALYST_RELATIONS:
        pd.testing.assert_frame_equal(tier(engine, relation.name), before[relation.name])
    engine.dispose()


def test_erasure_takes_the_person_out_of_the_tier_at_once(tmp_path, frame) -> None:
    engine = warehouse_with(f"sqlite:///{tmp_path / 'w.sqlite'}", frame)
    person = frame["person_id"].value_counts().index[0]
    years = set(frame.loc[frame["person_id"] == person, "registration_year"])
    with engine.connect() as connection:
        hasher = KeyedHasher(tier_secret(connection), "analyst-tier person key")
    keys = {hasher.digest(f"{year}\x1f{person}") for year in years}
    assert keys <= set(tier(engine)["analyst_person"])
    persons_before = persons_of(tier(engine)).groupby("registration_year").size()
    erase_person(engine, person, b"\0" * 32)
    # Read straight away, before any other refresh: the erasure's own transaction updated the tier.
    rows = tier(engine)
    assert not keys & set(rows["analyst_person"])
    assert len(rows) == (frame["person_id"] != person).sum()
    persons_after = persons_of(rows).groupby("registration_year").size()
    assert ((persons_before - persons_after).loc[sorted(years)] == 1).all()
    counts = tier(engine, "analyst_yearly_counts")
    totals = counts[(counts["measure"] == "persons") & (counts["dimension"] == "gender")].groupby("registration_year")["count"].sum()
    assert (totals == persons_after).all()
    engine.dispose()


def test_export_writes_the_tier_alone_privately_and_audited(frame) -> None:
    engine = warehouse_with(current().warehouse_url, frame)
    expected = tier(engine)
    out = current().home / "exports" / "analyst.sqlite"
    code, output = run_cli("export", "--tier", "analyst", "--out", str(out))
    assert code == 0, output
    assert stat.S_IMODE(out.stat().st_mode) == 0o600
    exported = sa.create_engine(f"sqlite:///{out}")
    with exported.connect() as connection:
        names = set(connection.execute(sa.text("SELECT name FROM sqlite_master WHERE type = 'table'")).scalars())
    assert names == {relation.name for relation in ANALYST_RELATIONS}
    pd.testing.assert_frame_equal(tier(exported), expected, check_dtype=False)
    exported.dispose()
    folder = out.with_name("analyst.parquet")
    code, output = run_cli("export", "--tier", "analyst", "--out", str(folder))
    assert code == 0, output
    assert stat.S_IMODE(folder.stat().st_mode) == 0o700
    assert sorted(path.name for path in folder.iterdir()) == sorted(f"{relation.name}.parquet" for relation in ANALYST_RELATIONS)
    assert all(stat.S_IMODE(path.stat().st_mode) == 0o600 for path in folder.iterdir())
    assert len(pd.read_parquet(folder / "analyst_registrations.parquet")) == len(expected)
    code, output = run_cli("export", "--tier", "analyst", "--out", str(out))
    assert code == 2 and "exists" in output
    for arguments in (("--tier", "analyst", "--standard", "ctdc", "--year", "2024"), (), ("--tier", "analyst", "--year", "2024")):
        code, output = run_cli("export", *arguments, "--out", str(out.with_name("other.sqlite")))
        assert code == 2, output
    assert not out.with_name("other.sqlite").exists()
    with engine.connect() as connection:
        audited = connection.execute(sa.text("SELECT actor, detail FROM privacy_audit WHERE action = 'export' ORDER BY audit_id")).all()
    assert [detail.rsplit("to ", 1)[1] for _, detail in audited] == [str(out), str(folder)]
    assert all(actor for actor, _ in audited) and f"analyst_registrations: {len(expected)} row(s)" in audited[0][1]
    engine.dispose()


@pytest.mark.postgres
def test_an_analyst_login_reads_the_tier_and_nothing_of_the_stewards(frame, scratch_postgres, monkeypatch) -> None:
    suffix = uuid.uuid4().hex[:8]
    analysts, stewards, alice = f"analysts_{suffix}", f"stewards_{suffix}", f"alice_{suffix}"
    monkeypatch.setenv("VICTIM_INTAKE_ANALYST_ROLE", analysts)
    monkeypatch.setenv("VICTIM_INTAKE_STEWARD_ROLE", stewards)
    engine = warehouse_with(scratch_postgres, frame)
    admin = sa.create_engine(POSTGRES_ADMIN_URL, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as connection:
            connection.execute(sa.text(f"CREATE ROLE {alice} LOGIN IN ROLE {analysts}"))
        login = sa.create_engine(sa.make_url(scratch_postgres).set(username=alice))
        with login.connect() as connection:
            rows = pd.read_sql(sa.text("SELECT * FROM analyst_registrations"), connection)
            assert len(rows) == len(frame)
            persons = persons_of(rows)
            assert anonymity.k_anonymity(persons.reset_index(drop=True), ["registration_year", *QUASI_IDENTIFIERS]) >= 5
            assert (rows[list(QUASI_IDENTIFIERS)] != TOP).any().any()
            for relation in ("analyst_yearly_counts", "analyst_yearly_crossings", "analyst_tier_levels"):
                assert connection.execute(sa.text(f"SELECT count(*) FROM {relation}")).scalar_one() > 0
            for forbidden in (
                "registrations", "mart_person_years", "mart_yearly_counts", "mart_yearly_crossings", "publications",
                "vault.vault_identities", "vault.person_links", "vault.tier_secrets", "vault.privacy_audit",
            ):
                with pytest.raises(sa.exc.ProgrammingError, match="permission denied"):
                    with connection.begin_nested():
                        connection.execute(sa.text(f"SELECT 1 FROM {forbidden} LIMIT 1"))
        login.dispose()
        # The default analyst role of earlier migrations keeps nothing here.
        with engine.connect() as connection:
            granted = connection.execute(
                sa.text("SELECT count(*) FROM information_schema.role_table_grants WHERE grantee = 'victim_intake_analyst'")
            ).scalar_one()
        assert granted == 0
    finally:
        engine.dispose()
        with admin.connect() as connection:
            connection.execute(sa.text(f"DROP ROLE IF EXISTS {alice}"))
        database = sa.create_engine(scratch_postgres, isolation_level="AUTOCOMMIT")
        with database.connect() as connection:
            for role in (analysts, stewards):
                connection.execute(sa.text(f"DROP OWNED BY {role}"))
        database.dispose()
        with admin.connect() as connection:
            for role in (analysts, stewards):
                connection.execute(sa.text(f"DROP ROLE IF EXISTS {role}"))
        admin.dispose()


@pytest.mark.parametrize(("seed", "k", "share"), [(4, 5, 0.02), (5, 3, 0.05), (6, 8, 0.01), (7, 5, 0.0)])
def test_the_search_finds_the_node_of_least_loss(seed, k, share) -> None:
    # Against the plain definition: every node judged on the persons themselves, without roll-up, bound or probe.
    rng = np.random.default_rng(seed)
    persons = 900
    years = rng.choice([2023, 2024, 2025], size=persons, p=[0.5, 0.45, 0.05])
    hierarchy = [np.arange(12), np.arange(12) // 3, np.arange(12) // 6, np.zeros(12, np.int64)]
    maps = [hierarchy, [np.arange(3), np.zeros(3, np.int64)], hierarchy, [np.arange(4), np.arange(4) // 2, np.zeros(4, np.int64)]]
    codes = [rng.integers(0, 12, persons), rng.integers(0, 3, persons), rng.zipf(1.6, persons).clip(max=12) - 1, rng.integers(0, 4, persons)]
    lattice = Lattice(years, codes, maps, k, share)
    scheme = lattice.search(np.arange(persons))
    judged = {}
    for node in itertools.product(range(4), range(2), range(4), range(3)):
        outliers = np.bincount(lattice.year_index[lattice.outliers(lattice.ids(node))], minlength=3)
        per_year = lattice.padded(outliers)
        if np.all(per_year <= lattice.budget):
            height = lattice.height(node)
            judged[node] = (height + per_year[~lattice.small].sum() / persons * (1 - height), height, node)
    assert scheme.levels == min(judged.values())[2]
    assert scheme.loss == pytest.approx(min(judged.values())[0])
    ids = lattice.ids(scheme.levels)
    kept = ~scheme.suppressed
    assert (np.bincount(ids[kept])[np.unique(ids[kept])] >= k).all()
    assert all(count == 0 or count >= k for count in np.bincount(lattice.year_index[scheme.suppressed], minlength=3))


def test_purge_takes_old_years_out_of_the_tier(tmp_path, frame) -> None:
    engine = warehouse_with(f"sqlite:///{tmp_path / 'w.sqlite'}", frame)
    purge_older_than(engine, 1, today=dt.date(2024, 6, 1))
    rows = tier(engine)
    with engine.connect() as connection:
        kept = pd.read_sql(sa.text("SELECT registration_year, count(*) AS n FROM registrations GROUP BY registration_year"), connection)
    assert len(rows) == kept["n"].sum() < len(frame)
    assert rows.groupby("registration_year").size().to_dict() == kept.set_index("registration_year")["n"].to_dict()
    levels = tier(engine, "analyst_tier_levels").groupby("registration_year")["persons"].first()
    assert levels.to_dict() == persons_of(rows).groupby("registration_year").size().to_dict()
    engine.dispose()


@pytest.mark.postgres
def test_two_refreshes_at_once_leave_one_tier(frame, scratch_postgres) -> None:
    engine = warehouse_with(scratch_postgres, frame)
    with engine.connect() as first:
        first.begin()
        refresh_tier(first)
        with ThreadPoolExecutor(1) as pool:
            # The second refresh waits for the first one's transaction, then replaces its rows.
            waiting = pool.submit(_refresh_in_own_transaction, engine)
            # Let the second refresh run until it waits for a lock held by the first.
            with engine.connect() as watcher:
                for _ in range(600):
                    blocked = watcher.execute(
                        sa.text("SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'")
                    ).scalar_one()
                    watcher.rollback()
                    if blocked:
                        break
                    time.sleep(0.1)
            assert blocked and not waiting.done()
            first.commit()
            waiting.result(timeout=120)
    assert len(tier(engine)) == len(frame)
    engine.dispose()


def _refresh_in_own_transaction(engine: sa.Engine) -> None:
    with engine.begin() as connection:
        refresh_tier(connection)


def test_a_class_under_k_is_never_written() -> None:
    persons = pd.DataFrame({"registration_year": [2024] * 10, **{name: ["*"] * 10 for name in QUASI_IDENTIFIERS}})
    check_classes(persons, 5)
    persons.loc[:1, "gender"] = "male"
    with pytest.raises(ClassUnderK):
        check_classes(persons, 5)
    # A year of fewer than K persons is one class of its own, suppressed whole: nothing smaller can be shown.
    check_classes(persons.iloc[:3].assign(gender="*"), 5)
