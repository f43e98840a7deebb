"""Delivery semantics per partner: incremental upserts (the later delivery wins), a snapshot
replaces everything the source delivered before, and the same file is loaded once."""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlalchemy as sa
from typer.testing import CliRunner

from victim_intake.cli import app

pytestmark = pytest.mark.usefixtures("prefect_server", "pseudonym_key", "vault_key")

KMAR_HEADER = "case_id,last_name,first_names,date_of_birth,sex,nationality,v_number,date_reported,exploitation,country_of_exploitation,report_filed"
FAIRWORK_HEADER = "Client ID,Surname,Given names,Date of birth,Gender,Nationality,Intake date,Type of exploitation,Sector,Country of exploitation"


def run_cli(*arguments: str) -> tuple[int, str]:
    result = CliRunner().invoke(app, list(arguments))
    if result.exception and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result.exit_code, result.output


def deliver(inbox: Path, partner: str, name: str, header: str, *rows: str, bom: bool = False) -> None:
    folder = inbox / partner
    folder.mkdir(parents=True, exist_ok=True)
    (folder / name).write_text(("\ufeff" if bom else "") + "\n".join([header, *rows]) + "\n", encoding="utf-8")


def stored(home: Path, source: str) -> list[tuple]:
    engine = sa.create_engine(f"sqlite:///{home / 'warehouse.sqlite'}")
    with engine.connect() as connection:
        rows = connection.execute(
            sa.text("SELECT registration_year, nationality, report_filed, exploitation_type FROM registrations WHERE source = :s ORDER BY 1, 2"),
            {"s": source},
        ).all()
    engine.dispose()
    return [tuple(row) for row in rows]


def test_incremental_partner_upserts_by_record_id(tmp_path: Path, isolated_settings: Path) -> None:
    inbox = tmp_path / "inbox"
    deliver(inbox, "kmar", "week-1.csv", KMAR_HEADER,
            "K-1,Nowak,Jan,1990-05-01,M,PL,,2024-02-01,labour,NL,N",
            "K-2,Horvat,Ana,1995-07-12,F,HR,,2024-02-03,sexual,NL,N")
    assert run_cli("run", "--inbox", str(inbox))[0] == 0
    deliver(inbox, "kmar", "week-2.csv", KMAR_HEADER, "K-1,Nowak,Jan,1990-05-01,M,PL,,2024-02-01,labour,NL,Y")
    code, output = run_cli("run", "--inbox", str(inbox))
    assert code == 0 and "already loaded" in output
    assert stored(isolated_settings, "kmar") == [(2024, "HRV", 0, "sexual"), (2024, "POL", 1, "labour")]


def test_snapshot_partner_replaces_what_it_delivered_before(tmp_path: Path, isolated_settings: Path) -> None:
    inbox = tmp_path / "inbox"
    deliver(inbox, "fairwork", "2024-q1.csv", FAIRWORK_HEADER,
            "F-1,Ionescu,Maria,01/02/1990,Female,Romania,10/01/2024,Labour,Agriculture,Netherlands",
            "F-2,Petrov,Ivan,03/04/1985,Male,Bulgaria,12/01/2024,Labour,Construction,Netherlands", bom=True)
    assert run_cli("run", "--inbox", str(inbox))[0] == 0
    assert len(stored(isolated_settings, "fairwork")) == 2
    (inbox / "fairwork" / "2024-q1.csv").unlink()
    deliver(inbox, "fairwork", "2024-q2.csv", FAIRWORK_HEADER,
            "F-3,Kovacs,Eva,05/06/1992,Female,Hungary,02/04/2024,Sexual,,Germany", bom=True)
    assert run_cli("run", "--inbox", str(inbox))[0] == 0
    assert stored(isolated_settings, "fairwork") == [(2024, "HUN", None, "sexual")]
