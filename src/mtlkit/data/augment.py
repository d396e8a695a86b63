"""Batch image transforms in plain torch (no torchvision): scaling to normalised floats, and light training
augmentation drawn independently for every image of the batch.

Augmentations (``data.augment``, a list of names):

- ``hflip`` / ``vflip``: mirror left-right / top-bottom with probability 1/2 (leave out where orientation
  carries meaning: text, laterality in X-rays);
- ``shift``: translate by up to ``data.shift`` of the height and width, filling with the edge pixels;
- ``brightness``: scale intensities by a factor in [0.8, 1.2] and add an offset in [-0.1, 0.1] (images in [0, 1]).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch
import torch.nn.functional as F

from mtlkit.errors import ConfigError

AUGMENTATIONS = ("hflip", "vflip", "shift", "brightness")


def channel_stats(images: torch.Tensor | np.ndarray, chunk: int = 2048) -> tuple[list[float], list[float]]:
    """Per-channel mean and std of uint8 images ``[N, C, H, W]`` in [0, 1] units, in chunks (float64 sums)."""
    images = torch.as_tensor(images)
    c = images.shape[1]
    s = torch.zeros(c, dtype=torch.float64)
    s2 = torch.zeros(c, dtype=torch.float64)
    n = 0
    for start in range(0, len(images), chunk):
        x = images[start : start + chunk].to(torch.float64) / 255.0
        s += x.sum((0, 2, 3))
        s2 += (x * x).sum((0, 2, 3))
        n += x.numel() // c
    mean = s / max(n, 1)
    std = (s2 / max(n, 1) - mean * mean).clamp_min(0).sqrt().clamp_min(1e-3)
    return mean.tolist(), std.tolist()


class ImageScale:
    """uint8 images [B, C, H, W] -> float, scaled to roughly zero mean and unit variance."""

    def __init__(self, mean: float = 0.5, std: float = 0.25):
        self.mean, self.std = mean, std

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        return (x.float() / 255.0 - self.mean) / self.std


class ImageTransform:
    """uint8 ``[B, C, H, W]`` -> float in [0, 1] -> augmentations (if any) -> ``(x - mean) / std`` per channel."""

    def __init__(self, mean: Sequence[float], std: Sequence[float], augment: Sequence[str] = (), shift: float = 0.1):
        unknown = sorted(set(augment) - set(AUGMENTATIONS))
        if unknown:
            raise ConfigError(f"data.augment has unknown augmentation(s) {unknown}; choose from {list(AUGMENTATIONS)}")
        if not 0 <= shift < 0.5:
            raise ConfigError(f"data.shift must lie in [0, 0.5), got {shift}")
        self.mean = torch.tensor(mean, dtype=torch.float32).view(1, -1, 1, 1)
        self.std = torch.tensor(std, dtype=torch.float32).view(1, -1, 1, 1)
        self.augment = list(augment)
        self.shift = shift

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        x = x.float() / 255.0 if x.dtype == torch.uint8 else x.float()
        for op in self.augment:
            x = getattr(self, f"_{op}")(x)
        return (x - self.mean) / self.std

    @staticmethod
    def _coin(x: torch.Tensor) -> torch.Tensor:
        return (torch.rand(len(x)) < 0.5).view(-1, 1, 1, 1)

    def _hflip(self, x: torch.Tensor) -> torch.Tensor:
        return torch.where(self._coin(x), x.flip(-1), x)

    def _vflip(self, x: torch.Tensor) -> torch.Tensor:
        return torch.where(self._coin(x), x.flip(-2), x)

    def _brightness(self, x: torch.Tensor) -> torch.Tensor:
        b = len(x)
        gain = torch.empty(b, 1, 1, 1).uniform_(0.8, 1.2)
        offset = torch.empty(b, 1, 1, 1).uniform_(-0.1, 0.1)
        return (x * gain + offset).clamp(0, 1)

    def _shift(self, x: torch.Tensor) -> torch.Tensor:
        b, c, h, w = x.shape
        ph, pw = int(round(self.shift * h)), int(round(self.shift * w))
        if ph == 0 and pw == 0:
            return x
        padded = F.pad(x, (pw, pw, ph, ph), mode="replicate")
        dy = torch.randint(0, 2 * ph + 1, (b,))
        dx = torch.randint(0, 2 * pw + 1, (b,))
        rows = (dy[:, None] + torch.arange(h)[None, :]).view(b, 1, h, 1).expand(b, c, h, w + 2 * pw)
        x = padded.gather(2, rows)
        cols = (dx[:, None] + torch.arange(w)[None, :]).view(b, 1, 1, w).expand(b, c, h, w)
        return x.gather(3, cols)
