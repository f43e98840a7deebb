"""The officer's free text (`toelichting`): it names the person and birth date, as real notes do.

The pipeline must never store it; naming the person makes that testable.
"""

from __future__ import annotations

from string import Formatter

import numpy as np
import pandas as pd

from victim_intake.synthetic.police_reports import Table
from victim_intake.synthetic.sampling import group_rows
from victim_intake.synthetic.weights import DUTCH

_PLACE = "Locatie: {place}."
_TEMPLATES: dict[str, tuple[str, ...]] = {
    "seksueel": (
        "Bij controle prostitutiebranche gesproken met {name}, geb. {born}. Moet inkomsten afdragen, "
        "paspoort ingenomen door derde. " + _PLACE,
        "Melding zedenpolitie: {name} (geboren {born}) wordt via advertenties aangeboden voor "
        "escort. " + _PLACE,
    ),
    "arbeid": (
        "Samen met Arbeidsinspectie op werkadres aangetroffen: {name}, geb. {born}. Werkt 12 uur per dag, "
        "loon ingehouden voor huisvesting. " + _PLACE,
    ),
    "crimineel": (
        "{name}, geb. {born}, aangehouden voor winkeldiefstal; verklaart onder druk van derden te handelen. "
        + _PLACE,
        "Bij inval hennepkwekerij aangetroffen: {name} (geb. {born}), sliep op de locatie. " + _PLACE,
    ),
    "bedelarij": (
        "{name} (geb. {born}) bedelend aangetroffen; opbrengst wordt afgedragen aan begeleider. " + _PLACE,
    ),
}
_OTHERWISE = ("Signaal mensenhandel betreffende {name}, geb. {born}. Nadere duiding volgt. " + _PLACE,)


def officer_notes(rng: np.random.Generator, table: Table) -> np.ndarray:
    """One note per record, written from the record's own (possibly misspelt or wrong) fields."""
    born = table["geboortedatum"].astype(str)
    country = table["land"]
    values = {
        "name": table["voornamen"] + " " + table["achternaam"],
        # Officers write dates the Dutch way: 02-04-1999.
        "born": (np.strings.slice(born, 8, 10) + "-" + np.strings.slice(born, 5, 7) + "-"
                 + np.strings.slice(born, 0, 4)).astype(object),
        "place": np.where(
            pd.isna(table["gemeente"]),
            np.where((country == DUTCH) | pd.isna(country), "onbekend", "buitenland"),
            table["gemeente"],
        ),
    }
    notes = np.empty(len(born), dtype=object)
    pick = rng.random(len(born))
    for form, rows in group_rows(table["vorm"]).items():
        templates = _TEMPLATES.get(form, _OTHERWISE)
        choice = (pick[rows] * len(templates)).astype(np.int64)
        for number, template in enumerate(templates):
            chosen = rows[choice == number]
            notes[chosen] = _fill(template, {field: column[chosen] for field, column in values.items()})
    return notes


def _fill(template: str, values: dict[str, np.ndarray]) -> np.ndarray:
    """`template.format(**values)` for whole columns at once."""
    text = np.full(len(next(iter(values.values()))), "", dtype=object)
    for literal, field, _, _ in Formatter().parse(template):
        text = text + literal
        if field is not None:
            text = text + values[field]
    return text
