"""The floor under a bulk load: only the warehouse writes that the data model requires, done the fastest plain way.

Per loaded registration the data model stores a `registrations` row, a sealed `vault_identities`
row, a `name_encodings` row and (on average) 1.36 `person_links` rows, in tables indexed on random
keyed hashes. This script creates the real schema with the project's migrations, generates
synthetic rows shaped like a real 1M-record warehouse's BEFORE timing, then times only their
inserts: each batch sorted by key (as the project writes them), one transaction per batch,
`executemany` of ready tuples on SQLite (with the pragmas `make_engine` sets) and COPY of ready
CSV on PostgreSQL. No reading, validation, hashing, linkage, row preparation or Prefect: no
implementation of this data model can load the same rows faster on the same machine.

    .venv/bin/python bench/write_floor.py                                   # 1,000,000 registrations, SQLite and PostgreSQL
    .venv/bin/python bench/write_floor.py --registrations 20000 --backends sqlite
"""

from __future__ import annotations

import argparse
import csv
import io
import sqlite3
import sys
import time
import uuid
from pathlib import Path

import numpy as np
import pandas as pd
import sqlalchemy as sa

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_run import scratch_postgres  # noqa: E402

from schemas.codelists.matching import match_municipalities, match_sectors, police_unit_list  # noqa: E402
from warehouse.database import _sqlite_pragmas, make_engine  # noqa: E402
from warehouse.migrate import upgrade  # noqa: E402
from warehouse.privacy_tables import name_encodings, person_links, vault_identities  # noqa: E402
from warehouse.tables import registrations  # noqa: E402

TABLES = (registrations, vault_identities, name_encodings, person_links)

# Shapes measured on a real warehouse after a 1M-record police load (972,198 registrations):
# 790,545 persons (0.81 per registration); person links per person: 1.0036 name, 0.43 bsn, 0.236
# vnr (1.36 per registration); sealed entries 320-438 hex characters, mean 356, sd 14; 22,949
# distinct birth keys; 36 % of the encodings have a swapped birth key.
PERSONS_PER_REGISTRATION = 790_545 / 972_198
LINKS_PER_PERSON = {"name": 793_400 / 790_545, "bsn": 339_790 / 790_545, "vnr": 186_388 / 790_545}
SEALED_MEAN, SEALED_SD = 356, 14
BIRTH_KEYS = 22_949
SWAPPED_SHARE = 1 - 620_650 / 972_198

# Categorical values with their counts in that warehouse (the rarest countries and municipalities omitted).
YEARS = {2019: 186_776, 2020: 137_673, 2021: 107_572, 2022: 110_410, 2023: 141_905, 2024: 143_996, 2025: 143_866}
UNITS = {"Amsterdam": 135_215, "Rotterdam": 126_683, "Landelijke Eenheid": 116_949, "Den Haag": 107_205, "Oost-Nederland": 87_196,
         "Zeeland-West-Brabant": 78_408, "Midden-Nederland": 77_067, "Oost-Brabant": 68_300, "Noord-Holland": 68_256,
         "Noord-Nederland": 58_304, "Limburg": 48_615}  # fmt: skip
AGE_GROUPS = {(0, 11, "0-11"): 4_620, (12, 17, "12-17"): 57_207, (18, 22, "18-22"): 141_967, (23, 29, "23-29"): 287_205,
              (30, 39, "30-39"): 263_594, (40, 49, "40-49"): 147_346, (50, 70, "50+"): 70_259}  # fmt: skip
GENDERS = {"female": 731_218, "male": 221_131, "other": 12_472, "unknown": 7_377}
NATIONALITIES = {"NLD": 300_638, "ROU": 93_100, "NGA": 74_573, "BGR": 62_929, "POL": 61_162, "HUN": 54_881, "UKR": 35_479,
                 "UGA": 33_664, "SLE": 26_554, "MAR": 24_841, "VNM": 23_835, "CHN": 22_328, "BRA": 21_365, "SUR": 19_061,
                 "MDA": 17_655, "ERI": 16_834, "THA": 15_883, "DOM": 14_187, "COL": 13_922, "TUR": 12_056, "UNK": 9_862,
                 "PHL": 6_699, "IND": 6_052, "LTU": 4_638}  # fmt: skip
EXPLOITATION = {("sexual", None): 175_736, ("sexual", "escort"): 105_302, ("sexual", "club"): 105_081, ("sexual", "online"): 105_055,
                ("sexual", "thuisprostitutie"): 104_457, ("sexual", "raamprostitutie"): 104_313, ("criminal", None): 29_339,
                ("criminal", "fraude"): 17_829, ("criminal", "drugshandel"): 17_518, ("criminal", "winkeldiefstal"): 17_474,
                ("criminal", "geldezel"): 17_295, ("criminal", "hennepteelt"): 17_200, ("labour", None): 19_184,
                ("labour", "land- en tuinbouw"): 7_502, ("labour", "horeca"): 7_457, ("labour", "huishoudelijk werk"): 7_430,
                ("labour", "distributie en logistiek"): 7_418, ("labour", "vleesverwerking"): 7_368, ("labour", "bouw"): 7_200,
                ("labour", "binnenvaart"): 7_197, ("labour", "schoonmaak"): 7_139, ("begging", "straatbedelarij"): 18_132,
                ("begging", None): 5_953,
                ("unknown", None): 28_803, ("other", None): 24_299, ("organ_removal", None): 517}  # fmt: skip
COUNTRIES = {"NLD": 857_784, "FRA": 11_539, "GBR": 11_464, "ITA": 11_425, "ESP": 11_211, "BEL": 11_160, "DEU": 11_159, "UNK": 9_856,
             "ROU": 5_138, "NGA": 4_169}  # fmt: skip
MUNICIPALITIES = {"Amsterdam": 40_776, "Rotterdam": 38_231, "'s-Gravenhage": 32_701, "Eindhoven": 24_229,
                  "Breda": 21_560, "Arnhem": 21_543, "Utrecht": 21_278, "Haarlem": 18_985, "Groningen": 16_466,
                  "Maastricht": 15_511, "Ouder-Amstel": 14_566, "Alphen aan den Rijn": 11_744, "'s-Hertogenbosch": 9_037,
                  "Bergen op Zoom": 8_209, "Haarlemmermeer": 7_190, "Sittard-Geleen": 6_217}  # fmt: skip
MUNICIPALITIES[None] = sum(MUNICIPALITIES.values()) * 217_497 / (972_198 - 217_497)  # unknown in 22 % of the registrations
B8_OFFERED, REPORT_FILED = 235_046 / 972_198, 295_151 / 972_198


def _as_codes(counts: dict, matched) -> dict:
    """The measured counts keyed by the codes the warehouse stores (units, places and sectors are
    matched to the code lists; not given becomes `unknown`)."""
    codes = matched(pd.Series(list(counts), dtype=object)).codes.tolist()
    found: dict = {}
    for code, count in zip(codes, counts.values(), strict=True):
        found[code] = found.get(code, 0) + count
    return found


UNITS = _as_codes(UNITS, police_unit_list().match)
MUNICIPALITIES = _as_codes(MUNICIPALITIES, match_municipalities)
_SECTOR_CODES = match_sectors(pd.Series([sector for _, sector in EXPLOITATION], dtype=object)).codes.tolist()
EXPLOITATION = {(form, code): count for ((form, _), count), code in zip(EXPLOITATION.items(), _SECTOR_CODES, strict=True)}


def hex_keys(rng: np.random.Generator, count: int, chars: int = 32) -> list[str]:
    blob = rng.bytes(count * chars // 2).hex()
    return [blob[start : start + chars] for start in range(0, count * chars, chars)]


def sealed_values(rng: np.random.Generator, count: int) -> list[str]:
    """Hex of varying (even) length, distributed as the real sealed entries."""
    lengths = 2 * np.clip(np.rint(rng.normal(SEALED_MEAN / 2, SEALED_SD / 2, count)), 160, 219).astype(np.int64)
    blob = rng.bytes(int(lengths.sum()) // 2).hex()
    ends = np.cumsum(lengths).tolist()
    return [blob[end - length : end] for end, length in zip(ends, lengths.tolist(), strict=True)]


def choose(rng: np.random.Generator, counts: dict, count: int) -> np.ndarray:
    """Indexes into `counts`' keys, drawn with their weights."""
    weights = np.array(list(counts.values()), dtype=float)
    return rng.choice(len(counts), size=count, p=weights / weights.sum())


def pick(rng: np.random.Generator, counts: dict, count: int) -> list:
    """Values drawn with their weights; one shared Python object per value, as the project's rows have."""
    return np.array(list(counts), dtype=object)[choose(rng, counts, count)].tolist()


def flag(rng: np.random.Generator, share: float, count: int) -> list[int]:
    return (rng.random(count) < share).astype(np.int64).tolist()


def rows_of(table: sa.Table, columns: dict[str, list]) -> list[tuple]:
    """Tuples in the table's column order, sorted by key (its first column); every column must be given."""
    rows = list(zip(*(columns[name] for name in table.columns.keys()), strict=True))
    rows.sort()
    return rows


def generate(total: int, batch_count: int, seed: int, as_bytes: bool = False) -> list[dict[str, list[tuple]]]:
    """Per batch, the rows of each table, in key order; SQLite's values (dates and times as ISO text, booleans 0/1).

    `as_bytes`: the vault's keyed identifiers, birth keys, Bloom filters and sealed entries as
    bytes instead of hex text (half the size), to measure what that change of the data model gives.
    """
    rng = np.random.default_rng(seed)

    def vault_values(values: list[str]) -> list:
        return [bytes.fromhex(value) for value in values] if as_bytes else values

    persons = max(1, round(total * PERSONS_PER_REGISTRATION))
    person_ids = np.array(["v1-" + key for key in hex_keys(rng, persons)], dtype=object)
    person_birth = rng.integers(0, BIRTH_KEYS, persons)
    person_swapped = np.where(rng.random(persons) < SWAPPED_SHARE, rng.integers(0, BIRTH_KEYS, persons), -1)
    birth_keys = vault_values(hex_keys(rng, BIRTH_KEYS))
    # Every person at least once, the others' repeat reports at random; spread over the batches at random.
    person_of = np.concatenate([np.arange(persons), rng.integers(0, persons, total - persons)])
    rng.shuffle(person_of)
    first_seen = np.zeros(total, dtype=bool)
    first_seen[np.unique(person_of, return_index=True)[1]] = True

    batches = []
    bounds = np.linspace(0, total, batch_count + 1).astype(int).tolist()
    for number in range(batch_count):
        start, stop = bounds[number], bounds[number + 1]
        count, who = stop - start, person_of[start:stop]
        registration_ids = hex_keys(rng, count)
        batch_person_ids = person_ids[who].tolist()
        year = np.array(list(YEARS))[choose(rng, YEARS, count)]
        reported = (year - 1970).astype("datetime64[Y]").astype("datetime64[D]") + rng.integers(0, 365, count)
        groups = list(AGE_GROUPS)
        group = choose(rng, AGE_GROUPS, count)
        low, high = (np.array([g[i] for g in groups])[group] for i in (0, 1))
        age = low + (rng.random(count) * (high - low + 1)).astype(np.int64)
        exploitation = np.array(list(EXPLOITATION), dtype=object)[choose(rng, EXPLOITATION, count)]
        exported_at = f"202{number % 7}-06-02T02:00:00.000000Z"
        now = time.strftime("%Y-%m-%d %H:%M:%S.000000+00:00", time.gmtime())
        common = {"registration_id": registration_ids, "person_id": batch_person_ids}
        registration_rows = {
            **common,
            "source": ["police"] * count,
            "source_kind": ["police"] * count,
            "scope": ["national"] * count,
            "reporting_unit": pick(rng, UNITS, count),
            "reported_on": np.datetime_as_string(reported).tolist(),
            "registration_year": year.tolist(),
            "birth_year": (year - age - rng.integers(0, 2, count)).tolist(),
            "age_at_report": age.tolist(),
            "age_group": np.array([g[2] for g in groups], dtype=object)[group].tolist(),
            "is_minor": (age < 18).astype(np.int64).tolist(),
            "gender": pick(rng, GENDERS, count),
            "nationality": pick(rng, NATIONALITIES, count),
            "exploitation_type": [pair[0] for pair in exploitation],
            "exploitation_country": pick(rng, COUNTRIES, count),
            "exploitation_sector": [pair[1] for pair in exploitation],
            "exploitation_municipality": pick(rng, MUNICIPALITIES, count),
            "b8_reflection_offered": flag(rng, B8_OFFERED, count),
            "report_filed": flag(rng, REPORT_FILED, count),
            "source_exported_at": [exported_at] * count,
            "batch_id": [uuid.uuid4().hex] * count,
        }
        vault_rows = {**common, "sealed": vault_values(sealed_values(rng, count)), "sealed_at": [now] * count}
        swapped = person_swapped[who]
        encoding_rows = {
            **common,
            "birth_key": [birth_keys[index] for index in person_birth[who].tolist()],
            "swapped_key": [birth_keys[index] if index >= 0 else None for index in swapped.tolist()],
            "bloom": vault_values(hex_keys(rng, count, 256)),
            "key_version": [1] * count,
        }
        # The links of the persons this batch sees first: each has a name link (a few two), many a bsn or vnr.
        new_persons = who[first_seen[start:stop]]
        link_persons, link_kinds = [], []
        for kind, share in LINKS_PER_PERSON.items():
            chosen = np.concatenate([np.repeat(new_persons, int(share)), new_persons[rng.random(len(new_persons)) < share % 1]])
            link_persons.append(chosen)
            link_kinds += [kind] * len(chosen)
        link_persons = np.concatenate(link_persons)
        link_count = len(link_persons)
        link_rows = {
            "identifier": vault_values(hex_keys(rng, link_count)),
            "kind": link_kinds,
            "person_id": person_ids[link_persons].tolist(),
            "key_version": [1] * link_count,
            "linked_at": [now] * link_count,
        }
        batches.append(
            {
                registrations.name: rows_of(registrations, registration_rows),
                vault_identities.name: rows_of(vault_identities, vault_rows),
                name_encodings.name: rows_of(name_encodings, encoding_rows),
                person_links.name: rows_of(person_links, link_rows),
            }
        )
    return batches


def sqlite_pragmas(connection: sqlite3.Connection) -> str:
    names = ("journal_mode", "synchronous", "cache_size", "secure_delete", "temp_store", "foreign_keys", "busy_timeout")
    return ", ".join(f"{name}={connection.execute(f'PRAGMA {name}').fetchone()[0]}" for name in names)


def merge_vault(batches: list[dict[str, list[tuple]]]) -> None:
    """Fold each batch's sealed entries into its name encodings' rows (both keyed by registration
    id, in the same order), to measure one vault table instead of two: a table and two indexes fewer."""
    for batch in batches:
        sealed = batch.pop(vault_identities.name)
        encodings = batch[name_encodings.name]
        assert [row[0] for row in sealed] == [row[0] for row in encodings]
        batch[name_encodings.name] = [row + entry[2:] for row, entry in zip(encodings, sealed, strict=True)]


def insert_sqlite(path: Path, batches: list[dict[str, list[tuple]]], merged_vault: bool = False) -> list[dict[str, float]]:
    for stale in (path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")):
        stale.unlink(missing_ok=True)
    engine = make_engine(f"sqlite:///{path}")
    upgrade(engine)
    engine.dispose()
    connection = sqlite3.connect(path, isolation_level=None)
    # The very function make_engine runs on every connection it opens: the floor is for the same configuration.
    _sqlite_pragmas(connection, None)
    print(f"SQLite {sqlite3.sqlite_version}, pragmas as make_engine sets them: {sqlite_pragmas(connection)}")
    columns = {table.name: list(table.columns.keys()) for table in TABLES}
    if merged_vault:
        connection.execute(f"DROP TABLE {vault_identities.name}")
        for column in ("sealed", "sealed_at"):
            connection.execute(f"ALTER TABLE {name_encodings.name} ADD COLUMN {column}")
            columns[name_encodings.name].append(column)
    statements = {
        name: f"INSERT INTO {name} ({', '.join(names)}) VALUES ({', '.join('?' * len(names))})" for name, names in columns.items()
    }
    timings = []
    try:
        for batch in batches:
            seconds = {}
            connection.execute("BEGIN")
            for table, rows in batch.items():
                clock = time.perf_counter()
                connection.executemany(statements[table], rows)
                seconds[table] = time.perf_counter() - clock
            clock = time.perf_counter()
            connection.execute("COMMIT")
            seconds["commit"] = time.perf_counter() - clock
            timings.append(seconds)
        size = sum(page for page in connection.execute("SELECT page_count * page_size FROM pragma_page_count, pragma_page_size").fetchone())
        print(f"database file {size / 2**30:.2f} GiB")
    finally:
        connection.close()
    return timings


def copy_csv(rows: list[tuple]) -> bytes:
    """CSV for COPY: None as an unquoted empty field (NULL), booleans as 0/1, dates and times as ISO text."""
    sink = io.StringIO()
    csv.writer(sink, lineterminator="\n").writerows(rows)
    return sink.getvalue().encode()


def insert_postgres(admin_url: str, batches: list[dict[str, list[tuple]]]) -> list[dict[str, float]]:
    # The COPY input is built before timing, as the tuples are for SQLite (and replaces them, to spare memory).
    for batch in batches:
        for table in batch:
            batch[table] = copy_csv(batch[table])
    import psycopg

    with scratch_postgres(admin_url, "write_floor") as url:
        engine = make_engine(url)
        upgrade(engine)
        engine.dispose()
        qualified = {table.name: f"{table.schema}.{table.name}" if table.schema else table.name for table in TABLES}
        statements = {
            table.name: f"COPY {qualified[table.name]} ({', '.join(table.columns.keys())}) FROM STDIN (FORMAT csv)" for table in TABLES
        }
        timings = []
        with psycopg.connect(url.replace("+psycopg", "")) as connection:
            settings = ("server_version", "shared_buffers", "synchronous_commit", "fsync", "max_wal_size")
            print("PostgreSQL " + ", ".join(f"{s}={connection.execute(f'SHOW {s}').fetchone()[0]}" for s in settings))
            connection.commit()
            for batch in batches:
                seconds = {}
                with connection.cursor() as cursor:
                    for table, data in batch.items():
                        clock = time.perf_counter()
                        with cursor.copy(statements[table]) as copy:
                            copy.write(data)
                        seconds[table] = time.perf_counter() - clock
                clock = time.perf_counter()
                connection.commit()
                seconds["commit"] = time.perf_counter() - clock
                timings.append(seconds)
            size = connection.execute("SELECT pg_database_size(current_database())").fetchone()[0]
            print(f"database {size / 2**30:.2f} GiB")
    return timings


def report(label: str, registration_count: int, row_counts: dict[str, int], timings: list[dict[str, float]]) -> None:
    """Seconds per table and commit, per batch and summed; rows per second."""
    steps = [*row_counts, "commit"]
    batches = "".join(f"{f'batch {number}':>9}" for number in range(1, len(timings) + 1))
    print(f"{'seconds':18}{batches}{'sum':>9}{'rows':>12}{'rows/s':>11}")
    for step in steps:
        seconds = [batch[step] for batch in timings]
        rows = f"{row_counts[step]:>12,}{row_counts[step] / sum(seconds):>11,.0f}" if step in row_counts else ""
        print(f"{step:18}{''.join(f'{value:>9.2f}' for value in seconds)}{sum(seconds):>9.1f}{rows}")
    totals = [sum(batch.values()) for batch in timings]
    total, total_rows = sum(totals), sum(row_counts.values())
    print(f"{'total':18}{''.join(f'{value:>9.2f}' for value in totals)}{total:>9.1f}{total_rows:>12,}{total_rows / total:>11,.0f}")
    print(f"{label}: {registration_count:,} registrations written in {total:.1f} s ({registration_count / total:,.0f} registrations/s); "
          f"the registrations table alone {sum(batch[registrations.name] for batch in timings):.1f} s before the commits "
          "(compare with baseline.py's load, which writes only that table)")  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--registrations", type=int, default=1_000_000)
    parser.add_argument("--batches", type=int, default=4, help="delivered files, each loaded in one transaction")
    parser.add_argument("--backends", nargs="+", choices=["sqlite", "postgres"], default=["sqlite", "postgres"])
    parser.add_argument("--workdir", type=Path, default=Path("/tmp/victim-intake-bench"))
    parser.add_argument("--postgres-admin-url", default="postgresql+psycopg://postgres@127.0.0.1:5432/test")
    parser.add_argument("--seed", type=int, default=1)
    # Changes of the data model, measured on SQLite only (PostgreSQL's columns would need other types).
    parser.add_argument("--vault-bytes", action="store_true", help="vault keys, filters and sealed entries as bytes, not hex")
    parser.add_argument("--merged-vault", action="store_true", help="sealed entries in the name encodings' table")
    arguments = parser.parse_args()
    if (arguments.vault_bytes or arguments.merged_vault) and "postgres" in arguments.backends:
        parser.error("--vault-bytes and --merged-vault measure SQLite only: add --backends sqlite")

    clock = time.perf_counter()
    batches = generate(arguments.registrations, arguments.batches, arguments.seed, arguments.vault_bytes)
    if arguments.merged_vault:
        merge_vault(batches)
    row_counts = {name: sum(len(batch[name]) for batch in batches) for name in batches[0]}
    print(f"generated {arguments.registrations:,} registrations in {arguments.batches} batches "
          f"({', '.join(f'{table} {rows:,}' for table, rows in row_counts.items())}) in {time.perf_counter() - clock:.1f} s, before timing")  # fmt: skip
    # SQLite first: PostgreSQL's run turns the tuples into its COPY input.
    if "sqlite" in arguments.backends:
        arguments.workdir.mkdir(parents=True, exist_ok=True)
        path = arguments.workdir / f"write-floor-{arguments.registrations}.sqlite"
        print(f"\n== SQLite ({path})")
        try:
            report("sqlite", arguments.registrations, row_counts, insert_sqlite(path, batches, arguments.merged_vault))
        finally:
            for scratch in (path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")):
                scratch.unlink(missing_ok=True)
    if "postgres" in arguments.backends:
        print("\n== PostgreSQL")
        report("postgres", arguments.registrations, row_counts, insert_postgres(arguments.postgres_admin_url, batches))


if __name__ == "__main__":
    main()
