"""Transitive linkage of a batch to the persons already known, inside the load transaction.

Reports that share any strong identifier (keyed pseudonyms of name + birth date, BSN, V-number)
are one person, across batches, sources and years. The owners of the batch's identifiers are
read from the vault's rows and overrides (`vault.owners`), and the graph of registrations, identifiers and known persons split
into connected components, cut where a component would break a constraint (`linkage.components`:
names in a lossy script, a steward's split, the bound on a person's registrations). A component
keeps its known person (a person id never changes when a later report adds an identifier); a
component that joins several known persons merges them into the smallest id; a component without
one becomes a new person; a registration that names someone but is linked to no one is a person
of its own.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, replace

import numpy as np
import pandas as pd
import pyarrow as pa
from sqlalchemy import Connection, bindparam, text, update

from config.settings import DEFAULT_MAX_PERSON_REGISTRATIONS
from linkage.approximate import StoredEncodings, matches
from linkage.components import (
    APPROXIMATE,
    FIRM,
    NAME,
    PERSON_NODE,
    REGISTRATION_NODE,
    SCRIPT_GROUP,
    STEWARD,
    Components,
    Labels,
    LinkageGraph,
    constrained_components,
)
from linkage.decisions import current_decisions
from linkage.known_encodings import ReachedEncodings
from pseudonyms.person_identities import PersonIdentities
from store.privacy_tables import person_links
from store.text_sets import arrow_text, is_in, positions_in, sorted_unique
from vault.owners import Ownership, keys_of_registrations, ownership, settle

_STRENGTH_OF_KIND = {"name": NAME, "bsn": FIRM, "vnr": FIRM}


@dataclass(frozen=True)
class Resolution:
    """Person of each registration of the batch, and the known persons merged into others."""

    person_of_registration: pd.Series  # registration_id -> person_id
    merged: dict[str, str]  # absorbed person id -> surviving person id
    owner_of_identifier: pd.Series  # identifier -> person_id, for the identifiers still linked
    kept_apart: int = 0  # registrations whose name links the bound refused
    oversized_persons: tuple[str, ...] = ()  # known persons in components the bound cut
    # For `settle_links`: the identifiers the load touched (identifier, kind), their carriers and
    # overrides before it, and their owners then (None: no one).
    touched: pd.DataFrame | None = None
    held: Ownership | None = None
    owners_before: pd.Series | None = None


_NOTHING = Resolution(pd.Series(dtype=object), {}, pd.Series(dtype=object))


def merge_parameters(merged: dict[str, str]) -> list[dict[str, str]]:
    """Parameters of one executemany UPDATE that moves absorbed persons to their survivors."""
    return [{"absorbed": absorbed, "survivor": survivor} for absorbed, survivor in merged.items()]


def _numbers(values: pd.Series | pd.Index, ids: pa.Array, offset: int) -> np.ndarray:
    """The node numbers of ids in `values` (each one of `ids`). A value that is none of them (a
    null id) fails: its position, -1, would number another node and link what it must not."""
    positions = positions_in(values, ids)
    if len(positions) and positions.min() < 0:
        raise ValueError("a linkage edge reaches a node without an id")
    return positions + offset


def linkage_graph(
    known: pd.DataFrame,
    links: pd.DataFrame,
    named: pd.DataFrame,
    approximate: pd.DataFrame | None = None,
    decisions: pd.DataFrame | None = None,
) -> LinkageGraph:
    """The batch's linkage graph: its registrations, their identifiers, the known persons of
    those, approximate matches (node: `person:<id>` or `registration:<id>`) and the steward's
    decisions on the batch's registrations."""
    if approximate is None or not len(approximate):
        approximate = pd.DataFrame(columns=["registration_id", "node"], dtype=object)
    matched = approximate["node"].astype(object)
    to_person = matched.str.startswith(PERSON_NODE).to_numpy(dtype=bool)
    matched_persons = matched[to_person].str.removeprefix(PERSON_NODE)
    matched_registrations = matched[~to_person].str.removeprefix(REGISTRATION_NODE)
    members = pd.concat([links["registration_id"], named["registration_id"]])
    mine = pd.DataFrame(columns=["registration_id", "person_id"], dtype=object)
    if decisions is not None and len(decisions):
        # A registration the steward split off or joined stays with the person they gave it.
        mine = decisions[is_in(decisions["registration_id"], members) & decisions["person_id"].notna().to_numpy()]
    owner = links["identifier"].map(known.set_index("identifier")["person_id"])
    with_person = owner.notna().to_numpy()
    owners = owner[with_person].astype("str")
    registrations = sorted_unique(members, approximate["registration_id"], matched_registrations)
    identifiers = sorted_unique(links["identifier"])
    persons = sorted_unique(owners, matched_persons, mine["person_id"].astype("str"))
    first_identifier, first_person = len(registrations), len(registrations) + len(identifiers)
    strength = links["kind"].map(_STRENGTH_OF_KIND).to_numpy(dtype=np.int8)
    link_left = _numbers(links["registration_id"], registrations, 0)
    approximate_left = _numbers(approximate["registration_id"], registrations, 0)
    right_of_match = np.empty(len(matched), dtype=np.int64)
    right_of_match[to_person] = _numbers(matched_persons, persons, first_person)
    right_of_match[~to_person] = _numbers(matched_registrations, registrations, 0)
    parts = [
        (link_left, _numbers(links["identifier"], identifiers, first_identifier), strength),
        (link_left[with_person], _numbers(owners, persons, first_person), strength[with_person]),
        (approximate_left, right_of_match, np.full(len(matched), APPROXIMATE, dtype=np.int8)),
        (
            _numbers(mine["registration_id"], registrations, 0),
            _numbers(mine["person_id"].astype("str"), persons, first_person),
            np.full(len(mine), STEWARD, dtype=np.int8),
        ),
    ]
    left, right, strengths = (np.concatenate([part[column] for part in parts]) for column in range(3))
    return LinkageGraph(registrations, identifiers, persons, left.astype(np.int64), right.astype(np.int64), strengths)


def numbered_labels(labels: pd.DataFrame, graph: LinkageGraph) -> Labels:
    """`labels` (on: a registration id or `person:<id>`, group, value) on the graph's nodes; labels
    on nodes outside the graph, or without a value, bind nothing and go."""
    labels = labels[labels["value"].notna().to_numpy()]
    on = labels["on"].astype(object)
    on_person = on.str.startswith(PERSON_NODE).to_numpy(dtype=bool)
    node = np.full(len(on), -1, dtype=np.int64)
    node[~on_person] = positions_in(on[~on_person], graph.registrations)
    found = positions_in(on[on_person].str.removeprefix(PERSON_NODE), graph.persons)
    node[on_person] = np.where(found >= 0, found + graph.first_person, -1)
    placed = node >= 0
    group = labels["group"].astype(object).to_numpy()[placed]
    return Labels(
        node[placed],
        pd.factorize(group)[0],
        pd.factorize(labels["value"].astype("str").to_numpy(dtype=object)[placed])[0],
        group == SCRIPT_GROUP,
    )


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
    graph = linkage_graph(known, links, named, approximate, decisions)
    labels = labels if labels is not None else linkage_labels(None, None, decisions)
    held = np.zeros(len(graph.persons), dtype=np.int64)
    if sizes is not None:
        at = positions_in(sizes.index, graph.persons)
        held[at[at >= 0]] = sizes.to_numpy(dtype=np.int64)[at >= 0]
    found = constrained_components(graph, numbered_labels(labels, graph), held, bound)
    return _persons(found, links, own_person_ids)


def _smallest_per_component(of_node: np.ndarray, nodes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """For each component among `of_node[nodes]` (nodes in ascending order), its first node."""
    components, first = np.unique(of_node[nodes], return_index=True)
    return components, nodes[first]


def _persons(found: Components, links: pd.DataFrame, own_person_ids: Callable[[pd.Series], pd.Series]) -> Resolution:
    """A person for every component: its smallest known person, else the candidate of its smallest
    identifier, else the own person of its smallest registration (all deterministic)."""
    graph, of_node = found.graph, found.of_node
    registrations, persons = graph.registrations.to_numpy(zero_copy_only=False), graph.persons.to_numpy(zero_copy_only=False)
    # Nodes are numbered in the order of their ids: the first of a kind in a component is its smallest.
    known = np.arange(graph.first_person, graph.size)
    known = known[of_node[known] >= 0]
    components, survivors = _smallest_per_component(of_node, known)
    survivor_of_component = pd.Series(persons[survivors - graph.first_person], index=components)
    candidates = links.drop_duplicates("identifier").set_index("identifier")["candidate_person_id"].dropna()
    with_candidate = positions_in(candidates.index, graph.identifiers) + graph.first_identifier
    order = np.argsort(with_candidate)
    with_candidate, candidate = with_candidate[order], candidates.to_numpy(dtype=object)[order]
    reached = of_node[with_candidate] >= 0
    fresh_components, fresh = _smallest_per_component(of_node, with_candidate[reached])
    fresh_of_component = pd.Series(candidate[reached][np.searchsorted(with_candidate[reached], fresh)], index=fresh_components)
    person_of_component = survivor_of_component.combine_first(fresh_of_component)
    # The rest (linked to no one, or cut off): the own person of the smallest registration, computed
    # for those components only (a keyed hash each).
    of_registration = of_node[: graph.first_identifier]
    alone = np.flatnonzero(~np.isin(of_registration, person_of_component.index.to_numpy()))
    alone_components, first = _smallest_per_component(of_node, alone)
    own = own_person_ids(pd.Series(registrations[first], dtype=object))
    person_of_component = person_of_component.combine_first(pd.Series(own.to_numpy(dtype=object), index=alone_components))
    absorbed = known[persons[known - graph.first_person] != survivor_of_component.reindex(of_node[known]).to_numpy()]
    linked = np.arange(graph.first_identifier, graph.first_person)
    linked = linked[of_node[linked] >= 0]
    linked_ids = graph.identifiers.take(linked - graph.first_identifier).to_numpy(zero_copy_only=False)
    return Resolution(
        pd.Series(person_of_component.reindex(of_registration).to_numpy(dtype=object), index=pd.Index(registrations, name="registration_id")),
        dict(zip(persons[absorbed - graph.first_person].tolist(), survivor_of_component.reindex(of_node[absorbed]).tolist(), strict=True)),
        pd.Series(person_of_component.reindex(of_node[linked]).to_numpy(dtype=object), index=linked_ids),
        found.kept_apart,
        found.oversized_persons,
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


def link_batch(
    connection: Connection,
    identities: PersonIdentities,
    max_registrations: int | None = DEFAULT_MAX_PERSON_REGISTRATIONS,
    reached: ReachedEncodings | None = None,
) -> Resolution:
    """Resolve the batch's persons and move merged persons' overrides, in `connection`'s
    transaction; `settle_links` records the owners once the batch's vault rows are written.
    `reached`: the stored encodings the load's earlier parts reached (read here otherwise)."""
    links, named = identities.links, identities.named
    # The identifiers whose owner this load may change: the batch's, and those its re-delivered
    # registrations carry now (they leave the vault with the rows the batch replaces).
    replaced = keys_of_registrations(connection, identities.payloads["registration_id"].tolist())
    touched = pd.concat([links[["identifier", "kind"]].assign(key_version=identities.key_version), replaced], ignore_index=True)
    touched = touched.drop_duplicates("identifier")
    held = ownership(connection, touched)
    owners = held.owners()
    if links.empty and named.empty:
        return replace(_NOTHING, touched=touched, held=held, owners_before=owners)
    owned = owners[owners.notna().to_numpy() & is_in(owners.index, links["identifier"])]
    known = pd.DataFrame({"identifier": owned.index.to_numpy(dtype=object), "person_id": owned.to_numpy(dtype=object)}, dtype=object)
    encodings = identities.encodings
    stored = (reached or ReachedEncodings()).of_batch(connection, encodings) if not encodings.empty else None
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
    return replace(resolution, touched=touched, held=held, owners_before=owners)


def settle_links(connection: Connection, identities: PersonIdentities, resolution: Resolution) -> None:
    """After the batch's vault rows are written: every identifier the load touched belongs to whom
    linkage says (a known one to its owner, merges followed; a new one to its component's person,
    or to no one where the bound cut it off), with overrides only where the rows do not tell it."""
    if resolution.touched is None or resolution.touched.empty:
        return
    merged = resolution.merged
    before = _merges_followed(resolution.owners_before, merged)
    links = identities.links
    new = links.loc[~is_in(links["identifier"], before[before.notna()].index), "identifier"].drop_duplicates()
    intended = pd.concat([before[before.notna()], resolution.owner_of_identifier.reindex(new).dropna()])
    # The rows carrying them now, worked out without reading them again: the stored rows the batch
    # did not replace (merged persons moved) and the batch's own.
    carriers = resolution.held.carriers
    kept = carriers[~is_in(carriers["registration_id"], identities.payloads["registration_id"])]
    kept = kept.assign(person_id=_merges_followed(kept["person_id"], merged))
    persons = resolution.person_of_registration
    at = positions_in(links["registration_id"], arrow_text(persons.index))
    mine = links[["identifier", "registration_id"]].assign(person_id=np.append(persons.to_numpy(dtype=object), None)[at])  # -1: None
    overrides = _merges_followed(resolution.held.overrides, merged)
    now = Ownership(pd.concat([kept, mine], ignore_index=True), overrides)
    settle(connection, resolution.touched, intended, now)


def _merges_followed(persons: pd.Series, merged: dict[str, str]) -> pd.Series:
    """`persons` with each absorbed person replaced by its survivor (None: no one)."""
    absorbed = positions_in(persons, pa.array(list(merged), pa.string()))
    followed = persons.to_numpy(dtype=object, copy=True)
    followed[absorbed >= 0] = np.array(list(merged.values()), dtype=object)[absorbed[absorbed >= 0]]
    followed[pd.isna(followed)] = None
    return pd.Series(followed, index=persons.index, dtype=object)
