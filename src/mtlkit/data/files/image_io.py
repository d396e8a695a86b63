"""Read image files with Pillow into uint8 arrays ``[C, H, W]`` of one size: all at once (threads), or lazily.

``resize``: ``stretch`` (to the size, aspect ratio not kept), ``crop`` (scale, then centre-crop to the size) or
``pad`` (scale to fit inside, pad with black). 16-bit and float images are scaled to 8 bits.
"""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from PIL import Image, ImageOps

from mtlkit.errors import ConfigError, DataError

RESIZE_MODES = ("stretch", "crop", "pad")
GREY_MODES = ("1", "L", "LA", "I", "I;16", "I;16B", "I;16L", "F")  # Pillow modes without colour
AUTO_MAX_SIDE = 128  # a size taken from the images is scaled down to at most this many pixels on its longer side
PROBE_FILES = 1000  # at most this many files' headers are read to choose the size and channels


def image_size(size: int | Sequence[int]) -> tuple[int, int]:
    """``(height, width)`` from one int or a ``[height, width]`` pair."""
    hw = (int(size), int(size)) if isinstance(size, (int, float)) else tuple(int(s) for s in size)
    if len(hw) != 2 or min(hw) < 1:
        raise ConfigError(f"data.image_size must be an int or [height, width] >= 1, got {size!r}")
    return hw  # type: ignore[return-value]


def _to_8bit(im: Image.Image) -> Image.Image:
    if im.mode in ("I;16", "I;16B", "I;16L", "I", "F"):
        a = np.asarray(im, dtype=np.float32)
        top = 65535.0 if a.max(initial=0) > 255 else 255.0
        return Image.fromarray(np.clip(a / top * 255.0 + 0.5, 0, 255).astype(np.uint8), "L")
    return im


def load_image(path: str | Path, size: tuple[int, int], channels: int = 3, resize: str = "stretch") -> np.ndarray:
    """One image file as uint8 ``[channels, height, width]``."""
    h, w = size
    with Image.open(path) as im:
        im = ImageOps.exif_transpose(_to_8bit(im))
        im = im.convert("RGB" if channels == 3 else "L")
        if resize == "stretch":
            im = im.resize((w, h), Image.Resampling.BILINEAR)
        elif resize == "crop":
            im = ImageOps.fit(im, (w, h), Image.Resampling.BILINEAR)
        elif resize == "pad":
            im = ImageOps.pad(im, (w, h), Image.Resampling.BILINEAR, color=0)
        else:
            raise ConfigError(f"data.resize={resize!r}; choose one of {list(RESIZE_MODES)}")
        a = np.asarray(im, dtype=np.uint8)
    return a[None] if a.ndim == 2 else a.transpose(2, 0, 1)


@dataclass
class ImageProbe:
    """What the headers of (a sample of) the image files say: their sizes ``(height, width)`` and colour."""

    sizes: Counter
    colour: int  # files with colour (any mode not in GREY_MODES)
    read: int  # files whose header could be read
    total: int  # files there are

    def channels(self) -> int:
        """1 when every file read is grey-scale, else 3."""
        return 3 if self.colour else 1

    def size(self, max_side: int = AUTO_MAX_SIDE) -> tuple[tuple[int, int], tuple[int, int]]:
        """``(chosen, common)``: the most common size, and that size scaled down (aspect kept) to ``max_side``."""
        (h, w), _ = max(self.sizes.items(), key=lambda kv: (kv[1], kv[0]))
        scale = min(1.0, max_side / max(h, w))
        return (max(1, round(h * scale)), max(1, round(w * scale))), (h, w)


def probe_images(paths: Sequence[str | Path], max_files: int = PROBE_FILES, threads: int = 0) -> ImageProbe:
    """Read the headers (no pixels) of at most ``max_files`` of ``paths``, evenly spaced: sizes and colour."""
    step = max(1, -(-len(paths) // max_files))
    picked = list(paths)[::step]

    def header(path: str | Path) -> tuple[tuple[int, int], bool] | None:
        try:
            with Image.open(path) as im:
                w, h = im.size
                exif = im.getexif().get(0x0112, 1)  # orientation 5-8: exif_transpose swaps the sides
                return ((w, h) if exif in (5, 6, 7, 8) else (h, w)), im.mode not in GREY_MODES
        except Exception:  # noqa: BLE001 - unreadable files are reported when they are decoded
            return None

    with ThreadPoolExecutor(threads or default_threads()) as pool:
        found = [r for r in pool.map(header, picked) if r is not None]
    if not found:
        raise DataError(
            f"none of the {len(picked)} image files checked could be read; set data.image_size and data.channels"
        )
    return ImageProbe(Counter(s for s, _ in found), sum(c for _, c in found), len(found), len(paths))


def check_image_args(channels: int, resize: str) -> None:
    if channels not in (1, 3):
        raise ConfigError(f"data.channels must be 1 (grey) or 3 (RGB), got {channels}")
    if resize not in RESIZE_MODES:
        raise ConfigError(f"data.resize={resize!r}; choose one of {list(RESIZE_MODES)}")


def default_threads() -> int:
    return max(1, min(8, os.cpu_count() or 1))


def load_images(
    paths: Sequence[str | Path], size: tuple[int, int], channels: int = 3, resize: str = "stretch", threads: int = 0
) -> tuple[np.ndarray, np.ndarray]:
    """All images into one uint8 array ``[N, C, H, W]`` (Pillow decodes outside the GIL, so threads help),
    and a bool array that is False where a file could not be read (its pixels are then 0)."""
    out = np.zeros((len(paths), channels, *size), dtype=np.uint8)
    ok = np.ones(len(paths), dtype=bool)

    def work(i: int) -> None:
        try:
            out[i] = load_image(paths[i], size, channels, resize)
        except Exception:  # noqa: BLE001 - any unreadable file is reported by the caller, by name
            ok[i] = False

    with ThreadPoolExecutor(threads or default_threads()) as pool:
        list(pool.map(work, range(len(paths))))
    return out, ok


def readable(path: str | Path) -> bool:
    """True when Pillow recognises the file and its structure checks out (no full decode)."""
    try:
        with Image.open(path) as im:
            im.verify()
        return True
    except Exception:  # noqa: BLE001
        return False


class LazyImages:
    """Image files read on demand, batch by batch: an array-like ``[N, C, H, W]`` of uint8 for
    :class:`~mtlkit.data.base.SplitData` when the images do not fit in memory (``data.in_memory=false``)."""

    def __init__(self, paths: Sequence[str], size: tuple[int, int], channels: int = 3, resize: str = "stretch"):
        self.paths = [str(p) for p in paths]
        self.size, self.channels, self.resize = size, channels, resize

    def __len__(self) -> int:
        return len(self.paths)

    @property
    def shape(self) -> torch.Size:
        return torch.Size((len(self.paths), self.channels, *self.size))

    def __getitem__(self, index) -> torch.Tensor:
        idx = torch.as_tensor(index).reshape(-1).tolist() if not isinstance(index, slice) else range(len(self))[index]
        batch = np.empty((len(idx), self.channels, *self.size), dtype=np.uint8)
        for k, i in enumerate(idx):
            try:
                batch[k] = load_image(self.paths[i], self.size, self.channels, self.resize)
            except Exception as e:  # noqa: BLE001
                raise DataError(f"cannot read image {self.paths[i]} ({type(e).__name__}: {e})") from e
        out = torch.from_numpy(batch)
        return out[0] if isinstance(index, int) else out
