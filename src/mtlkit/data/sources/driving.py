"""``data=driving``: the embedded default, synthetic road scenes with one yes/no task per object class."""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any

import torch

from mtlkit.data.augment import ImageScale
from mtlkit.data.base import MultiLabelDataModule, SplitData
from mtlkit.data.cache import cached, default_cache_dir
from mtlkit.data.synthetic.families import check_relatedness, family_class_names
from mtlkit.data.synthetic.scenes import SceneSpec, generate_scenes
from mtlkit.data.synthetic.shapes import class_names
from mtlkit.errors import ConfigError


def to_grey(images: torch.Tensor) -> torch.Tensor:
    """uint8 RGB ``[N, 3, H, W]`` -> uint8 grey ``[N, 1, H, W]`` (ITU-R BT.601 luma, as Pillow's ``convert("L")``)."""
    weights = torch.tensor([0.299, 0.587, 0.114]).view(1, 3, 1, 1)
    out = torch.empty((len(images), 1, *images.shape[2:]), dtype=torch.uint8)
    for start in range(0, len(images), 4096):
        chunk = (images[start : start + 4096].float() * weights).sum(1, keepdim=True)
        out[start : start + 4096] = chunk.round().clamp(0, 255).to(torch.uint8)
    return out


class DrivingDataModule(MultiLabelDataModule):
    """Generated road scenes (see :mod:`mtlkit.data.synthetic.scenes`); train, val and test are disjoint draws.

    ``channels``: 3 (RGB, as drawn) or 1 (converted to grey, e.g. to pre-train for a grey-scale target).
    ``relatedness``: None (the road objects) or a number in [0, 1]: ``num_classes`` task families ``fam000``...
    whose parts come from a shared vocabulary, all of them at 1, none at 0 (:mod:`mtlkit.data.synthetic.families`).
    """

    name = "driving"
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
        num_classes: int = 4,
        grid: int = 3,
        prevalence: float = 0.4,
        max_objects: int | None = None,
        distractor_rate: float = 0.25,
        noise: float = 0.06,
        min_scale: float = 0.65,
        class_seed: int = 0,
        relatedness: float | None = None,
        channels: int = 3,
        cache_dir: str | None = "default",
        **kwargs,
    ):
        super().__init__(**kwargs)
        if channels not in (1, 3):
            raise ConfigError(f"data.channels must be 1 (grey) or 3 (RGB) for data=driving, got {channels}")
        relatedness = check_relatedness(relatedness, num_classes)  # before any data are built
        self.channels = channels
        self.num = {"train": num_train, "val": num_val, "test": num_test}
        self.scene_kwargs = dict(
            image_size=image_size,
            num_classes=num_classes,
            grid=grid,
            prevalence=prevalence,
            max_objects=max_objects,
            distractor_rate=distractor_rate,
            noise=noise,
            min_scale=min_scale,
            class_seed=class_seed,
            relatedness=relatedness,
        )
        self.cache_dir = default_cache_dir() if cache_dir == "default" else cache_dir
        self.transform = ImageScale()
        self.generation_seconds = 0.0

    def load_splits(self) -> tuple[list[str], dict[str, SplitData]]:
        t0 = time.perf_counter()
        splits = {}
        for i, (split, n) in enumerate(self.num.items()):
            spec = SceneSpec(num_images=n, seed=self.seed * 3 + i, **self.scene_kwargs)

            def build(spec: SceneSpec = spec) -> dict[str, torch.Tensor]:
                s = generate_scenes(spec)
                return {"images": s.images, "labels": s.labels}

            data = cached(f"driving-{split}", spec.key(), build, self.cache_dir)
            ids = [f"{split}-{j}" for j in range(n)]
            y = data["labels"].float()
            images = data["images"] if self.channels == 3 else to_grey(data["images"])
            splits[split] = SplitData(images, y, torch.ones_like(y, dtype=torch.bool), ids)
        self.generation_seconds = time.perf_counter() - t0
        num_classes = self.scene_kwargs["num_classes"]
        families = self.scene_kwargs["relatedness"] is not None
        return (family_class_names(num_classes) if families else class_names(num_classes)), splits
