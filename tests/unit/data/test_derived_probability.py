"""A derived task's rule applied to probabilities (the pipeline arm of an end-to-end comparison): the noisy-OR, the
product, negation, and on 0/1 inputs exactly the label rule."""

from __future__ import annotations

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from mtlkit.data.derived import parse_derived
from mtlkit.errors import ConfigError

TASKS = ["a", "b", "c"]


def test_or_and_not_on_probabilities():
    probs = torch.tensor([[0.5, 0.5, 0.2], [0.0, 1.0, 0.9]])
    (either,) = parse_derived({"x": "a or b"})
    (both,) = parse_derived({"x": "a and not c"})
    assert torch.allclose(either.probability(probs, TASKS), torch.tensor([0.75, 1.0]))
    assert torch.allclose(both.probability(probs, TASKS), torch.tensor([0.4, 0.0]))


@settings(max_examples=50, deadline=None)
@given(st.lists(st.lists(st.booleans(), min_size=3, max_size=3), min_size=1, max_size=20), st.data())
def test_on_hard_inputs_the_probability_is_the_label(rows, data):
    expr = data.draw(st.sampled_from(["a or b", "a and b and c", "not a or c", "a and not b"]))
    (rule,) = parse_derived({"x": expr})
    y = torch.tensor(rows, dtype=torch.float32)
    label, decided = rule.compute(y, torch.ones_like(y, dtype=torch.bool), TASKS)
    assert bool(decided.all())
    assert torch.equal(rule.probability(y, TASKS), label)


def test_a_rule_over_a_task_the_model_lacks_is_one_line():
    (rule,) = parse_derived({"x": "a or zebra"})
    with pytest.raises(ConfigError, match="zebra"):
        rule.probability(torch.zeros(2, 3), TASKS)
