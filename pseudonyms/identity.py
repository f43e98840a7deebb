"""From identifying fields to a person pseudonym and a registration key."""

from __future__ import annotations

from collections.abc import Callable

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from pseudonyms.canonical import canonical_given_names, canonical_surname, digits_only, lossy_script_forms
from pseudonyms.hashing import KeyedHasher

PERSON_PURPOSE = "victim-intake person-id v1"
REGISTRATION_PURPOSE = "victim-intake registration-id v1"

IDENTITY_COLUMNS: tuple[str, ...] = ("surname", "given_names", "birth_date", "bsn", "alien_number")


def identity_keys(identities: pd.DataFrame) -> pd.Series:
    """The canonical identity string each row is linked by, or null when the row has none.

    Name and birth date come first because every source records them; a BSN, then a V-number,
    identifies a person whose name or birth date is missing. Each kind of key has its own prefix,
    so a BSN can never equal a name.
    """
    strings = identifier_strings(identities)
    # identifier_strings lists every name first, then BSNs, then V-numbers: a row's first entry is
    # its preferred identifier.
    preferred = strings.drop_duplicates("row")
    return pd.Series(preferred["value"].to_numpy(), index=preferred["row"].to_numpy(), dtype="str").reindex(
        identities.index
    )


def person_ids(identities: pd.DataFrame, key: bytes) -> pd.Series:
    """Keyed pseudonym of each row's person (null when the row carries no identifying field)."""
    return KeyedHasher(key, PERSON_PURPOSE).digest_series(identity_keys(identities))


def registration_ids(source: str, source_record_ids: pd.Series, key: bytes) -> pd.Series:
    """Stable key of a registration: the same source record always gets the same id."""
    return KeyedHasher(key, REGISTRATION_PURPOSE).digest_series(source + "|" + source_record_ids)


IDENTIFIER_PURPOSE = "victim-intake identifier v1"
IDENTIFIER_KINDS: tuple[str, ...] = ("name", "bsn", "vnr")


def placeholder_dates(birth_dates: pd.Series) -> pd.Series:
    """Whether each birth date is a placeholder rather than a known day: 1 January, on which
    people whose birth day is unknown are commonly registered. Namesakes share such a date far
    more often than chance, so with a name it identifies no one."""
    return (birth_dates.dt.month == 1) & (birth_dates.dt.day == 1)


def per_distinct_date(dates: pd.Series, convert: Callable[[pd.Series], pd.Series], pattern: str = "%Y-%m-%d") -> pd.Series:
    """`convert` of each date (datetime series) written with `pattern`, null where missing; done
    once per distinct date, since a bulk load holds a few tens of thousands of dates for a million rows."""
    codes, distinct = pd.factorize(dates)
    converted = convert(pd.Series(pd.DatetimeIndex(distinct).strftime(pattern), dtype="str"))
    return pd.Series(pd.array(converted, dtype="str").take(codes, allow_fill=True), index=dates.index)


def date_texts(dates: pd.Series, pattern: str = "%Y-%m-%d") -> pd.Series:
    """Each date written with `pattern` (null where missing)."""
    return per_distinct_date(dates, lambda texts: texts, pattern)


def identifier_strings(identities: pd.DataFrame) -> pd.DataFrame:
    """Every strong identifier of every row, long: `row` (index label), `kind`, canonical `value`.

    Unlike `identity_keys`, a row contributes all its identifiers, so that two reports sharing any
    one of them can be linked, and a later report adding a BSN joins the person already known.
    Name and birth date are one only when the date is no placeholder (`placeholder_dates`).
    """
    surname = canonical_surname(identities["surname"])
    given = canonical_given_names(identities["given_names"])
    birth = pd.to_datetime(identities["birth_date"], errors="coerce")
    # A name in a lossy script carries its written form: `李伟` and `黎威` (both "Li Wei") differ.
    script = ("|" + lossy_script_forms(identities["surname"], identities["given_names"])).fillna("")
    # One join of Arrow columns (null when surname or date is): no intermediate text column per part.
    parts = [pa.array(part.array) for part in (surname, given.fillna(""), date_texts(birth), script)]
    parts = [pc.cast(part, pa.large_string()) for part in parts]
    joined = pc.binary_join_element_wise(
        pa.scalar("name|", pa.large_string()), parts[0], pa.scalar("|", pa.large_string()), parts[1],
        pa.scalar("|", pa.large_string()), parts[2], parts[3], pa.scalar("", pa.large_string()),
    )
    name = pd.Series(pd.array(joined, dtype="str"), index=identities.index)
    by_kind: dict[str, pd.Series] = {
        "name": name.where(surname.notna() & birth.notna() & ~placeholder_dates(birth)),
        "bsn": "bsn|" + digits_only(identities["bsn"]),
        "vnr": "vnr|" + digits_only(identities["alien_number"]),
    }
    parts = [
        pd.DataFrame({"row": values.index[values.notna()], "kind": kind, "value": values.dropna().astype("str").array})
        for kind, values in by_kind.items()
    ]
    return pd.concat(parts, ignore_index=True)


def versioned(pseudonyms: pd.Series, key_version: int) -> pd.Series:
    """Person pseudonyms carry the version of the key that made them (`v2-…`), so a pseudonym can
    never be mistaken for one of another key generation."""
    return f"v{key_version}-" + pseudonyms
