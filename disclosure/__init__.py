"""Statistical disclosure control for every table that leaves the warehouse.

Pure functions on counts: no database, no files. `protect` chooses the cells to suppress
(primary and secondary), `recoverable` is the attacker it must defeat, and `neutralise_csv_cell`
keeps spreadsheet programs from executing published text.
"""

from disclosure.csvsafe import neutralise_csv_cell
from disclosure.suppression import DEFAULT_MIN_CELL, Line, intervals, protect, recoverable, show_percentage, table_lines

__all__ = [
    "DEFAULT_MIN_CELL",
    "Line",
    "intervals",
    "neutralise_csv_cell",
    "protect",
    "recoverable",
    "show_percentage",
    "table_lines",
]
