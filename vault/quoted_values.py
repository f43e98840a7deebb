"""Whether a stated reason quotes an identifying value, in any spelling, spacing or date format.

The reason for opening sealed values goes into the audit trail, which must hold no identifying
value: a reason names a case and a purpose, never a person. Comparing exact substrings let
`BSN 731 904 011` and `born 11-03-1991` through, so both sides are normalised first:

- text is transliterated to ASCII (anyascii: Cyrillic, Greek, Chinese, accents) and case-folded;
- names are compared as words: a name matches when its words, joined, equal one or more
  consecutive words of the reason joined (`de Vries`, `deVries`, `DE-VRIES`, `V r i e s`), or
  when one of its words of three letters or more (not a particle such as `van` or `de`) is a word
  of the reason;
- numbers are compared as digits: the digits of a run of numbers joined only by spaces or
  separators (`731 904 011`, `731-904-011`), with month names (Dutch and English, in full or
  abbreviated) read as month numbers, so that `11 maart 1991`, `March 11, 1991`, `11.03.1991`,
  `1991-03-11`, `19910311` and `11031991` all hold the digits of one birth date in some order;
- a date is looked for in every order of day, month and year, with and without leading zeros,
  with a four- or two-digit year.

Digit forms of seven digits or more match anywhere inside a run of numbers; shorter ones (a
date with a two-digit year) only as a whole run, so that case numbers rarely collide with them.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from anyascii import anyascii

# Words of a name too common in ordinary text to refuse on their own; they still count as part of
# the whole name (`van Dijk` is refused as `vandijk`, not for the word `van`).
PARTICLES = frozenset(
    "van von der den de del della di da das dos du des het ten ter te la le el al bin ibn ben bint abu "
    "mc mac st saint".split()
)
MIN_NAME_LETTERS = 3
MIN_DIGITS = 5
ANYWHERE_DIGITS = 7  # digit forms this long match inside a run of numbers, shorter only a whole run
MAX_JOINED_LETTERS = 80  # longest run of reason words joined (a name spelt out letter by letter)

_MONTHS = {
    1: ("januari", "january", "jan"),
    2: ("februari", "february", "feb"),
    3: ("maart", "march", "mrt", "mar", "maa"),
    4: ("april", "apr"),
    5: ("mei", "may"),
    6: ("juni", "june", "jun"),
    7: ("juli", "july", "jul"),
    8: ("augustus", "august", "aug"),
    9: ("september", "sept", "sep"),
    10: ("oktober", "october", "okt", "oct"),
    11: ("november", "nov"),
    12: ("december", "dec"),
}
_MONTH_NUMBER = {name: number for number, names in _MONTHS.items() for name in names}
_MONTH_WORD = re.compile(r"\b(" + "|".join(sorted(_MONTH_NUMBER, key=len, reverse=True)) + r")\b\.?")
# `11th`, `1st`, `11e`, `1ste`: the ordinal ending of a day; `11th of March`, `11 van maart`.
_ORDINAL = re.compile(r"(?<=\d)(st|nd|rd|th|ste|de|e)\b")
_LINKING_WORD = re.compile(r"(?<=\d)\s+(of|the|van)\s+(?=\d)")
_NUMBER_RUN = re.compile(r"\d+(?:[\s.,/\\\-_:;']+\d+)*")
_WORD = re.compile(r"[a-z]+")
_DIGITS = re.compile(r"\d+")


def fold(text: str) -> str:
    """ASCII transliteration, case-folded."""
    return anyascii(text).casefold()


def _numbers(folded: str) -> str:
    """The text with month names as numbers and ordinal endings and linking words dropped."""
    text = _MONTH_WORD.sub(lambda match: f" {_MONTH_NUMBER[match.group(1)]} ", folded)
    text = _ORDINAL.sub("", text)
    return _LINKING_WORD.sub(" ", text)


@dataclass(frozen=True)
class ReasonForms:
    """A reason, normalised once, to compare many values against."""

    joined_words: frozenset[str]  # every run of consecutive words, joined without spaces
    number_runs: tuple[str, ...]  # the digits of every run of numbers

    @classmethod
    def of(cls, reason: str) -> ReasonForms:
        folded = fold(reason)
        words = _WORD.findall(folded)
        joined: set[str] = set()
        for start in range(len(words)):
            run = ""
            for word in words[start:]:
                run += word
                if len(run) > MAX_JOINED_LETTERS:
                    break
                joined.add(run)
        runs = tuple("".join(_DIGITS.findall(run)) for run in _NUMBER_RUN.findall(_numbers(folded)))
        return cls(frozenset(joined), runs)

    def holds_digits(self, form: str) -> bool:
        if len(form) >= ANYWHERE_DIGITS:
            return any(form in run for run in self.number_runs)
        return len(form) >= MIN_DIGITS and form in self.number_runs

    def holds_name(self, value: str) -> bool:
        words = _WORD.findall(fold(value))
        whole = "".join(words)
        if len(whole) >= MIN_NAME_LETTERS and whole in self.joined_words:
            return True
        return any(len(word) >= MIN_NAME_LETTERS and word not in PARTICLES and word in self.joined_words for word in words)


def _variants(number: str) -> set[str]:
    """A day or month with and without its leading zero."""
    value = int(number)
    return {f"{value:02d}", str(value)}


def date_forms(day: str, month: str, year: str) -> set[str]:
    """The digits of a date written in any order of its parts, padded or not, with a four- or
    two-digit year (day and month may be swapped: both readings are covered)."""
    years = {year, year[-2:]} if len(year) == 4 else {year}
    forms = set()
    for first in _variants(day):
        for second in _variants(month):
            for written_year in years:
                forms |= {written_year + second + first, written_year + first + second, first + second + written_year, second + first + written_year}
    return forms


def _date_parts(folded: str) -> tuple[str, str, str] | None:
    """Day, month and year of a value that is written as a date (in any of the usual ways), else None.
    The parts need not make a valid date: an impossible one quarantined is still the person's."""
    groups = _DIGITS.findall(_numbers(folded))
    if len(groups) == 1 and len(groups[0]) == 8:
        compact = groups[0]
        # Ymd when it starts with a plausible year, dmY otherwise.
        if compact[:2] in ("18", "19", "20"):
            return compact[6:], compact[4:6], compact[:4]
        return compact[:2], compact[2:4], compact[4:]
    if len(groups) != 3 or not all(len(group) <= 4 for group in groups):
        return None
    if len(groups[0]) == 4:
        return groups[2], groups[1], groups[0]
    if len(groups[2]) in (2, 4) and len(groups[0]) <= 2 and len(groups[1]) <= 2:
        return groups[0], groups[1], groups[2]
    return None


def quotes_value(reason: ReasonForms, value: object) -> bool:
    """Whether the reason quotes this value: as a date, a number or a name."""
    if value is None:
        return False
    text = str(value)
    folded = fold(text)
    forms = {"".join(_DIGITS.findall(folded))}
    parts = _date_parts(folded)
    if parts is not None:
        forms |= date_forms(*parts)
    if any(reason.holds_digits(form) for form in forms):
        return True
    # A date's month name is no name of the person.
    return parts is None and reason.holds_name(text)


def quotes_any(reason: str, values: Iterable[object]) -> bool:
    """Whether `reason` quotes any of `values` in any spelling, spacing or date format."""
    forms = ReasonForms.of(reason)
    return any(quotes_value(forms, value) for value in values)
