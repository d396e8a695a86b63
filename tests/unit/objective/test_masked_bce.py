import math

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from mtlkit.errors import ConfigError
from mtlkit.objective.masked_bce import masked_bce


def approx(v: float):
    return pytest.approx(v, rel=1e-6, abs=1e-7)


def _logistic(p: float, y: float) -> float:
    return -y * math.log(p) - (1 - y) * math.log(1 - p)


def test_loss_matches_hand_computation_of_seed_formula():
    # 3 examples, 4 tasks; "?" entries are left out of the sum; divide by m = 3.
    logits = torch.tensor([[0.5, -1.0, 2.0, 0.0], [1.5, 0.3, -0.7, -2.0], [-0.2, 0.8, 0.1, 1.0]])
    y = torch.tensor([[1.0, 0.0, 1.0, 0.0], [0.0, 1.0, 0.0, 0.0], [1.0, 0.0, 0.0, 1.0]])
    mask = torch.tensor([[True, True, False, False], [True, False, False, False], [True, True, True, True]])
    expected = 0.0
    for i in range(3):
        for j in range(4):
            if mask[i, j]:
                p = 1 / (1 + math.exp(-logits[i, j].item()))
                expected += _logistic(p, y[i, j].item())
    expected /= 3
    assert masked_bce(logits, y, mask).item() == approx(expected)
    # per-label normalisation divides by the 7 labelled entries instead
    assert masked_bce(logits, y, mask, normalization="labels").item() == approx(expected * 3 / 7)


def test_unknown_as_negative_counts_every_entry_as_zero_label():
    logits = torch.tensor([[2.0, -1.0]])
    y = torch.tensor([[1.0, 0.0]])
    mask = torch.tensor([[True, False]])
    ignore = masked_bce(logits, y, mask)
    negative = masked_bce(logits, y, mask, unknown="negative")
    extra = _logistic(1 / (1 + math.exp(1.0)), 0.0)
    assert negative.item() == approx(ignore.item() + extra)


def test_bad_options_are_named():
    x = torch.zeros(2, 2)
    m = torch.ones(2, 2, dtype=torch.bool)
    for kwargs, word in [({"normalization": "mean"}, "normalization"), ({"unknown": "zero"}, "unknown")]:
        with pytest.raises(ConfigError, match=f"{word}.*choose one of"):
            masked_bce(x, x, m, **kwargs)


shapes = st.tuples(st.integers(1, 6), st.integers(1, 5))


@settings(max_examples=60, deadline=None)
@given(shape=shapes, seed=st.integers(0, 10_000), scale=st.floats(0.1, 30.0))
def test_masked_entries_change_neither_loss_nor_gradient(shape, seed, scale):
    g = torch.Generator().manual_seed(seed)
    logits = (torch.randn(shape, generator=g) * scale).requires_grad_(True)
    y = (torch.rand(shape, generator=g) < 0.5).float()
    mask = torch.rand(shape, generator=g) < 0.5
    # Same labels where observed; garbage (even NaN / inf) where "?".
    garbage = torch.where(torch.rand(shape, generator=g) < 0.5, torch.tensor(float("nan")), torch.tensor(7.0))
    y2 = torch.where(mask, y, garbage)
    logits2 = logits.detach().clone().requires_grad_(True)
    loss1 = masked_bce(logits, y, mask)
    loss2 = masked_bce(logits2, y2, mask)
    loss1.backward()
    loss2.backward()
    assert torch.equal(loss1, loss2)
    assert torch.equal(logits.grad, logits2.grad)
    assert torch.all(logits.grad[~mask] == 0)


@settings(max_examples=30, deadline=None)
@given(shape=shapes, seed=st.integers(0, 10_000))
def test_all_unknown_batch_gives_zero_loss_and_zero_gradient(shape, seed):
    g = torch.Generator().manual_seed(seed)
    logits = (torch.randn(shape, generator=g) * 50).requires_grad_(True)
    y = torch.rand(shape, generator=g)
    mask = torch.zeros(shape, dtype=torch.bool)
    for norm in ("examples", "labels"):
        loss = masked_bce(logits, y, mask, normalization=norm)
        loss.backward()
        assert loss.item() == 0.0
        assert torch.isfinite(logits.grad).all() and torch.all(logits.grad == 0)
        logits.grad = None


@settings(max_examples=30, deadline=None)
@given(seed=st.integers(0, 10_000))
def test_loss_is_finite_for_extreme_logits(seed):
    g = torch.Generator().manual_seed(seed)
    logits = torch.randn(4, 3, generator=g) * 1e4
    y = (torch.rand(4, 3, generator=g) < 0.5).float()
    mask = torch.ones(4, 3, dtype=torch.bool)
    assert torch.isfinite(masked_bce(logits, y, mask))
