"""Partner files (CSV and XLSX) -> one text column per wanted header, read defensively.

Everything is read as text first; nothing is converted here. A file that cannot be read as a
whole raises FileRejected with a one-line reason that never quotes file content. Rows whose field
count differs from the header's are kept, flagged, so the caller can quarantine just them.
"""

from __future__ import annotations

import codecs
import csv
import gc
import io
import re
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from operator import itemgetter
from pathlib import Path

import numpy as np
import pandas as pd

from connectors.files import FileRejected, check_size, open_delivered
from connectors.inbox import real_folders, regular_files
from connectors.workbook import read_sheet_rows

_DELIMITERS = (",", ";", "\t", "|")
# Longest cell accepted in a column that is read (Python's csv module's own default limit). A cell
# of a column that is never read may be longer: it is not kept, and must not cost the file.
FIELD_LIMIT = 131_072
# A two-byte UTF-8 sequence (Latin letters with diacritics): in a file declared as a single-byte
# Windows code page it means the file is UTF-8, or a mix of both.
_UTF8_SEQUENCE = re.compile(rb"[\xc2-\xdf][\x80-\xbf]")


@dataclass(frozen=True)
class TextTable:
    """The wanted columns of one file as text (null for empty cells).

    Index 0..n-1 in file order; `row_numbers` gives each row's number in the file (the header is
    row 1; for CSV the line where the record starts); `ragged` flags rows with too few or too many
    fields. `absent` names the optional headers the file lacks (not in `frame`), `headers` every
    header of the file.
    """

    frame: pd.DataFrame
    row_numbers: np.ndarray
    ragged: np.ndarray
    absent: tuple[str, ...] = ()
    headers: tuple[str, ...] = ()


def _decode(data: bytes, encoding: str) -> str:
    if data.startswith(codecs.BOM_UTF8):
        # A byte-order mark declares UTF-8, whatever the definition expected.
        data, encoding = data[len(codecs.BOM_UTF8):], "utf-8"
    elif data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        raise FileRejected("file is UTF-16 text; export it as UTF-8 or as the definition's encoding")
    if b"\x00" in data:
        raise FileRejected("file holds NUL bytes: binary content, not a CSV text file")
    if codecs.lookup(encoding).name != "utf-8" and _UTF8_SEQUENCE.search(data):
        try:
            data.decode("utf-8")
        except UnicodeDecodeError:
            raise FileRejected(f"file mixes UTF-8 and {encoding} text; export it again in one encoding") from None
        raise FileRejected(f"file is UTF-8 but the partner definition says {encoding}")
    try:
        return data.decode(encoding)
    except UnicodeDecodeError as error:
        raise FileRejected(
            f"file is not valid {encoding} text (first bad byte at offset {error.start}); "
            "wrong or mixed encoding"
        ) from None


@contextmanager
def _no_cycle_collection() -> Iterator[None]:
    """Pause the cyclic garbage collector while a file becomes millions of small lists.

    The rows hold no reference cycles, yet every few hundred new lists would start a collection
    that walks all the rows kept so far: on a million-row file that was 60 % of the read."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def check_header(header: Sequence[str], wanted: Sequence[str], delimiter: str | None) -> list[str]:
    """Headers cleaned of spaces; refuse missing, empty or duplicated headers before pandas renames them."""
    cleaned = [str(name).replace("\ufeff", "").strip() if name is not None else "" for name in header]
    if delimiter is not None and len(cleaned) == 1 and len(wanted) > 1:
        others = [d for d in _DELIMITERS if d != delimiter and d in cleaned[0]]
        hint = f"; it seems to use {others[0]!r}" if others else ""
        raise FileRejected(f"header has a single column: the definition's delimiter is {delimiter!r}{hint}")
    empty = [str(position) for position, name in enumerate(cleaned, start=1) if not name]
    seen: dict[str, int] = {}
    for position, name in enumerate(cleaned, start=1):
        if name and name in seen:
            raise FileRejected(f"duplicated header in columns {seen[name]} and {position}")
        seen[name] = position
    missing = [name for name in wanted if name not in seen]
    if missing:
        empty_note = f" (columns {', '.join(empty)} have no header)" if empty else ""
        raise FileRejected(f"missing header(s): {', '.join(missing)}{empty_note}")
    return cleaned


def _frame(header: list[str], rows: list[list], wanted: Sequence[str], row_numbers: list[int], optional: Sequence[str] = ()) -> TextTable:
    if not rows:
        raise FileRejected("header only: the file has no data rows")
    width = len(header)
    ragged = np.fromiter((len(row) != width for row in rows), dtype=bool, count=len(rows))
    if ragged.any():
        # Pad or cut the few ragged rows (they are quarantined) so every row has every column.
        rows = [row if not bad else (row + [""] * width)[:width] for row, bad in zip(rows, ragged.tolist(), strict=True)]
    absent = tuple(name for name in optional if name not in header and name not in wanted)
    wanted = [*wanted, *(name for name in optional if name in header and name not in wanted)]
    columns = {}
    for name in wanted:
        column = pd.Series(list(map(itemgetter(header.index(name)), rows)), dtype="str").str.strip()
        too_long = np.flatnonzero(column.str.len().gt(FIELD_LIMIT).to_numpy())
        if len(too_long):
            raise FileRejected(
                f"not readable as CSV from line {row_numbers[too_long[0]]}: a field is too long "
                f"(over {FIELD_LIMIT:,} characters in column {name})"
            )
        columns[name] = column.where(column.ne(""), None)
    frame = pd.DataFrame(columns, index=pd.RangeIndex(len(rows)))
    return TextTable(frame, np.asarray(row_numbers, dtype=np.int64), ragged, absent, tuple(header))


def read_csv_table(
    path: Path, wanted: Sequence[str], *, encoding: str, delimiter: str, max_bytes: int, optional: Sequence[str] = ()
) -> TextTable:
    """Read a delimited text file; keep only the `wanted` headers (free text is never kept) and
    those of `optional` the file has."""
    with open_delivered(path) as handle:
        check_size(handle, max_bytes)
        data = handle.read()
    if not data.strip().removeprefix(codecs.BOM_UTF8).strip():
        raise FileRejected("empty file")
    text = _decode(data, encoding)
    # No field can be longer than the text; the limit that counts is FIELD_LIMIT, on the columns that
    # are read (`_frame`). The csv module's limit is global to the process: it only ever grows.
    csv.field_size_limit(max(csv.field_size_limit(), len(text) + 1))
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True)
    rows: list[list[str]] = []
    starts: list[int] = []
    previous_line = 0
    try:
        with _no_cycle_collection():
            for record in reader:
                start, previous_line = previous_line + 1, reader.line_num
                if "".join(record).strip():  # blank lines and rows of empty fields are no records
                    rows.append(record)
                    starts.append(start)
    except csv.Error:
        raise FileRejected(f"not readable as CSV from line {previous_line + 1}: unbalanced or stray quotes") from None
    if not rows:
        raise FileRejected("empty file (only blank lines or empty fields)")
    header = check_header(rows[0], wanted, delimiter)
    data_rows = rows[1:]
    if data_rows and len(data_rows[-1]) < len(header) and text.rstrip("\r\n") == text:
        raise FileRejected(f"truncated: the last record has {len(data_rows[-1])} of {len(header)} fields and no line end")
    return _frame(header, data_rows, wanted, starts[1:], optional)


def read_xlsx_table(
    path: Path, wanted: Sequence[str], *, sheet: str | None, date_format: str, max_bytes: int, optional: Sequence[str] = ()
) -> TextTable:
    """Read one sheet of a workbook (checked for macros and zip bombs first) as text."""
    with open_delivered(path) as handle:
        check_size(handle, max_bytes)
        numbered = [
            (number, cells) for number, cells in read_sheet_rows(handle, sheet, date_format)
            if any(cell is not None and cell.strip() for cell in cells)
        ]
    if not numbered:
        raise FileRejected("empty workbook sheet")
    header = check_header(numbered[0][1], wanted, None)
    # Trailing empty cells are how a sheet ends a row, not extra fields.
    width = len(header)
    body = []
    for _, cells in numbered[1:]:
        if len(cells) > width and all(cell is None for cell in cells[width:]):
            cells = cells[:width]
        body.append(cells + [None] * (width - len(cells)))
    return _frame(header, body, wanted, [number for number, _ in numbered[1:]], optional)


def read_table(
    path: Path,
    wanted: Sequence[str],
    *,
    file_format: str,
    encoding: str,
    delimiter: str,
    sheet: str | None,
    date_format: str,
    max_bytes: int,
    optional: Sequence[str] = (),
) -> TextTable:
    """Read a partner file in the format its definition declares; refuse any other kind of file.
    Headers of `optional` are kept when the file has them; the table names those it lacks."""
    suffix = path.suffix.lower()
    if suffix == ".xlsm":
        raise FileRejected("macro-enabled workbook (.xlsm) refused: send it as .xlsx without macros")
    if suffix != f".{file_format}":
        raise FileRejected(f"a {suffix or 'suffix-less'} file, but this partner delivers .{file_format}")
    if file_format == "xlsx":
        return read_xlsx_table(path, wanted, sheet=sheet, date_format=date_format, max_bytes=max_bytes, optional=optional)
    return read_csv_table(path, wanted, encoding=encoding, delimiter=delimiter, max_bytes=max_bytes, optional=optional)


PARTNER_SUFFIXES = (".csv", ".xlsx", ".xlsm")  # .xlsm is found only to be refused with a reason


def discover_partner_files(inbox: Path, police_folder: str) -> list[tuple[str, Path]]:
    """(partner id, file) for every partner file under `<inbox>/<partner-id>/`, in name order;
    regular files in real folders only (`connectors.inbox`)."""
    return [
        (folder.name, path)
        for folder in real_folders(inbox)
        if folder.name != police_folder
        for path in regular_files(folder)
        if path.suffix.lower() in PARTNER_SUFFIXES
    ]
