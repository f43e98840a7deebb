"""How officers and partners write places, sectors and units: in every form the code lists must read.

Municipalities come as the official name, another name in use (`Den Haag`), the CBS code (`GM0518`
or `0518`), in upper or lower case or with stray spaces; sectors and units in varying case. Now
and then a field holds free text that names the person or an address (`Woning van Jansen,
Kerkstraat 9`, `Nagelsalon Jansen`, `Regio Jansen`): the pipeline must store `unknown` for it,
warn the steward, and never let the text reach a table, a mart or a report.
"""

from __future__ import annotations

from functools import cache

import numpy as np

from schemas.codelists.catalogue import Municipality, municipalities
from schemas.codelists.matching import municipality_list
from victim_intake.synthetic.sampling import choose

# How a known value is written; the weights are relative.
MUNICIPALITY_FORMS: dict[str, float] = {"as_is": 62, "other_name": 10, "cbs_code": 6, "number": 3, "upper": 8, "lower": 8, "spaced": 3}
TEXT_FORMS: dict[str, float] = {"as_is": 80, "upper": 5, "lower": 5, "title": 7, "spaced": 3}
# Share of filled fields that hold free text naming the person or an address instead.
FREE_TEXT_SHARE = 0.015
_STREETS = ("Kerkstraat", "Dorpsstraat", "Stationsweg", "Molenweg", "Schoolstraat", "Industrieweg")
PLACE_TEXTS = ("Woning van {surname}, {street} {number}", "{street} {number}, bovenwoning bij {surname}", "Pand {surname} aan de {street}")
SECTOR_TEXTS = ("Nagelsalon {surname}", "Bedrijf van {surname}", "Bij {surname} in de kas")
UNIT_TEXTS = ("Regio {surname}", "Team {surname}")


def _code_and_other_name(name: str) -> tuple[str | None, str]:
    """The CBS code a name stands for, and another name in use (else the official name)."""
    codes = municipality_list().candidates(name) or frozenset()
    if len(codes) != 1:
        return None, name
    municipality = _by_code()[next(iter(codes))]
    return municipality.code, municipality.other_names[0] if municipality.other_names else municipality.name


@cache
def _by_code() -> dict[str, Municipality]:
    return {municipality.code: municipality for municipality in municipalities()}


def _cased(rng: np.random.Generator, values: list[str], forms: np.ndarray) -> list[str]:
    written = []
    for value, form in zip(values, forms.tolist(), strict=True):
        if form == "upper":
            value = value.upper()
        elif form == "lower":
            value = value.lower()
        elif form == "title":
            value = value.title()
        elif form == "spaced":
            value = f" {value.replace(' ', '  ')} "
        written.append(value)
    return written


def _free_texts(rng: np.random.Generator, templates: tuple[str, ...], surnames: list[str]) -> list[str]:
    chosen = rng.integers(0, len(templates), len(surnames))
    streets = rng.integers(0, len(_STREETS), len(surnames))
    numbers = rng.integers(1, 120, len(surnames))
    return [
        templates[t].format(surname=surname, street=_STREETS[s], number=n)
        for t, s, n, surname in zip(chosen.tolist(), streets.tolist(), numbers.tolist(), surnames, strict=True)
    ]


def _written(rng: np.random.Generator, values: np.ndarray, surnames: np.ndarray, forms: np.ndarray, templates: tuple[str, ...], rewrite) -> np.ndarray:
    """`values` with the filled ones rewritten in their drawn form, and a share replaced by free text."""
    written = values.astype(object).copy()
    filled = np.flatnonzero(np.array([value is not None and value == value and value != "" for value in values.tolist()], dtype=bool))
    if not len(filled):
        return written
    written[filled] = np.array(rewrite(values[filled].tolist(), forms[filled]), dtype=object)
    free = filled[rng.random(len(filled)) < FREE_TEXT_SHARE]
    written[free] = np.array(_free_texts(rng, templates, [str(s) for s in surnames[free].tolist()]), dtype=object)
    return written


def written_municipalities(rng: np.random.Generator, names: np.ndarray, surnames: np.ndarray) -> np.ndarray:
    """Municipality names (None: not known) as an officer or a partner's system writes them."""
    forms = choose(rng, MUNICIPALITY_FORMS, len(names))

    def rewrite(values: list[str], drawn: np.ndarray) -> list[str]:
        written = []
        for value, form in zip(values, drawn.tolist(), strict=True):
            code, other = _code_and_other_name(value)
            if form == "other_name":
                value = other
            elif form in ("cbs_code", "number") and code:
                value = code if form == "cbs_code" else code.removeprefix("GM")
            written.append(value)
        return _cased(rng, written, drawn)

    return _written(rng, names, surnames, forms, PLACE_TEXTS, rewrite)


def written_texts(rng: np.random.Generator, values: np.ndarray, surnames: np.ndarray, templates: tuple[str, ...]) -> np.ndarray:
    """Sector words or unit names (None: not known) in varying case, a share as free text."""
    forms = choose(rng, TEXT_FORMS, len(values))
    return _written(rng, values, surnames, forms, templates, lambda filled, drawn: _cased(rng, filled, drawn))


def written_sectors(rng: np.random.Generator, sectors: np.ndarray, surnames: np.ndarray) -> np.ndarray:
    return written_texts(rng, sectors, surnames, SECTOR_TEXTS)


def written_units(rng: np.random.Generator, units: np.ndarray, surnames: np.ndarray) -> np.ndarray:
    return written_texts(rng, units, surnames, UNIT_TEXTS)
