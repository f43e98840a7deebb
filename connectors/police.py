"""The automated police feed: NDJSON files (optionally gzip) with a JSON manifest each.

Reading checks the manifest (checksum and record count) first and flattens the nested records
into one text column per field. The officer's free text (`toelichting`) is not part of the read
schema, so it is dropped by the parser and never reaches memory as a column.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.json as pajson

from connectors.files import NOT_REGULAR, FileRejected, check_size, open_delivered
from connectors.inbox import regular_files
from schemas.police import feed_fields

SOURCE = "police"
SUPPORTED_SCHEMA_VERSION = "1"
DATA_SUFFIXES = (".ndjson", ".ndjson.gz")

_TEXT = pa.string()


@cache
def read_schema() -> pa.Schema:
    """The parser's explicit schema, built from the police model (`schemas.police.feed_fields`):
    fields outside it (the officer's free text, anything new) are ignored by the parser."""
    top: list[tuple[str, pa.DataType]] = []
    groups: dict[str, list[tuple[str, pa.DataType]]] = {}
    for field in feed_fields():
        entry = (field.name, pa.bool_() if field.boolean else _TEXT)
        if field.group is None:
            top.append(entry)
        else:
            if field.group not in groups:
                groups[field.group] = []
                top.append((field.group, groups[field.group]))
            groups[field.group].append(entry)
    return pa.schema([(name, pa.struct(kind) if isinstance(kind, list) else kind) for name, kind in top])


_ID_SCHEMA = pa.schema([("registratie_id", _TEXT)])
EXPORT_TIME_MARGIN = dt.timedelta(days=1)
_MAX_MANIFEST_BYTES = 64 * 1024  # a manifest is a few hundred bytes
_MANIFEST_KEYS = ("bestand", "sha256", "aantal_records", "schema_version")
# Arrow's JSON reader parses in blocks of this size by default; an object longer than a block
# fails with a message that contains _STRADDLING.
_DEFAULT_BLOCK_BYTES = pajson.ReadOptions().block_size
_STRADDLING = "straddling object"
_SCAN_BYTES = 64 * 2**20
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
            frame = flatten(_parse(block, read_schema()))
            del block  # parsed: not held while the part is prepared and loaded
            frame.index += offset
            offset += len(frame)
            yield frame
        if offset != self.record_count:
            raise FileRejected(f"{offset} records read but {self.record_count} counted before: the file changed while being read")

    def records(self) -> pd.DataFrame:
        """All records at once (small files and tests)."""
        parts = list(self.parts())
        return pd.concat(parts) if parts else flatten(read_schema().empty_table())


def is_feed_file(path: Path) -> bool:
    return path.name.endswith(DATA_SUFFIXES)


def manifest_path(path: Path) -> Path:
    stem = path.name.removesuffix(".gz").removesuffix(".ndjson")
    return path.with_name(f"{stem}.manifest.json")


def discover(folder: Path) -> list[Path]:
    """Feed files in a folder, oldest name first (names carry the export date); regular files in a
    real folder only (`connectors.inbox`)."""
    return [path for path in regular_files(folder) if is_feed_file(path)]


def _read_manifest(path: Path) -> dict:
    try:
        with open_delivered(manifest_path(path)) as handle:
            text = handle.read(_MAX_MANIFEST_BYTES + 1)
    except FileNotFoundError:
        raise FileRejected("its manifest is missing (partial delivery?)") from None
    except FileRejected:
        raise FileRejected(f"its manifest is {NOT_REGULAR}") from None
    if len(text) > _MAX_MANIFEST_BYTES:
        raise FileRejected(f"its manifest is larger than {_MAX_MANIFEST_BYTES // 1024} KB: not a manifest")
    try:
        manifest = json.loads(text.decode("utf-8"))
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


def check_export_time(exported_at: object, now: dt.datetime) -> None:
    """Refuse an export time that cannot be true: unreadable, or more than a day after `now`.

    A later export wins over the stored row (`warehouse.load`), so an export time in the future
    would pin the file's rows against every correction that follows. A day's margin allows for a
    source's clock running ahead and for time zones."""
    if exported_at is None:
        return  # optional: without it a delivery neither wins nor loses by time
    try:
        parsed = pd.Timestamp(exported_at) if isinstance(exported_at, str) else None
    except ValueError:
        parsed = None
    if parsed is None or pd.isna(parsed):
        raise FileRejected("its manifest's export time (geexporteerd_op) is not an ISO 8601 time")
    if parsed.tzinfo is None:
        parsed = parsed.tz_localize("UTC")  # as the load reads it
    if parsed > now + EXPORT_TIME_MARGIN:
        raise FileRejected(
            "its manifest's export time (geexporteerd_op) lies more than a day in the future: the source's clock "
            "or export is wrong; ask for a corrected manifest"
        )


def planned_parts(path: Path, part_bytes: int) -> int:
    """How many parts of at most `part_bytes` an uncompressed file is cut into, known from its size
    before it is read; a compressed file's count is known only once it is read (1 is assumed)."""
    if path.name.endswith(".gz"):
        return 1
    return max(1, -(-path.lstat().st_size // part_bytes))


def _blocks(path: Path, size: int) -> Iterator[bytes]:
    """The file's (decompressed) bytes in blocks of about `size` that end at a line break.

    An uncompressed file is cut into equal blocks (a 300 MB file in 256 MB parts: two of 150 MB,
    not 256 and 44): the largest part sets the load's peak memory."""
    compression = "gzip" if path.name.endswith(".gz") else None
    if compression is None:
        size = -(-path.lstat().st_size // planned_parts(path, size))
    try:
        with open_delivered(path) as handle, pa.input_stream(handle, compression=compression) as stream:
            rest = b""
            while True:
                # In a list, popped on the way out: suspended at `yield`, the generator holds only the
                # short `rest`, not the part's bytes (else three copies of them, until the next part).
                data = [rest + stream.read(size)]
                if len(data[0]) == len(rest):
                    break
                cut = data[0].rfind(b"\n") + 1
                rest = data[0][cut:]
                if cut:
                    yield data.pop()[:cut]
            if rest.strip():
                yield rest
    except OSError:
        raise FileRejected("not valid NDJSON (the file is truncated or its compression is damaged)") from None


def _longest_line(block: bytes) -> int:
    """Bytes in the block's longest line (its line break included), found a slice at a time so
    that the search needs little memory beside the block."""
    data = np.frombuffer(block, dtype=np.uint8)
    longest, line_start = 0, 0
    for start in range(0, len(data), _SCAN_BYTES):
        breaks = np.flatnonzero(data[start : start + _SCAN_BYTES] == 0x0A) + start
        if len(breaks):
            longest = max(longest, int(np.diff(breaks, prepend=line_start - 1).max()))
            line_start = int(breaks[-1]) + 1
    return max(longest, len(data) - line_start)


def _parse(block: bytes, schema: pa.Schema) -> pa.Table:
    """The block's records, as far as `schema` reaches.

    Arrow parses in blocks of 1 MiB (in parallel), and a line longer than that (a free text of
    megabytes, which is never read) would make it fail. Such a block is parsed again in blocks that
    hold its longest line: still vectorised, and never more memory than the block itself."""
    options = pajson.ParseOptions(explicit_schema=schema, unexpected_field_behavior="ignore")
    try:
        try:
            return pajson.read_json(pa.BufferReader(block), parse_options=options)
        except pa.ArrowInvalid as error:
            if _STRADDLING not in str(error):
                raise
        read_options = pajson.ReadOptions(block_size=max(_longest_line(block) + 1, _DEFAULT_BLOCK_BYTES))
        return pajson.read_json(pa.BufferReader(block), read_options=read_options, parse_options=options)
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
    for field in feed_fields():
        if field.boolean:
            frame[field.name] = frame[field.name].astype("boolean")
    return frame


def read_police_file(
    path: Path, sha256: str, max_bytes: int, part_bytes: int = 256 * 2**20, now: dt.datetime | None = None
) -> PoliceFile:
    """Verify one feed file whose content hash is `sha256`, count its records and find repeated
    ids; the records themselves are read part by part by `PoliceFile.parts`. `now` (default: the
    clock) is the time against which the export time is checked.

    Raises FileRejected when the file must not be loaded at all.
    """
    with open_delivered(path) as handle:
        check_size(handle, max_bytes)
    manifest = verify_manifest(path, sha256)
    check_export_time(manifest.get("geexporteerd_op"), now or dt.datetime.now(dt.UTC))
    count, duplicates, part_count = _count_and_duplicates(path, part_bytes)
    if count != manifest["aantal_records"]:
        raise FileRejected(
            f"{count} records in the file but {manifest['aantal_records']} in the manifest (partial delivery)"
        )
    return PoliceFile(path, sha256, manifest.get("geexporteerd_op"), count, part_bytes, duplicates, part_count)
