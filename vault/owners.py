"""Which person each keyed identifier belongs to: read from the vault's rows, `person_links` only
where they do not tell it.

Every vault row carries its registration's keyed identifiers (name + birth date, BSN, V-number).
An identifier belongs to the person of the vault rows that carry it, when they all agree. A row
of `person_links` overrides that: it names the owner (or no one: null) where the rows disagree
or say something else. That happens where linkage decided so and no vault row records it: a
steward split off registrations that still carry their old person's identifiers, the bound on a
person's registrations kept a report apart from the person its name belongs to, a snapshot or a
re-delivery took away the only registration that carried an identifier, a person was erased
while another one carries the identifier, or rows were migrated before their keys were computed.

Whatever changes vault rows or owners keeps the owners it does not mean to change: it reads
them first (`ownership`), changes the rows, and writes the overrides the new rows need
(`settle`). Merging persons moves vault rows and overrides alike, so it needs nothing more.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import numpy as np
import pandas as pd
import pyarrow as pa
from sqlalchemy import ColumnElement, Connection, Select, TextClause, or_, select, text

from store.binary import as_bytes, hex_text
from store.bulk import upsert_rows
from store.privacy_tables import person_links, vault_identities
from store.qualified import qualified_name, timestamp_text
from store.text_sets import arrow_text, is_in, positions_in, text_codes

KEY_COLUMNS = {"name": "name_key", "bsn": "bsn_key", "vnr": "vnr_key"}
# Bound parameters per query on SQLite (its limit is 32,766).
_PER_QUERY = 30_000
_DISAGREE = "\x00disagree"  # no person id: the carriers name several persons


@dataclass(frozen=True, repr=False)
class Ownership:
    """What the warehouse holds about some identifiers: the vault rows that carry them and the
    overrides. `carriers`: identifier, registration_id, person_id; `overrides`: identifier -> person
    or None (no one); identifiers as hex text."""

    carriers: pd.DataFrame
    overrides: pd.Series

    def owners(self) -> pd.Series:
        """identifier -> its owner (None: no one), for every identifier held anywhere."""
        derived = pd.Series(dtype=object)
        if not self.carriers.empty:
            # An override wins; rows that disagree without one (never written so) go to the smallest id.
            codes, identifiers = text_codes(self.carriers["identifier"], ordered=True)
            owners = _owners(codes, len(identifiers), self.carriers["person_id"], smallest=True)
            derived = pd.Series(owners, index=pd.Index(pd.array(identifiers, dtype="str"), name="identifier"), dtype=object, name="person_id")
        return pd.concat([derived[~is_in(derived.index, self.overrides.index)], self.overrides]).astype(object)


def _owners(codes: np.ndarray, count: int, person_ids: pd.Series, *, smallest: bool) -> np.ndarray:
    """For identifiers 0 .. count - 1 (`codes`: that of each carrying row; -1: none of them): the
    person all their rows name, or None where those name no one or there are none; where they
    name several, the smallest of those (`smallest`) or `_DISAGREE`."""
    persons, names = text_codes(person_ids, ordered=smallest)
    nobody = len(names)  # null persons come after every person
    persons = np.where(persons < 0, nobody, persons)
    carried = codes >= 0
    # An identifier's rows agree where their smallest and largest person are one; none: low > high.
    low, high = np.full(count, nobody + 1), np.full(count, -1)
    np.minimum.at(low, codes[carried], persons[carried])
    np.maximum.at(high, codes[carried], persons[carried])
    owners = np.append(names.to_numpy(zero_copy_only=False), None)[np.minimum(low, nobody)]
    if not smallest:
        owners[low < high] = _DISAGREE
    return owners


def _aligned(values: pd.Series, identifiers: pa.Array) -> np.ndarray:
    """`values` (identifier -> person) at each of `identifiers`: None where missing or null."""
    at = positions_in(values.index, identifiers)
    aligned = np.full(len(identifiers), None, dtype=object)
    aligned[at[at >= 0]] = values.to_numpy(dtype=object)[at >= 0]
    aligned[pd.isna(aligned)] = None
    return aligned


def _select_in(connection: Connection, statement: str, values: list[bytes]) -> list[tuple]:
    """Rows of `statement`, whose `{keys}` becomes a condition on a list of bytes (`IN` a list,
    chunked, on SQLite; `= ANY` one array on PostgreSQL)."""
    if not values:
        return []
    if connection.dialect.name == "postgresql":
        result = connection.execute(text(statement.format(keys="= ANY(:keys)")), {"keys": values})
        return [tuple(row) for row in result] if result.returns_rows else []
    rows: list[tuple] = []
    cursor = connection.connection.driver_connection.cursor()
    try:
        for start in range(0, len(values), _PER_QUERY):
            chunk = values[start : start + _PER_QUERY]
            cursor.execute(statement.format(keys=f"IN ({', '.join('?' * len(chunk))})"), chunk)
            rows.extend(cursor.fetchall())
    finally:
        cursor.close()
    return rows


def carriers_of(connection: Connection, identifiers: pd.DataFrame) -> pd.DataFrame:
    """Vault rows carrying these identifiers (identifier, kind): identifier, registration_id, person_id."""
    vault = qualified_name(connection, vault_identities)
    parts = []
    for kind, column in KEY_COLUMNS.items():
        wanted = identifiers.loc[identifiers["kind"] == kind, "identifier"].drop_duplicates()
        rows = _select_in(connection, f"SELECT {column}, registration_id, person_id FROM {vault} WHERE {column} {{keys}}", as_bytes(wanted))
        parts.append(pd.DataFrame(rows, columns=["identifier", "registration_id", "person_id"], dtype=object))
    found = pd.concat(parts, ignore_index=True)
    found["identifier"] = hex_text(found["identifier"].to_numpy())
    return found


def overrides_of(connection: Connection, identifiers: pd.Series) -> pd.Series:
    """identifier -> person (None: no one) of the overrides among these identifiers."""
    links = qualified_name(connection, person_links)
    rows = _select_in(connection, f"SELECT identifier, person_id FROM {links} WHERE identifier {{keys}}", as_bytes(identifiers.drop_duplicates()))
    return pd.Series([person for _, person in rows], index=pd.Index(hex_text([key for key, _ in rows])), dtype=object)


def ownership(connection: Connection, identifiers: pd.DataFrame) -> Ownership:
    """Carriers and overrides of these identifiers (identifier as hex, kind)."""
    return Ownership(carriers_of(connection, identifiers), overrides_of(connection, identifiers["identifier"]))


_NO_KEYS = {"identifier": object, "kind": object, "key_version": "int64"}


def _no_keys() -> pd.DataFrame:
    return pd.DataFrame({name: pd.Series(dtype=dtype) for name, dtype in _NO_KEYS.items()})


def stored_keys(connection: Connection, condition: ColumnElement[bool]) -> pd.DataFrame:
    """identifier (hex), kind, key_version of every key the vault rows matching `condition` carry."""
    # One read of the rows for all kinds: the condition may list a million registrations.
    keys = [vault_identities.c[column] for column in KEY_COLUMNS.values()]
    rows = connection.execute(select(*keys, vault_identities.c.key_version).where(or_(*(key.is_not(None) for key in keys)), condition)).all()
    parts = [_no_keys()]
    for position, kind in enumerate(KEY_COLUMNS):
        carried = [(row[position], row[-1]) for row in rows if row[position] is not None]
        parts.append(pd.DataFrame({"identifier": hex_text([key for key, _ in carried]), "kind": kind, "key_version": [version for _, version in carried]}))
    return pd.concat(parts, ignore_index=True).drop_duplicates("identifier")


def _listed(connection: Connection, column: str, values: list[str]) -> TextClause:
    """`column` is one of `values` (any number of them: passed as one JSON array)."""
    if connection.dialect.name == "sqlite":
        return text(f"{column} IN (SELECT value FROM json_each(:listed))").bindparams(listed=json.dumps(values))
    return text(f"{column} IN (SELECT json_array_elements_text(CAST(:listed AS json)))").bindparams(listed=json.dumps(values))


def keys_of_registrations(connection: Connection, registration_ids: list[str]) -> pd.DataFrame:
    """identifier (hex), kind, key_version of the keys the vault rows of these registrations carry."""
    return stored_keys(connection, _listed(connection, "registration_id", registration_ids)) if registration_ids else _no_keys()


def keys_of_persons(connection: Connection, person_ids: list[str]) -> pd.DataFrame:
    """identifier (hex), kind, key_version of these persons' keys: their vault rows' and overrides'."""
    if not person_ids:
        return _no_keys()
    rows = connection.execute(
        select(person_links.c.identifier, person_links.c.kind, person_links.c.key_version).where(_listed(connection, "person_id", person_ids))
    ).all()
    overridden = pd.DataFrame({"identifier": hex_text([row[0] for row in rows]), "kind": [row[1] for row in rows], "key_version": [row[2] for row in rows]})
    found = [stored_keys(connection, _listed(connection, "person_id", person_ids)), overridden]
    return pd.concat(found, ignore_index=True).drop_duplicates("identifier")


@contextmanager
def keep_owners(
    connection: Connection,
    *,
    registrations: Select | None = None,
    persons: list[str] | None = None,
    moves: dict[str, str | None] | None = None,
    adding: pd.DataFrame | None = None,
) -> Iterator[None]:
    """Around a change of vault rows (those of `registrations`, a select of their ids, or of
    `persons`): the identifiers they carry, those the persons own and those the change `adding`
    writes to them (identifier, kind, key_version) keep their owners, or go to the person `moves`
    names (None: to no one) where it names theirs."""
    if registrations is not None:
        touched = stored_keys(connection, vault_identities.c.registration_id.in_(registrations))
    else:
        touched = keys_of_persons(connection, persons or [])
    if adding is not None:
        touched = pd.concat([touched, adding], ignore_index=True).drop_duplicates("identifier")
    before = ownership(connection, touched).owners() if len(touched) else pd.Series(dtype=object)
    moves = moves or {}
    before = before.map(lambda person: moves.get(person, person) if person is not None else None)
    yield
    settle(connection, touched, before)


def settle(connection: Connection, identifiers: pd.DataFrame, intended: pd.Series, held: Ownership | None = None) -> int:
    """Make the owner of each identifier (identifier as hex, kind, key_version) what `intended` says (identifier
    -> person; missing or None: no one), writing an override only where the vault's rows do not
    tell it and removing those that became needless. `held`: the carriers and overrides as they
    are now, when the caller knows them (else read). Returns the overrides written."""
    if identifiers.empty:
        return 0
    identifiers = identifiers.drop_duplicates("identifier")
    held = held if held is not None else ownership(connection, identifiers)
    universe = arrow_text(identifiers["identifier"])
    carriers = positions_in(held.carriers["identifier"], universe)
    derived = _owners(carriers, len(universe), held.carriers["person_id"], smallest=False)
    wanted = _aligned(intended, universe)
    needed = derived != wanted
    present = is_in(identifiers["identifier"], held.overrides.index)
    unchanged = present & (_aligned(held.overrides, universe) == wanted)
    links = qualified_name(connection, person_links)
    stale = identifiers.loc[present & ~needed, "identifier"]
    _select_in(connection, f"DELETE FROM {links} WHERE identifier {{keys}}", as_bytes(stale))
    write = identifiers[needed & ~unchanged]
    rows = pd.DataFrame(
        {
            "identifier": as_bytes(write["identifier"]),
            "kind": write["kind"].to_numpy(),
            "person_id": wanted[needed & ~unchanged],
            "key_version": write["key_version"].to_numpy(dtype="int64"),
            "linked_at": timestamp_text(),
        }
    )
    upsert_rows(connection, links, rows, "identifier")
    return len(rows)
