"""A reason for opening sealed values quotes no identifying value, in any spelling, spacing or date format."""

from __future__ import annotations

import pytest

from vault.quoted_values import quotes_any

# A synthetic person, as the vault holds her.
PERSON = {
    "surname": "van der Berg",
    "given_names": "Olena Maria",
    "birth_date": "1991-03-11",
    "bsn": "731904011",
    "alien_number": "2034567891",
}
CYRILLIC = {"surname": "Шевченко", "given_names": "Олена", "birth_date": "1988-12-01"}

QUOTING = [
    "BSN 731 904 011",
    "bsn 731-904-011",
    "bsn 731.904.011 checked",
    "bsn: 7 3 1 9 0 4 0 1 1",
    "bsn ٧٣١٩٠٤٠١١",  # Arabic-Indic digits
    "born 11-03-1991",
    "born 11/03/1991",
    "born 11.03.1991",
    "born 1991-03-11",
    "born 19910311",
    "born 11031991",
    "born 11-3-1991",
    "geboren 11 maart 1991",
    "geboren 11 mrt. 1991",
    "born March 11, 1991",
    "born the 11th of March 1991",
    "born 11 March '91",
    "born 03/11/1991",  # as an American would write it
    "V-number 2034 567 891",
    "request about VAN DER BERG",
    "request about vanderberg",
    "request about van-der-Berg",
    "request about Berg",
    "request about B e r g",
    "request about Olena",
    "request about OLENA MARIA",
    "request about Olénа",  # accent and a Cyrillic а
    "request about Олена",  # her given name in Cyrillic
]

PURPOSES = [
    "court order 2025/17 art. 9",
    "case 2025-17, court order",
    "verzoek OM zaaknummer 2024-0113, artikel 9 lid 2",
    "request by the public prosecutor, case 12, March 2025",
    "overdracht van het dossier aan de zorgcoördinator",
    "police request under art. 4:2 Bpg, case PL0900-2025-004711",
]


@pytest.mark.parametrize("reason", QUOTING)
def test_a_reason_quoting_the_person_in_any_spelling_is_refused(reason: str) -> None:
    assert quotes_any(reason, PERSON.values())


@pytest.mark.parametrize("reason", PURPOSES)
def test_a_reason_that_names_a_case_and_a_purpose_passes(reason: str) -> None:
    assert not quotes_any(reason, PERSON.values())


@pytest.mark.parametrize("reason", ["request about Shevchenko", "request about SHEVCHENKO Olena", "born 1 dec 1988", "born 01.12.1988"])
def test_names_in_another_script_are_refused_in_latin_letters(reason: str) -> None:
    assert quotes_any(reason, CYRILLIC.values())


def test_an_impossible_date_as_quarantined_is_still_found_in_another_order() -> None:
    assert quotes_any("about the person born 2001-02-31", ["31-02-2001"])
    assert not quotes_any("case 2001-17", ["31-02-2001"])
