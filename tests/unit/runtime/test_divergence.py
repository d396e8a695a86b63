"""A diverged run (non-finite or exploding training loss) stops with one line naming the step, the loss and the
likely fix, and writes no results.json; the rule does not misfire on a loss that merely moves."""

from __future__ import annotations

import math

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from mtlkit.run import train
from mtlkit.runtime.divergence import DIVERGENCE_FACTOR, DivergenceStop, TrainingDivergedError, diverged
from tests.conftest import TINY
from tests.helpers import compose_config


@pytest.mark.parametrize(
    ("loss", "first", "why"),
    [
        (math.nan, 3.0, "non-finite"),
        (math.inf, 3.0, "non-finite"),
        (6e15, 3.0, "exploded"),
        (3.0 * DIVERGENCE_FACTOR + 1, 3.0, "exploded"),
        (3.0 * DIVERGENCE_FACTOR, 3.0, None),  # the limit itself is allowed
        (50.0, 0.001, None),  # a tiny first loss (a fine-tuned model) is measured against 1, not against itself
        (0.2, 3.0, None),
    ],
)
def test_the_rule_flags_only_non_finite_or_exploding_losses(loss, first, why):
    assert diverged(loss, first) == why


@pytest.mark.parametrize("weighting", ["ew", "pcgrad"])  # pcgrad: manual optimisation, the check sees its loss too
def test_a_huge_learning_rate_stops_the_run_with_one_line_and_no_results(tmp_path, weighting):
    cfg = compose_config([*TINY, "optimizer.lr=1e6", f"weighting={weighting}", "scheduler=none"], tmp_path)
    with pytest.raises(TrainingDivergedError) as err:
        train(cfg)
    message = str(err.value)
    assert len(message.splitlines()) == 1
    assert "training diverged at step" in message and "lower optimizer.lr (now 1e+06)" in message
    assert not (tmp_path / "results.json").exists()


def _first_diverged(losses: list[float]) -> int | None:
    """The former per-step check, a float per step: the index of the first diverged loss."""
    first = None
    for i, loss in enumerate(losses):
        if first is None and math.isfinite(loss):
            first = loss
        if diverged(loss, first if first is not None else 1.0) is not None:
            return i
    return None


LOSS = st.one_of(
    st.floats(0.0, 10.0), st.floats(1e3, 1e5), st.sampled_from([math.nan, math.inf, -math.inf, 3.0 * DIVERGENCE_FACTOR])
)


@settings(max_examples=200, deadline=None)
@given(losses=st.lists(LOSS, min_size=1, max_size=12), every=st.integers(1, 5))
def test_the_on_device_watch_stops_at_the_same_step_as_the_per_step_rule(losses, every):
    """Checked every ``every`` steps and at the end, the device-side watch names the step the former float-per-step
    check stopped at, and raises at the first check at or after it (never before, never on a healthy run)."""
    stop = DivergenceStop(check_every=every)
    expected = _first_diverged(losses)
    raised_at = None
    try:
        for step, loss in enumerate(losses, start=1):
            stop.watch(torch.tensor(loss, dtype=torch.float32), step)
            if step % every == 0:
                raised_at = step
                stop.check(object())
        raised_at = len(losses)
        stop.check(object())  # the end of the epoch
    except TrainingDivergedError as err:
        assert expected is not None
        assert f"training diverged at step {expected + 1}:" in str(err)
        assert expected + 1 <= raised_at < expected + 1 + every
        return
    assert expected is None


def test_the_watch_reads_the_modules_loss_without_a_logged_value():
    """The module keeps its last loss on the device; the callback reads it, not Lightning's logged metrics."""

    class Module:
        last_train_loss = torch.tensor(math.nan)

    class Trainer:
        callback_metrics: dict = {}
        global_step = 3

    stop = DivergenceStop()
    with pytest.raises(TrainingDivergedError, match="at step 3: train/loss=nan is not finite"):
        stop.on_train_batch_end(Trainer(), Module())
