"""How the fan-out run reads each file's outcome: the ledger first, then the state its file run ended in."""

from __future__ import annotations

import uuid

from prefect.client.schemas.objects import FlowRun
from prefect.states import Completed, Crashed, Running

from config.settings import current
from flows.fan_out import file_result
from flows.nightly import Delivery
from store.clock import utc_now
from store.engines import make_engine, shared_engine
from warehouse.database import create_tables
from warehouse.ledger import BatchRecord, insert_batch, start_run
from warehouse.reruns import outstanding_failures

RUN = "fan-out-run"


def _file_run(state) -> FlowRun:
    return FlowRun(name="brave-otter", flow_id=uuid.uuid4(), state=state)


def _warehouse():
    engine = make_engine(current().warehouse_url)
    create_tables(engine)
    start_run(engine, RUN)
    return shared_engine(current().warehouse_url)


def test_a_loaded_file_is_read_from_the_ledger(isolated_settings) -> None:
    engine = _warehouse()
    delivery = Delivery(str(isolated_settings / "inbox" / "kmar" / "a.csv"), "kmar", "a" * 64)
    with engine.begin() as connection:
        batch = BatchRecord("b1", RUN, "kmar", "a.csv", delivery.sha256, utc_now(), delivery.path)
        insert_batch(connection, batch, "loaded", rows_in=5, rows_loaded=4, rows_quarantined=1)
    result = file_result(RUN, delivery, _file_run(Completed(message="loaded")))
    assert (result.state, result.rows_in, result.rows_loaded, result.rows_quarantined) == ("loaded", 5, 4, 1)


def test_a_file_skipped_by_its_run_says_why(isolated_settings) -> None:
    _warehouse()
    delivery = Delivery(str(isolated_settings / "a.csv"), "kmar", "b" * 64)
    message = "its content was loaded by another run meanwhile"
    assert file_result(RUN, delivery, _file_run(Completed(message=message))).reason == message


def test_a_crashed_or_unfinished_file_run_is_a_failed_attempt_that_rerun_finds(isolated_settings) -> None:
    engine = _warehouse()
    crashed = Delivery(str(isolated_settings / "a.csv"), "kmar", "c" * 64)
    unfinished = Delivery(str(isolated_settings / "b.csv"), "kmar", "d" * 64)
    first = file_result(RUN, crashed, _file_run(Crashed(message="exited with -9")))
    second = file_result(RUN, unfinished, _file_run(Running()))
    assert (first.state, first.reason) == ("failed", "file run brave-otter ended CRASHED (see its logs in Prefect)")
    assert (second.state, second.reason) == ("failed", "file run brave-otter had not finished (see its logs in Prefect)")
    assert {ref.file_sha256 for ref in outstanding_failures(engine)} == {crashed.sha256, unfinished.sha256}
