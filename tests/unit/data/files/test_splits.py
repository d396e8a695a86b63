"""Splits: the split column, and seeded fractions stratified over the observed labels."""

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mtlkit.data.files.labels import NEGATIVE, POSITIVE, UNCERTAIN, UNKNOWN
from mtlkit.data.files.splits import fraction_split, iterative_stratification, split_from_column
from mtlkit.errors import ConfigError, DataError

FRACTIONS = [0.8, 0.1, 0.1]


def _codes(n: int, prevalences, p_unknown: float, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    codes = (rng.random((n, len(prevalences))) < np.asarray(prevalences)).astype(np.int8)
    codes[rng.random(codes.shape) < p_unknown] = UNKNOWN
    return codes


def test_every_task_gets_positives_and_negatives_in_every_split_when_counts_allow():
    # four common tasks and four rare ones (3 to 6 positives in 500 rows, half the cells unknown)
    common = _codes(500, [0.3, 0.1, 0.05, 0.02], p_unknown=0.4, seed=1)
    rare = np.full((500, 4), NEGATIVE, dtype=np.int8)
    rare[np.random.default_rng(2).random((500, 4)) < 0.5] = UNKNOWN
    for j, n_pos in enumerate([3, 4, 5, 6]):
        rare[np.random.default_rng(j).choice(500, n_pos, replace=False), j] = POSITIVE
    codes = np.concatenate([common, rare], axis=1)
    for seed in range(5):
        split = fraction_split(codes, FRACTIONS, seed)
        for s in range(3):
            part = codes[split == s]
            assert ((part == POSITIVE).sum(0) >= 1).all(), (seed, s, (part == POSITIVE).sum(0))
            assert ((part == NEGATIVE).sum(0) >= 1).all()


def test_three_positives_reach_all_three_splits_where_a_random_split_misses():
    codes = np.full((1000, 1), NEGATIVE, dtype=np.int8)
    positives = [3, 500, 900]
    codes[positives, 0] = POSITIVE
    random_misses = 0
    for seed in range(10):
        assert sorted(fraction_split(codes, FRACTIONS, seed)[positives].tolist()) == [0, 1, 2]
        plain = fraction_split(codes, FRACTIONS, seed, stratify=False)
        random_misses += sorted(plain[positives].tolist()) != [0, 1, 2]
    assert random_misses >= 5  # the check above is not vacuous


def test_fractions_and_label_proportions_are_kept():
    codes = _codes(2000, [0.5, 0.2, 0.05], p_unknown=0.3, seed=3)
    split = fraction_split(codes, FRACTIONS, seed=0)
    sizes = np.bincount(split, minlength=3) / len(split)
    assert np.allclose(sizes, FRACTIONS, atol=0.01)
    for j in range(codes.shape[1]):
        for kind in (POSITIVE, NEGATIVE):
            total = (codes[:, j] == kind).sum()
            for s, f in enumerate(FRACTIONS):
                got = ((codes[:, j] == kind) & (split == s)).sum()
                assert abs(got - f * total) <= max(2, 0.05 * total), (j, kind, s, got, f * total)


def test_unknown_cells_are_not_counted_as_negatives():
    # task 0 is labelled only on 100 rows: its labelled entries are spread 80/10/10, not left to chance
    codes = np.full((1000, 1), UNKNOWN, dtype=np.int8)
    codes[:100, 0] = NEGATIVE
    codes[:20, 0] = POSITIVE
    split = fraction_split(codes, FRACTIONS, seed=0)
    labelled = np.bincount(split[:100], minlength=3)
    assert labelled.tolist() == [80, 10, 10]
    assert np.bincount(split[:20], minlength=3).tolist() == [16, 2, 2]


def test_uncertain_cells_are_spread_too():
    codes = np.full((200, 1), NEGATIVE, dtype=np.int8)
    codes[:20, 0] = UNCERTAIN
    split = fraction_split(codes, FRACTIONS, seed=0)
    assert np.bincount(split[:20], minlength=3).tolist() == [16, 2, 2]


def test_same_seed_same_split_other_seed_other_split():
    codes = _codes(300, [0.3, 0.4], 0.2)
    a, b, c = (fraction_split(codes, FRACTIONS, s) for s in (0, 0, 1))
    assert np.array_equal(a, b) and not np.array_equal(a, c)


def test_groups_stay_together():
    codes = _codes(600, [0.3, 0.1], 0.2)
    groups = np.random.default_rng(0).integers(0, 120, size=600)
    split = fraction_split(codes, FRACTIONS, seed=0, groups=groups)
    for g in np.unique(groups):
        assert len(set(split[groups == g].tolist())) == 1
    assert np.allclose(np.bincount(split, minlength=3) / 600, FRACTIONS, atol=0.05)


@settings(max_examples=40, deadline=None)
@given(
    st.integers(3, 60),
    st.integers(1, 4),
    st.floats(0.05, 0.4),
    st.floats(0.05, 0.4),
    st.integers(0, 2**16),
)
def test_every_item_is_assigned_once_and_only_to_subsets_with_room(n, t, v, te, seed):
    codes = _codes(n, [0.3] * t, 0.3, seed)
    split = fraction_split(codes, [1 - v - te, v, te], seed)
    assert split.shape == (n,) and set(split.tolist()) <= {0, 1, 2}


def test_iterative_stratification_with_counts_and_sizes():
    targets = np.array([[2, 0], [0, 1], [1, 1], [0, 0]])
    out = iterative_stratification(targets, [0.5, 0.5], np.random.default_rng(0), sizes=np.array([2, 1, 2, 1]))
    assert set(out.tolist()) <= {0, 1} and len(out) == 4


def test_bad_fractions_are_a_config_error():
    with pytest.raises(ConfigError, match="val_fraction"):
        fraction_split(_codes(10, [0.5], 0), [0.9, 0.2, -0.1], 0)


def test_split_column_accepts_names_in_any_case():
    col = pd.Series(["train", " Train", "VAL", "valid", "validation", "test ", "TEST"], name="split")
    assert split_from_column(col, str).tolist() == [0, 0, 1, 1, 1, 2, 2]


@pytest.mark.parametrize("value", ["training", "dev", "", None, "tst", 1])
def test_split_column_rejects_anything_else_naming_the_row(value):
    col = pd.Series(["train", "val", value, "test"], name="split", dtype=object)
    with pytest.raises(DataError) as err:
        split_from_column(col, lambda i: f"f.csv, line {i + 2}")
    msg = str(err.value)
    assert "f.csv, line 4" in msg and "'split'" in msg and "train, val" in msg and "data.split_column=null" in msg


def test_group_column_in_a_file_keeps_groups_together_and_blank_groups_apart(tmp_path):
    from mtlkit.data.sources.table import TableDataModule
    from tests.helpers.userdata import TASKS, write_table

    path = tmp_path / "t.csv"
    patients = [f"p{i // 4}" for i in range(200)]
    patients[:20] = [None] * 20  # blank: each row on its own
    write_table(path, n=200, patient=patients)
    dm = TableDataModule(path=str(path), label_columns=TASKS, group_column="patient", verbose=False)
    dm.setup()
    frame = pd.read_csv(path).set_index("id")
    where = {i: s for s, sp in dm.splits.items() for i in sp.ids}
    for _, rows in frame.iloc[20:].groupby("patient"):
        assert len({where[i] for i in rows.index}) == 1
    assert len({where[i] for i in frame.index[:20]}) > 1
    assert "grouped by 'patient'" in dm.split_source
