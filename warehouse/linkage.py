"""Transitive linkage of a batch to the persons already known, inside the load transaction.

Reports that share any strong identifier (keyed pseudonyms of name + birth date, BSN, V-number)
are one person, across batches, sources and years. The batch's identifiers are staged, the known
links fetched with one join, and the graph of registrations, identifiers and known persons split
into connected components, cut where a component would break a constraint (`warehouse.components`:
names in a lossy script, a steward's split, the bound on a person's registrations). A component
keeps its known person (a person id never changes when a later report adds an identifier); a
component that joins several known persons merges them into the smallest id; a component without
one becomes a new person; a registration that names someone but is linked to no one is a person
of its own.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass

import pandas as pd
from sqlalchemy import Connection, bindparam, column, select, table, text, update

from config.settings import DEFAULT_MAX_PERSON_REGISTRATIONS
from pseudonyms.person_identities import PersonIdentities
from warehouse.approximate import StoredEncodings, known_encodings, matches
from warehouse.bulk import bulk_insert
from warehouse.components import (
    APPROXIMATE,
    FIRM,
    NAME,
    PERSON_NODE,
    REGISTRATION_NODE,
    SCRIPT_GROUP,
    STEWARD,
    constrained_components,
    person_components,
)
from warehouse.decisions import current_decisions
from warehouse.privacy_tables import person_links
from warehouse.qualified import drop_temporary_table, qualified_name, temporary_table, timestamp_text

_STAGE = "stage_identifiers"
_STRENGTH_OF_KIND = {"name": NAME, "bsn": FIRM, "vnr": FIRM}


@dataclass(frozen=True)
class Resolution:
    """Person of each registration of the batch, and the known persons merged into others."""

    person_of_registration: pd.Series  # registration_id -> person_id
    merged: dict[str, str]  # absorbed person id -> surviving person id
    owner_of_identifier: pd.Series  # identifier -> person_id, for the identifiers still linked
    kept_apart: int = 0  # registrations whose name links the bound refused
    oversized_persons: tuple[str, ...] = ()  # known persons in components the bound cut


_NOTHING = Resolution(pd.Series(dtype=object), {}, pd.Series(dtype=object))


def known_links(connection: Connection, links: pd.DataFrame) -> pd.DataFrame:
    """identifier -> person_id of the batch's identifiers that are linked already (one query)."""
    identifiers = links["identifier"].drop_duplicates()
    if connection.dialect.name == "sqlite":
        # The identifiers as one JSON array that SQLite unpacks in C: a staging table filled row by
        # row took 1.8 s for a 250k part's 340k identifiers, this takes 0.8 s.
        statement = (
            f"SELECT identifier, person_id FROM {qualified_name(connection, person_links)} "
            "WHERE identifier IN (SELECT value FROM json_each(?))"
        )
        rows = connection.exec_driver_sql(statement, (json.dumps(identifiers.tolist()),)).all()
    else:
        connection.execute(temporary_table(connection, _STAGE, "identifier varchar(32)"))
        bulk_insert(connection, _STAGE, identifiers.to_frame())
        rows = connection.execute(
            select(person_links.c.identifier, person_links.c.person_id).where(
                person_links.c.identifier.in_(select(_stage_column()))
            )
        ).all()
        drop_temporary_table(connection, _STAGE)
    return pd.DataFrame([tuple(row) for row in rows], columns=["identifier", "person_id"], dtype=object)


def _stage_column():
    return table(_STAGE, column("identifier")).c.identifier


def merge_parameters(merged: dict[str, str]) -> list[dict[str, str]]:
    """Parameters of one executemany UPDATE that moves absorbed persons to their survivors."""
    return [{"absorbed": absorbed, "survivor": survivor} for absorbed, survivor in merged.items()]


def _edges(frame: pd.DataFrame, node: pd.Series, strength: pd.Series | int) -> pd.DataFrame:
    return pd.DataFrame({"registration_id": frame["registration_id"].to_numpy(), "node": node.to_numpy(), "strength": strength})


def linkage_graph(
    known: pd.DataFrame,
    links: pd.DataFrame,
    named: pd.DataFrame,
    approximate: pd.DataFrame | None = None,
    decisions: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """Edges (registration_id, node, strength) of the batch's linkage graph."""
    strength = links["kind"].map(_STRENGTH_OF_KIND).to_numpy()
    known_person = links["identifier"].map(known.set_index("identifier")["person_id"])
    with_person = known_person.notna().to_numpy()
    members = pd.concat([links["registration_id"], named["registration_id"]]).drop_duplicates().to_frame()
    parts = [
        _edges(links, links["identifier"], strength),
        _edges(links[with_person], PERSON_NODE + known_person[with_person].astype("str"), strength[with_person]),
        # Every registration is a node of its own: others match it, and it never loses its place.
        _edges(members, REGISTRATION_NODE + members["registration_id"], STEWARD),
    ]
    if approximate is not None and len(approximate):
        parts.append(_edges(approximate, approximate["node"], APPROXIMATE))
    if decisions is not None and len(decisions):
        # A registration the steward split off or joined stays with the person they gave it.
        mine = decisions[decisions["registration_id"].isin(members["registration_id"]) & decisions["person_id"].notna()]
        parts.append(_edges(mine, PERSON_NODE + mine["person_id"].astype("str"), STEWARD))
    return pd.concat(parts, ignore_index=True)


def linkage_labels(batch: pd.DataFrame | None, stored: StoredEncodings | None, decisions: pd.DataFrame | None) -> pd.DataFrame:
    """Cannot-link labels (on, group, value): a component holds one value per group. The script
    key of names in a lossy script (batch records and stored persons), and the side of each
    registration in a steward's split (the registration, and its current person)."""
    parts = [pd.DataFrame(columns=["on", "group", "value"], dtype=object)]
    if batch is not None and len(batch):
        scripted = batch.dropna(subset=["script_key"])
        parts.append(pd.DataFrame({"on": scripted["registration_id"], "group": SCRIPT_GROUP, "value": scripted["script_key"]}))
    if stored is not None and len(stored.frame):
        scripted = stored.frame.dropna(subset=["script_key"])
        parts.append(pd.DataFrame({"on": PERSON_NODE + scripted["person_id"], "group": SCRIPT_GROUP, "value": scripted["script_key"]}))
    if decisions is not None and len(decisions):
        apart = decisions[decisions["kind"] == "apart"]
        group = "apart:" + apart["decision_id"].astype("str")
        side = apart["side"].astype("str")
        parts.append(pd.DataFrame({"on": apart["registration_id"], "group": group, "value": side}))
        placed = apart["person_id"].notna()
        parts.append(pd.DataFrame({"on": PERSON_NODE + apart.loc[placed, "person_id"], "group": group[placed], "value": side[placed]}))
    return pd.concat(parts, ignore_index=True).astype(object)


def resolve(
    known: pd.DataFrame,
    links: pd.DataFrame,
    named: pd.DataFrame,
    approximate: pd.DataFrame | None = None,
    *,
    labels: pd.DataFrame | None = None,
    decisions: pd.DataFrame | None = None,
    sizes: pd.Series | None = None,
    bound: int | None = None,
    own_person_ids: Callable[[pd.Series], pd.Series],
) -> Resolution:
    """Pure part of the linkage: persons for the batch from its identifiers, the known links,
    approximate matches (registration_id, node: `person:<id>` or `registration:<id>`), cannot-link
    `labels` and the steward's `decisions`, with at most `bound` registrations per person
    through name links (`sizes`: registrations each known person holds, the batch's not counted).
    `own_person_ids` gives the person of a registration linked to no one (`PersonIdentities`)."""
    if links.empty and named.empty:
        return _NOTHING
    edges = linkage_graph(known, links, named, approximate, decisions)
    labels = labels if labels is not None else linkage_labels(None, None, decisions)
    graph = constrained_components(edges, labels, sizes if sizes is not None else pd.Series(dtype="int64"), bound)
    return _persons(graph.edges, links, own_person_ids, graph.kept_apart, graph.oversized_persons)


def _persons(
    edges: pd.DataFrame, links: pd.DataFrame, own_person_ids: Callable[[pd.Series], pd.Series], kept_apart: int, oversized: tuple[str, ...]
) -> Resolution:
    """A person for every component: its smallest known person, else the candidate of its smallest
    identifier, else the own person of its smallest registration (all deterministic)."""
    persons = person_components(edges)
    survivor = persons.groupby("component")["person_id"].min()
    identifiers = edges[edges["node"].isin(links["identifier"])]
    candidate_of = links.drop_duplicates("identifier").set_index("identifier")["candidate_person_id"]
    fresh = identifiers.assign(candidate=identifiers["node"].map(candidate_of)).sort_values("node").groupby("component")["candidate"].first()
    registrations = edges.drop_duplicates("registration_id")
    # The rest (linked to no one, or cut off): the own person of the smallest registration, computed
    # for those components only (a keyed hash each).
    alone = registrations[~registrations["component"].isin(survivor.index.union(fresh.index))]
    first = alone.sort_values("registration_id").drop_duplicates("component")
    own = pd.Series(own_person_ids(first["registration_id"].reset_index(drop=True)).to_numpy(), index=first["component"].to_numpy())
    person_of_component = survivor.combine_first(fresh).combine_first(own)
    merged = persons.drop_duplicates("person_id").assign(survivor=lambda frame: frame["component"].map(survivor))
    merged = merged[merged["person_id"] != merged["survivor"]]
    owners = identifiers.drop_duplicates("node")
    return Resolution(
        registrations.set_index("registration_id")["component"].map(person_of_component),
        dict(zip(merged["person_id"], merged["survivor"], strict=True)),
        pd.Series(owners["component"].map(person_of_component).to_numpy(), index=owners["node"].to_numpy()),
        kept_apart,
        oversized,
    )


def _matched_persons(approximate: pd.DataFrame | None) -> set[str]:
    if approximate is None:
        return set()
    nodes = approximate["node"]
    return set(nodes[nodes.str.startswith(PERSON_NODE)].str.removeprefix(PERSON_NODE))


def stored_sizes(connection: Connection, person_ids: list[str], batch_registrations: pd.Series | None = None) -> pd.Series:
    """Registrations each of these persons holds (person_id -> count); with `batch_registrations`,
    not counting those (a re-delivered registration is no new one)."""
    if not person_ids:
        return pd.Series(dtype="int64")
    parameter = json.dumps(person_ids)
    if connection.dialect.name == "sqlite":
        where = "person_id IN (SELECT value FROM json_each(:persons))"
    else:
        where = "person_id IN (SELECT json_array_elements_text(CAST(:persons AS json)))"
    if batch_registrations is None:
        rows = connection.execute(text(f"SELECT person_id, count(*) FROM registrations WHERE {where} GROUP BY person_id"), {"persons": parameter})
        return pd.Series(dict(rows.all()), dtype="int64")
    rows = connection.execute(text(f"SELECT person_id, registration_id FROM registrations WHERE {where}"), {"persons": parameter}).all()
    held = pd.DataFrame([tuple(row) for row in rows], columns=["person_id", "registration_id"], dtype=object)
    held = held[~held["registration_id"].isin(batch_registrations)]
    return held.groupby("person_id").size().astype("int64")


def link_batch(connection: Connection, identities: PersonIdentities, max_registrations: int | None = DEFAULT_MAX_PERSON_REGISTRATIONS) -> Resolution:
    """Resolve the batch's persons and record its new links and merges, in `connection`'s transaction."""
    links, named = identities.links, identities.named
    if links.empty and named.empty:
        return _NOTHING
    known = known_links(connection, links) if len(links) else pd.DataFrame(columns=["identifier", "person_id"], dtype=object)
    encodings = identities.encodings
    stored = known_encodings(connection, encodings) if not encodings.empty else None
    approximate = matches(encodings, stored, identities.own_matches) if stored is not None else None
    decisions = current_decisions(connection)
    labels = linkage_labels(encodings, stored, decisions)
    arguments = {"labels": labels, "decisions": decisions, "bound": max_registrations, "own_person_ids": identities.own_person_ids}
    persons = sorted(set(known["person_id"]) | _matched_persons(approximate) | set(decisions["person_id"].dropna()))
    sizes = stored_sizes(connection, persons) if max_registrations is not None else None
    resolution = resolve(known, links, named, approximate, sizes=sizes, **arguments)
    if resolution.oversized_persons:
        # Counted above with the batch's re-delivered registrations; counted exactly where it matters.
        exact = stored_sizes(connection, list(resolution.oversized_persons), pd.concat([links["registration_id"], named["registration_id"]]))
        sizes = exact.reindex(list(resolution.oversized_persons)).fillna(0).astype("int64").combine_first(sizes)
        resolution = resolve(known, links, named, approximate, sizes=sizes, **arguments)
    if resolution.merged:
        connection.execute(
            update(person_links).where(person_links.c.person_id == bindparam("absorbed")).values(
                person_id=bindparam("survivor")
            ),
            merge_parameters(resolution.merged),
        )
    new = links[~links["identifier"].isin(known["identifier"])].drop_duplicates("identifier")
    owners = new["identifier"].map(resolution.owner_of_identifier)
    new = new[owners.notna().to_numpy()]
    store_links(connection, new["identifier"], new["kind"], owners.dropna(), identities.key_version)
    return resolution


def store_links(connection: Connection, identifiers: pd.Series, kinds: pd.Series, person_ids: pd.Series, key_version: int) -> None:
    """Record which person each identifier belongs to (aligned series, one row per identifier)."""
    links = pd.DataFrame(
        {
            "identifier": identifiers.to_numpy(),
            "kind": kinds.to_numpy(),
            "person_id": person_ids.to_numpy(),
            "key_version": key_version,
            "linked_at": timestamp_text(),
        }
    )
    # In key order, the identifier index is filled page by page rather than at random.
    bulk_insert(connection, qualified_name(connection, person_links), links.sort_values("identifier"))
