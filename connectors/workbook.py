"""XLSX workbooks, opened only after the zip container has been checked.

Refused before parsing: anything that is not a zip, a macro project (`vbaProject.bin`), members
that would expand beyond a size cap or at a ratio only a zip bomb reaches. The XML is parsed by
openpyxl through defusedxml, which refuses entity declarations (billion laughs, external
entities); the workbook is opened read-only, so rows stream instead of building a cell tree.
"""

from __future__ import annotations

import datetime as dt
import zipfile
from pathlib import Path

from connectors.files import FileRejected

# A genuine export of a few hundred thousand rows stays far below both limits.
MAX_UNCOMPRESSED_BYTES = 1 << 30
MAX_RATIO = 200
_RATIO_FLOOR_BYTES = 1 << 20  # tiny members may compress extremely well without harm


def check_container(path: Path) -> None:
    """Refuse non-zip files, macro-enabled workbooks and zip bombs without decompressing anything."""
    if not zipfile.is_zipfile(path):
        raise FileRejected("not an XLSX workbook (no zip container)")
    try:
        with zipfile.ZipFile(path) as archive:
            members = archive.infolist()
    except (zipfile.BadZipFile, OSError):
        raise FileRejected("damaged XLSX workbook (zip directory unreadable)") from None
    names = {member.filename.lower() for member in members}
    if any(name.endswith("vbaproject.bin") for name in names):
        raise FileRejected("workbook contains macros (vbaProject.bin): refused, send it as .xlsx without macros")
    if "xl/workbook.xml" not in names:
        raise FileRejected("not an XLSX workbook (xl/workbook.xml is missing)")
    total = sum(member.file_size for member in members)
    if total > MAX_UNCOMPRESSED_BYTES:
        raise FileRejected(f"workbook would expand to {total / 1e6:,.0f} MB: refused as a possible zip bomb")
    for member in members:
        if member.file_size > _RATIO_FLOOR_BYTES and member.file_size > MAX_RATIO * max(member.compress_size, 1):
            raise FileRejected(
                f"a workbook part expands {member.file_size / max(member.compress_size, 1):,.0f} times: "
                "refused as a possible zip bomb"
            )


def _text(value: object, date_format: str) -> str | None:
    """A cell as the text a CSV export would hold; real dates in the definition's date format."""
    if value is None:
        return None
    if isinstance(value, dt.datetime):
        return value.strftime(date_format)
    if isinstance(value, dt.date):
        return value.strftime(date_format)
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _refusal(error: BaseException) -> FileRejected:
    """Why the parser stopped, without its message (which may quote the workbook's content)."""
    from defusedxml import DefusedXmlException

    cause: BaseException | None = error
    while cause is not None:
        # openpyxl wraps the parser's error in its own ValueError.
        if isinstance(cause, DefusedXmlException):
            return FileRejected("workbook XML declares entities or a DTD (possible entity expansion attack): refused")
        cause = cause.__cause__ or cause.__context__
    return FileRejected(f"damaged XLSX workbook ({type(error).__name__})")


def read_sheet_rows(path: Path, sheet: str | None, date_format: str) -> list[tuple[int, list[str | None]]]:
    """(row number, cells as text) of every row of `sheet` (default the first)."""
    import openpyxl
    from openpyxl import xml as openpyxl_xml

    check_container(path)
    if not openpyxl_xml.DEFUSEDXML:
        raise FileRejected("defusedxml is not installed: refusing to parse workbook XML unprotected")
    try:
        workbook = openpyxl.load_workbook(path, read_only=True, data_only=True, keep_links=False, keep_vba=False)
    except Exception as error:  # noqa: BLE001 - the parser's message may quote content
        raise _refusal(error) from None
    try:
        if sheet is not None and sheet not in workbook.sheetnames:
            raise FileRejected(f"workbook has no sheet named {sheet!r}")
        worksheet = workbook[sheet] if sheet is not None else workbook.worksheets[0]
        rows = []
        for number, row in enumerate(worksheet.iter_rows(values_only=True), start=1):
            rows.append((number, [_text(value, date_format) for value in row]))
        return rows
    except FileRejected:
        raise
    except Exception as error:  # noqa: BLE001 - the parser's message may quote content
        raise _refusal(error) from None
    finally:
        workbook.close()
