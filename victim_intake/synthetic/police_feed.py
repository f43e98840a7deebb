"""The synthetic police feed: NDJSON exports in schema version 1, each with its manifest."""

from __future__ import annotations

import gzip
import hashlib
from collections.abc import Iterator
from contextlib import nullcontext
from itertools import pairwise
from pathlib import Path
from typing import BinaryIO

import numpy as np
import orjson

from config.private_files import make_private_dir
from schemas.police import FeedField, feed_fields
from victim_intake.synthetic.people import People
from victim_intake.synthetic.police_errors import inject_problems
from victim_intake.synthetic.police_exports import add_redeliveries, split_into_exports
from victim_intake.synthetic.police_notes import officer_notes
from victim_intake.synthetic.police_reports import draw_police_reports
from victim_intake.synthetic.truth import Truth
from victim_intake.synthetic.written_forms import written_municipalities, written_sectors

SCHEMA_VERSION = "1"
SOURCE = "police"
# The nightly export runs early in the morning after the last signal it holds.
EXPORT_TIME = "T02:00:00Z"
_BATCH = 10_000
# What the writer adds to the model's fields: the officer's free text, which the reader ignores.
_NOTE = "toelichting"


def write_police_feed(
    rng: np.random.Generator,
    people: People,
    folder: Path,
    files: int,
    compress: bool,
    hard_rng: np.random.Generator | None = None,
    hard_share: float = 0.0,
) -> tuple[list[Path], Truth]:
    """Write the persons' police reports into `folder`; return the data files and the truth."""
    # Its own stream (spawning draws nothing from `rng`), so the other fields stay as they were.
    (forms_rng,) = rng.spawn(1)
    table = inject_problems(rng, draw_police_reports(rng, people, hard_rng, hard_share))
    # Places and sectors as officers write them: any form the code lists read, now and then free text.
    table["gemeente"] = written_municipalities(forms_rng, table["gemeente"], table["achternaam"])
    table["sector"] = written_sectors(forms_rng, table["sector"], table["achternaam"])
    table["toelichting"] = officer_notes(rng, table)
    table, export = add_redeliveries(rng, table, split_into_exports(table["nominal"], files))

    make_private_dir(folder)
    columns = {name: table[name].tolist() for name in (*(field.name for field in _line_fields()), _NOTE)}
    bounds = np.searchsorted(export, np.arange(export.max() + 2))
    paths: list[Path] = []
    file_of_record = np.empty(len(export), dtype=object)
    for start, stop in pairwise(bounds.tolist()):
        exported_on = str(table["nominal"][start:stop].max() + 1)
        path = folder / f"politie-{exported_on}.ndjson{'.gz' if compress else ''}"
        _write_records(path, columns, start, stop, compress)
        with path.open("rb") as written:
            checksum = hashlib.file_digest(written, "sha256").hexdigest()
        manifest = {
            "bestand": path.name,
            "sha256": checksum,
            "aantal_records": stop - start,
            "geexporteerd_op": exported_on + EXPORT_TIME,
            "schema_version": SCHEMA_VERSION,
        }
        (folder / f"politie-{exported_on}.manifest.json").write_bytes(
            orjson.dumps(manifest, option=orjson.OPT_INDENT_2) + b"\n"
        )
        paths.append(path)
        file_of_record[start:stop] = path.name

    truth = Truth(
        source=SOURCE,
        file=file_of_record,
        line=np.arange(len(export)) - bounds[export] + 1,
        source_record_id=table["registratie_id"],
        person=people.key[table["person"]],
        valid=table["problem"] == "",
        problem=table["problem"],
        variant=table["variant"],
    )
    return paths, truth


def _write_records(path: Path, columns: dict[str, list], start: int, stop: int, compress: bool) -> None:
    """Write rows `start` to `stop` as NDJSON, gzipped if `compress`."""
    with path.open("wb") as raw, _gzipped(raw) if compress else nullcontext(raw) as out:
        # Batches: holding a million small encoded lines at once is several times slower.
        for batch in range(start, stop, _BATCH):
            records = _records(columns, batch, min(batch + _BATCH, stop))
            out.write(b"".join(orjson.dumps(r, option=orjson.OPT_APPEND_NEWLINE) for r in records))


def _gzipped(raw: BinaryIO) -> gzip.GzipFile:
    # mtime=0 keeps the bytes, and so the checksum, identical between runs; level 6 (the gzip
    # tool's default) compresses nearly as well as 9 in a fraction of the time.
    return gzip.GzipFile(fileobj=raw, mode="wb", compresslevel=6, mtime=0)


def _line_fields() -> list[FeedField]:
    """The model's fields the writer fills per record (the schema version is a constant)."""
    return [field for field in feed_fields() if field.name != "schema_version"]


def _records(columns: dict[str, list], start: int, stop: int) -> Iterator[dict]:
    """The feed records of rows `start` to `stop`, nested as the police model's groups say
    (`schemas.police.feed_fields`), each with the officer's note last."""
    fields = _line_fields()
    top = [(index, field.name) for index, field in enumerate(fields) if field.group is None]
    groups: dict[str, list[tuple[int, str]]] = {}
    for index, field in enumerate(fields):
        if field.group is not None:
            groups.setdefault(field.group, []).append((index, field.name))
    note = len(fields)
    for values in zip(*(columns[field.name][start:stop] for field in fields), columns[_NOTE][start:stop], strict=True):
        record = {"schema_version": SCHEMA_VERSION, **{name: values[index] for index, name in top}}
        for group, members in groups.items():
            record[group] = {name: values[index] for index, name in members}
        record[_NOTE] = values[note]
        yield record
