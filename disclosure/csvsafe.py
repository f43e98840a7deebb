"""CSV injection: a cell a spreadsheet would read as a formula is published as plain text."""

from __future__ import annotations

# Excel, LibreOffice and Google Sheets start a formula (or a DDE call) with these characters.
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def neutralise_csv_cell(value: object) -> object:
    """The value, with a leading apostrophe when its text would start a formula.

    Numbers pass unchanged (a negative number is data, not a formula); only text is neutralised.
    """
    if isinstance(value, str) and value.startswith(_FORMULA_STARTS):
        return "'" + value
    return value
