"""The methods section: what is counted and how, the suppression rule, sources and their freshness."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import Connection, case, func, select

from disclosure.suppression import MIN_PERCENTAGE_BASE
from reporting import labels
from reporting.layout import printable
from reporting.tables import Report
from store.tables import ingest_batches


@dataclass(frozen=True)
class Freshness:
    """What the ledger says about one source: its last loaded file and how many loads failed."""

    source: str
    last_loaded: datetime | None
    files_loaded: int
    failed: int


def read_freshness(connection: Connection) -> list[Freshness]:
    loaded = ingest_batches.c.state == "loaded"
    query = (
        select(
            ingest_batches.c.source,
            func.max(case((loaded, ingest_batches.c.finished_at))),
            func.count(case((loaded, 1))),
            func.count(case((ingest_batches.c.state == "failed", 1))),
        )
        .group_by(ingest_batches.c.source)
        .order_by(ingest_batches.c.source)
    )
    return [Freshness(source, last, int(files), int(failed)) for source, last, files, failed in connection.execute(query)]


_TEXT = {
    "en": [
        "Registrations are reports of a presumed victim by one source; one person may be reported by "
        "several sources and more than once. Persons are counted once per year, however many sources "
        "reported them, with the characteristics of their first registration of the year (so persons add "
        "up over every breakdown). Persons are linked across sources through keyed pseudonyms; no name "
        "or other identifier is in the warehouse.",
        "Registrations without identifying fields (for instance CTDC exchange rows) cannot be linked and "
        "count as one person each, so person counts are an upper bound where such rows occur.",
        "Small groups are protected. Every cell from 1 to {lowest} is suppressed (primary suppression), "
        "and further cells, always including at least one more in every row and column that holds a "
        "suppressed cell, are suppressed until no suppressed cell can be recomputed from any table of this "
        "report or of any earlier release of {year}, totals and totals of totals included (secondary "
        "suppression; checked by an integer program playing the attacker). Suppressed cells are shown as x. "
        "Percentages are shown only of a total of at least {base}.",
        "Nationality and country of exploitation show the {top} largest groups of the year; the rest is "
        "'other'. The trend covers {first}-{last}; each earlier year is suppressed exactly as in that year's own "
        "report, so reports of different years agree on every cell they share. Sources in {year}: {kinds}.",
        "These tables count reported persons only; most victims are never reported. The total number of victims, "
        "seen and unseen, is estimated by multiple-systems estimation (victim-intake estimate). The figure to quote "
        "is the log-linear model with covariates (sex, minor, Dutch nationality, form of exploitation), estimated per "
        "registration year, with its interval and beside the table of how much it moves under other models and "
        "without each source; it assumes that within a group of like persons the sources are linked correctly and "
        "report independently apart from the interactions modelled.",
    ],
    "nl": [
        "Registraties zijn meldingen van een vermoedelijk slachtoffer door één melder; één persoon kan door "
        "meerdere melders en meer dan eens gemeld zijn. Personen worden per jaar één keer geteld, hoeveel "
        "melders hen ook meldden, met de kenmerken van hun eerste registratie in dat jaar (zo tellen personen "
        "in elke uitsplitsing op tot het totaal). Personen worden tussen melders gekoppeld via versleutelde "
        "pseudoniemen; er staat geen naam of ander identificerend gegeven in het datawarehouse.",
        "Registraties zonder identificerende gegevens (bijvoorbeeld CTDC-uitwisseling) zijn niet te koppelen "
        "en tellen elk als één persoon; het aantal personen is dan een bovengrens.",
        "Kleine groepen worden beschermd. Elke cel van 1 tot en met {lowest} wordt onderdrukt (primaire "
        "onderdrukking), en verdere cellen, in elke rij en kolom met een onderdrukte cel minstens één, worden "
        "onderdrukt tot geen onderdrukte cel meer uit een tabel van dit rapport of van een eerdere publicatie over "
        "{year} is terug te rekenen, totalen en totalen van totalen meegerekend (secundaire onderdrukking; "
        "gecontroleerd met een geheeltallig programma dat de aanvaller speelt). Onderdrukte cellen staan als x. "
        "Percentages staan alleen bij een totaal van minstens {base}.",
        "Nationaliteit en land van uitbuiting tonen de {top} grootste groepen van het jaar; de rest is "
        "'overig'. De trend beslaat {first}-{last}; elk eerder jaar is onderdrukt zoals in het rapport van dat jaar "
        "zelf, zodat rapporten van verschillende jaren op elke gedeelde cel overeenkomen. Melders in {year}: {kinds}.",
        "Deze tabellen tellen alleen gemelde personen; de meeste slachtoffers worden nooit gemeld. Het totale aantal "
        "slachtoffers, gezien en ongezien, wordt geschat met multiple-systems estimation (victim-intake estimate). Het "
        "cijfer om te noemen is het log-lineaire model met covariaten (geslacht, minderjarig, Nederlandse nationaliteit, "
        "vorm van uitbuiting), per registratiejaar geschat, met zijn interval en naast de tabel die laat zien hoeveel "
        "het verschuift onder andere modellen en zonder elk van de melders; het veronderstelt dat melders binnen een "
        "groep gelijke personen juist gekoppeld zijn en, op de gemodelleerde samenhang na, onafhankelijk melden.",
    ],
}

_MEMORY = {
    "en": (
        "Every report that goes out is recorded in the warehouse, cell by cell. This report is protected "
        "jointly with the {releases} earlier release(s) of {year}, whatever their number of countries named, "
        "language or format: no combination of them pins a suppressed cell, and a cell suppressed in one "
        "release stays suppressed in every later one."
    ),
    "nl": (
        "Elk rapport dat naar buiten gaat, wordt cel voor cel vastgelegd in het datawarehouse. Dit rapport is "
        "beschermd samen met de {releases} eerdere publicatie(s) over {year}, met welk aantal landen, in welke taal "
        "of welk formaat ook: geen combinatie ervan legt een onderdrukte cel vast, en een cel die in één publicatie "
        "onderdrukt is, blijft in elke latere onderdrukt."
    ),
}

_FIRST = {
    "en": (
        "Every report that goes out is recorded in the warehouse, cell by cell. This is the first release of "
        "{year}: every later release of the year, whatever its number of countries named, language or format, "
        "is protected jointly with it, and a cell suppressed here stays suppressed in all of them."
    ),
    "nl": (
        "Elk rapport dat naar buiten gaat, wordt cel voor cel vastgelegd in het datawarehouse. Dit is de eerste "
        "publicatie over {year}: elke latere publicatie over het jaar, met welk aantal landen, in welke taal of welk "
        "formaat ook, wordt samen hiermee beschermd, en een cel die hier onderdrukt is, blijft in al die publicaties "
        "onderdrukt."
    ),
}

_REVISION = {
    "en": (
        "This release is a revision: the data of {year} changed after the release of {when} (late deliveries, "
        "corrections, erasures or replayed rows). Comparing a revision with an earlier release shows how the "
        "published cells changed. So every cell suppressed before stays suppressed, a cell whose count changed "
        "by 1 to {lowest} since any earlier release is suppressed too, and further cells until no such change "
        "can be recomputed from the two releases together. What the comparison can still reveal: by how many "
        "persons and registrations the year's totals changed, and a change of at least {min_cell} in a category; "
        "never which category a change of fewer than {min_cell} persons fell in."
    ),
    "nl": (
        "Deze publicatie is een herziening: de gegevens over {year} zijn veranderd na de publicatie van {when} "
        "(late leveringen, correcties, verwijderingen of opnieuw geladen rijen). Wie een herziening naast een eerdere "
        "publicatie legt, ziet hoe de gepubliceerde cellen veranderden. Daarom blijft elke eerder onderdrukte cel "
        "onderdrukt, wordt ook een cel onderdrukt waarvan de telling sinds een eerdere publicatie met 1 tot en met "
        "{lowest} veranderde, en verdere cellen tot geen zo'n verandering uit beide publicaties samen meer terug te "
        "rekenen is. Wat de vergelijking wel kan laten zien: met hoeveel personen en registraties de totalen van het "
        "jaar veranderden, en een verandering van minstens {min_cell} in een categorie; nooit in welke categorie een "
        "verandering van minder dan {min_cell} personen viel."
    ),
}

_REVISED_YEARS = {
    "en": "The data of {years} changed since they were last released; their rows in the trend are protected in the same way.",
    "nl": "De gegevens over {years} zijn veranderd sinds hun laatste publicatie; hun rijen in de trend zijn op dezelfde manier beschermd.",
}

_UNPROTECTED = {
    "en": "INTERNAL USE ONLY: this report was made with --min-cell {k}, so small cells are NOT suppressed.",
    "nl": "ALLEEN VOOR INTERN GEBRUIK: dit rapport is gemaakt met --min-cell {k}; kleine cellen zijn NIET onderdrukt.",
}


def methods_paragraphs(report: Report, language: str, top: int) -> list[str]:
    source_kinds = next(table for table in report.tables if table.name == "source_kind")
    kinds = [code for code, cells in zip(source_kinds.rows, source_kinds.cells, strict=True) if report.values[cells[0]] > 0]
    base = max(MIN_PERCENTAGE_BASE, 5 * report.min_cell)
    paragraphs = [
        text.format(
            lowest=max(report.min_cell - 1, 0),
            base=base,
            top=top,
            first=report.years[0],
            last=report.years[-1],
            year=report.year,
            kinds=", ".join(printable(labels.category(language, "source_kind", kind)) for kind in kinds) or "–",
        )
        for text in _TEXT[language]
    ]
    if report.min_cell <= 1:
        paragraphs.insert(0, _UNPROTECTED[language].format(k=report.min_cell))
        return paragraphs
    history = report.history
    memory = _MEMORY if history.releases else _FIRST
    paragraphs.append(memory[language].format(releases=history.releases, year=report.year))
    if history.revised is not None:
        when = history.revised.astimezone(UTC) if history.revised.tzinfo else history.revised
        paragraphs.append(
            _REVISION[language].format(
                year=report.year, when=when.strftime("%Y-%m-%d %H:%M UTC"), lowest=report.min_cell - 1, min_cell=report.min_cell
            )
        )
    if history.revised_years:
        paragraphs.append(_REVISED_YEARS[language].format(years=", ".join(str(year) for year in history.revised_years)))
    return paragraphs


def freshness_rows(rows: list[Freshness], language: str) -> tuple[list[str], list[list[str]]]:
    header = [labels.word(language, name) for name in ("source", "last_load", "files", "failed")]
    body = [
        [
            printable(row.source),
            row.last_loaded.strftime("%Y-%m-%d %H:%M UTC") if row.last_loaded else "–",
            labels.number(language, row.files_loaded),
            labels.number(language, row.failed),
        ]
        for row in rows
    ]
    return header, body
