"""Channels a data set can be asked for, so that a transfer source and its target can agree (data.channels /
source.channels), and a transfer source that is fully labelled by default."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image

from mtlkit.data.sources.driving import DrivingDataModule, to_grey
from mtlkit.errors import ConfigError
from tests.helpers import compose_config
from tests.unit.data.sources.test_fashion import _dm as fashion_dm
from tests.unit.data.sources.test_fashion import fake_fashion

SMALL = {"num_train": 16, "num_val": 8, "num_test": 8, "image_size": 16, "grid": 2, "cache_dir": None}


def test_grey_conversion_matches_pillow():
    rgb = torch.randint(0, 256, (5, 3, 7, 9), dtype=torch.uint8)
    grey = to_grey(rgb)
    pil = np.stack([np.asarray(Image.fromarray(a.permute(1, 2, 0).numpy(), "RGB").convert("L")) for a in rgb])
    assert grey.shape == (5, 1, 7, 9) and np.abs(grey[:, 0].int().numpy() - pil.astype(int)).max() <= 1


def test_driving_scenes_in_grey_are_the_rgb_scenes_converted():
    rgb = DrivingDataModule(**SMALL, verbose=False)
    grey = DrivingDataModule(**SMALL, channels=1, verbose=False)
    assert rgb.input_shape == (3, 16, 16) and grey.input_shape == (1, 16, 16)
    assert torch.equal(grey.splits["train"].x, to_grey(rgb.splits["train"].x))
    assert torch.equal(grey.splits["train"].y, rgb.splits["train"].y)
    assert DrivingDataModule.planned_input_shape({"image_size": 24, "channels": 1}) == (1, 24, 24)
    with pytest.raises(ConfigError, match="data.channels must be 1"):
        DrivingDataModule(**SMALL, channels=2)


def test_fashion_grids_copied_to_three_channels(tmp_path):
    root = fake_fashion(tmp_path / "fm")
    grey, rgb = fashion_dm(root), fashion_dm(root, channels=3)
    assert grey.input_shape == (1, 56, 56) and rgb.input_shape == (3, 56, 56)
    x = rgb.splits["train"].x
    assert all(torch.equal(x[:, c : c + 1], grey.splits["train"].x) for c in range(3))
    assert rgb.transform(x[:2]).shape == (2, 3, 56, 56)


def test_a_transfer_source_is_fully_labelled_unless_told(tmp_path):
    as_source = compose_config(["approach=transfer", "data@source=fashion_grid"], tmp_path)
    assert as_source.source.missing_rate == 0.0
    told = compose_config(["approach=transfer", "data@source=fashion_grid", "source.missing_rate=0.5"], tmp_path)
    assert told.source.missing_rate == 0.5
    as_target = compose_config(["approach=transfer", "data=fashion_grid"], tmp_path)
    assert as_target.data.missing_rate == 0.5  # the target keeps its own default
    assert compose_config(["data=fashion_grid"], tmp_path).data.missing_rate == 0.5
