"""Persons from the linkage graph: connected components, cut where they break a constraint.

The graph joins each registration to its identifiers, to the known persons of those, and to the
registrations and persons it matches approximately. Every edge has a strength: an approximate
name match, an exact name and birth date, a firm identifier (BSN, V-number) and a steward's
decision (`persons join`, or a split registration's own person). Three things may not happen:

- two names that differ in a lossy script (`pseudonyms.scripts`) become one person by name;
- the two sides of a steward's `persons split` become one person again;
- a person grows past the bound on registrations (`VICTIM_INTAKE_MAX_PERSON_REGISTRATIONS`)
  through name links alone.

A component that breaks one loses its approximate edges, then its exact name edges, then (for a
steward's split only) its firm identifiers; steward edges are never cut. Each step recomputes the
components of the whole graph at once (scipy), so the common case (no component breaks anything)
costs one computation, and a rare conflict a few more, never a loop over registrations.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy.sparse import coo_array
from scipy.sparse.csgraph import connected_components

from store.text_sets import is_in

APPROXIMATE, NAME, FIRM, STEWARD = 0, 1, 2, 3
PERSON_NODE = "person:"
REGISTRATION_NODE = "registration:"
SCRIPT_GROUP = "script"
# Script labels bind name links only: two names in different lossy scripts may still share a BSN.
_CHECKS_BY_STEP = ((APPROXIMATE, True), (NAME, True), (FIRM, False))


@dataclass(frozen=True)
class Components:
    """The kept edges with their component, and the batch registrations the bound kept apart."""

    edges: pd.DataFrame  # registration_id, node, strength, component
    kept_apart: int
    oversized_persons: tuple[str, ...]  # known persons in the components the bound cut


def components(left: np.ndarray, right: np.ndarray) -> np.ndarray:
    """Component label of every edge of the bipartite graph with edges (left[i], right[i])."""
    left_codes, left_values = pd.factorize(left)
    right_codes, _ = pd.factorize(right)
    size = len(left_values) + right_codes.max(initial=-1) + 1
    graph = coo_array((np.ones(len(left_codes)), (left_codes, right_codes + len(left_values))), shape=(size, size))
    _, labels = connected_components(graph, directed=False)
    return labels[left_codes]


def _with_components(edges: pd.DataFrame) -> pd.DataFrame:
    return edges.assign(component=components(edges["registration_id"].to_numpy(), edges["node"].to_numpy()))


def _offending(edges: pd.DataFrame, labels: pd.DataFrame, sizes: pd.Series, bound: int | None, names_bind: bool) -> tuple[np.ndarray, np.ndarray]:
    """Components that break a constraint (`names_bind`: script labels and the bound apply too),
    and those among them that only the bound makes offend."""
    of_registration = edges.drop_duplicates("registration_id").set_index("registration_id")["component"]
    of_node = edges.drop_duplicates("node").set_index("node")["component"]
    placed = pd.concat([of_registration, of_node[~is_in(of_node.index, of_registration.index)]])
    located = labels.assign(component=labels["on"].map(placed)).dropna(subset=["component"])
    if not names_bind:
        located = located[located["group"] != SCRIPT_GROUP]
    conflicts = located.groupby(["component", "group"])["value"].nunique()
    by_label = conflicts[conflicts > 1].index.get_level_values("component").unique().to_numpy(dtype=np.int64)
    by_size = np.zeros(0, dtype=np.int64)
    if names_bind and bound is not None:
        registrations = of_registration.groupby(of_registration).size()
        persons = of_node[of_node.index.str.startswith(PERSON_NODE)]
        held = sizes.reindex(persons.index.str.removeprefix(PERSON_NODE)).fillna(0).set_axis(persons.index)
        total = registrations.add(held.groupby(persons).sum(), fill_value=0)
        by_size = np.setdiff1d(total.index[total > bound].to_numpy(dtype=np.int64), by_label)
    return np.union1d(by_label, by_size), by_size


def constrained_components(edges: pd.DataFrame, labels: pd.DataFrame, sizes: pd.Series, bound: int | None) -> Components:
    """Components of `edges` (registration_id, node, strength) that respect `labels` (on: a
    registration id or node, group, value: a component may hold one value per group) and the
    `bound` on registrations per person (`sizes`: registrations each known person holds already,
    indexed by person id, the batch's own not counted)."""
    edges = _with_components(edges)
    kept_apart: set[str] = set()
    oversized: set[str] = set()
    for weakest, names_bind in _CHECKS_BY_STEP:
        offending, by_size = _offending(edges, labels, sizes, bound, names_bind)
        if not len(offending):
            break
        in_oversized = edges["component"].isin(by_size)
        kept_apart.update(edges.loc[in_oversized, "registration_id"])
        nodes = edges.loc[in_oversized, "node"]
        oversized.update(nodes[nodes.str.startswith(PERSON_NODE)].str.removeprefix(PERSON_NODE))
        cut = edges["component"].isin(offending) & (edges["strength"] <= weakest)
        edges = _with_components(edges[~cut])
    return Components(edges, len(kept_apart), tuple(sorted(oversized)))


def person_components(edges: pd.DataFrame) -> pd.DataFrame:
    """Known persons in each component: component, person_id."""
    persons = edges[edges["node"].str.startswith(PERSON_NODE)]
    return pd.DataFrame({"component": persons["component"].to_numpy(), "person_id": persons["node"].str.removeprefix(PERSON_NODE).to_numpy()})
