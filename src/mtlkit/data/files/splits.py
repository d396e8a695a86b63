"""Train / val / test splits of a user's file: from a ``split`` column, or seeded and stratified fractions.

Stratification is iterative stratification (Sechidis, Tsoumakas and Vlahavas, "On the stratification of
multi-label data", ECML PKDD 2011), implemented here over the *observed* labels: every task contributes three
stratification labels, "labelled positive", "labelled negative" and "uncertain", so that unknown ("?") cells are
never counted as negatives and each split receives its share of the labelled entries of every task. One change to the
paper: while a split has received no example of the label being distributed yet, it comes first, so that a
rare label reaches every split where its count allows (a task with 3 positives and fractions 0.8/0.1/0.1 puts
one positive in each split, where the paper's rule would put all three in train).

Rows of the same group (``data.group_column``, e.g. a patient id) always land in the same split.

Why not the ``iterative-stratification`` package: it pulls scikit-learn and scipy into the install, its wheel
ships a top-level ``tests`` package, and it splits a complete binary label matrix into k folds or one shuffle
split, with no notion of unknown labels or groups.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from mtlkit.data.files.labels import NEGATIVE, POSITIVE, UNCERTAIN, shown
from mtlkit.errors import ConfigError, DataError

SPLIT_NAMES = ("train", "val", "test")
SPLIT_ALIASES = {"train": 0, "val": 1, "valid": 1, "validation": 1, "test": 2}


def split_from_column(column: pd.Series, where) -> np.ndarray:
    """Split index (0 train, 1 val, 2 test) per row from a column of ``train``/``val``/``test`` cells (any case,
    surrounding spaces ignored; ``valid`` and ``validation`` mean val). Anything else fails naming the row."""
    text = column.astype(object).where(column.notna(), "").astype(str).str.strip().str.lower()
    codes = text.map(SPLIT_ALIASES)
    bad = codes.isna().to_numpy()
    if bad.any():
        i = int(np.nonzero(bad)[0][0])
        more = f" ({int(bad.sum()) - 1} more such row(s))" if bad.sum() > 1 else ""
        raise DataError(
            f"{where(i)}, column {column.name!r}: split {shown(column.iloc[i])!r} is not train, val or test{more}; "
            f"write train, val (or valid) or test in every row, or set data.split_column=null to split by "
            f"data.val_fraction and data.test_fraction"
        )
    return codes.to_numpy(dtype=np.int64).copy()


def stratification_targets(codes: np.ndarray) -> np.ndarray:
    """``[N, 3T]`` indicators: "labelled positive" for each task, then "labelled negative", then "uncertain"
    (unknown cells are none of them)."""
    return np.concatenate([codes == POSITIVE, codes == NEGATIVE, codes == UNCERTAIN], axis=1)


def iterative_stratification(
    targets: np.ndarray, fractions: Sequence[float], rng: np.random.Generator, sizes: np.ndarray | None = None
) -> np.ndarray:
    """Assign each item (row or group) to a subset so that every label's count is spread by ``fractions``.

    Args:
        targets: ``[G, L]`` non-negative counts (or 0/1 indicators) of each label in each item.
        fractions: the desired share of each subset; they must sum to 1.
        rng: breaks ties and orders items.
        sizes: ``[G]`` rows per item (default 1); the total desire of a subset is counted in rows.

    Returns:
        ``[G]`` subset index per item.
    """
    targets = np.asarray(targets, dtype=np.float64)
    n_items, n_labels = targets.shape
    fr = np.asarray(fractions, dtype=np.float64)
    sizes = np.ones(n_items) if sizes is None else np.asarray(sizes, dtype=np.float64)
    desired = fr[:, None] * targets.sum(0)[None, :]  # [S, L]
    total = fr * sizes.sum()  # [S]
    received = np.zeros_like(desired)  # how much of each label each subset holds so far
    out = np.full(n_items, -1, dtype=np.int64)
    has = targets > 0
    remaining = has.sum(0).astype(np.int64)  # unassigned items carrying each label
    order = rng.permutation(n_items)  # a random order of items within each label
    active = fr > 0
    while True:
        candidates = np.nonzero(remaining > 0)[0]
        if len(candidates) == 0:
            break
        # the label with the fewest unassigned items (ties: random)
        fewest = candidates[remaining[candidates] == remaining[candidates].min()]
        label = int(rng.choice(fewest))
        items = order[has[order, label] & (out[order] < 0)]
        for g in items:
            first = active & (received[:, label] == 0)
            pool = first if first.any() else active
            score = np.where(pool, desired[:, label], -np.inf)
            best = np.nonzero(score == score.max())[0]
            if len(best) > 1:
                score2 = total[best]
                best = best[score2 == score2.max()]
            s = int(best[0] if len(best) == 1 else rng.choice(best))
            out[g] = s
            desired[s] -= targets[g]
            received[s] += targets[g]
            total[s] -= sizes[g]
        remaining -= has[items].sum(0)
    for g in order[out[order] < 0]:  # items without any label: fill the subsets' remaining room
        score = np.where(active, total, -np.inf)
        best = np.nonzero(score == score.max())[0]
        s = int(best[0] if len(best) == 1 else rng.choice(best))
        out[g] = s
        total[s] -= sizes[g]
    return out


def random_split(n_items: int, fractions: Sequence[float], rng: np.random.Generator, sizes=None) -> np.ndarray:
    """Plain seeded split by ``fractions`` (counted in rows when ``sizes`` are given)."""
    return iterative_stratification(np.zeros((n_items, 0)), fractions, rng, sizes)


def fraction_split(
    codes: np.ndarray,
    fractions: Sequence[float],
    seed: int,
    groups: np.ndarray | None = None,
    stratify: bool = True,
) -> np.ndarray:
    """Split index per row by ``fractions`` (train, val, test), stratified over the observed labels of ``codes``
    ``[N, T]`` unless ``stratify`` is False; rows sharing a ``groups`` value stay together."""
    check_fractions(fractions)
    rng = np.random.default_rng(seed)
    n = len(codes)
    if groups is None:
        inverse = np.arange(n)
        n_items = n
    else:
        _, inverse = np.unique(np.asarray(groups).astype(str), return_inverse=True)
        n_items = int(inverse.max()) + 1 if n else 0
    sizes = np.bincount(inverse, minlength=n_items).astype(np.float64)
    if stratify:
        targets = np.zeros((n_items, 3 * codes.shape[1]))
        np.add.at(targets, inverse, stratification_targets(codes).astype(np.float64))
    else:
        targets = np.zeros((n_items, 0))
    assignment = iterative_stratification(targets, fractions, rng, sizes)
    return assignment[inverse]


def check_fractions(fractions: Sequence[float]) -> None:
    fr = [float(f) for f in fractions]
    if any(f <= 0 for f in fr) or abs(sum(fr) - 1) > 1e-6:
        raise ConfigError(
            f"split fractions must be > 0 and sum to 1, got train/val/test = {fr}; set data.val_fraction and "
            "data.test_fraction to values in (0, 1) whose sum is below 1"
        )


SCAFFOLD_SPLITS = ("scaffold", "scaffold_balanced")


def scaffold_split(
    groups: Sequence[str], fractions: Sequence[float], balanced: bool = False, seed: int = 0
) -> np.ndarray:
    """Split index per row such that rows sharing a group (a molecule's Bemis-Murcko scaffold) share a split.

    ``balanced=False`` is the standard deterministic scaffold split (DeepChem's ``ScaffoldSplitter``): the groups,
    largest first (ties: the group seen first in the file), fill train up to its fraction, then val, then the rest
    goes to test. ``balanced=True`` is Chemprop's ``scaffold_balanced``: the groups too large for half of val or
    test come first, then the others, each part shuffled with ``seed``; a group goes to train if it fits, else val if
    it fits, else test.
    """
    check_fractions(fractions)
    names, first, inverse = np.unique(np.asarray(groups).astype(str), return_index=True, return_inverse=True)
    sizes = np.bincount(inverse, minlength=len(names))
    n = len(inverse)
    train_size, val_size = fractions[0] * n, fractions[1] * n
    if balanced:
        test_size = fractions[2] * n
        rng = np.random.default_rng(seed)
        big = (sizes > val_size / 2) | (sizes > test_size / 2)
        order = np.concatenate([rng.permutation(np.nonzero(big)[0]), rng.permutation(np.nonzero(~big)[0])])
    else:
        order = np.lexsort((first, -sizes))  # largest first, ties by first appearance
    group_split = np.zeros(len(names), dtype=np.int64)
    filled = np.zeros(3)
    for g in order:
        if balanced:
            fits_train, fits_val = filled[0] + sizes[g] <= train_size, filled[1] + sizes[g] <= val_size
        else:  # DeepChem: train while train stays within its cut-off, then val within train + val's cut-off
            fits_train = filled[0] + sizes[g] <= train_size
            fits_val = filled[0] + filled[1] + sizes[g] <= train_size + val_size
        s = 0 if fits_train else 1 if fits_val else 2
        group_split[g] = s
        filled[s] += sizes[g]
    return group_split[inverse]
