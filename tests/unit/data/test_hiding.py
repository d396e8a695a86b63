import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from mtlkit.data.hiding import hide_labels, task_rates
from mtlkit.errors import ConfigError

TASKS = ["pedestrian", "car", "stop_sign", "traffic_light"]


@settings(max_examples=25, deadline=None)
@given(rate=st.floats(0.0, 1.0), seed=st.integers(0, 1000))
def test_random_mode_hits_the_rate(rate, seed):
    mask = torch.ones(20000, 4, dtype=torch.bool)
    out = hide_labels(mask, task_rates(rate, TASKS), "random", torch.Generator().manual_seed(seed))
    hidden = 1 - out.float().mean(0)
    assert torch.all((hidden - rate).abs() < 0.02)


def test_per_task_rates_from_list_and_dict():
    mask = torch.ones(20000, 4, dtype=torch.bool)
    g = torch.Generator().manual_seed(0)
    out = hide_labels(mask, task_rates([0.0, 0.25, 0.5, 0.9], TASKS), "random", g)
    assert torch.allclose(1 - out.float().mean(0), torch.tensor([0.0, 0.25, 0.5, 0.9]), atol=0.02)
    rates = task_rates({"car": 0.8}, TASKS)
    assert rates.tolist() == pytest.approx([0.0, 0.8, 0.0, 0.0])


def test_hiding_never_reveals_already_unknown_entries():
    g = torch.Generator().manual_seed(1)
    mask = torch.rand(1000, 4, generator=g) < 0.5
    for mode in ("random", "annotator"):
        out = hide_labels(mask, task_rates(0.3, TASKS), mode, g)
        assert not (out & ~mask).any()


@pytest.mark.parametrize("rate", [0.0, 0.25, 0.5, 0.7])
def test_annotator_mode_hits_the_rate_and_keeps_one_label_per_example(rate):
    mask = torch.ones(20000, 4, dtype=torch.bool)
    out = hide_labels(mask, task_rates(rate, TASKS), "annotator", torch.Generator().manual_seed(0))
    assert abs((1 - out.float().mean()).item() - rate) < 0.02
    assert (out.sum(1) >= 1).all()
    if rate >= 0.5:
        assert (out.sum(1) == 1).any()  # some examples carry a single label ("only car")
    assert torch.allclose(out.float().mean(0), out.float().mean(0).mean(), atol=0.03)  # no task favoured


@pytest.mark.parametrize(
    "rate, word",
    [
        (1.5, "in \\[0, 1\\]"),
        ([0.1, 0.2], "2 rates for 4 tasks"),
        ({"bus": 0.5}, "unknown task"),
    ],
)
def test_bad_rates_are_explained(rate, word):
    with pytest.raises(ConfigError, match=word):
        task_rates(rate, TASKS)


def test_unknown_mode_is_named():
    with pytest.raises(ConfigError, match="missing_mode"):
        hide_labels(torch.ones(2, 2, dtype=torch.bool), torch.zeros(2), "sometimes")


def test_the_star_key_sets_the_rate_of_every_task_not_named():
    assert task_rates({"*": 0.99, "car": 0.9}, TASKS).tolist() == pytest.approx([0.99, 0.9, 0.99, 0.99])
    assert task_rates({"*": 0.3}, TASKS).tolist() == pytest.approx([0.3] * 4)
    assert task_rates({"car": 0.9}, TASKS).tolist() == pytest.approx([0.0, 0.9, 0.0, 0.0])  # no "*": others 0
    mask = torch.ones(20000, 4, dtype=torch.bool)
    out = hide_labels(mask, task_rates({"*": 1.0, "stop_sign": 0.5}, TASKS), "random", torch.Generator().manual_seed(0))
    hidden = 1 - out.float().mean(0)
    assert hidden[[0, 1, 3]].tolist() == [1.0, 1.0, 1.0]
    assert abs(hidden[2].item() - 0.5) < 0.02


@pytest.mark.parametrize(
    "rate, word",
    [
        ({"*": 1.5}, "in \\[0, 1\\]"),
        ({"*": None}, "missing_rate\\['\\*'\\] must be a number"),
        ({"car": "a lot"}, "missing_rate\\['car'\\] must be a number"),
        ({"bus": 0.5, "*": 0.1}, "unknown task.*'\\*' sets the rate of every task not named"),
    ],
)
def test_bad_star_rates_are_explained(rate, word):
    with pytest.raises(ConfigError, match=word):
        task_rates(rate, TASKS)
