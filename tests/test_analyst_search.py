"""The analyst tier's fast paths against plain definitions on random inputs: the lattice search,
the persons in small classes at a node, and the counts of the analyst marts."""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd
import pytest
from budget import examples
from hypothesis import given, settings
from hypothesis import strategies as st

from warehouse import class_counts, mart_counts
from warehouse.anonymise import Lattice, class_sizes
from warehouse.class_counts import ClassCounter


def _hierarchy(rng: np.random.Generator, values: int) -> list[np.ndarray]:
    """Levels of a random hierarchy over `values` stored values: level 0 may give two values one
    label (labels numbered without a gap, as factorised), every level merges labels of the one
    below, and the top merges all."""
    labels = np.unique(rng.integers(0, values, values), return_inverse=True)[1] if rng.random() < 0.3 else np.arange(values)
    levels = [labels]
    while rng.random() < 0.6:
        width = int(levels[-1].max()) + 1
        levels.append(rng.integers(0, max(width // 2, 1), width)[levels[-1]])
    levels.append(np.zeros(values, np.int64))
    return levels


def _lattice(seed: int, k: int, share: float) -> Lattice:
    """Random persons in up to four years (some of fewer than K), with up to five quasi-identifiers."""
    rng = np.random.default_rng(seed)
    persons = int(rng.integers(0, 500))
    years = rng.choice([2022, 2023, 2024, 2025], size=persons, p=[0.5, 0.4, 0.09, 0.01])
    sizes = rng.integers(1, 16, int(rng.integers(1, 6)))
    codes = [rng.zipf(1.3 + rng.random(), persons).clip(max=size) - 1 for size in sizes]
    return Lattice(years, codes, [_hierarchy(rng, int(size)) for size in sizes], k, share)


def _nodes(lattice: Lattice) -> list[tuple[int, ...]]:
    return list(itertools.product(*(range(top + 1) for top in lattice.tops)))


def _under_k(lattice: Lattice, node: tuple[int, ...]) -> np.ndarray:
    """Persons per year in classes of fewer than K, from the persons' classes at the node."""
    small = class_sizes(lattice.ids(node)) < lattice.k
    return np.bincount(lattice.year_index[small], minlength=len(lattice.persons))


@pytest.mark.parametrize("dense", [4, 0])
@settings(max_examples=examples(120), deadline=None)
@given(seed=st.integers(0, 2**32 - 1), k=st.integers(2, 7), share=st.sampled_from([0.0, 0.01, 0.02, 0.1, 0.3]))
def test_the_search_finds_the_node_of_least_loss_on_random_lattices(dense, seed, k, share) -> None:
    # The plain definition: every node judged on the persons' classes, the best by (loss, height, levels).
    # With `dense` 0 every node counts by sorting, so the walk judges coarser nodes before any node.
    lattice = _lattice(seed, k, share)
    total = max(int((~lattice.small[lattice.year_index]).sum()), 1)
    judged = []
    for node in _nodes(lattice):
        counted = lattice.padded(_under_k(lattice, node))
        if np.all(counted <= lattice.budget):
            height = lattice.height(node)
            judged.append((height + (float(counted.sum()) / total) * (1 - height), height, node))
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(class_counts, "_DENSE_PER_PERSON", dense)
        scheme = lattice.search(np.arange(len(lattice.years)))
    assert (scheme.loss, scheme.levels) == (min(judged)[0], min(judged)[2])


@pytest.mark.parametrize(("dense", "group_span", "key_limit"), [(4, 1 << 16, 2**62), (0, 1 << 16, 2**62), (0, 4, 64), (4, 4, 2**62)])
@settings(max_examples=examples(40), deadline=None)
@given(seed=st.integers(0, 2**32 - 1), k=st.integers(2, 7))
def test_persons_in_small_classes_at_every_node(dense, group_span, key_limit, seed, k) -> None:
    # Counted with one bincount, or by sorting; in one group or several; with keys renumbered or not.
    lattice = _lattice(seed, k, 0.02)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(class_counts, "_DENSE_PER_PERSON", dense)
        patch.setattr(class_counts, "_GROUP_SPAN", group_span)
        patch.setattr(class_counts, "KEY_LIMIT", key_limit)
        counter = ClassCounter(lattice.year_index, len(lattice.persons), lattice.codes, lattice.maps, k)
        for node in _nodes(lattice):
            np.testing.assert_array_equal(counter.under_k(node), _under_k(lattice, node), err_msg=str(node))


def _grouped(frame: pd.DataFrame, columns: list[str]) -> pd.DataFrame:
    found = frame.groupby(["registration_year", *columns], observed=True, sort=False).size()
    return found[found > 0].rename("count").reset_index()


def _plain_counts(frames: dict, dimensions) -> pd.DataFrame:
    """The marts' counts as a pandas group-by gives them."""
    parts = [
        _grouped(frame, [name]).rename(columns={name: "category"}).assign(measure=measure, dimension=name)
        for measure, frame in frames.items()
        for name in dimensions
    ]
    return pd.concat(parts, ignore_index=True).astype({"category": "str"})


def _plain_crossings(frames: dict, crossings) -> pd.DataFrame:
    parts = [
        _grouped(frame, [row, column])
        .rename(columns={row: "row_category", column: "column_category"})
        .assign(measure=measure, row_dimension=row, column_dimension=column)
        for measure, frame in frames.items()
        for row, column in crossings
    ]
    return pd.concat(parts, ignore_index=True).astype({"row_category": "str", "column_category": "str"})


@settings(max_examples=examples(30), deadline=None)
@given(seed=st.integers(0, 2**32 - 1))
def test_the_marts_count_as_a_group_by_does(seed) -> None:
    rng = np.random.default_rng(seed)
    rows = int(rng.integers(0, 300))
    frame = pd.DataFrame({"registration_year": rng.choice(np.array([2025, 2023, 2024], np.int32), rows)})
    for name, values in (("gender", ["female", "male", "x", None]), ("age", ["adult", "minor", "*"]), ("kind", ["police", "nla"])):
        frame[name] = pd.array(rng.choice(np.array(values, dtype=object), rows), dtype=rng.choice(["str", "object", "category"]))
    frames = {"registrations": frame, "persons": frame.iloc[: rows // 2]}
    dimensions = ("gender", "age", "kind")
    pd.testing.assert_frame_equal(mart_counts.yearly_counts(frames, dimensions), _plain_counts(frames, dimensions), check_like=True)
    crossings = (("gender", "age"), ("kind", "gender"))
    pd.testing.assert_frame_equal(mart_counts.yearly_crossings(frames, crossings), _plain_crossings(frames, crossings), check_like=True)
