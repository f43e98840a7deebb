"""The checks every run makes of the warehouse (re-encoding, scopes, stale marts and analyst tier)
read indexes, not tables, and still find what they must: an incomplete vault row, a partner's row
in the wrong scope, marts behind their registrations. Synthetic people only; SQLite files."""

from __future__ import annotations

import re
import secrets
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import pandas as pd
import pytest
from privacy_helpers import load
from sqlalchemy import Engine, event, text

from pseudonyms.encodings import ENCODING_SCHEME
from pseudonyms.identity import registration_ids
from pseudonyms.keys import LoadedKey
from store.engines import make_engine
from store.privacy_tables import INCOMPLETE_VAULT_ROWS
from warehouse.marts import refresh_marts, stale_years
from warehouse.reencoding import reencode_stale
from warehouse.scopes import rescope_sources

KEY = secrets.token_bytes(32)
VAULT_KEY = secrets.token_bytes(32)
PSEUDONYM_KEY = LoadedKey("pseudonym", KEY, "test", 1)
# The tables that grow with the warehouse: a check must not read any of them whole.
LARGE = ("registrations", "vault_identities", "mart_person_years", "analyst_registrations")


@pytest.fixture
def engine(tmp_path) -> Iterator[Engine]:
    engine = make_engine(f"sqlite:///{tmp_path / 'warehouse.sqlite'}")
    yield engine
    engine.dispose()


_SURNAMES = ("Zwaluwstaart", "Merelbos", "Kievitsdijk", "Reigerhof", "Spechtlaan", "Uilenburg", "Valkenhorst", "Mussenberg", "Lijsterveld", "Meeuwenduin")


def someone(number: int) -> dict:
    """A person of their own: a name and birth date no other number has."""
    return {"surname": _SURNAMES[number], "given_names": "Anna", "birth_date": f"199{number}-04-02"}


def people(count: int, **fields: object) -> list[dict]:
    return [{"source_record_id": f"R{number}", **someone(number), **fields} for number in range(count)]


def registration(record_id: str, source: str = "police") -> str:
    return registration_ids(source, pd.Series([record_id]), KEY).iloc[0]


@contextmanager
def statements(engine: Engine) -> Iterator[list[tuple[str, object]]]:
    """The statements `engine` runs in the block, with their parameters."""
    seen: list[tuple[str, object]] = []

    def record(connection, cursor, statement, parameters, context, executemany) -> None:
        seen.append((statement, parameters))

    event.listen(engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", record)


def full_reads(engine: Engine, check: Callable[[], object]) -> list[str]:
    """SQLite's plan of every query `check` runs: the steps that read a large table or one of its
    indexes whole (an index that holds only incomplete vault rows is empty: reading it is a lookup)."""
    with statements(engine) as seen:
        check()
    found = []
    with engine.connect() as connection:
        for statement, parameters in seen:
            if not statement.lstrip().upper().startswith(("SELECT", "WITH")):
                continue
            for step in connection.exec_driver_sql(f"EXPLAIN QUERY PLAN {statement}", parameters).all():
                detail = step[-1]
                whole = re.match(r"SCAN (\w+)", detail)
                if whole and whole.group(1) in LARGE and "ix_vault_identities_incomplete" not in detail:
                    found.append(detail)
    return found


def test_the_incomplete_rows_index_is_of_the_current_encoding_scheme() -> None:
    # A new scheme makes every stored encoding stale: the index must then hold them, in a migration.
    assert INCOMPLETE_VAULT_ROWS == f"scheme <> {ENCODING_SCHEME} OR key_version IS NULL"


def test_a_row_left_incomplete_after_every_row_was_completed_is_still_completed(engine) -> None:
    load(engine, people(3), key=KEY, vault_key=VAULT_KEY)
    assert reencode_stale(engine, PSEUDONYM_KEY, VAULT_KEY) == 0
    with engine.begin() as connection:
        complete = dict(connection.execute(text("SELECT registration_id, name_key FROM vault_identities")).all())
        # As migration 0013 leaves a row: keyed identifiers not computed.
        connection.execute(
            text("UPDATE vault_identities SET key_version = NULL, name_key = NULL WHERE registration_id = :id"), {"id": registration("R1")}
        )
    assert reencode_stale(engine, PSEUDONYM_KEY, VAULT_KEY) == 1
    with engine.connect() as connection:
        assert dict(connection.execute(text("SELECT registration_id, name_key FROM vault_identities")).all()) == complete
        assert connection.execute(text("SELECT count(*) FROM vault_identities WHERE key_version IS NULL")).scalar_one() == 0
    assert reencode_stale(engine, PSEUDONYM_KEY, VAULT_KEY) == 0


def test_a_partner_whose_rows_hold_two_scopes_is_rescoped(engine) -> None:
    load(engine, people(4), key=KEY, vault_key=VAULT_KEY, source="partner")
    load(engine, people(2), key=KEY, vault_key=VAULT_KEY)
    with engine.begin() as connection:
        refresh_marts(connection)
        connection.execute(text("UPDATE registrations SET scope = 'reference' WHERE source = 'partner' AND registration_id = :id"),
                           {"id": registration("R2", "partner")})
        refresh_marts(connection)
    assert rescope_sources(engine, {"partner": "national"}) == 1
    assert rescope_sources(engine, {"partner": "national", "police": "national"}) == 0
    assert rescope_sources(engine, {"partner": "reference"}) == 4
    with engine.connect() as connection:
        assert stale_years(connection) == {2025}
        scopes = connection.execute(text("SELECT source, scope, count(*) FROM registrations GROUP BY 1, 2 ORDER BY 1")).all()
    assert [tuple(row) for row in scopes] == [("partner", "reference", 4), ("police", "national", 2)]
    with engine.begin() as connection:
        assert refresh_marts(connection) == {2025}
        assert national_registrations_in_marts(connection) == {2025: 2}


def national_registrations_in_marts(connection) -> dict[int, int]:
    return dict(connection.execute(text("SELECT registration_year, sum(registrations) FROM mart_person_years GROUP BY 1")).all())


def tier_rows(connection) -> int:
    return connection.execute(text("SELECT count(*) FROM analyst_registrations")).scalar_one()


def test_marts_behind_their_registrations_are_refreshed(engine) -> None:
    load(engine, people(3), key=KEY, vault_key=VAULT_KEY)
    with engine.begin() as connection:
        refresh_marts(connection)
        assert refresh_marts(connection) == set()
        # Written outside the pipeline, which marks nothing stale: the counts disagree.
        connection.execute(text("DELETE FROM registrations WHERE registration_id = :id"), {"id": registration("R0")})
        assert refresh_marts(connection) == {2025}
        assert national_registrations_in_marts(connection) == {2025: 2} and tier_rows(connection) == 2
        # A tier behind the registrations (as migration 0012 leaves it: empty) is rebuilt.
        for table in ("analyst_registrations", "analyst_yearly_counts", "analyst_yearly_crossings", "analyst_tier_levels"):
            connection.execute(text(f"DELETE FROM {table}"))
        assert refresh_marts(connection) == set()
        assert tier_rows(connection) == 2


def test_loads_decisions_and_erasure_refresh_the_marts(engine) -> None:
    from warehouse.decisions import split_person
    from warehouse.erasure import erase_person

    load(engine, people(3, surname="Zwaluwstaart", given_names="Anna", birth_date="1999-04-02"), key=KEY, vault_key=VAULT_KEY)
    with engine.begin() as connection:
        refresh_marts(connection)
        assert connection.execute(text("SELECT count(*) FROM mart_person_years")).scalar_one() == 1
    load(engine, [{"source_record_id": "N", **someone(9)}], key=KEY, vault_key=VAULT_KEY)
    with engine.begin() as connection:
        assert refresh_marts(connection) == {2025}
        assert connection.execute(text("SELECT count(*) FROM mart_person_years")).scalar_one() == 2
    split_person(engine, [registration("R2")], "case 2026-45, two persons mixed up by the source", VAULT_KEY, "v1-split")
    with engine.connect() as connection:
        assert stale_years(connection) == set()
        assert connection.execute(text("SELECT count(*) FROM mart_person_years")).scalar_one() == 3
    erase_person(engine, "v1-split", VAULT_KEY)
    with engine.connect() as connection:
        assert stale_years(connection) == set()
        assert national_registrations_in_marts(connection) == {2025: 3} and tier_rows(connection) == 3


def test_a_night_s_checks_read_no_large_table_whole(engine) -> None:
    load(engine, people(3), key=KEY, vault_key=VAULT_KEY, source="partner")
    load(engine, people(3), key=KEY, vault_key=VAULT_KEY)
    with engine.begin() as connection:
        refresh_marts(connection)

    def marts() -> None:
        with engine.begin() as connection:
            assert refresh_marts(connection) == set()

    checks = {
        "re-encoding": lambda: reencode_stale(engine, PSEUDONYM_KEY, VAULT_KEY),
        "scopes": lambda: rescope_sources(engine, {"partner": "national", "other": "reference"}),
        "marts and analyst tier": marts,
    }
    assert {name: full_reads(engine, check) for name, check in checks.items()} == {name: [] for name in checks}
