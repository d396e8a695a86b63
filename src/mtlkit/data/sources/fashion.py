"""``data=fashion_grid``: real multi-label images built from Fashion-MNIST.

Each image is a ``grid x grid`` lattice (2 x 2 by default) of 28 x 28 cells holding 0 to 4 garments drawn at random
(the number uniform in ``[min_garments, max_garments]``, the cells at random, empty cells black); label j is 1
exactly when a garment of class j is in the image (10 tasks). Built deterministically from ``data.seed``.
Train and val grids take their garments from disjoint parts of the 60,000 training images; test grids only
from the 10,000 test images.

The idx files are read with numpy (no torchvision). On Debian/Ubuntu they come with
``apt-get install dataset-fashion-mnist`` (in /usr/share/datasets/fashion-mnist); elsewhere, point ``data.root``
at a folder holding the four files (gzipped or not) from https://github.com/zalandoresearch/fashion-mnist.
"""

from __future__ import annotations

import gzip
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from mtlkit.data.augment import ImageTransform, channel_stats
from mtlkit.data.base import MultiLabelDataModule, SplitData
from mtlkit.data.cache import cached, default_cache_dir
from mtlkit.errors import ConfigError, DataError

DEFAULT_ROOT = "/usr/share/datasets/fashion-mnist"
CLASSES = (
    "t_shirt_top",
    "trouser",
    "pullover",
    "dress",
    "coat",
    "sandal",
    "shirt",
    "sneaker",
    "bag",
    "ankle_boot",
)
FILES = {
    "train": ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
    "test": ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"),
}
_IDX_TYPES = {0x08: ">u1", 0x09: ">i1", 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}
INSTALL_HINT = (
    "install it with `sudo apt-get install dataset-fashion-mnist` (Debian/Ubuntu; files in "
    f"{DEFAULT_ROOT}), or put the four idx files (.gz or not) from "
    "https://github.com/zalandoresearch/fashion-mnist in a folder and set data.root=<that folder>"
)


def read_idx(path: str | Path) -> np.ndarray:
    """An idx file (gzipped or not) as a numpy array of its stored type and shape."""
    path = Path(path)
    opener = gzip.open if path.suffix == ".gz" else open
    try:
        with opener(path, "rb") as f:
            raw = f.read()
    except OSError as e:
        raise DataError(f"cannot read idx file {path} ({e}); {INSTALL_HINT}") from e
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0 or raw[2] not in _IDX_TYPES:
        raise DataError(f"{path} is not an idx file (bad magic number {raw[:4].hex()}); {INSTALL_HINT}")
    ndim = raw[3]
    dims = np.frombuffer(raw, dtype=">i4", count=ndim, offset=4).astype(np.int64)
    dtype = np.dtype(_IDX_TYPES[raw[2]])
    offset = 4 + 4 * ndim
    expected = int(np.prod(dims)) * dtype.itemsize
    if len(raw) - offset != expected:
        raise DataError(f"{path} is truncated or corrupt: {len(raw) - offset} data bytes for shape {dims.tolist()}")
    return np.frombuffer(raw, dtype=dtype, offset=offset).reshape(dims.tolist()).astype(dtype.newbyteorder("="))


def find_idx(root: Path, stem: str) -> Path:
    for name in (f"{stem}.gz", stem):
        if (root / name).is_file():
            return root / name
    raise DataError(f"Fashion-MNIST file {stem}(.gz) not found in data.root={str(root)!r}; {INSTALL_HINT}")


def load_fashion_mnist(root: str | Path) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """``{"train": (images [60000, 28, 28] uint8, labels [60000]), "test": (... [10000] ...)}`` from ``root``."""
    root = Path(root).expanduser()
    out = {}
    for split, (img_stem, lab_stem) in FILES.items():
        images = read_idx(find_idx(root, img_stem))
        labels = read_idx(find_idx(root, lab_stem)).astype(np.int64)
        if images.ndim != 3 or labels.ndim != 1 or len(images) != len(labels):
            raise DataError(
                f"{root}: {img_stem} has shape {images.shape} but {lab_stem} has {labels.shape}; expected "
                "[N, 28, 28] images and N labels"
            )
        if labels.min(initial=0) < 0 or labels.max(initial=0) >= len(CLASSES):
            raise DataError(f"{root}: {lab_stem} has labels outside 0..9")
        out[split] = (images.astype(np.uint8), labels)
    return out


def make_grids(
    images: np.ndarray,
    labels: np.ndarray,
    num: int,
    rng: np.random.Generator,
    grid: int = 2,
    min_items: int = 0,
    max_items: int = 4,
    num_classes: int = len(CLASSES),
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Paste garments into ``num`` grids.

    Returns:
        ``x`` uint8 ``[num, 1, grid*h, grid*w]``; ``y`` float32 ``[num, num_classes]`` (class present);
        ``source`` int64 ``[num, grid*grid]``: the index into ``images`` pasted in each cell (row-major), -1 if empty.
    """
    cells = grid * grid
    if not 0 <= min_items <= max_items <= cells:
        raise ConfigError(f"need 0 <= min_garments <= max_garments <= {cells}, got {min_items} and {max_items}")
    if len(images) == 0:
        raise DataError("no source images to build grids from")
    n_items = rng.integers(min_items, max_items + 1, size=num)
    ranks = np.argsort(rng.random((num, cells)), axis=1).argsort(axis=1)  # a random order of the cells
    occupied = ranks < n_items[:, None]
    total = int(occupied.sum())
    reps = -(-total // len(images)) if total else 0  # cycle through shuffled images: each used evenly
    pool = np.concatenate([rng.permutation(len(images)) for _ in range(reps)])[:total] if reps else np.zeros(0, int)
    source = np.full((num, cells), -1, dtype=np.int64)
    source[occupied] = pool
    h, w = images.shape[1:]
    canvas = np.zeros((num, cells, h, w), dtype=np.uint8)
    canvas[occupied] = images[pool]
    x = canvas.reshape(num, grid, grid, h, w).transpose(0, 1, 3, 2, 4).reshape(num, 1, grid * h, grid * w)
    y = np.zeros((num, num_classes), dtype=np.float32)
    rows = np.nonzero(occupied)[0]
    y[rows, labels[pool]] = 1.0
    return np.ascontiguousarray(x), y, source


class FashionGridDataModule(MultiLabelDataModule):
    """Multi-label grids of Fashion-MNIST garments (see the module docstring); 10 tasks, one per class.

    Args:
        root: folder of the idx files.
        num_train, num_val, num_test: grids per split.
        grid: cells per side.
        min_garments, max_garments: garments per grid, drawn uniformly in this range.
        image_size: resize the ``28 * grid`` px grids to this many pixels per side (``null``: keep).
        val_source_fraction: share of the 60,000 training images reserved for val grids.
        channels: 1 (grey, as stored) or 3 (the grey copied to three channels, e.g. for an RGB source's backbone).
        cache_dir: built grids are cached here (``null``: never).
        **kwargs: :class:`MultiLabelDataModule` arguments (tasks, missing_rate, batch sizes, seed, ...).
    """

    name = "fashion_grid"
    input_keys = {"channels": "channels", "size": "image_size"}

    @classmethod
    def planned_input_shape(cls, config: Mapping[str, Any]) -> tuple[int | None, ...] | None:
        size = int(config.get("image_size") or 28 * int(config.get("grid", 2)))
        return (int(config.get("channels", 1)), size, size)

    def __init__(
        self,
        root: str = DEFAULT_ROOT,
        num_train: int = 10000,
        num_val: int = 2000,
        num_test: int = 2000,
        grid: int = 2,
        min_garments: int = 0,
        max_garments: int = 4,
        image_size: int | None = None,
        val_source_fraction: float = 1 / 6,
        channels: int = 1,
        cache_dir: str | None = "default",
        **kwargs,
    ):
        super().__init__(**kwargs)
        if channels not in (1, 3):
            raise ConfigError(f"data.channels must be 1 (grey) or 3 (grey copied to RGB), got {channels}")
        self.channels = channels
        if grid < 1:
            raise ConfigError(f"data.grid must be >= 1, got {grid}")
        if not 0 < val_source_fraction < 1:
            raise ConfigError(f"data.val_source_fraction must lie in (0, 1), got {val_source_fraction}")
        self.root = root or DEFAULT_ROOT
        self.num = {"train": num_train, "val": num_val, "test": num_test}
        self.grid, self.min_garments, self.max_garments = grid, min_garments, max_garments
        self.image_size = image_size
        self.val_source_fraction = val_source_fraction
        self.cache_dir = default_cache_dir() if cache_dir == "default" else cache_dir
        self.sources: dict[str, np.ndarray] = {}

    def _build(self) -> dict[str, torch.Tensor]:
        data = load_fashion_mnist(self.root)
        train_images, train_labels = data["train"]
        perm = np.random.default_rng([self.seed, 99]).permutation(len(train_images))
        n_val = int(round(self.val_source_fraction * len(train_images)))
        pools = {
            "train": (train_images, train_labels, np.sort(perm[n_val:])),
            "val": (train_images, train_labels, np.sort(perm[:n_val])),
            "test": (*data["test"], np.arange(len(data["test"][0]))),
        }
        out: dict[str, torch.Tensor] = {}
        for i, (split, (images, labels, pool)) in enumerate(pools.items()):
            rng = np.random.default_rng([self.seed, i])
            x, y, source = make_grids(
                images[pool], labels[pool], self.num[split], rng, self.grid, self.min_garments, self.max_garments
            )
            source = np.where(source >= 0, pool[np.maximum(source, 0)], -1)  # index into the original file
            x = torch.from_numpy(x)
            if self.image_size and self.image_size != x.shape[-1]:
                x = resize_uint8(x, self.image_size)
            out[f"{split}_x"], out[f"{split}_y"] = x, torch.from_numpy(y)
            out[f"{split}_source"] = torch.from_numpy(source)
        return out

    def load_splits(self) -> tuple[list[str], dict[str, SplitData]]:
        root = Path(self.root).expanduser()
        files = [find_idx(root, stem) for pair in FILES.values() for stem in pair]  # fail early, with the fix
        params = {
            "files": [(str(f.resolve()), os.stat(f).st_size) for f in files],
            "num": self.num,
            "grid": self.grid,
            "garments": [self.min_garments, self.max_garments],
            "image_size": self.image_size,
            "val_source_fraction": self.val_source_fraction,
            "seed": self.seed,
        }
        data = cached("fashion-grid", params, self._build, self.cache_dir)
        splits = {}
        for split in ("train", "val", "test"):
            y = data[f"{split}_y"]
            ids = [f"{split}-{j}" for j in range(len(y))]
            x = data[f"{split}_x"] if self.channels == 1 else data[f"{split}_x"].repeat(1, 3, 1, 1)
            splits[split] = SplitData(x, y, torch.ones_like(y, dtype=torch.bool), ids)
            self.sources[split] = data[f"{split}_source"].numpy()
        mean, std = channel_stats(splits["train"].x)
        self.transform = ImageTransform(mean, std)
        return list(CLASSES), splits


def resize_uint8(x: torch.Tensor, size: int) -> torch.Tensor:
    """uint8 ``[N, C, H, W]`` to ``size x size`` (bilinear, antialiased), in chunks."""
    out = torch.empty((len(x), x.shape[1], size, size), dtype=torch.uint8)
    for start in range(0, len(x), 4096):
        chunk = x[start : start + 4096].float()
        small = F.interpolate(chunk, size=(size, size), mode="bilinear", antialias=True, align_corners=False)
        out[start : start + 4096] = small.round().clamp(0, 255).to(torch.uint8)
    return out
