"""``data=images``: a CSV or Parquet file with an image-path column and label columns.

Paths are relative to ``data.root`` (default: the folder of the file); absolute paths are used as they are.
Images are read with Pillow, converted to ``data.channels`` (3 RGB or 1 grey), resized to ``data.image_size`` and
normalised per channel with the train images' mean and std (or ``data.mean`` / ``data.std``); the size, channels,
resize mode, mean and std are kept with the run, and ``mtlkit-predict`` applies them to any file. Left unset (null, the
default), the size and channels come from the images' headers (:func:`~mtlkit.data.files.image_io.probe_images`):
the most common size, scaled down to at most 128 px on its longer side, and 1 channel when every image is grey;
the choice is printed.

By default (``data.in_memory=true``) every image is decoded once at start-up (in threads) into one uint8 tensor
``[N, C, H, W]``, cached under ``data.cache_dir`` keyed by the files' names, sizes and modification times, and
batches are cut from it with one index operation: the fastest choice whenever ``N * C * H * W`` bytes fit in
memory (10,000 RGB images at 64 x 64 take 123 MB). With ``data.in_memory=false`` each batch reads its files
when it is fetched (use ``data.num_workers`` to read in parallel); the files are only checked at start-up.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch

from mtlkit.data.augment import ImageTransform, channel_stats
from mtlkit.data.cache import cached, default_cache_dir
from mtlkit.data.files.frames import Frame, require_columns
from mtlkit.data.files.image_io import (
    AUTO_MAX_SIDE,
    LazyImages,
    check_image_args,
    image_size,
    load_images,
    probe_images,
    readable,
)
from mtlkit.data.files.labelled_file import LabelledFileDataModule
from mtlkit.data.files.validate import report_bad_images
from mtlkit.errors import ConfigError

STATS_SAMPLE = 512  # train images used for mean/std when images are read lazily


class ImageDataModule(LabelledFileDataModule):
    """Images named in a user's file, with one label column per task.

    Args:
        root: folder the paths are relative to (default: the file's folder).
        path_column: the column of image paths.
        image_size: ``int`` or ``[height, width]`` the images are resized to (``None``: from the images).
        channels: 3 (RGB) or 1 (grey) (``None``: 1 when every image is grey, else 3).
        resize: ``stretch``, ``crop`` (centre crop after scaling) or ``pad`` (black borders).
        in_memory: decode everything at start-up (fast) or read each batch from disk.
        mean, std: per-channel normalisation in [0, 1] units (default: measured on the train images).
        normalize: ``data`` (``mean``/``std``, or measured) or ``model``: the pretrained model's statistics, filled
            into ``mean``/``std`` before the data are built (:mod:`mtlkit.data.model_normalization`); grey images
            take the mean of the three RGB values.
        augment: training augmentations, a subset of ``hflip, vflip, shift, brightness``.
        shift: largest ``shift`` translation, as a fraction of the image size.
        skip_bad_images: leave out rows whose image is missing or unreadable (default: fail, naming them).
        cache_dir: where decoded images are cached (``null``: no cache; ``default``: ``$MTLKIT_CACHE_DIR``).
        threads: decoding threads (0: up to 8, one per core).
        **kwargs: :class:`LabelledFileDataModule` arguments (path, label_columns, splits, uncertain, ...).
    """

    name = "images"
    input_keys = {"channels": "channels", "size": "image_size"}

    @classmethod
    def planned_input_shape(cls, config: Mapping[str, Any]) -> tuple[int | None, ...] | None:
        size = config.get("image_size")
        h, w = _image_size(size) if size is not None else (None, None)
        channels = config.get("channels")
        return (None if channels is None else int(channels), h, w)

    def __init__(
        self,
        root: str | None = None,
        path_column: str = "path",
        image_size: int | Sequence[int] | None = None,
        channels: int | None = None,
        resize: str = "stretch",
        in_memory: bool = True,
        mean: Sequence[float] | None = None,
        std: Sequence[float] | None = None,
        normalize: str = "data",
        augment: Sequence[str] = (),
        shift: float = 0.1,
        skip_bad_images: bool = False,
        cache_dir: str | None = None,
        threads: int = 0,
        **kwargs,
    ):
        super().__init__(**kwargs)
        check_image_args(3 if channels is None else channels, resize)
        self.root = root
        self.path_column = path_column
        self.size: tuple[int, int] | None = None if image_size is None else _image_size(image_size)
        self.channels: int | None = channels
        self._chosen: dict[str, Any] = {}
        self.resize = resize
        self.in_memory = in_memory
        if normalize not in ("data", "model"):
            raise ConfigError(f"data.normalize={normalize}: choose data (the images' mean/std) or model (model=timm)")
        self.normalize = normalize
        self.mean, self.std = mean, std
        if channels is not None:
            self.check_stats()
        self.augment = list(augment or [])
        self.shift = shift
        ImageTransform([0.0], [1.0], self.augment, shift)  # checks the names early
        self.skip_bad_images = skip_bad_images
        self.cache_dir = default_cache_dir() if cache_dir == "default" else cache_dir
        self.threads = threads
        self._pixels: np.ndarray | None = None
        self._paths: list[str] = []

    def check_stats(self) -> None:
        if self.normalize == "model" and self.channels == 1:  # RGB statistics of the weights, for grey images
            self.mean = [sum(self.mean) / 3] if self.mean is not None and len(self.mean) == 3 else self.mean
            self.std = [sum(self.std) / 3] if self.std is not None and len(self.std) == 3 else self.std
        for key, v in (("data.mean", self.mean), ("data.std", self.std)):
            if v is not None and len(v) != self.channels:
                raise ConfigError(f"{key} needs {self.channels} values (one per channel), got {list(v)}")

    def chosen_settings(self) -> dict[str, Any]:
        """The settings left unset and taken from the images (``image_size``, ``channels``), after setup.

        They stay null in the run's config: ``mtlkit-predict`` and ``resume=`` make the same choice from the same
        files, and a resumed run's config still equals its checkpoint's.
        """
        return dict(self._chosen)

    def choose_shape(self, paths: list[str]) -> None:
        """Size and channels left unset: from the images' headers, printed with the override that changes them."""
        probe = probe_images(paths, threads=self.threads)
        sample = f"{probe.read} images" if probe.read == probe.total else f"a sample of {probe.read} of {probe.total}"
        notes = []
        if self.size is None:
            self.size, (h, w) = probe.size()
            self._chosen["image_size"] = list(self.size)
            n = probe.sizes[(h, w)]
            how = "every image read" if n == probe.read else f"the most common size, {n} of {probe.read} images"
            if self.size != (h, w):
                how += f", scaled down to {AUTO_MAX_SIDE} px on the longer side (data.image_size=[{h},{w}]: full size)"
            elif n != probe.read:
                how += f"; the others are resized to it (data.resize={self.resize})"
            notes.append(f"image size {self.size[0]}x{self.size[1]} ({how})")
        if self.channels is None:
            self.channels = probe.channels()
            self._chosen["channels"] = self.channels
            how = {0: "every image read is grey", probe.read: "every image read is in colour"}.get(
                probe.colour, f"{probe.colour} of {probe.read} images are in colour"
            )
            notes.append(f"{self.channels} channel{'s' if self.channels > 1 else ''} ({how})")
            self.check_stats()
        keys = " and ".join(f"data.{k}" for k in self._chosen)
        self.info(f"{keys} not set: from {sample}: {'; '.join(notes)}. Set {keys} to choose.")

    def reserved_columns(self, frame: Frame) -> list[str]:
        require_columns(frame, [self.path_column], "data.path_column")
        return [self.path_column, *super().reserved_columns(frame)]

    def default_label_columns(self, frame: Frame, reserved: Sequence[str]) -> list[str]:
        tasks = self.columns_besides(frame, reserved)
        self.info(f"label columns: all columns but {list(reserved)}: {tasks} (set data.label_columns to choose)")
        return tasks

    def image_root(self, frame: Frame) -> Path:
        return Path(self.root).expanduser() if self.root else frame.path.parent

    def usable_rows(self, frame: Frame) -> np.ndarray:
        """Check every image: blank or missing paths, unreadable files; fail or skip them."""
        root = self.image_root(frame)
        cells = frame.data[self.path_column]
        names = cells.astype(object).where(cells.notna(), "").astype(str).str.strip().tolist()
        paths = [str(root / n) if n else "" for n in names]
        exists = np.array([bool(p) and os.path.isfile(p) for p in paths], dtype=bool)
        if (self.size is None or self.channels is None) and exists.any():
            self.choose_shape([p for p, e in zip(paths, exists) if e])
        self.size, self.channels = self.size or (64, 64), self.channels or 3  # no image at all: reported below
        if self.in_memory:
            pixels, ok = self.decode(paths, exists)
        else:
            pixels = None
            ok = exists.copy()
            ok[exists] = [readable(p) for p, e in zip(paths, exists) if e]
        bad = {
            "missing": [(i, names[i] or "(blank path)") for i in np.nonzero(~exists)[0]],
            "unreadable": [(i, names[i]) for i in np.nonzero(exists & ~ok)[0]],
        }
        if not ok.all():
            warning = report_bad_images(bad, frame, root, self.skip_bad_images, len(ok))
            self.info(f"warning: {warning}", style="yellow")
        self._pixels = None if pixels is None else pixels[ok]
        self._paths = [p for p, k in zip(paths, ok) if k]
        return ok

    def decode(self, paths: list[str], exists: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Decode the existing files (or load them from the cache); the rest are marked not ok."""
        present = [p for p, e in zip(paths, exists) if e]
        stats = [(os.path.abspath(p), *_stat(p)) for p in present]
        params = {"files": stats, "size": self.size, "channels": self.channels, "resize": self.resize}

        def build() -> dict[str, torch.Tensor]:
            pixels, ok = load_images(present, self.size, self.channels, self.resize, self.threads)
            return {"pixels": torch.from_numpy(pixels), "ok": torch.from_numpy(ok)}

        data = cached("images", params, build, self.cache_dir)
        pixels = np.zeros((len(paths), self.channels, *self.size), dtype=np.uint8)
        ok = np.zeros(len(paths), dtype=bool)
        pixels[exists] = data["pixels"].numpy()
        ok[exists] = data["ok"].numpy()
        return pixels, ok

    def build_inputs(self, frame: Frame, split: np.ndarray) -> list:
        if self.in_memory:
            pixels = torch.from_numpy(self._pixels)
            xs = [pixels[torch.from_numpy(split == s)] for s in range(3)]
            train_for_stats = xs[0]
        else:
            xs = [
                LazyImages([p for p, k in zip(self._paths, split == s) if k], self.size, self.channels, self.resize)
                for s in range(3)
            ]
            n = len(xs[0])
            pick = np.random.default_rng(self.seed).choice(n, size=min(n, STATS_SAMPLE), replace=False)
            train_for_stats = xs[0][torch.from_numpy(np.sort(pick))]
        self._pixels = None
        if self.mean is None or self.std is None:
            mean, std = channel_stats(train_for_stats)
            self.mean = self.mean if self.mean is not None else mean
            self.std = self.std if self.std is not None else std
        self.transform = ImageTransform(self.mean, self.std)
        self.train_transform = ImageTransform(self.mean, self.std, self.augment, self.shift) if self.augment else None
        h, w = self.size
        how = "in memory" if self.in_memory else "read per batch"
        aug = f", train augmentation {self.augment}" if self.augment else ""
        self.info(
            f"images under {self.image_root(frame)}: {len(split)} at {self.channels}x{h}x{w} ({how}), "
            f"normalised with mean {_fmt(self.mean)} std {_fmt(self.std)}{aug}"
        )
        return xs

    # -- the fitted preprocessing, kept with the run ----------------------------------------------
    def fitted_inputs(self) -> dict[str, Any]:
        return {
            "image_size": list(self.size or ()),
            "channels": self.channels,
            "resize": self.resize,
            "mean": [float(v) for v in self.mean or ()],
            "std": [float(v) for v in self.std or ()],
        }

    def use_fitted_inputs(self, inputs: Mapping[str, Any]) -> None:
        self.size, self.channels, self.resize = _image_size(inputs["image_size"]), inputs["channels"], inputs["resize"]
        self.mean, self.std = list(inputs["mean"]), list(inputs["std"])


def _image_size(size) -> tuple[int, int]:
    return image_size(list(size) if not isinstance(size, (int, float)) else size)


def _stat(path: str) -> tuple[int, int]:
    st = os.stat(path)
    return st.st_size, st.st_mtime_ns


def _fmt(values: Sequence[float]) -> str:
    return "[" + ", ".join(f"{v:.3f}" for v in values) + "]"
