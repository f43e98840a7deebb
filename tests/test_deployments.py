"""prefect.yaml stays in step with the code: every entrypoint imports and names a flow."""

from __future__ import annotations

from pathlib import Path

import yaml
from prefect import Flow
from prefect.flows import load_flow_from_entrypoint

ROOT = Path(__file__).resolve().parent.parent


def deployments() -> list[dict]:
    return yaml.safe_load((ROOT / "prefect.yaml").read_text(encoding="utf-8"))["deployments"]


def test_every_entrypoint_is_a_flow() -> None:
    for deployment in deployments():
        # The way a worker loads it: a file path relative to the project folder, then the flow's name.
        path, name = deployment["entrypoint"].split(":")
        assert isinstance(load_flow_from_entrypoint(f"{ROOT / path}:{name}"), Flow), deployment["name"]


def test_nightly_ingest_runs_at_two_in_amsterdam() -> None:
    nightly = next(deployment for deployment in deployments() if deployment["name"] == "nightly-ingest")
    assert nightly["schedules"] == [{"cron": "0 2 * * *", "timezone": "Europe/Amsterdam"}]
    assert nightly["work_pool"]["name"]
    assert nightly["parameters"] == {}


def test_rerun_failed_is_started_by_hand() -> None:
    rerun = next(deployment for deployment in deployments() if deployment["name"] == "rerun-failed")
    assert "schedules" not in rerun
    assert rerun["work_pool"]["name"] == next(d for d in deployments() if d["name"] == "nightly-ingest")["work_pool"]["name"]


def test_no_secret_is_written_inline() -> None:
    text = (ROOT / "prefect.yaml").read_text(encoding="utf-8")
    assert "KEY:" not in text and "postgresql" not in text and "password" not in text.lower()


def _deployment(name: str) -> dict:
    return next(deployment for deployment in deployments() if deployment["name"] == name)


def test_fan_out_starts_the_ingest_file_deployment_on_the_same_pool() -> None:
    from flows.fan_out import INGEST_FILE

    flow_name, deployment_name = INGEST_FILE.split("/")
    ingest_file, fan_out = _deployment(deployment_name), _deployment("nightly-fan-out")
    path, name = ingest_file["entrypoint"].split(":")
    assert load_flow_from_entrypoint(f"{ROOT / path}:{name}").name == flow_name
    pool = _deployment("nightly-ingest")["work_pool"]["name"]
    assert ingest_file["work_pool"]["name"] == fan_out["work_pool"]["name"] == pool
    # Only nightly-ingest is scheduled: switching a night to the fan-out is a deliberate change.
    assert "schedules" not in ingest_file and "schedules" not in fan_out


def test_ingest_file_takes_a_sealed_path_and_a_checksum_only() -> None:
    path, name = _deployment("ingest-file")["entrypoint"].split(":")
    schema = load_flow_from_entrypoint(f"{ROOT / path}:{name}").parameters
    assert set(schema.properties) == {"file", "sha256"} and set(schema.required) == {"file", "sha256"}


def test_the_sealed_path_names_no_file_and_opens_only_for_its_content(vault_key, isolated_settings) -> None:
    import pytest

    from flows.ingest_file import SealedPathRefused, opened_path, sealed_path

    path = "/srv/inbox/police/aangifte Jansen 1990-02-02.ndjson"
    token = sealed_path(path, "a" * 64)
    assert "Jansen" not in token and "aangifte" not in token and "1990" not in token
    assert opened_path(token, "a" * 64) == path
    # The parameter's length does not follow the length of the path.
    assert len(sealed_path("/srv/inbox/police/a.ndjson", "a" * 64)) == len(token) == len(sealed_path(path + "x" * 300, "a" * 64))
    for wrong in ((token, "b" * 64), (path, "a" * 64), ("%%%", "a" * 64)):
        with pytest.raises(SealedPathRefused) as refused:
            opened_path(*wrong)
        assert "Jansen" not in str(refused.value)
