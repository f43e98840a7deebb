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

The nodes are numbers (`LinkageGraph`), not text: a bulk load's graph has millions of edges, and
every step on text (grouping, mapping, concatenating ids) costs seconds and a Python object per
value. Each kind of node is numbered in the order of its ids, so the smallest number of a kind in
a component is also its smallest id.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import pyarrow as pa
from scipy.sparse import coo_array
from scipy.sparse.csgraph import connected_components

APPROXIMATE, NAME, FIRM, STEWARD = 0, 1, 2, 3
PERSON_NODE = "person:"
REGISTRATION_NODE = "registration:"
SCRIPT_GROUP = "script"
# Script labels bind name links only: two names in different lossy scripts may still share a BSN.
_CHECKS_BY_STEP = ((APPROXIMATE, True), (NAME, True), (FIRM, False))


@dataclass(frozen=True, repr=False)
class LinkageGraph:
    """Edges (left: a registration, right: any node, strength) between numbered nodes: the
    registrations first, then the identifiers, then the known persons, each kind in the sorted
    order of its ids. Every registration is a node whether an edge reaches it or not."""

    registrations: pa.Array  # ids, sorted
    identifiers: pa.Array
    persons: pa.Array
    left: np.ndarray
    right: np.ndarray
    strength: np.ndarray

    @property
    def first_identifier(self) -> int:
        return len(self.registrations)

    @property
    def first_person(self) -> int:
        return len(self.registrations) + len(self.identifiers)

    @property
    def size(self) -> int:
        return self.first_person + len(self.persons)

    def without(self, cut: np.ndarray) -> LinkageGraph:
        keep = ~cut
        return LinkageGraph(self.registrations, self.identifiers, self.persons, self.left[keep], self.right[keep], self.strength[keep])


@dataclass(frozen=True, repr=False)
class Labels:
    """Cannot-link labels on numbered nodes: a component holds one value per group."""

    node: np.ndarray
    group: np.ndarray  # codes
    value: np.ndarray  # codes
    names_only: np.ndarray  # bool: binds name links only (a script label)


@dataclass(frozen=True, repr=False)
class Components:
    """The component of every node of the graph left after the cuts (-1: no edge left reaches it;
    a registration always has one), and the registrations the bound kept apart."""

    graph: LinkageGraph
    of_node: np.ndarray
    kept_apart: int
    oversized_persons: tuple[str, ...]  # known persons in the components the bound cut


def _node_components(size: int, left: np.ndarray, right: np.ndarray) -> np.ndarray:
    graph = coo_array((np.ones(len(left), dtype=np.int8), (left, right)), shape=(size, size))
    return connected_components(graph, directed=False)[1]


def _placed(graph: LinkageGraph) -> np.ndarray:
    """Component of every node; -1 for an identifier or person that no edge reaches any more."""
    of_node = _node_components(graph.size, graph.left, graph.right)
    reached = np.zeros(graph.size, dtype=bool)
    reached[: graph.first_identifier] = True
    reached[graph.right] = True
    return np.where(reached, of_node, -1)


def _offending(
    graph: LinkageGraph, of_node: np.ndarray, labels: Labels, sizes: np.ndarray, bound: int | None, names_bind: bool
) -> tuple[np.ndarray, np.ndarray]:
    """Components that break a constraint (`names_bind`: script labels and the bound apply too),
    and those among them that only the bound makes offend."""
    component = of_node[labels.node]
    applies = component >= 0
    if not names_bind:
        applies &= ~labels.names_only
    located = pd.DataFrame({"component": component[applies], "group": labels.group[applies], "value": labels.value[applies]})
    held = located.drop_duplicates().groupby(["component", "group"]).size()
    by_label = np.unique(held[held > 1].index.get_level_values("component").to_numpy(dtype=np.int64))
    by_size = np.zeros(0, dtype=np.int64)
    if names_bind and bound is not None:
        count = np.bincount(of_node[: graph.first_identifier], minlength=graph.size).astype(np.int64)
        persons = of_node[graph.first_person :]
        present = persons >= 0
        count += np.bincount(persons[present], weights=sizes[present], minlength=graph.size).astype(np.int64)
        by_size = np.setdiff1d(np.flatnonzero(count > bound), by_label)
    return np.union1d(by_label, by_size), by_size


def constrained_components(graph: LinkageGraph, labels: Labels, sizes: np.ndarray, bound: int | None) -> Components:
    """Components of `graph` that respect `labels` and the `bound` on registrations per person
    (`sizes`: registrations each known person of the graph holds already, the batch's not counted)."""
    of_node = _placed(graph)
    kept_apart = np.zeros(graph.first_identifier, dtype=bool)
    oversized = np.zeros(len(graph.persons), dtype=bool)
    for weakest, names_bind in _CHECKS_BY_STEP:
        offending, by_size = _offending(graph, of_node, labels, sizes, bound, names_bind)
        if not len(offending):
            break
        kept_apart |= np.isin(of_node[: graph.first_identifier], by_size)
        oversized |= np.isin(of_node[graph.first_person :], by_size)
        cut = np.isin(of_node[graph.left], offending) & (graph.strength <= weakest)
        graph = graph.without(cut)
        of_node = _placed(graph)
    return Components(graph, of_node, int(kept_apart.sum()), tuple(graph.persons.filter(pa.array(oversized)).to_pylist()))
