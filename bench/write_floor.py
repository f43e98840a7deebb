"""The floor under a bulk load: only the warehouse writes that the data model requires, done the fastest plain way.

Two data models, timed in the same run on the same rows. The previous one (migration 0012) wrote
per loaded registration a `registrations` row, a sealed `vault_identities` row (hex), a
`name_encodings` row (hex) and on average 1.36 `person_links` rows: 4.36 rows and about 10
random-key index entries. The lean vault (head) writes a `registrations` row and one
`vault_identities` row holding the sealed fields, the keyed identifiers and the name encoding as
bytes, and a `person_links` override only where the vault's rows do not tell an identifier's owner
(`OVERRIDES_PER_REGISTRATION`). The script creates each schema with the project's migrations,
generates synthetic rows shaped like a real 1M-record warehouse's BEFORE timing (the same draws
for both models), then times only their inserts: each batch sorted by key (as the project writes
them), one transaction per batch, `executemany` of ready tuples on SQLite (with the pragmas
`make_engine` sets) and COPY of ready CSV on PostgreSQL. No reading, validation, hashing, linkage,
row preparation or Prefect: no implementation of a data model can load the same rows faster on
the same machine.

    .venv/bin/python bench/write_floor.py                                   # 1,000,000 registrations, SQLite and PostgreSQL
    .venv/bin/python bench/write_floor.py --registrations 20000 --backends sqlite
    .venv/bin/python bench/write_floor.py --models lean                     # one model only
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

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_run import scratch_postgres  # noqa: E402

from schemas.codelists.matching import match_municipalities, match_sectors, police_unit_list  # noqa: E402
from store.engines import _sqlite_pragmas, make_engine  # noqa: E402
from store.tables import registrations  # noqa: E402
from warehouse.migrate import upgrade  # noqa: E402

_LINK_COLUMNS = ["identifier", "kind", "person_id", "key_version", "linked_at"]
# Each model's tables with their columns, in the order their rows are written; the revision that
# creates its schema.
MODELS = {
    "previous": (
        "0012",
        {
            "registrations": list(registrations.columns.keys()),
            "vault_identities": ["registration_id", "person_id", "sealed", "sealed_at"],
            "name_encodings": ["registration_id", "person_id", "birth_key", "swapped_key", "bloom", "key_version", "scheme", "script_key"],
            "person_links": _LINK_COLUMNS,
        },
    ),
    "lean": (
        "head",
        {
            "registrations": list(registrations.columns.keys()),
            "vault_identities": [
                "registration_id", "person_id", "sealed", "sealed_at", "name_key", "bsn_key", "vnr_key", "key_version",
                "birth_key", "swapped_key", "bloom", "script_key", "scheme",
            ],
            "person_links": _LINK_COLUMNS,
        },
    ),
}

# Shapes measured on a real warehouse after a 1M-record police load (972,198 registrations):
# 790,545 persons (0.81 per registration); person links per person: 1.0036 name, 0.43 bsn, 0.236
# vnr (1.36 per registration); sealed entries 320-438 hex characters, mean 356, sd 14; 22,949
# distinct birth keys; 36 % of the encodings have a swapped birth key.
PERSONS_PER_REGISTRATION = 790_545 / 972_198
LINKS_PER_PERSON = {"name": 793_400 / 790_545, "bsn": 339_790 / 790_545, "vnr": 186_388 / 790_545}
SEALED_MEAN, SEALED_SD = 356, 14
BIRTH_KEYS = 22_949
SWAPPED_SHARE = 1 - 620_650 / 972_198
# Identifiers whose owner the lean vault's rows do not tell (a name the bound kept from a large
# person, a split, a snapshot that dropped the only carrier): none in the demo warehouses, put at
# 0.5 % of the registrations so that the model pays for some.
OVERRIDES_PER_REGISTRATION = 0.005

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


def rows_of(columns: list[str], values: dict[str, list]) -> list[tuple]:
    """Tuples in the table's column order, sorted by key (its first column); every column must be given."""
    rows = list(zip(*(values[name] for name in columns), strict=True))
    rows.sort()
    return rows


def generate(total: int, batch_count: int, seed: int, model: str) -> list[dict[str, list[tuple]]]:
    """Per batch, the rows of each table of `model`, in key order; SQLite's values (dates and times
    as ISO text, booleans 0/1). The same seed draws the same registrations for either model."""
    rng = np.random.default_rng(seed)
    tables = MODELS[model][1]
    lean = model == "lean"

    def stored(values: list[str]) -> list:
        """The previous model stored keys, filters and sealed entries as hex; the lean vault as bytes."""
        return [None if value is None else bytes.fromhex(value) for value in values] if lean else values

    persons = max(1, round(total * PERSONS_PER_REGISTRATION))
    person_ids = np.array(["v1-" + key for key in hex_keys(rng, persons)], dtype=object)
    person_birth = rng.integers(0, BIRTH_KEYS, persons)
    person_swapped = np.where(rng.random(persons) < SWAPPED_SHARE, rng.integers(0, BIRTH_KEYS, persons), -1)
    birth_keys = hex_keys(rng, BIRTH_KEYS)
    # Each person's identifiers: a name (a few persons two: the second kept as a link only), many a BSN or V-number.
    identifiers = {kind: np.array(hex_keys(rng, persons), dtype=object) for kind in LINKS_PER_PERSON}
    carries = {kind: rng.random(persons) < min(share, 1.0) for kind, share in LINKS_PER_PERSON.items()}
    second_names = rng.random(persons) < LINKS_PER_PERSON["name"] % 1
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
        swapped = person_swapped[who]
        encoding = {
            "birth_key": stored([birth_keys[index] for index in person_birth[who].tolist()]),
            "swapped_key": stored([birth_keys[index] if index >= 0 else None for index in swapped.tolist()]),
            "bloom": stored(hex_keys(rng, count, 256)),
            "key_version": [1] * count,
            "scheme": [2] * count,
            "script_key": [None] * count,
        }
        sealed = {"sealed": stored(sealed_values(rng, count)), "sealed_at": [now] * count}
        batch = {"registrations": rows_of(tables["registrations"], registration_rows)}
        new_persons = who[first_seen[start:stop]]
        if lean:
            keys = {
                f"{kind}_key": stored([identifiers[kind][person] if carries[kind][person] else None for person in who.tolist()])
                for kind in LINKS_PER_PERSON
            }
            batch["vault_identities"] = rows_of(tables["vault_identities"], {**common, **sealed, **encoding, **keys})
            # The overrides: identifiers of persons first seen here, as many as the model assumes.
            link_persons = new_persons[rng.random(len(new_persons)) < OVERRIDES_PER_REGISTRATION * count / max(len(new_persons), 1)]
            link_kinds = ["name"] * len(link_persons)
            link_identifiers = [identifiers["name"][person] for person in link_persons.tolist()]
        else:
            batch["vault_identities"] = rows_of(tables["vault_identities"], {**common, **sealed})
            batch["name_encodings"] = rows_of(tables["name_encodings"], {**common, **encoding})
            # The links of the persons this batch sees first: each has a name link (a few two), many a bsn or vnr.
            link_persons, link_kinds, link_identifiers = [], [], []
            for kind in LINKS_PER_PERSON:
                chosen = new_persons[carries[kind][new_persons]]
                link_persons.append(chosen)
                link_kinds += [kind] * len(chosen)
                link_identifiers += [identifiers[kind][person] for person in chosen.tolist()]
            second = new_persons[second_names[new_persons]]
            link_persons.append(second)
            link_kinds += ["name"] * len(second)
            link_identifiers += hex_keys(rng, len(second))
            link_persons = np.concatenate(link_persons)
        link_count = len(link_persons)
        link_rows = {
            "identifier": stored(link_identifiers),
            "kind": link_kinds,
            "person_id": person_ids[link_persons].tolist(),
            "key_version": [1] * link_count,
            "linked_at": [now] * link_count,
        }
        batch["person_links"] = rows_of(tables["person_links"], link_rows)
        batches.append(batch)
    return batches


def sqlite_pragmas(connection: sqlite3.Connection) -> str:
    names = ("journal_mode", "synchronous", "cache_size", "secure_delete", "temp_store", "foreign_keys", "busy_timeout")
    return ", ".join(f"{name}={connection.execute(f'PRAGMA {name}').fetchone()[0]}" for name in names)


def insert_sqlite(path: Path, batches: list[dict[str, list[tuple]]], model: str) -> list[dict[str, float]]:
    for stale in (path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")):
        stale.unlink(missing_ok=True)
    revision, tables = MODELS[model]
    engine = make_engine(f"sqlite:///{path}")
    upgrade(engine, revision)
    engine.dispose()
    connection = sqlite3.connect(path, isolation_level=None)
    # The very function make_engine runs on every connection it opens: the floor is for the same configuration.
    _sqlite_pragmas(connection, None)
    print(f"SQLite {sqlite3.sqlite_version}, pragmas as make_engine sets them: {sqlite_pragmas(connection)}")
    statements = {
        name: f"INSERT INTO {name} ({', '.join(names)}) VALUES ({', '.join('?' * len(names))})" for name, names in tables.items()
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
    """CSV for COPY: None as an unquoted empty field (NULL), booleans as 0/1, dates and times as ISO
    text, bytes as bytea's text input (`\\x` and hex)."""
    sink = io.StringIO()
    writer = csv.writer(sink, lineterminator="\n")
    for row in rows:
        writer.writerow(["\\x" + value.hex() if isinstance(value, bytes) else value for value in row])
    return sink.getvalue().encode()


def insert_postgres(admin_url: str, batches: list[dict[str, list[tuple]]], model: str) -> list[dict[str, float]]:
    # The COPY input is built before timing, as the tuples are for SQLite (and replaces them, to spare memory).
    for batch in batches:
        for table in batch:
            batch[table] = copy_csv(batch[table])
    import psycopg

    revision, tables = MODELS[model]
    with scratch_postgres(admin_url, "write_floor") as url:
        engine = make_engine(url)
        upgrade(engine, revision)
        engine.dispose()
        statements = {
            name: f"COPY {name if name == 'registrations' else 'vault.' + name} ({', '.join(columns)}) FROM STDIN (FORMAT csv)"
            for name, columns in tables.items()
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


def report(label: str, registration_count: int, row_counts: dict[str, int], timings: list[dict[str, float]]) -> float:
    """Seconds per table and commit, per batch and summed; rows per second. Returns the total seconds."""
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
    print(f"{label}: {registration_count:,} registrations written in {total:.1f} s ({registration_count / total:,.0f} registrations/s), "
          f"{total_rows / registration_count:.2f} rows per registration; the registrations table alone "
          f"{sum(batch[registrations.name] for batch in timings):.1f} s before the commits "
          "(compare with baseline.py's load, which writes only that table)")  # fmt: skip
    return total


def index_entries(path: Path, registration_count: int) -> str:
    """Entries per registration of the indexes on keyed hashes, counted in the written SQLite file:
    every index of the model's tables (primary keys included) but the one on the year; a partial
    index holds only the rows its condition selects."""
    connection = sqlite3.connect(path)
    try:
        indexes = connection.execute(
            "SELECT name, tbl_name, sql FROM sqlite_master WHERE type = 'index' AND name != 'ix_registrations_year' "
            "AND tbl_name IN ('registrations', 'vault_identities', 'name_encodings', 'person_links')"
        ).fetchall()
        counts = {}
        for name, table, sql in indexes:
            condition = f" WHERE {sql.rsplit(' WHERE ', 1)[1]}" if sql and " WHERE " in sql else ""
            counts[name] = connection.execute(f"SELECT count(*) FROM {table}{condition}").fetchone()[0]
    finally:
        connection.close()
    listed = ", ".join(f"{name} {count / registration_count:.2f}" for name, count in sorted(counts.items()))
    return f"{sum(counts.values()) / registration_count:.2f} random-key index entries per registration ({listed})"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--registrations", type=int, default=1_000_000)
    parser.add_argument("--batches", type=int, default=4, help="delivered files, each loaded in one transaction")
    parser.add_argument("--backends", nargs="+", choices=["sqlite", "postgres"], default=["sqlite", "postgres"])
    parser.add_argument("--models", nargs="+", choices=list(MODELS), default=list(MODELS), help="data models to time, in this order")
    parser.add_argument("--workdir", type=Path, default=Path("/tmp/victim-intake-bench"))
    parser.add_argument("--postgres-admin-url", default="postgresql+psycopg://postgres@127.0.0.1:5432/test")
    parser.add_argument("--seed", type=int, default=1)
    arguments = parser.parse_args()

    totals: dict[tuple[str, str], float] = {}
    for model in arguments.models:
        clock = time.perf_counter()
        batches = generate(arguments.registrations, arguments.batches, arguments.seed, model)
        row_counts = {name: sum(len(batch[name]) for batch in batches) for name in batches[0]}
        print(f"\n##### {model} data model (revision {MODELS[model][0]})")
        print(f"generated {arguments.registrations:,} registrations in {arguments.batches} batches "
              f"({', '.join(f'{table} {rows:,}' for table, rows in row_counts.items())}) in {time.perf_counter() - clock:.1f} s, before timing")  # fmt: skip
        # SQLite first: PostgreSQL's run turns the tuples into its COPY input.
        if "sqlite" in arguments.backends:
            arguments.workdir.mkdir(parents=True, exist_ok=True)
            path = arguments.workdir / f"write-floor-{model}-{arguments.registrations}.sqlite"
            print(f"\n== SQLite ({path})")
            try:
                totals[model, "sqlite"] = report(f"sqlite, {model}", arguments.registrations, row_counts, insert_sqlite(path, batches, model))
                print(index_entries(path, arguments.registrations))
            finally:
                for scratch in (path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")):
                    scratch.unlink(missing_ok=True)
        if "postgres" in arguments.backends:
            print("\n== PostgreSQL")
            totals[model, "postgres"] = report(
                f"postgres, {model}", arguments.registrations, row_counts, insert_postgres(arguments.postgres_admin_url, batches, model)
            )
        del batches
    print("\n##### summary (seconds for all writes and commits)")
    for backend in arguments.backends:
        measured = {model: totals[model, backend] for model in arguments.models}
        print(f"{backend:9}" + "".join(f"  {model} {seconds:.1f} s" for model, seconds in measured.items())
              + (f"  (lean / previous {measured['lean'] / measured['previous']:.2f})" if len(measured) == 2 else ""))


if __name__ == "__main__":
    main()
