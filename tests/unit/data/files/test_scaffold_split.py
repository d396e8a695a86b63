"""The scaffold split: a partition in which no group (scaffold) spans two splits, deterministic, largest groups to
train first (DeepChem's rule); the balanced variant is seeded."""

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from mtlkit.data.files.splits import scaffold_split

FRACTIONS = [0.8, 0.1, 0.1]
groups_lists = st.lists(st.sampled_from([f"s{i}" for i in range(30)] + [""]), min_size=1, max_size=200)


@settings(max_examples=60, deadline=None)
@given(groups=groups_lists, balanced=st.booleans(), seed=st.integers(0, 2**16))
def test_a_scaffold_is_never_in_two_splits_and_every_row_is_in_one(groups, balanced, seed):
    split = scaffold_split(groups, FRACTIONS, balanced, seed)
    assert split.shape == (len(groups),) and set(split.tolist()) <= {0, 1, 2}
    for g in set(groups):
        assert len(set(split[np.asarray(groups) == g].tolist())) == 1
    assert np.array_equal(split, scaffold_split(groups, FRACTIONS, balanced, seed))  # seeded = deterministic


@settings(max_examples=40, deadline=None)
@given(groups=groups_lists)
def test_train_stays_within_its_fraction_and_the_largest_group_goes_there_first(groups):
    split = scaffold_split(groups, FRACTIONS)
    n = len(groups)
    assert (split == 0).sum() <= 0.8 * n
    sizes = {g: groups.count(g) for g in groups}  # in order of first appearance: ties go to the first seen
    largest = max(sizes, key=lambda g: (sizes[g], -groups.index(g)))
    if sizes[largest] <= 0.8 * n:
        assert split[groups.index(largest)] == 0


def test_deepchem_order_on_a_hand_made_case():
    groups = ["a"] * 5 + ["b"] * 3 + ["c", "d"]
    # 0.8/0.1/0.1 of 10 rows: a (5) and b (3) fill train (8); c fits train + val (9): val; d: test.
    # 0.6/0.2/0.2: a fills train to 5, b goes to val (8 <= 8), c still fits train (6), d is left for test.
    assert scaffold_split(groups, FRACTIONS).tolist() == [0] * 8 + [1, 2]
    assert scaffold_split(groups, [0.6, 0.2, 0.2]).tolist() == [0] * 5 + [1] * 3 + [0, 2]


def test_the_balanced_variant_depends_on_its_seed():
    groups = [f"s{i % 40}" for i in range(400)]
    splits = {tuple(scaffold_split(groups, FRACTIONS, True, seed).tolist()) for seed in range(5)}
    assert len(splits) > 1
