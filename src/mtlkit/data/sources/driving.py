"""``data=driving``: the embedded default, synthetic road scenes with one yes/no task per object class."""

from __future__ import annotations

import time

import torch

from mtlkit.data.augment import ImageScale
from mtlkit.data.base import MultiLabelDataModule, SplitData
from mtlkit.data.cache import cached, default_cache_dir
from mtlkit.data.synthetic.scenes import SceneSpec, generate_scenes
from mtlkit.data.synthetic.shapes import class_names


class DrivingDataModule(MultiLabelDataModule):
    """Generated road scenes (see :mod:`mtlkit.data.synthetic.scenes`); train, val and test are disjoint draws."""

    name = "driving"

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
        cache_dir: str | None = "default",
        **kwargs,
    ):
        super().__init__(**kwargs)
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
            splits[split] = SplitData(data["images"], y, torch.ones_like(y, dtype=torch.bool), ids)
        self.generation_seconds = time.perf_counter() - t0
        return class_names(self.scene_kwargs["num_classes"]), splits
