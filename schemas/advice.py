"""Advice to a source's data manager per rule a row broke, in Dutch and English; never a value.

Rules are named by the contracts (`schemas/police.py`, `schemas/partner.py`, Pandera's built-in
checks, `schemas/codelists/matching.py`); a rule with a bound or format in its name
(`date_format_%d-%m-%Y`, `at_most_200_characters`) is matched by its prefix.
"""

from __future__ import annotations

LANGUAGES = ("nl", "en")

# (rule or rule prefix, Dutch advice, English advice); the first that matches wins.
_ADVICE: tuple[tuple[str, str, str], ...] = (
    ("known_country", "Vul een land in zoals ISO 3166 het kent (naam in het Nederlands of Engels, of de landcode).",
     "Give a country as ISO 3166 knows it (its Dutch or English name, or its code)."),
    ("iso_alpha3_country", "Vul de driecijferige ISO-landcode in (bijvoorbeeld NLD).", "Give the three-letter ISO country code (for example NLD)."),
    ("allowed_values", "Gebruik een van de afgesproken waarden voor deze kolom.", "Use one of the agreed values for this column."),
    ("date_format_", "Schrijf de datum in het afgesproken formaat en controleer of de datum bestaat.",
     "Write the date in the agreed format and check that the date exists."),
    ("iso_date", "Schrijf de datum als JJJJ-MM-DD en controleer of de datum bestaat.", "Write the date as YYYY-MM-DD and check that the date exists."),
    ("not_in_future", "De datum ligt in de toekomst: controleer de datum.", "The date lies in the future: check the date."),
    ("year_from_", "Het jaar ligt voor het eerste jaar dat het register kent: controleer de datum.",
     "The year lies before the register's first year: check the date."),
    ("year_", "Het jaar ligt buiten de jaren die het register kent: controleer het jaar.",
     "The year lies outside the years the register knows: check the year."),
    ("year", "Vul een jaartal van vier cijfers in.", "Give a year of four digits."),
    ("birth_on_or_before_", "De geboortedatum ligt na de datum van de melding: controleer beide datums.",
     "The birth date lies after the date of the report: check both dates."),
    ("age_at_", "De leeftijd bij de melding is onwaarschijnlijk hoog: controleer de geboortedatum.",
     "The age at the report is implausibly high: check the birth date."),
    ("age_0_to_", "Vul een leeftijd in hele jaren in, binnen het mogelijke bereik.", "Give an age in whole years, within the possible range."),
    ("at_most_", "De waarde is te lang: kort haar in.", "The value is too long: shorten it."),
    ("str_length", "De waarde is leeg of te lang.", "The value is empty or too long."),
    ("no_formula", "Begin een cel niet met =, +, - of @ (een spreadsheet leest dat als formule).",
     "Do not start a cell with =, +, - or @ (a spreadsheet reads that as a formula)."),
    ("yes_or_no", "Vul ja of nee in.", "Give yes or no."),
    ("bsn_elfproef", "Het BSN voldoet niet aan de elfproef: controleer het nummer.", "The BSN fails the eleven test: check the number."),
    ("ten_digits", "Het V-nummer bestaat uit tien cijfers.", "The V-number has ten digits."),
    ("str_matches", "De waarde heeft niet de afgesproken vorm.", "The value does not have the agreed form."),
    ("field_uniqueness", "Hetzelfde recordnummer komt vaker voor in het bestand: geef elk record een eigen nummer.",
     "The same record id occurs more than once in the file: give each record its own id."),
    ("duplicate_row", "Deze rij is een kopie van een eerdere rij in het bestand: lever haar één keer.",
     "This row repeats an earlier row of the file: deliver it once."),
    ("field_count", "De rij heeft een ander aantal velden dan de kopregel: controleer scheidingstekens en aanhalingstekens.",
     "The row has another number of fields than the header: check delimiters and quotes."),
    ("not_nullable", "Dit veld is verplicht: vul het in.", "This field is required: fill it in."),
    ("unknown_municipality", "De gemeente is onbekend: gebruik de naam of CBS-code van een bestaande gemeente.",
     "The municipality is unknown: use the name or CBS code of an existing municipality."),
    ("ambiguous_municipality", "De gemeentenaam past bij meer gemeenten: gebruik de CBS-code.",
     "The municipality's name fits several municipalities: use its CBS code."),
    ("unknown_sector", "De sector is onbekend: gebruik een sector uit de afgesproken lijst.", "The sector is unknown: use a sector of the agreed list."),
    ("unknown_reporting_unit", "De meldende eenheid is onbekend: gebruik de afgesproken naam of code.",
     "The reporting unit is unknown: use its agreed name or code."),
)
_DEFAULT = ("Controleer deze waarde tegen de afspraken over het bestand.", "Check this value against the agreements about the file.")


def advice(rule: str, language: str = "nl") -> str:
    """What the source should change for a row that broke `rule`."""
    position = LANGUAGES.index(language)
    for prefix, dutch, english in _ADVICE:
        if rule == prefix or (prefix.endswith("_") and rule.startswith(prefix)):
            return (dutch, english)[position]
    return _DEFAULT[position]
