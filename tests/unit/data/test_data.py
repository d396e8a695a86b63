import pytest
import torch

from mtlkit.data.sources.driving import DrivingDataModule
from mtlkit.errors import ConfigError

SMALL = dict(num_train=300, num_val=100, num_test=100, image_size=16, grid=2, batch_size=32, verbose=False)


def _dm(**kw) -> DrivingDataModule:
    dm = DrivingDataModule(**{**SMALL, **kw})
    dm.setup()
    return dm


def test_batch_contract():
    dm = _dm(missing_rate=0.5)
    batch = next(iter(dm.train_dataloader()))
    assert set(batch) == {"x", "y", "mask", "index"}
    assert batch["x"].shape == (32, 3, 16, 16) and batch["x"].dtype == torch.float32
    assert batch["y"].shape == (32, 4) and batch["y"].dtype == torch.float32
    assert batch["mask"].shape == (32, 4) and batch["mask"].dtype == torch.bool
    assert set(batch["y"].unique().tolist()) <= {0.0, 1.0}
    assert torch.all(batch["y"][~batch["mask"]] == 0)  # "?" is 0 in y and False in mask, never NaN
    assert torch.isfinite(batch["x"]).all()
    assert dm.tasks == ["pedestrian", "car", "stop_sign", "traffic_light"]
    assert dm.input_shape == (3, 16, 16)


def test_same_config_gives_same_examples_labels_and_masks(tmp_path):
    a = _dm(missing_rate=0.5, seed=3, cache_dir=str(tmp_path))  # generated and cached
    b = _dm(missing_rate=0.5, seed=3, cache_dir=None)  # generated again, no cache
    c = _dm(missing_rate=0.5, seed=3, cache_dir=str(tmp_path))  # read from the cache
    assert list(tmp_path.iterdir())
    for split in ("train", "val", "test"):
        for other in (b, c):
            assert torch.equal(a.splits[split].x, other.splits[split].x)
            assert torch.equal(a.splits[split].y, other.splits[split].y)
            assert torch.equal(a.splits[split].mask, other.splits[split].mask)
    d = _dm(missing_rate=0.5, seed=4, cache_dir=None)
    assert not torch.equal(a.splits["train"].x, d.splits["train"].x)


def test_splits_are_disjoint_draws():
    dm = _dm()
    tr, va = dm.splits["train"].x, dm.splits["val"].x
    assert not any(torch.equal(va[0], tr[i]) for i in range(len(tr)))


def test_only_train_labels_are_hidden_by_default_and_rate_is_hit():
    dm = _dm(num_train=4000, missing_rate=0.5)
    counts = dm.label_counts()
    for split in ("val", "test"):
        assert all(c["unknown"] == 0 for c in counts[split].values())
    unknown = sum(c["unknown"] for c in counts["train"].values())
    assert abs(unknown / (4000 * 4) - 0.5) < 0.02
    hidden_eval = _dm(missing_rate=0.5, hide_splits=["train", "val"]).label_counts()
    assert sum(c["unknown"] for c in hidden_eval["val"].values()) > 0


def test_task_subset_keeps_order_and_columns():
    full = _dm()
    sub = _dm(tasks=["stop_sign", "car"])
    assert sub.tasks == ["stop_sign", "car"]
    assert torch.equal(sub.splits["test"].y, full.splits["test"].y[:, [2, 1]])
    batch = next(iter(sub.val_dataloader()))
    assert batch["y"].shape[1] == 2


def test_unknown_task_is_named_with_the_known_ones():
    with pytest.raises(ConfigError, match=r"unknown task\(s\) \['bus'\].*pedestrian"):
        _dm(tasks=["bus"])


def test_bad_hide_split_is_named():
    with pytest.raises(ConfigError, match="hide_splits"):
        DrivingDataModule(hide_splits=["training"])


def test_label_table_is_printed(capsys):
    dm = DrivingDataModule(**{**SMALL, "verbose": True})
    dm.setup()
    out = capsys.readouterr().out
    assert "stop_sign" in out and "pos / neg / ?" in out
