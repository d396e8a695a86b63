"""A diverged run (non-finite or exploding training loss) stops with one line naming the step, the loss and the
likely fix, and writes no results.json; the rule does not misfire on a loss that merely moves."""

from __future__ import annotations

import math

import pytest

from mtlkit.run import train
from mtlkit.runtime.divergence import DIVERGENCE_FACTOR, TrainingDivergedError, diverged
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
