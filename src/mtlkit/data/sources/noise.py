"""``data=noise``: pure-noise images with random labels, a source with nothing to learn that carries over.

Every pixel is drawn uniformly from 0-255 and every label is an independent coin flip (``prevalence``), so no
label depends on its image. Pre-training on it tests whether transfer helps *because* of what the source data
hold, rather than through the fine-tuning procedure alone (experiment C8, experiments/plan.md).
Built in memory from ``data.seed``; train, val and test are disjoint draws.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import torch

from mtlkit.data.augment import ImageScale
from mtlkit.data.base import MultiLabelDataModule, SplitData
from mtlkit.errors import ConfigError


class NoiseDataModule(MultiLabelDataModule):
    """Uniform-noise images ``[channels, image_size, image_size]`` and ``num_tasks`` labels independent of them."""

    name = "noise"
    input_keys = {"channels": "channels", "size": "image_size"}

    @classmethod
    def planned_input_shape(cls, config: Mapping[str, Any]) -> tuple[int | None, ...] | None:
        size = int(config.get("image_size", 32))
        return (int(config.get("channels", 3)), size, size)

    def __init__(
        self,
        num_train: int = 20000,
        num_val: int = 2000,
        num_test: int = 2000,
        image_size: int = 32,
        channels: int = 3,
        num_tasks: int = 20,
        prevalence: float = 0.4,
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.num = {"train": num_train, "val": num_val, "test": num_test}
        sizes = {**{f"num_{k}": v for k, v in self.num.items()}, "image_size": image_size, "channels": channels}
        bad = {k: v for k, v in {**sizes, "num_tasks": num_tasks}.items() if v < 1}
        if bad:
            raise ConfigError(f"data=noise needs every size >= 1; got {bad}")
        if not 0.0 < prevalence < 1.0:
            raise ConfigError(f"data.prevalence must lie strictly between 0 and 1, got {prevalence}")
        self.shape = (channels, image_size, image_size)
        self.num_tasks = num_tasks
        self.prevalence = prevalence
        self.transform = ImageScale()  # the same input scaling as data=driving

    def task_names(self) -> list[str]:
        width = len(str(self.num_tasks - 1))
        return [f"noise{j:0{max(width, 2)}d}" for j in range(self.num_tasks)]

    def load_splits(self) -> tuple[list[str], dict[str, SplitData]]:
        splits = {}
        for i, (split, n) in enumerate(self.num.items()):
            gen = torch.Generator().manual_seed(self.seed * 3 + i)
            images = torch.randint(0, 256, (n, *self.shape), dtype=torch.uint8, generator=gen)
            labels = (torch.rand(n, self.num_tasks, generator=gen) < self.prevalence).float()
            ids = [f"{split}-{j}" for j in range(n)]
            splits[split] = SplitData(images, labels, torch.ones_like(labels, dtype=torch.bool), ids)
        return self.task_names(), splits
