"""Helpers for end-to-end tests: expectations from the truth file and leak scans."""

from __future__ import annotations

import gzip
import json
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

# Shorter values occur by chance in any text ("Li" in "Limburg"), so they prove nothing either way.
MIN_SEARCH_LENGTH = 4
# Sealed identities and keyed hashes are random bytes: four given characters occur in them about
# once in 4 GiB, so a demo's hundreds of four-letter names against megabytes of them would match
# by chance now and then; six characters about once in 2^48 bytes. Bytes that hold such columns
# are searched for values this long, and every value is searched in the columns that hold text.
MIN_RANDOM_SEARCH_LENGTH = 6


@dataclass(frozen=True)
class Expected:
    lines: int
    quarantined_rows: int
    registrations: int
    persons: int


def expected_from_truth(truth_path: Path) -> Expected:
    truth = pd.read_csv(truth_path, dtype=str, keep_default_na=False)
    valid = truth[truth["valid"].str.lower() == "true"]
    return Expected(
        lines=len(truth),
        quarantined_rows=len(truth) - len(valid),
        registrations=valid[["source", "source_record_id"]].drop_duplicates().shape[0],
        # Anonymous rows (CTDC) have an empty person: they can never be linked, so they are nobody.
        persons=valid.loc[valid["person"] != "", "person"].nunique(),
    )


def feed_records(inbox: Path) -> list[dict]:
    records = []
    for path in sorted((inbox / "police").iterdir()):
        if path.name.endswith(".ndjson"):
            lines = path.read_text(encoding="utf-8").splitlines()
        elif path.name.endswith(".ndjson.gz"):
            lines = gzip.decompress(path.read_bytes()).decode("utf-8").splitlines()
        else:
            continue
        records.extend(json.loads(line) for line in lines if line.strip())
    return records


def free_texts(values: Iterable[object], matched) -> set[str]:
    """The values no code list knows (what `schemas.coding` replaces by `unknown` with a warning)."""
    series = pd.Series([value for value in values if value], dtype=object)
    if series.empty:
        return set()
    found = matched(series)
    return set(series[found.rules.notna()].astype(str))


def personal_values(records: Iterable[dict]) -> set[str]:
    """Every name, birth date, BSN, V-number and free text of the input, as it was delivered, free
    text in a place or sector field included.

    Birth dates that are also some report's date are left out: report dates are stored on purpose.
    """
    from schemas.codelists.matching import match_municipalities, match_sectors

    records = list(records)
    report_dates = {record.get("datum_signaal") for record in records}
    # Police unit names are published (the report labels unit codes with them); a surname inside
    # one ("Lim" in "Limburg") is no leak. Places and sectors are stored as codes, never as text.
    stored_text = "\n".join(str(record["eenheid"]) for record in records if record["eenheid"])
    values: set[str] = free_texts((record["uitbuiting"]["gemeente"] for record in records), match_municipalities)
    values |= free_texts((record["uitbuiting"]["sector"] for record in records), match_sectors)
    for record in records:
        person = record["persoon"]
        values.update(str(person[field]) for field in ("achternaam", "voornamen", "bsn", "v_nummer") if person[field])
        values.update(str(part) for part in str(person["voornamen"] or "").split())
        if person["geboortedatum"] and person["geboortedatum"] not in report_dates:
            values.add(person["geboortedatum"])
        if record.get("toelichting"):
            values.add(record["toelichting"])
    return {value for value in values if len(value) >= MIN_SEARCH_LENGTH and value not in stored_text}


def partner_personal_values(inbox: Path) -> set[str]:
    """Names, birth dates and free text of the partner files in the inbox (in place, sector and unit
    fields included), as they were delivered."""
    from connectors.tabular import read_table
    from schemas.codelists.matching import match_municipalities, match_sectors
    from schemas.partner import read_columns
    from schemas.partner_definition import load_definitions

    police = feed_records(inbox) if (inbox / "police").is_dir() else []
    # Police unit names are published (report labels); places, sectors and units are stored as codes.
    stored = [str(record["eenheid"]) for record in police if record["eenheid"]]
    values: set[str] = set()
    for definition in load_definitions().values():
        personal = [definition.columns[f] for f in ("surname", "given_names", "birth_date", "bsn", "alien_number", "notes") if f in definition.columns]
        wanted = [*read_columns(definition), *([definition.columns["notes"]] if "notes" in definition.columns else [])]
        for path in sorted((inbox / definition.id).glob(f"*.{definition.format}")):
            frame = read_table(
                path, wanted, file_format=definition.format, encoding=definition.encoding, delimiter=definition.delimiter,
                sheet=definition.sheet, date_format=definition.date_format, max_bytes=1 << 30,
            ).frame
            listed = {"reporting_unit": definition.unit_list().match, "exploitation_sector": match_sectors,
                      "exploitation_municipality": match_municipalities}
            for field, matched in listed.items():
                if field in definition.columns:
                    values |= free_texts(frame[definition.columns[field]].dropna().tolist(), matched)
            for header in personal:
                column = frame[header].dropna()
                values.update(column.tolist())
                if header == definition.columns.get("given_names"):
                    values.update(part for name in column.tolist() for part in name.split())
    stored_text = "\n".join(stored)
    return {value for value in values if len(value) >= MIN_SEARCH_LENGTH and value not in stored_text}


def find_in_bytes(values: Iterable[str], blobs: dict[str, bytes]) -> list[tuple[str, str]]:
    """(where, value) for every value found in any blob, in UTF-8 or UTF-16 (SQLite may use either)."""
    hits = []
    for value in values:
        needles = (value.encode("utf-8"), value.encode("utf-16-le"))
        for where, blob in blobs.items():
            if any(needle in blob for needle in needles):
                hits.append((where, value))
    return hits


def long_values(values: Iterable[str]) -> set[str]:
    """The values long enough not to occur by chance in random bytes (`MIN_RANDOM_SEARCH_LENGTH`)."""
    return {value for value in values if len(value) >= MIN_RANDOM_SEARCH_LENGTH}


def column_contents(url: str) -> tuple[dict[str, bytes], dict[str, bytes]]:
    """Every table of the warehouse (the vault's schema included) as two blobs: the values of its
    columns that hold text, numbers and dates, and the values of those that hold bytes."""
    import sqlalchemy as sa

    engine = sa.create_engine(url)
    readable, binary = {}, {}
    with engine.connect() as connection:
        inspector = sa.inspect(connection)
        schemas = [None, "vault"] if "vault" in inspector.get_schema_names() else [None]
        for schema in schemas:
            for table in inspector.get_table_names(schema=schema):
                name = f'"{schema}"."{table}"' if schema else f'"{table}"'
                rows = connection.execute(sa.text(f"SELECT * FROM {name}")).all()
                values = [value for row in rows for value in row]
                readable[name] = "\n".join(str(value) for value in values if not isinstance(value, bytes | memoryview)).encode()
                binary[name] = b"\n".join(bytes(value) for value in values if isinstance(value, bytes | memoryview))
    engine.dispose()
    return readable, binary


def sqlite_blobs(database: Path) -> dict[str, bytes]:
    """The database file and every journal beside it."""
    candidates = [database, *database.parent.glob(database.name + "-*")]
    return {path.name: path.read_bytes() for path in candidates if path.is_file()}
