"""Proof that nothing leaks: canary identities end to end, then every place they could surface.

The canaries are unusual names, birth dates, BSNs, V-numbers and free text that occur nowhere
else. They go through the real command line and a real flow run (valid, invalid and broken
files), then through status, quarantine, erase and purge. Afterwards the warehouse (every table
of SQLite, its file and journals; a pg_dump of PostgreSQL), the Prefect database of the run
(logs, parameters, states, artifacts, and the database file itself), Prefect's home folder,
every file the pipeline wrote, the console, and the text of every exception raised on the bad
input are searched for each canary: zero hits.
"""

from __future__ import annotations

import json
import subprocess
import traceback
from pathlib import Path

import pytest
import sqlalchemy as sa
from feed import record, write_feed
from test_flow_end_to_end import flow_run_texts, run_cli
from warehouse_checks import find_in_bytes, sqlite_blobs

pytestmark = pytest.mark.usefixtures("prefect_server")

# Two persons linked across files, one invalid record, and text that must never be stored.
CANARIES = {
    "surname": "Qwyxzvorn",
    "given": "Zebulonia",
    "second_given": "Thraxilda",
    "birth": "1931-02-17",
    "bsn": "582047195",
    "vnr": "7319046285",
    "surname_2": "Ploxbringle",
    "given_2": "Ildegarde",
    "birth_2": "1937-11-23",
    "bsn_2": "469182738",
    "bad_bsn": "582047196",
    "bad_surname": "Frumpelstiltz",
    "bad_given": "Orvokki",
    "note": "Kanarie Plumtrex-44 notitie",
    "broken_surname": "Malformbrix",
    "wrong_type_surname": "Typewrangle",
    "latin1_surname": "Crüxwellin",
    "count_surname": "Countmisser",
}


def canary_needles() -> set[str]:
    """Each canary as delivered, and in the lower-case, folded forms canonicalisation makes."""
    needles = set(CANARIES.values())
    needles |= {value.lower() for value in CANARIES.values()}
    needles |= {value.replace("ü", "u").lower() for value in CANARIES.values()}
    needles.add(CANARIES["birth"].replace("-", ""))
    needles.add(CANARIES["latin1_surname"][3:])  # the ASCII tail, whatever the encoding around it
    return needles


def person(surname: str, given: str, birth: str, **changes: object) -> dict:
    return {"achternaam": surname, "voornamen": given, "geboortedatum": birth, **changes}


def write_canary_inbox(inbox: Path) -> None:
    police = inbox / "police"
    c = CANARIES
    write_feed(police, "politie-2025-03-15", [
        record("PL0900-2025-900001", **person(c["surname"], f"{c['given']} {c['second_given']}", c["birth"]), bsn=c["bsn"], toelichting=c["note"]),
        record("PL0900-2025-900002", **person(c["surname_2"], c["given_2"], c["birth_2"]), bsn=None, toelichting=f"{c['surname_2']} gezien"),
        record("PL0900-2025-900003", **person(c["bad_surname"], c["bad_given"], "1929-06-30"), bsn=c["bad_bsn"]),
        record("PL0900-2025-900004", **person(c["bad_surname"], c["bad_given"], "1929-06-30"), eenheid="Haaglanden"),
    ], exported_at="2025-03-15T02:00:00+01:00")
    # The same persons again: one by V-number and a respelt name, one by BSN only.
    write_feed(police, "politie-2025-03-20", [
        record("PL0900-2025-900010", **person(c["surname"].upper(), c["given"], c["birth"]), bsn=None, v_nummer=c["vnr"]),
        record("PL0900-2025-900011", **person(c["surname"], None, None), bsn=c["bsn"], v_nummer=c["vnr"], toelichting=c["note"]),
        record("PL0900-2025-900012", **person(c["surname_2"], c["given_2"], c["birth_2"]), bsn=c["bsn_2"]),
    ], exported_at="2025-03-20T02:00:00+01:00")
    # Broken deliveries whose content must not surface in any error message.
    write_feed(police, "politie-2025-03-21", [record("PL0900-2025-900020", achternaam=c["count_surname"])],
               manifest_changes={"aantal_records": 9})
    broken = police / "politie-2025-03-22.ndjson"
    write_feed(police, "politie-2025-03-22", [record("PL0900-2025-900030")])
    broken.write_bytes(f'{{"schema_version": "1", "registratie_id": "X", "persoon": {{"achternaam": "{c["broken_surname"]}", '.encode())
    _fix_manifest(broken, 1)
    wrong_type = police / "politie-2025-03-23.ndjson"
    write_feed(police, "politie-2025-03-23", [record("PL0900-2025-900040")])
    line = json.dumps(record("PL0900-2025-900040")).replace('"Rotterdam"', json.dumps({"naam": c["wrong_type_surname"]}), 1)
    wrong_type.write_text(line + "\n", encoding="utf-8")
    _fix_manifest(wrong_type, 1)
    latin1 = police / "politie-2025-03-24.ndjson"
    write_feed(police, "politie-2025-03-24", [record("PL0900-2025-900050")])
    latin1.write_bytes(json.dumps(record("PL0900-2025-900050", achternaam=c["latin1_surname"]), ensure_ascii=False).encode("latin-1") + b"\n")
    _fix_manifest(latin1, 1)


def _fix_manifest(path: Path, count: int) -> None:
    import hashlib

    manifest_path = path.with_name(path.name.removesuffix(".ndjson") + ".manifest.json")
    manifest = json.loads(manifest_path.read_text())
    manifest.update(sha256=hashlib.sha256(path.read_bytes()).hexdigest(), aantal_records=count)
    manifest_path.write_text(json.dumps(manifest))


def exception_texts(inbox: Path) -> str:
    """Full text (message and traceback) of every exception the tasks raise on each input file,
    run again after the flow (files already loaded raise AlreadyLoaded at the ledger)."""
    import uuid

    from source_files import ingest_here

    from connectors.files import sha256_of
    from store.clock import utc_now
    from warehouse.ledger import BatchRecord

    texts = []
    for path in sorted((inbox / "police").glob("*.ndjson")):
        batch = BatchRecord(uuid.uuid4().hex, "canary", "police", path.name, sha256_of(path), utc_now())
        try:
            ingest_here(path, batch)
        except Exception as error:  # noqa: BLE001 - every exception is what we inspect
            texts.append("".join(traceback.format_exception(error)))
    return "\n".join(texts)


def prefect_database_bytes() -> dict[str, bytes]:
    from prefect.settings import PREFECT_SERVER_DATABASE_CONNECTION_URL

    database = Path(PREFECT_SERVER_DATABASE_CONNECTION_URL.value().split("///", 1)[1])
    return {f"prefect db {path.name}": path.read_bytes() for path in database.parent.glob(database.name + "*")}


def files_under(folder: Path) -> dict[str, bytes]:
    return {str(path): path.read_bytes() for path in folder.rglob("*") if path.is_file()}


def warehouse_dump(url: str, home: Path) -> dict[str, bytes]:
    if url.startswith("sqlite"):
        engine = sa.create_engine(url)
        with engine.connect() as connection:
            tables = connection.execute(sa.text("SELECT name FROM sqlite_master WHERE type = 'table'")).scalars().all()
            rows = "\n".join(str(row) for name in tables for row in connection.execute(sa.text(f'SELECT * FROM "{name}"')))
        engine.dispose()
        assert {"registrations", "vault_identities", "person_links", "privacy_audit"} <= set(tables)
        return {"sqlite rows": rows.encode(), **sqlite_blobs(home / "warehouse.sqlite")}
    database = sa.engine.make_url(url).database
    dump = subprocess.run(
        ["pg_dump", "-h", "127.0.0.1", "-U", "postgres", database], capture_output=True, check=True
    ).stdout
    assert b"vault.vault_identities" in dump and b"COPY public.registrations" in dump
    return {"pg_dump": dump}


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def warehouse_url(request, isolated_settings) -> str:
    if request.param == "postgres":
        return request.getfixturevalue("scratch_postgres")
    return f"sqlite:///{isolated_settings / 'warehouse.sqlite'}"


def test_canaries_surface_nowhere(tmp_path, pseudonym_key, isolated_settings, warehouse_url, capfd) -> None:
    inbox = tmp_path / "inbox"
    write_canary_inbox(inbox)
    outputs = []
    code, output = run_cli("run", "--inbox", str(inbox))
    outputs.append(output)
    assert code == 1, output  # the four broken files fail, the others load
    assert output.count("failed") >= 4

    engine = sa.create_engine(warehouse_url)
    with engine.connect() as connection:
        persons = connection.execute(sa.text("SELECT count(DISTINCT person_id), count(*) FROM registrations")).one()
        batches = connection.execute(sa.text("SELECT batch_id FROM quarantine")).scalars().all()
        erased = connection.execute(
            sa.text("SELECT person_id FROM registrations GROUP BY person_id HAVING count(*) = 2 ORDER BY min(registration_id) LIMIT 1")
        ).scalar_one()
    engine.dispose()
    assert persons == (2, 5), "the two canary persons, linked across files"
    for batch in set(batches):
        outputs.append(run_cli("quarantine", "show", batch)[1])
    for arguments in (("run", "--inbox", str(inbox)), ("status",), ("quarantine", "list"), ("erase", "--person", erased), ("purge", "--older-than", "60")):
        code, output = run_cli(*arguments)
        assert code in (0, 1), output
        outputs.append(output)

    places = {
        "console": ("\n".join(outputs) + "".join(capfd.readouterr())).encode(),
        "exceptions": exception_texts(inbox).encode(),
        "prefect api": flow_run_texts().encode(),
        **prefect_database_bytes(),
        **files_under(Path(__import__("os").environ["PREFECT_HOME"])),
        **files_under(isolated_settings),
        **warehouse_dump(warehouse_url, isolated_settings),
    }
    # The scan can see the canaries: every one (but the Latin-1 bytes) is found in the input.
    delivered = {value for _, value in find_in_bytes(canary_needles(), files_under(inbox))}
    assert set(CANARIES.values()) - {CANARIES["latin1_surname"]} <= delivered
    # Four broken files fail, the two good ones are refused as already loaded.
    assert places["exceptions"].decode().count("Traceback") == 6
    assert find_in_bytes(canary_needles(), places) == []
