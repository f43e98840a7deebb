"""Statistical disclosure control for every table that leaves the warehouse.

Pure functions on counts: no database, no files. `protect` chooses the cells to suppress
(primary and secondary, jointly with earlier releases), `disclosure.attacker` is the attacker it
must defeat, and `neutralise_formula` keeps spreadsheet programs from executing published text.
"""

from disclosure.attacker import InconsistentLines
from disclosure.csvsafe import neutralise_csv_cell, neutralise_formula
from disclosure.lines import Line, Order, table_lines
from disclosure.suppression import DEFAULT_MIN_CELL, CannotProtect, Release, protect, show_percentage

__all__ = [
    "DEFAULT_MIN_CELL",
    "CannotProtect",
    "InconsistentLines",
    "Line",
    "Order",
    "Release",
    "neutralise_csv_cell",
    "neutralise_formula",
    "protect",
    "show_percentage",
    "table_lines",
]
