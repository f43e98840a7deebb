"""Hand-made police feed records and files for unit tests (synthetic people only)."""

from __future__ import annotations

import copy
import hashlib
import json
from pathlib import Path

VALID_RECORD: dict = {
    "schema_version": "1",
    "registratie_id": "PL0900-2025-000001",
    "eenheid": "Rotterdam",
    "datum_signaal": "2025-03-14",
    "persoon": {
        "achternaam": "de Vries",
        "voornamen": "Anna Maria",
        "geboortedatum": "1999-04-02",
        "geslacht": "V",
        "nationaliteit": "NLD",
        "geboorteland": "NLD",
        "bsn": "123456782",
        "v_nummer": None,
    },
    "uitbuiting": {"vorm": "seksueel", "sector": None, "land": "NLD", "gemeente": "Rotterdam"},
    "b8": {"bedenktijd_aangeboden": False, "aangifte": True},
    "toelichting": "Anna Maria de Vries (2 april 1999) aangetroffen in een woning.",
}


def record(registratie_id: str = "PL0900-2025-000001", **changes: object) -> dict:
    """A valid record with some fields changed; nested fields are named by their leaf."""
    result = copy.deepcopy(VALID_RECORD)
    result["registratie_id"] = registratie_id
    for name, value in changes.items():
        for part in ("persoon", "uitbuiting", "b8"):
            if name in result[part]:
                result[part][name] = value
                break
        else:
            result[name] = value
    return result


def write_feed(
    folder: Path,
    name: str,
    records: list[dict],
    *,
    exported_at: str = "2025-03-15T02:00:00+01:00",
    manifest_changes: dict | None = None,
) -> Path:
    """Write `<name>.ndjson` and a matching manifest (optionally spoiled by `manifest_changes`)."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}.ndjson"
    data = "".join(json.dumps(item, ensure_ascii=False) + "\n" for item in records).encode("utf-8")
    path.write_bytes(data)
    manifest = {
        "bestand": path.name,
        "sha256": hashlib.sha256(data).hexdigest(),
        "aantal_records": len(records),
        "geexporteerd_op": exported_at,
        "schema_version": "1",
    }
    manifest.update(manifest_changes or {})
    (folder / f"{name}.manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
    return path
