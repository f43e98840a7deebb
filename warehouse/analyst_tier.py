"""The analyst tier: `analyst_registrations`, its marts and the levels its quasi-identifiers reached.

Rebuilt from the national registrations at every mart refresh, in the refresh's transaction
(`warehouse.marts.refresh_marts`), so erasure, retention and key rotation, which refresh in their
own transactions, update it with them. Persons are taken as the marts take them: one row per
person and year, their first registration of the year. Their quasi-identifiers (`warehouse.hierarchies`)
are generalised by one scheme for every year and, where needed, suppressed (`warehouse.anonymise`)
until every combination within a year covers at least K persons. Every registration of a person
in a year carries the person's generalised quasi-identifiers, so the registrations of one person
cannot single them out with values their first registration did not have.

The tier's person key (`analyst_person`) is an HMAC of the year and the person's pseudonym under
a random secret kept in the vault (`tier_secrets`): analysts cannot compute it from a `person_id`,
and it differs from year to year, so nobody can intersect a person's classes across years.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
from sqlalchemy import Boolean, Column, Connection, Index, Integer, Table, Text, delete, func, insert, select

from config.settings import current
from pseudonyms.hashing import KeyedHasher, digest_distinct
from schemas.vocabulary import EXPLOITATION_TYPES, SOURCE_KINDS
from store.bulk import Read, bulk_insert, read_columns
from store.clock import utc_now
from store.locks import lock_tier
from store.tables import metadata, registrations
from warehouse.anonymise import Lattice, class_ids, class_sizes
from warehouse.hierarchies import HIERARCHIES, QUASI_IDENTIFIERS, TOP
from warehouse.mart_counts import PersonYears, person_years, yearly_counts, yearly_crossings

TIER_SECRET = "analyst_person"
# What the analyst marts break counts down by: the tier's columns.
ANALYST_DIMENSIONS: tuple[str, ...] = ("exploitation_type", "source_kind", *QUASI_IDENTIFIERS)
ANALYST_CROSSINGS: tuple[tuple[str, str], ...] = (
    ("exploitation_type", "gender"),
    ("exploitation_type", "age"),
    ("nationality", "exploitation_type"),
)
_QUASI_COMMENTS = {
    "age": "age group, `minor`/`adult`, `unknown` or `*`, at the level the tier reached",
    "gender": "gender, or `*`",
    "nationality": "nationality (ISO alpha-3), `NLD`/`other_eu`/region of the world, `NLD`/`other_eu`/`non_eu`, `UNK` or `*`",
    "exploitation_country": "country of exploitation, generalised as `nationality`",
    "exploitation_place": "municipality (CBS code), safety region (`VRxx`), police unit (`PE-xx`), `unknown` or `*`",
    "exploitation_sector": "sector code, sector group, `unknown` or `*`",
    "reporting_unit": "reporting unit code, `unknown` or `*`",
    "reported": "month (`YYYY-MM`) or quarter (`YYYY-Qn`) of the report, `unknown` or `*`",
}

analyst_registrations = Table(
    "analyst_registrations",
    metadata,
    Column("registration_year", Integer, nullable=False, comment="year of the report"),
    Column(
        "analyst_person",
        Text,
        nullable=False,
        comment="the person's key in this tier and year: keyed apart from `person_id`, different in every year",
    ),
    Column("source_kind", Text, nullable=False, comment="category of the reporting source"),
    Column("exploitation_type", Text, nullable=False, comment="form of exploitation"),
    *(
        Column(name, Text, nullable=False, comment=f"{comment}; the person's, from their first registration of the year")
        for name, comment in _QUASI_COMMENTS.items()
    ),
    Column("b8_reflection_offered", Boolean, comment="B8 reflection period offered; null when unknown"),
    Column("report_filed", Boolean, comment="the victim filed a report (aangifte); null when unknown"),
    Index("ix_analyst_registrations_year", "registration_year"),
    comment="One row per national registration, quasi-identifiers generalised and suppressed so that every "
    "combination of them covers at least K persons in its year (VICTIM_INTAKE_ANALYST_K).",
)


def _counts_table(name: str, comment: str) -> Table:
    return Table(
        name,
        metadata,
        Column("registration_year", Integer, primary_key=True, comment="year of the report"),
        Column("measure", Text, primary_key=True, comment="`registrations` or `persons` (distinct persons of the year)"),
        Column("dimension", Text, primary_key=True, comment="a column of `analyst_registrations`: " + ", ".join(ANALYST_DIMENSIONS)),
        Column("category", Text, primary_key=True, comment="value of the dimension in the analyst tier"),
        Column("count", Integer, nullable=False, comment="registrations or distinct persons"),
        comment=comment,
    )


analyst_yearly_counts = _counts_table(
    "analyst_yearly_counts", "Counts of the analyst tier per registration year, measure, dimension and category that occurs."
)

analyst_yearly_crossings = Table(
    "analyst_yearly_crossings",
    metadata,
    Column("registration_year", Integer, primary_key=True, comment="year of the report"),
    Column("measure", Text, primary_key=True, comment="`registrations` or `persons` (distinct persons of the year)"),
    Column("row_dimension", Text, primary_key=True, comment="first dimension: " + ", ".join(sorted({r for r, _ in ANALYST_CROSSINGS}))),
    Column("row_category", Text, primary_key=True, comment="value of the first dimension"),
    Column("column_dimension", Text, primary_key=True, comment="second dimension: " + ", ".join(sorted({c for _, c in ANALYST_CROSSINGS}))),
    Column("column_category", Text, primary_key=True, comment="value of the second dimension"),
    Column("count", Integer, nullable=False, comment="registrations or distinct persons with both values"),
    comment="Crossings of two dimensions of the analyst tier per registration year and measure.",
)

analyst_tier_levels = Table(
    "analyst_tier_levels",
    metadata,
    Column("registration_year", Integer, primary_key=True, comment="year of the report"),
    Column("quasi_identifier", Text, primary_key=True, comment="a quasi-identifier column of `analyst_registrations`"),
    Column("level", Integer, nullable=False, comment="level of its hierarchy the tier shows (0 finest; the same in every year)"),
    Column("level_name", Text, nullable=False, comment="what that level shows (`*`: not shown)"),
    Column("k", Integer, nullable=False, comment="the K the tier was built with"),
    Column("persons", Integer, nullable=False, comment="persons of the year"),
    Column("generalised", Integer, nullable=False, comment="persons whose value is shown coarser than at level 0 (not counting the suppressed)"),
    Column("suppressed", Integer, nullable=False, comment="persons whose quasi-identifiers are all suppressed (`*`)"),
    comment="How far each quasi-identifier was generalised and how many persons were suppressed, per year.",
)

ANALYST_RELATIONS: tuple[Table, ...] = (analyst_registrations, analyst_yearly_counts, analyst_yearly_crossings, analyst_tier_levels)

_CATEGORY = pa.dictionary(pa.int32(), pa.string())
_FLAG = "CASE WHEN {0} THEN 't' WHEN NOT {0} THEN 'f' ELSE 'n' END"


def new_secret() -> str:
    return secrets.token_bytes(32).hex()


def tier_secret(connection: Connection) -> bytes:
    """The vault's secret for analyst person keys; made here if a warehouse lacks it."""
    from store.privacy_tables import tier_secrets

    found = connection.execute(select(tier_secrets.c.secret).where(tier_secrets.c.purpose == TIER_SECRET)).scalar_one_or_none()
    if found is None:
        found = new_secret()
        connection.execute(insert(tier_secrets).values(purpose=TIER_SECRET, secret=found, created_at=utc_now()))
    return bytes.fromhex(found)


def tier_columns(connection: Connection) -> dict[str, Read]:
    """What the tier reads of a registration."""
    month = "to_char(reported_on, 'YYYY-MM')" if connection.dialect.name == "postgresql" else "substr(reported_on, 1, 7)"
    reported = "to_char(reported_on, 'YYYY-MM-DD')" if connection.dialect.name == "postgresql" else "reported_on"
    return {
        "registration_year": Read("registration_year", pa.int32()),
        "person_key": Read("COALESCE(person_id, 'registration:' || registration_id)"),
        "registration_id": Read("registration_id"),
        "reported_on": Read(reported, quoted=True),
        "reported_month": Read(f"COALESCE({month}, 'unknown')", _CATEGORY),
        "source_kind": Read("source_kind", _CATEGORY),
        "exploitation_type": Read("exploitation_type", _CATEGORY),
        "b8_reflection_offered": Read(_FLAG.format("b8_reflection_offered"), _CATEGORY),
        "report_filed": Read(_FLAG.format("report_filed"), _CATEGORY),
        **{h.source: Read(h.source, _CATEGORY, quoted=True) for h in HIERARCHIES if h.source != "reported_month"},
    }


# A person-year's columns, taken from their first registration; and a registration's own.
_PERSON_COLUMNS = ("registration_year", "person_key", "source_kind", "exploitation_type", *(h.source for h in HIERARCHIES))
_OWN_COLUMNS = ("registration_year", "source_kind", "exploitation_type", "b8_reflection_offered", "report_filed")


@dataclass(frozen=True)
class Registrations:
    """What the tier reads of the national registrations."""

    firsts: pa.Table  # each person-year's first registration, in order of year and person key
    owners: np.ndarray  # each registration's person-year: its row in `firsts`
    own: pa.Table  # each registration's `_OWN_COLUMNS`, in the order read


def year_part(read: pa.Table, split: PersonYears) -> Registrations:
    """One year's registrations, read with `tier_columns` and split into person-years (`split`)."""
    return Registrations(read.select(_PERSON_COLUMNS).take(split.positions), split.owners, read.select(_OWN_COLUMNS))


def gathered(parts: list[Registrations]) -> Registrations:
    """The years' parts as one, in the order given: each year's person-years after those before it."""
    offsets = np.cumsum([0, *(part.firsts.num_rows for part in parts)])[:-1]
    return Registrations(
        pa.concat_tables([part.firsts for part in parts]),
        np.concatenate([part.owners + offset for part, offset in zip(parts, offsets, strict=True)]),
        pa.concat_tables([part.own for part in parts]),
    )


def national_sources(connection: Connection) -> list[tuple[int | None, str]]:
    """Each year's national registrations as a FROM clause for `read_columns`, in order of year;
    one that reads nothing (year None) when there are none, which gives the columns their types."""
    years = connection.execute(
        select(registrations.c.registration_year).where(registrations.c.scope == "national").distinct()
    ).scalars()
    sources = [(int(year), f"FROM registrations WHERE registration_year = {int(year)} AND scope = 'national'") for year in sorted(years)]
    return sources or [(None, "FROM registrations WHERE false")]


def _read(connection: Connection) -> Registrations:
    """Every national registration with what the tier needs. Read and split into person-years a year
    at a time (a person-year lies within its year): only one year's registrations are held whole."""
    columns = tier_columns(connection)
    parts = []
    for _, source in national_sources(connection):
        read = read_columns(connection, columns, source)
        parts.append(year_part(read, person_years(read)))
    return gathered(parts)


@dataclass(frozen=True)
class Tier:
    """The tier's rows and the frames of its marts and levels (quasi-identifiers, source kinds and
    types of exploitation as categoricals: a few small codes per row instead of a string)."""

    registrations: pd.DataFrame
    persons: pd.DataFrame  # one row per person-year, with the marts' dimensions
    levels: pd.DataFrame


def _listed(values: pa.ChunkedArray, name: str) -> pd.Categorical:
    """The column's values where its vocabulary lists them, else `unknown`: never text as written.
    Categories sorted, so that codes order as the values do."""
    allowed = SOURCE_KINDS if name == "source_kind" else EXPLOITATION_TYPES
    values = values.combine_chunks().to_pandas().astype(object)
    return pd.Categorical(values.where(values.isin(allowed), "unknown"))


def _flags(values: pa.ChunkedArray) -> pd.Series:
    return values.combine_chunks().to_pandas().astype(object).map({"t": True, "f": False, "n": pd.NA}).astype("boolean")


def _shown(labels: pd.DataFrame, level: int, code: np.ndarray, suppressed: np.ndarray) -> pd.Categorical:
    """Each person's label at `level` (`labels` per level-0 value, `code` each person's level-0
    code), or the top where they are suppressed."""
    level_codes, categories = pd.factorize(pd.Index(labels[level]).append(pd.Index([TOP])))
    return pd.Categorical.from_codes(np.where(suppressed, level_codes[-1], level_codes[:-1][code]), categories)


def build_tier(read: Registrations, secret: bytes, k: int, share: float) -> Tier:
    """Generalise and suppress the persons' quasi-identifiers, then give every registration its person's."""
    firsts = read.firsts
    persons = pd.DataFrame({"registration_year": firsts["registration_year"].to_numpy(), "person_key": firsts["person_key"].to_pandas()})
    hasher = KeyedHasher(secret, "analyst-tier person key")
    # Year and person key, distinct for every person-year, joined in Arrow.
    keyed = pc.binary_join_element_wise(firsts["registration_year"].cast(pa.string()), firsts["person_key"], "\x1f")
    persons["analyst_person"] = pd.array(digest_distinct(hasher, keyed.combine_chunks()), dtype="str")
    # Each person's rank by analyst key, ties in person order; ranked in Arrow, without a Python
    # string per person.
    rank = pc.rank(pa.array(persons["analyst_person"]), sort_keys="ascending", tiebreaker="first").to_numpy().astype(np.int64) - 1
    levels = _generalise(persons, firsts, rank, k, share)
    for name in ("source_kind", "exploitation_type"):
        persons[name] = _listed(firsts[name], name)
    return Tier(_registrations(read.own, persons, read.owners, rank), persons, _levels(persons, levels, k))


def _generalise(persons: pd.DataFrame, firsts: pa.Table, rank: np.ndarray, k: int, share: float) -> tuple[int, ...]:
    """Add to `persons` (their first registrations: `firsts`) each quasi-identifier as shown, whether
    it is shown coarser than level 0, and whether the person is suppressed; returns the level of
    each quasi-identifier. The codes and the lattice live only here, not beside the rows built next."""
    codes, maps, tables = [], [], []
    for hierarchy in HIERARCHIES:
        values = firsts[hierarchy.source].combine_chunks().to_pandas().astype(object).fillna("unknown")
        level0, distinct = pd.factorize(values, sort=True)
        labels = hierarchy.labels(pd.Index(distinct))
        codes.append(level0.astype(np.int64))
        maps.append([pd.factorize(labels[level], sort=True)[0].astype(np.int64) for level in labels.columns])
        tables.append(labels)
    scheme = Lattice(persons["registration_year"].to_numpy(), codes, maps, k, share).search(rank)
    for hierarchy, labels, level, code in zip(HIERARCHIES, tables, scheme.levels, codes, strict=True):
        persons[hierarchy.column] = _shown(labels, level, code, scheme.suppressed)
        coarser = labels[level].to_numpy(dtype=object) != labels[0].to_numpy(dtype=object)
        persons[f"{hierarchy.column}__coarser"] = coarser[code] & ~scheme.suppressed
    persons["suppressed"] = scheme.suppressed
    return scheme.levels


def _registrations(own: pa.Table, persons: pd.DataFrame, owners: np.ndarray, rank: np.ndarray) -> pd.DataFrame:
    """`analyst_registrations` rows: every registration (`own`) with its person-year's (`owners`) key and
    quasi-identifiers, ordered by year, analyst person (`rank` orders the persons by it), source
    kind and type of exploitation, ties in the order read."""
    years = own["registration_year"].to_numpy()
    listed = {name: _listed(own[name], name) for name in ("source_kind", "exploitation_type")}
    at = np.lexsort((listed["exploitation_type"].codes, listed["source_kind"].codes, rank[owners], years))
    owner = owners[at]
    columns = {
        "registration_year": years[at],
        "analyst_person": persons["analyst_person"].array.take(owner),
        "source_kind": listed["source_kind"].take(at),
        "exploitation_type": listed["exploitation_type"].take(at),
        **{name: persons[name].array.take(owner) for name in QUASI_IDENTIFIERS},
        "b8_reflection_offered": _flags(own["b8_reflection_offered"]).array.take(at),
        "report_filed": _flags(own["report_filed"]).array.take(at),
    }
    return pd.DataFrame({column.name: columns[column.name] for column in analyst_registrations.columns})


def _levels(persons: pd.DataFrame, levels: tuple[int, ...], k: int) -> pd.DataFrame:
    coarser = [f"{hierarchy.column}__coarser" for hierarchy in HIERARCHIES]
    grouped = persons.groupby("registration_year", sort=True)
    sums = grouped[[*coarser, "suppressed"]].sum()
    sizes = grouped.size()
    parts = [
        pd.DataFrame(
            {
                "registration_year": sizes.index.to_numpy(),
                "quasi_identifier": hierarchy.column,
                "level": level,
                "level_name": hierarchy.levels[level],
                "k": k,
                "persons": sizes.to_numpy(),
                "generalised": sums[column].to_numpy(),
                "suppressed": sums["suppressed"].to_numpy(),
            }
        )
        for hierarchy, level, column in zip(HIERARCHIES, levels, coarser, strict=True)
    ]
    return pd.concat(parts, ignore_index=True).astype({"persons": "int64", "generalised": "int64", "suppressed": "int64"})


class ClassUnderK(RuntimeError):
    """The tier would show a class of fewer than K persons: it is not written."""


def check_classes(persons: pd.DataFrame, k: int) -> None:
    """Count the classes again, as an analyst would, before anything is written: in every year of
    at least K persons, every combination of the shown quasi-identifiers covers K persons."""
    columns = [pd.factorize(persons[name])[0] for name in ("registration_year", *QUASI_IDENTIFIERS)]
    sizes = class_sizes(class_ids(columns, len(persons)))
    year_sizes = persons.groupby("registration_year")["registration_year"].transform("size").to_numpy()
    if np.any((sizes < k) & (year_sizes >= k)):
        raise ClassUnderK(f"the analyst tier would hold a class of fewer than {k} persons; it was not rebuilt")


def refresh_tier(connection: Connection, read: Registrations | None = None) -> Tier:
    """Rebuild the tier and its marts from every national registration, in the caller's transaction:
    from `read` when the caller has read them (`gathered` from every year's `year_part`)."""
    settings = current()
    k, share = settings.analyst_k, settings.analyst_suppression
    lock_tier(connection)
    tier = build_tier(_read(connection) if read is None else read, tier_secret(connection), k, share)
    check_classes(tier.persons, k)
    for relation in ANALYST_RELATIONS:
        connection.execute(delete(relation))
    bulk_insert(connection, analyst_registrations.name, tier.registrations)
    frames = {"registrations": tier.registrations, "persons": tier.persons}
    bulk_insert(connection, analyst_yearly_counts.name, yearly_counts(frames, ANALYST_DIMENSIONS))
    bulk_insert(connection, analyst_yearly_crossings.name, yearly_crossings(frames, ANALYST_CROSSINGS))
    bulk_insert(connection, analyst_tier_levels.name, tier.levels)
    return tier


def tier_behind(connection: Connection, national: int) -> bool:
    """Whether the tier holds a different number of registrations than the `national` ones there
    are: as its marts count them, written with its rows (every row has an `exploitation_type`)."""
    shown = connection.execute(
        select(func.coalesce(func.sum(analyst_yearly_counts.c.count), 0)).where(
            analyst_yearly_counts.c.measure == "registrations", analyst_yearly_counts.c.dimension == "exploitation_type"
        )
    ).scalar_one()
    return national != shown


def tier_summary(levels: pd.DataFrame) -> list[str]:
    """Lines for a run's log: per year, persons, share suppressed, and each quasi-identifier's level
    with the share of values generalised. No values, counts only."""
    lines = []
    for year, rows in levels.groupby("registration_year", sort=True):
        persons = int(rows["persons"].iloc[0])
        suppressed = int(rows["suppressed"].iloc[0])
        generalised = rows["generalised"].sum() / max(persons * len(rows), 1)
        shown = ", ".join(f"{row.quasi_identifier}: {row.level_name}" for row in rows.itertuples())
        lines.append(
            f"{year}: {persons} person(s), {suppressed / max(persons, 1):.1%} suppressed, "
            f"{generalised:.1%} of values generalised (k={int(rows['k'].iloc[0])}; {shown})"
        )
    return lines
