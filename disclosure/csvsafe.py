"""Formula injection: published text that a spreadsheet would run as a formula is made plain text.

A report's labels come from data (reporting units, countries, source names), and a reader may
open the CSV in a spreadsheet or paste a table from the HTML or Markdown into one: in every
format, a text that starts with a formula character, also after leading white space, gets a
leading apostrophe (OWASP's guidance on CSV injection). Numbers stay numbers.
"""

from __future__ import annotations

import unicodedata

# Excel, LibreOffice and Google Sheets start a formula (or a DDE call) with these characters; the
# full-width forms are read as the same by some spreadsheet programs.
_FORMULA_STARTS = frozenset("=+-@\t\r\n\uff1d\uff0b\uff0d\uff20")


def _leading_blank(character: str) -> bool:
    return character.isspace() or unicodedata.category(character) in ("Cc", "Cf", "Zs")


def neutralise_formula(value: object) -> object:
    """The value, with a leading apostrophe when its text would start a formula.

    Numbers (int, float) pass unchanged: a negative number is data, not a formula. Text is
    checked after leading white space and invisible characters, so `" =1+1"` and
    `"-2+3+cmd|' /C calc'!A0"` are neutralised alike.
    """
    if not isinstance(value, str):
        return value
    start = next((character for character in value if not _leading_blank(character) or character in _FORMULA_STARTS), "")
    return "'" + value if start in _FORMULA_STARTS and start else value


def neutralise_csv_cell(value: object) -> object:
    """`neutralise_formula` for one CSV cell."""
    return neutralise_formula(value)
