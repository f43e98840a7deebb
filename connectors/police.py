"""The automated police feed: NDJSON files (optionally gzip) with a JSON manifest each.

Reading checks the manifest (checksum and record count) first and flattens the nested records
into one text column per field. The officer's free text (`toelichting`) is not part of the read
schema, so it is dropped by the parser and never reaches memory as a column.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.json as pajson

from connectors.files import FileRejected, check_size

SOURCE = "police"
SUPPORTED_SCHEMA_VERSION = "1"
DATA_SUFFIXES = (".ndjson", ".ndjson.gz")

_TEXT = pa.string()
# Explicit read schema: fields outside it (the free text, anything new) are ignored by the parser.
READ_SCHEMA = pa.schema(
    [
        ("schema_version", _TEXT),
        ("registratie_id", _TEXT),
        ("eenheid", _TEXT),
        ("datum_signaal", _TEXT),
        (
            "persoon",
            pa.struct(
                [
                    ("achternaam", _TEXT),
                    ("voornamen", _TEXT),
                    ("geboortedatum", _TEXT),
                    ("geslacht", _TEXT),
                    ("nationaliteit", _TEXT),
                    ("geboorteland", _TEXT),
                    ("bsn", _TEXT),
                    ("v_nummer", _TEXT),
                ]
            ),
        ),
        ("uitbuiting", pa.struct([("vorm", _TEXT), ("sector", _TEXT), ("land", _TEXT), ("gemeente", _TEXT)])),
        ("b8", pa.struct([("bedenktijd_aangeboden", pa.bool_()), ("aangifte", pa.bool_())])),
    ]
)
_ID_SCHEMA = pa.schema([("registratie_id", _TEXT)])
BOOLEAN_FIELDS = ("bedenktijd_aangeboden", "aangifte")
_MANIFEST_KEYS = ("bestand", "sha256", "aantal_records", "schema_version")
_WRONG_TYPE = re.compile(r"Column\((/[\w/]*)\) changed from (\w+) to (\w+)")


@dataclass(frozen=True)
class PoliceFile:
    """One verified feed file: its identity and manifest, read in parts of about `part_bytes`.

    The records are never all in memory at once: `parts()` parses one part at a time, so a file
    larger than memory loads with bounded memory.
    """

    path: Path
    sha256: str
    exported_at: str | None
    record_count: int
    part_bytes: int
    # registratie_id values that occur more than once anywhere in the file: every copy is invalid,
    # also when the copies fall in different parts.
    duplicate_ids: frozenset[str]
    part_count: int  # how many frames `parts()` yields, so a reader knows which part is the last

    def parts(self) -> Iterator[pd.DataFrame]:
        """The records, one frame per part; the index is the line number - 1 across the file."""
        offset = 0
        for block in _blocks(self.path, self.part_bytes):
            frame = flatten(_parse(block, READ_SCHEMA))
            frame.index += offset
            offset += len(frame)
            yield frame
        if offset != self.record_count:
            raise FileRejected(f"{offset} records read but {self.record_count} counted before: the file changed while being read")

    def records(self) -> pd.DataFrame:
        """All records at once (small files and tests)."""
        parts = list(self.parts())
        return pd.concat(parts) if parts else flatten(READ_SCHEMA.empty_table())


def is_feed_file(path: Path) -> bool:
    return path.name.endswith(DATA_SUFFIXES)


def manifest_path(path: Path) -> Path:
    stem = path.name.removesuffix(".gz").removesuffix(".ndjson")
    return path.with_name(f"{stem}.manifest.json")


def discover(folder: Path) -> list[Path]:
    """Feed files in a folder, oldest name first (names carry the export date)."""
    if not folder.is_dir():
        return []
    return sorted(path for path in folder.iterdir() if path.is_file() and is_feed_file(path))


def _read_manifest(path: Path) -> dict:
    location = manifest_path(path)
    if not location.exists():
        raise FileRejected("its manifest is missing (partial delivery?)")
    try:
        manifest = json.loads(location.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise FileRejected("its manifest is not valid JSON") from None
    if not isinstance(manifest, dict):
        raise FileRejected("its manifest is not a JSON object")
    missing = [key for key in _MANIFEST_KEYS if key not in manifest]
    if missing:
        raise FileRejected(f"its manifest lacks {', '.join(missing)}")
    return manifest


def verify_manifest(path: Path, sha256: str) -> dict:
    """The file's manifest, after checking that it describes exactly this file."""
    manifest = _read_manifest(path)
    if manifest["bestand"] != path.name:
        # The manifest's fields are written by the source: say what is wrong without quoting them.
        raise FileRejected("its manifest names another file (`bestand`)")
    if str(manifest["schema_version"]) != SUPPORTED_SCHEMA_VERSION:
        raise FileRejected(f"its manifest's schema version is not supported (this version reads {SUPPORTED_SCHEMA_VERSION})")
    if str(manifest["sha256"]).lower() != sha256:
        raise FileRejected("checksum does not match the manifest (damaged or partial delivery)")
    if not isinstance(manifest["aantal_records"], int) or manifest["aantal_records"] < 0:
        raise FileRejected("manifest's aantal_records is not a whole number")
    return manifest


def planned_parts(path: Path, part_bytes: int) -> int:
    """How many parts of at most `part_bytes` an uncompressed file is cut into, known from its size
    before it is read; a compressed file's count is known only once it is read (1 is assumed)."""
    if path.name.endswith(".gz"):
        return 1
    return max(1, -(-path.stat().st_size // part_bytes))


def _blocks(path: Path, size: int) -> Iterator[bytes]:
    """The file's (decompressed) bytes in blocks of about `size` that end at a line break.

    An uncompressed file is cut into equal blocks (a 300 MB file in 256 MB parts: two of 150 MB,
    not 256 and 44): the largest part sets the load's peak memory."""
    compression = "gzip" if path.name.endswith(".gz") else None
    if compression is None:
        size = -(-path.stat().st_size // planned_parts(path, size))
    try:
        with pa.input_stream(str(path), compression=compression) as stream:
            rest = b""
            while chunk := stream.read(size):
                data = rest + chunk
                cut = data.rfind(b"\n") + 1
                if cut:
                    yield data[:cut]
                rest = data[cut:]
            if rest.strip():
                yield rest
    except OSError:
        raise FileRejected("not valid NDJSON (the file is truncated or its compression is damaged)") from None


def _parse(block: bytes, schema: pa.Schema) -> pa.Table:
    options = pajson.ParseOptions(explicit_schema=schema, unexpected_field_behavior="ignore")
    try:
        return pajson.read_json(pa.BufferReader(block), parse_options=options)
    except (pa.ArrowInvalid, OSError) as error:
        # Arrow's own message may quote input; build ours from the structure of the error only.
        wrong_type = _WRONG_TYPE.search(str(error))
        if wrong_type:
            field, expected, found = wrong_type.groups()
            raise FileRejected(
                f"not schema version {SUPPORTED_SCHEMA_VERSION}: field {field} holds a {found}, "
                f"expected a {expected}"
            ) from None
        raise FileRejected("not valid NDJSON (a line is not a JSON object, or the file is truncated)") from None


def _count_and_duplicates(path: Path, part_bytes: int) -> tuple[int, frozenset[str], int]:
    """Records in the file, the registratie_id values that occur more than once and the number of
    parts, from a first pass that parses only that field (so a count mismatch stops the file
    before any row loads)."""
    blocks = [_parse(block, _ID_SCHEMA).column(0).combine_chunks() for block in _blocks(path, part_bytes)]
    if not blocks:
        return 0, frozenset(), 0
    ids = pa.chunked_array(blocks, type=_TEXT)
    counts = pc.value_counts(ids.drop_null())
    repeated = counts.filter(pc.greater(counts.field("counts"), 1)).field("values")
    return len(ids), frozenset(repeated.to_pylist()), len(blocks)


def flatten(table: pa.Table) -> pd.DataFrame:
    """Nested records -> one column per leaf field, named by the leaf (`persoon.bsn` -> `bsn`)."""
    flat = table.flatten()
    while any(pa.types.is_struct(field.type) for field in flat.schema):
        flat = flat.flatten()
    frame = flat.rename_columns([name.rsplit(".", 1)[-1] for name in flat.column_names]).to_pandas()
    for column in BOOLEAN_FIELDS:
        frame[column] = frame[column].astype("boolean")
    return frame


def read_police_file(path: Path, sha256: str, max_bytes: int, part_bytes: int = 256 * 2**20) -> PoliceFile:
    """Verify one feed file whose content hash is `sha256`, count its records and find repeated
    ids; the records themselves are read part by part by `PoliceFile.parts`.

    Raises FileRejected when the file must not be loaded at all.
    """
    check_size(path, max_bytes)
    manifest = verify_manifest(path, sha256)
    count, duplicates, part_count = _count_and_duplicates(path, part_bytes)
    if count != manifest["aantal_records"]:
        raise FileRejected(
            f"{count} records in the file but {manifest['aantal_records']} in the manifest (partial delivery)"
        )
    return PoliceFile(path, sha256, manifest.get("geexporteerd_op"), count, part_bytes, duplicates, part_count)
