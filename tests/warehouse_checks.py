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
        persons=valid["person"].nunique(),
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


def personal_values(records: Iterable[dict]) -> set[str]:
    """Every name, birth date, BSN, V-number and free text of the input, as it was delivered.

    Birth dates that are also some report's date are left out: report dates are stored on purpose.
    """
    records = list(records)
    report_dates = {record.get("datum_signaal") for record in records}
    # Places and sectors are stored on purpose; a surname inside one ("Maas" in "Maastricht") is no leak.
    stored_text = "\n".join(
        str(value) for record in records for value in (record["eenheid"], *record["uitbuiting"].values()) if value
    )
    values: set[str] = set()
    for record in records:
        person = record["persoon"]
        values.update(str(person[field]) for field in ("achternaam", "voornamen", "bsn", "v_nummer") if person[field])
        values.update(str(part) for part in str(person["voornamen"] or "").split())
        if person["geboortedatum"] and person["geboortedatum"] not in report_dates:
            values.add(person["geboortedatum"])
        if record.get("toelichting"):
            values.add(record["toelichting"])
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


def sqlite_blobs(database: Path) -> dict[str, bytes]:
    """The database file and every journal beside it."""
    candidates = [database, *database.parent.glob(database.name + "-*")]
    return {path.name: path.read_bytes() for path in candidates if path.is_file()}
