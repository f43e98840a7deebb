"""A minimal hand-written pipeline on the same input: read, validate, keyed hash, load. Nothing else.

The yardstick for the project's overhead: `bench_run.py` divides the project's time by this one's.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import io
import json
import os
import sqlite3
import time
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.json as pajson
from cryptography.hazmat.primitives import hashes, hmac

from connectors.police import read_schema
from schemas.vocabulary import POLICE_EXPLOITATION, POLICE_GENDER, POLICE_UNITS

COLUMNS = ["registration_id", "person_id", "registration_year", "gender", "exploitation_type", "reporting_unit"]


def _read(paths: list[Path]) -> pd.DataFrame:
    options = pajson.ParseOptions(explicit_schema=read_schema(), unexpected_field_behavior="ignore")
    tables = [pajson.read_json(str(path), parse_options=options).flatten() for path in paths]
    table = pa.concat_tables(tables)
    return table.rename_columns([name.rsplit(".", 1)[-1] for name in table.column_names]).to_pandas()


def _valid(frame: pd.DataFrame) -> pd.DataFrame:
    signal = pd.to_datetime(frame["datum_signaal"], format="%Y-%m-%d", errors="coerce")
    ok = (
        frame["eenheid"].isin(POLICE_UNITS)
        & frame["geslacht"].isin(list(POLICE_GENDER))
        & frame["vorm"].isin(list(POLICE_EXPLOITATION))
        & signal.notna()
        & frame["achternaam"].notna()
        & ~frame["registratie_id"].duplicated(keep=False)
    )
    return frame[ok].assign(year=signal[ok].dt.year)


def _hash(key: bytes, values: list[str]) -> list[str]:
    template = hmac.HMAC(key, hashes.SHA256())
    digests = []
    for value in values:
        context = template.copy()
        context.update(value.encode())
        digests.append(context.finalize()[:16].hex())
    return digests


def _rows(frame: pd.DataFrame, key: bytes) -> pd.DataFrame:
    identity = (frame["achternaam"].str.lower() + "|" + frame["voornamen"].fillna("").str.lower() + "|" + frame["geboortedatum"].fillna("")).tolist()
    return pd.DataFrame(
        {
            "registration_id": _hash(key, ("police|" + frame["registratie_id"]).tolist()),
            "person_id": _hash(key, identity),
            "registration_year": frame["year"].astype("int64").to_numpy(),
            "gender": frame["geslacht"].to_numpy(),
            "exploitation_type": frame["vorm"].to_numpy(),
            "reporting_unit": frame["eenheid"].to_numpy(),
        }
    )


def _load_sqlite(rows: pd.DataFrame, database: Path) -> None:
    connection = sqlite3.connect(database)
    connection.execute(f"CREATE TABLE IF NOT EXISTS baseline ({', '.join(COLUMNS)}, PRIMARY KEY (registration_id))")
    connection.executemany(f"INSERT OR REPLACE INTO baseline VALUES ({', '.join('?' * len(COLUMNS))})", rows.itertuples(index=False, name=None))
    connection.commit()
    connection.close()


def _load_postgres(rows: pd.DataFrame, url: str) -> None:
    import psycopg

    sink = io.BytesIO()
    pacsv.write_csv(pa.Table.from_pandas(rows, preserve_index=False), sink, pacsv.WriteOptions(include_header=False))
    with psycopg.connect(url) as connection, connection.cursor() as cursor:
        cursor.execute(f"CREATE TABLE IF NOT EXISTS baseline ({', '.join(f'{name} text' for name in COLUMNS)})")
        with cursor.copy(f"COPY baseline ({', '.join(COLUMNS)}) FROM STDIN (FORMAT csv)") as copy:
            copy.write(sink.getvalue())


def run_baseline(paths: list[Path], key: bytes, sqlite_path: Path | None = None, postgres_url: str | None = None) -> dict[str, float]:
    """Seconds per stage of the hand-written pipeline."""
    stages: dict[str, float] = {}
    clock = time.perf_counter()
    # The manifest check is part of the job: hash each file once, as the project does.
    for path in paths:
        manifest = json.loads(path.with_name(path.name.replace(".ndjson", ".manifest.json")).read_text())
        if hashlib.sha256(path.read_bytes()).hexdigest() != manifest["sha256"]:
            raise SystemExit(f"{path.name}: checksum mismatch")
    frame = _read(paths)
    stages["read"] = time.perf_counter() - clock
    clock = time.perf_counter()
    valid = _valid(frame)
    stages["validate"] = time.perf_counter() - clock
    clock = time.perf_counter()
    rows = _rows(valid, key)
    stages["hash"] = time.perf_counter() - clock
    clock = time.perf_counter()
    if postgres_url:
        _load_postgres(rows, postgres_url)
    else:
        _load_sqlite(rows, sqlite_path)
    stages["load"] = time.perf_counter() - clock
    return stages


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("inbox", type=Path)
    parser.add_argument("--sqlite", type=Path)
    parser.add_argument("--postgres-url")
    arguments = parser.parse_args()
    key = base64.b64decode(os.environ["VICTIM_INTAKE_PSEUDONYM_KEY"])
    paths = sorted((arguments.inbox / "police").glob("*.ndjson"))
    print(json.dumps(run_baseline(paths, key, arguments.sqlite, arguments.postgres_url)))


if __name__ == "__main__":
    main()
