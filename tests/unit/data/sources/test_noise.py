"""data=noise: uniform-noise images with labels independent of them (the unrelated source of experiment C8)."""

from __future__ import annotations

import pytest
import torch

from mtlkit.data.sources.noise import NoiseDataModule
from mtlkit.errors import ConfigError
from tests.helpers import compose_config


def _dm(**kw) -> NoiseDataModule:
    args = dict(num_train=4000, num_val=300, num_test=200, image_size=8, channels=3, num_tasks=5, verbose=False)
    dm = NoiseDataModule(**{**args, **kw})
    dm.setup()
    return dm


def test_shapes_names_and_the_batch_contract():
    dm = _dm()
    assert dm.tasks == ["noise00", "noise01", "noise02", "noise03", "noise04"]
    assert dm.input_shape == (3, 8, 8)
    assert dm.sizes() == {"train": 4000, "val": 300, "test": 200}
    batch = next(iter(dm.train_dataloader()))
    assert set(batch) == {"x", "y", "mask", "index"}
    assert batch["x"].dtype == torch.float32 and batch["x"].shape[1:] == (3, 8, 8)
    assert batch["mask"].all()  # missing_rate 0 by default: every label known


def test_pixels_are_uniform_and_labels_are_coin_flips_independent_of_the_image():
    dm = _dm(prevalence=0.4)
    x, y = dm.splits["train"].x.float(), dm.splits["train"].y
    assert abs(x.mean().item() - 127.5) < 1.0 and x.min() == 0 and x.max() == 255
    assert torch.allclose(y.mean(0), torch.full((5,), 0.4), atol=0.03)
    # no label tells anything about the image: mean brightness is the same for positives and negatives
    brightness = x.mean(dim=(1, 2, 3))
    for j in range(5):
        gap = brightness[y[:, j] == 1].mean() - brightness[y[:, j] == 0].mean()
        assert abs(gap.item()) < 0.5  # the std of a 192-pixel mean is ~5.3, of the gap ~0.17
    # labels of different tasks are independent of each other too
    corr = torch.corrcoef(y.T) - torch.eye(5)
    assert corr.abs().max() < 0.06


def test_seeded_splits_differ_and_repeat():
    a, b, c = _dm(seed=0), _dm(seed=0), _dm(seed=1)
    assert torch.equal(a.splits["train"].x, b.splits["train"].x) and torch.equal(a.splits["val"].y, b.splits["val"].y)
    assert not torch.equal(a.splits["train"].x[:200], a.splits["val"].x[:200])
    assert not torch.equal(a.splits["train"].x, c.splits["train"].x)


def test_label_hiding_and_task_selection_work_as_for_every_data_set():
    dm = _dm(missing_rate={"*": 0.5, "noise01": 0.0}, tasks=["noise01", "noise03"])
    assert dm.tasks == ["noise01", "noise03"]
    kept = dm.splits["train"].mask.float().mean(0)
    assert kept[0] == 1.0 and abs(kept[1].item() - 0.5) < 0.03
    assert dm.splits["test"].mask.all()


@pytest.mark.parametrize(
    "kw, word",
    [({"num_tasks": 0}, "num_tasks"), ({"image_size": 0}, "image_size"), ({"prevalence": 1.0}, "prevalence")],
)
def test_bad_settings_are_explained(kw, word):
    with pytest.raises(ConfigError, match=word):
        _dm(**kw)


def test_data_noise_composes_and_serves_as_a_transfer_source(tmp_path):
    from hydra.utils import instantiate

    cfg = compose_config(["data=noise", "data.num_train=64", "data.num_val=32", "data.num_test=32"], tmp_path)
    dm = instantiate(cfg.data, _convert_="all")
    dm.setup()
    assert len(dm.tasks) == 20 and dm.input_shape == (3, 32, 32)
    cfg = compose_config(["approach=transfer", "data@source=noise", "source.num_tasks=4"], tmp_path)
    assert cfg.source._target_ == "mtlkit.data.sources.noise.NoiseDataModule" and cfg.source.num_tasks == 4
