"""data=driving with data.relatedness: task names, the default data module unchanged, checks before any data."""

import hashlib

import pytest
import torch

from mtlkit.data.sources import driving
from mtlkit.data.sources.driving import DrivingDataModule
from mtlkit.errors import ConfigError

SMALL = dict(num_train=40, num_val=16, num_test=16, cache_dir=None, verbose=False)


def _digest(*tensors: torch.Tensor) -> str:
    h = hashlib.sha256()
    for t in tensors:
        h.update(t.contiguous().numpy().tobytes())
    return h.hexdigest()[:16]


# Computed with the code of commit 661f333 (before data.relatedness existed: `git archive 661f333 src | tar -x`,
# then PYTHONPATH=<that>/src) as
#   dm = DrivingDataModule(**SMALL, seed=2, missing_rate=0.5); dm.setup(); _digest(sp.x, sp.y, sp.mask) for each split
# (half the training labels hidden, as data=driving does): the default data module's images, labels, masks and splits.
DEFAULT_SPLITS = {"train": "06d65aecff50b595", "val": "37375090d192acff", "test": "7c5f14a5a83bc9ef"}


@pytest.mark.parametrize("extra", [{}, {"relatedness": None}])
def test_default_data_module_is_bit_identical_to_before(extra):
    dm = DrivingDataModule(**SMALL, seed=2, missing_rate=0.5, **extra)
    dm.setup()
    assert dm.tasks == ["pedestrian", "car", "stop_sign", "traffic_light"]
    for split, digest in DEFAULT_SPLITS.items():
        sp = dm.splits[split]
        assert _digest(sp.x, sp.y, sp.mask) == digest, split
        assert sp.ids[0] == f"{split}-0"


def test_relatedness_gives_family_tasks_cached_under_their_own_key(tmp_path):
    kw = {**SMALL, "num_classes": 5, "missing_rate": 0.0, "cache_dir": str(tmp_path)}
    DrivingDataModule(**kw).setup()
    dm = DrivingDataModule(**kw, relatedness=0.5)
    dm.setup()
    assert dm.tasks == ["fam000", "fam001", "fam002", "fam003", "fam004"]
    assert len(list(tmp_path.glob("driving-train-*.pt"))) == 2  # the default and the related set, side by side
    again = DrivingDataModule(**kw, relatedness=0.5)
    again.setup()  # read back from the cache
    assert torch.equal(again.splits["train"].x, dm.splits["train"].x)


@pytest.mark.parametrize("value", [2, -1, "0.5", [0.5]])
def test_bad_relatedness_fails_at_construction_before_any_data(value, monkeypatch):
    def fail(*_a, **_k):
        raise AssertionError("data were generated before the check")

    monkeypatch.setattr(driving, "generate_scenes", fail)
    with pytest.raises(ConfigError, match="data.relatedness must be a number in") as err:
        DrivingDataModule(**SMALL, relatedness=value)
    assert "\n" not in str(err.value)


def test_too_many_family_classes_fails_at_construction():
    with pytest.raises(ConfigError, match="data.num_classes must be in"):
        DrivingDataModule(**SMALL, num_classes=100, relatedness=0.0)
