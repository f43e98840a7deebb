"""A night with nothing new: fast, yet it leaves the warehouse as complete as any other night."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from feed import record, write_feed
from test_flow_end_to_end import run_cli


@pytest.mark.usefixtures("prefect_server")
def test_marts_left_stale_are_refreshed_by_a_night_with_nothing_new(tmp_path, pseudonym_key, isolated_settings) -> None:
    from warehouse.marts import mark_all_stale, stale_years

    inbox = tmp_path / "inbox"
    write_feed(inbox / "police", "politie-2025-03-15", [record("PL-0001")])
    assert run_cli("run", "--inbox", str(inbox))[0] == 0
    engine = sa.create_engine(f"sqlite:///{isolated_settings / 'warehouse.sqlite'}")
    with engine.begin() as connection:
        mark_all_stale(connection)  # as erasure or retention leave them
    code, output = run_cli("run", "--inbox", str(inbox))
    assert code == 0, output
    with engine.connect() as connection:
        assert stale_years(connection) == set()
    engine.dispose()
