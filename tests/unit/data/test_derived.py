"""data.derived: tasks computed from other tasks' labels, with "?" where the known inputs do not decide."""

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from mtlkit.data.base import MultiLabelDataModule, SplitData
from mtlkit.data.derived import parse_derived
from mtlkit.data.sources.driving import DrivingDataModule
from mtlkit.data.sources.noise import NoiseDataModule
from mtlkit.errors import ConfigError

Q = None  # "?" in the tables below


def _cells(values):
    """[[1, 0, None], ...] -> (y, mask) tensors."""
    y = torch.tensor([[0.0 if v is None else float(v) for v in row] for row in values])
    mask = torch.tensor([[v is not None for v in row] for row in values])
    return y, mask


def _out(rule, values, tasks=("a", "b")):
    y, mask = _cells(values)
    (d,) = parse_derived({"d": rule})
    label, known = d.compute(y, mask, list(tasks))
    return [int(v) if k else Q for v, k in zip(label.tolist(), known.tolist(), strict=True)]


ROWS = [[1, 1], [1, 0], [0, 1], [0, 0], [1, Q], [Q, 1], [0, Q], [Q, 0], [Q, Q]]


def test_or_truth_table_with_missing_inputs():
    #                               11 10 01 00 1? ?1 0? ?0 ??
    assert _out("a or b", ROWS) == [1, 1, 1, 0, 1, 1, Q, Q, Q]


def test_and_truth_table_with_missing_inputs():
    assert _out("a and b", ROWS) == [1, 0, 0, 0, Q, Q, 0, 0, Q]


def test_not_and_a_single_operand():
    assert _out("not a", [[1, 0], [0, 0], [Q, 1]]) == [0, 1, Q]
    assert _out("a or not b", [[0, 0], [0, 1], [Q, 0]]) == [1, 0, 1]


def _three_valued(op, values):
    """Reference: Kleene's three-valued logic, None = unknown."""
    if op == "or":
        if any(v == 1 for v in values):
            return 1
        return 0 if all(v == 0 for v in values) else None
    if any(v == 0 for v in values):
        return 0
    return 1 if all(v == 1 for v in values) else None


@settings(max_examples=80, deadline=None)
@given(
    op=st.sampled_from(["or", "and"]),
    rows=st.lists(st.lists(st.sampled_from([0, 1, None]), min_size=3, max_size=3), min_size=1, max_size=20),
    negate=st.lists(st.booleans(), min_size=3, max_size=3),
)
def test_derived_labels_follow_three_valued_logic(op, rows, negate):
    names = ["a", "b", "c"]
    expr = f" {op} ".join(("not " if n else "") + t for t, n in zip(names, negate, strict=True))
    flipped = [[None if v is None else (1 - v if n else v) for v, n in zip(r, negate, strict=True)] for r in rows]
    assert _out(expr, rows, names) == [_three_valued(op, r) for r in flipped]


def test_driving_stop_task_from_pedestrian_or_stop_sign():
    kw = dict(num_train=200, num_val=50, num_test=50, image_size=16, grid=2, cache_dir=None, verbose=False)
    dm = DrivingDataModule(**kw, missing_rate=0.0, derived={"stop": "pedestrian or stop_sign"})
    dm.setup()
    assert dm.tasks == ["pedestrian", "car", "stop_sign", "traffic_light", "stop"]
    for sp in dm.splits.values():
        assert torch.equal(sp.y[:, 4], torch.maximum(sp.y[:, 0], sp.y[:, 2])) and bool(sp.mask.all())
    plain = DrivingDataModule(**kw, missing_rate=0.0)
    plain.setup()
    assert torch.equal(plain.splits["train"].y, dm.splits["train"].y[:, :4])  # other tasks untouched
    # the derived task alone (end-to-end), hidden like any other task
    alone = DrivingDataModule(**kw, missing_rate=0.5, tasks=["stop"], derived={"stop": "pedestrian or stop_sign"})
    alone.setup()
    assert alone.tasks == ["stop"] and alone.splits["train"].y.shape == (200, 1)
    assert 0.3 < alone.splits["train"].mask.float().mean() < 0.7
    assert torch.equal(alone.splits["val"].y[:, 0], dm.splits["val"].y[:, 4])


class _Given(MultiLabelDataModule):
    """A data module over fixed labels (with "?"), to test the derivation on a source's own missing cells."""

    def __init__(self, values, **kwargs):
        super().__init__(verbose=False, **kwargs)
        self.values = values

    def load_splits(self):
        y, mask = _cells(self.values)
        unc = torch.zeros_like(mask)
        sp = SplitData(torch.zeros(len(y), 2), y, mask, uncertain=unc)
        return ["a", "b"], {s: sp for s in ("train", "val", "test")}


def test_derived_tasks_use_earlier_ones_and_keep_the_source_missing_cells():
    dm = _Given([[1, Q], [0, Q], [0, 0]], derived={"either": "a or b", "neither": "not either"})
    dm.setup()
    sp = dm.splits["train"]
    assert dm.tasks == ["a", "b", "either", "neither"]
    assert sp.mask[:, 2].tolist() == [True, False, True] and sp.y[:, 2].tolist() == [1.0, 0.0, 0.0]
    assert sp.mask[:, 3].tolist() == [True, False, True] and sp.y[:, 3].tolist() == [0.0, 0.0, 1.0]
    assert sp.uncertain is not None and sp.uncertain.shape == (3, 4)


@pytest.mark.parametrize(
    "derived, match",
    [
        ({"d": "a or"}, "data.derived.d: 'a or' ends with an operator"),
        ({"d": "a or b and c"}, "data.derived.d: .* mixes 'or' and 'and'"),
        ({"d": "(a or b)"}, "data.derived.d: parentheses are not supported"),
        ({"d": "a b"}, "data.derived.d: expected 'or' or 'and' between task names"),
        ({"d": "or a"}, "data.derived.d: expected a task name"),
        ({"d": "a and not"}, "data.derived.d: 'not' needs a task name"),
        ({"d": ""}, "data.derived.d must be an expression"),
        ({"d": 3}, "data.derived.d must be an expression"),
        ("a or b", "data.derived must map new task names to expressions"),
    ],
)
def test_malformed_derived_is_one_line_error_at_construction(derived, match, monkeypatch):
    def fail(*_a, **_k):
        raise AssertionError("data were built before the check")

    monkeypatch.setattr(NoiseDataModule, "load_splits", fail)  # no data may be built
    with pytest.raises(ConfigError, match=match) as err:
        NoiseDataModule(derived=derived, verbose=False)
    assert "\n" not in str(err.value)


@pytest.mark.parametrize(
    "derived, match",
    [
        ({"d": "a or nope"}, r"data.derived.d uses unknown task\(s\) \['nope'\]; this data set has \['a', 'b'\]"),
        ({"a": "b"}, "data.derived.a is already a task of this data set"),
    ],
)
def test_derived_names_checked_against_the_data_set(derived, match):
    with pytest.raises(ConfigError, match=match):
        _Given([[1, 0]], derived=derived).setup()


def test_any_data_source_gets_derived_tasks():
    derived = {"both": "noise00 and noise01"}
    dm = NoiseDataModule(num_train=50, num_val=10, num_test=10, num_tasks=3, derived=derived, verbose=False)
    dm.setup()
    y = dm.splits["train"].y
    assert dm.tasks == ["noise00", "noise01", "noise02", "both"]
    assert torch.equal(y[:, 3], y[:, 0] * y[:, 1])
