"""``data=molecules`` (and ``data=tox21``, ``data=toxcast``): a CSV or Parquet file with a SMILES column and one
label column per task, featurised with RDKit.

Label cells, the split column, ``data.group_column``, the seeded fraction split and the fitted preprocessing kept
with the run are those of ``data=table`` (:class:`LabelledFileDataModule`). What is added here:

- inputs: Morgan/ECFP fingerprints (bits or counts), RDKit 2D descriptors, or both (``data.features``),
  cached under ``data.cache_dir`` keyed by the file's sha256 and the featuriser settings. Descriptors are
  standardised with the train rows' mean and std (:class:`TablePreprocessing`); a non-finite or huge value
  (> 1e10 in magnitude) counts as missing and becomes the train mean, said in one line; standardised values are
  clipped to +-:data:`CLIP`.
- a SMILES RDKit cannot parse (or a blank one) is refused naming its line, or left out with
  ``data.skip_bad_rows=true`` and counted in one line.
- ``data.split=scaffold`` (Bemis-Murcko scaffolds, largest scaffold sets to train first, then val, then test) or
  ``scaffold_balanced`` (Chemprop's seeded variant); ``random`` is the table's seeded stratified split.
- a missing benchmark file is fetched from ``data.url`` and checked against ``data.sha256`` when online.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch

from mtlkit.data.cache import cached, default_cache_dir
from mtlkit.data.files.frames import Frame, require_columns
from mtlkit.data.files.labelled_file import LabelledFileDataModule
from mtlkit.data.files.labels import NEGATIVE, POSITIVE
from mtlkit.data.files.preprocessing import TablePreprocessing
from mtlkit.data.files.splits import SCAFFOLD_SPLITS, scaffold_split
from mtlkit.data.files.validate import names_preview
from mtlkit.data.molecules.download import ensure_file
from mtlkit.data.molecules.featurize import (
    FeaturizerSettings,
    descriptor_names,
    descriptors,
    fingerprints,
    parse_smiles,
)
from mtlkit.data.molecules.rdkit_import import rdkit_version, require_rdkit
from mtlkit.data.molecules.scaffold import murcko_scaffolds
from mtlkit.errors import ConfigError, DataError

SPLIT_MODES = ("random", *SCAFFOLD_SPLITS)
CLIP = 10.0  # standardised descriptors are clipped to [-CLIP, CLIP]
HUGE = 1e10  # a descriptor value beyond this magnitude counts as missing (RDKit's Ipc reaches 1e30 and more)


class MoleculeDataModule(LabelledFileDataModule):
    """Molecules from a user's file of SMILES; see the module docstring for the rules.

    Args:
        smiles_column: the column of SMILES strings.
        features: ``ecfp``, ``ecfp_counts``, ``descriptors``, or a fingerprint and descriptors joined by ``+``.
        ecfp_radius, ecfp_size: the Morgan radius (2 = ECFP4) and the fingerprint's length in bits.
        split: ``random`` (seeded, stratified), ``scaffold`` or ``scaffold_balanced``; a split column wins.
        skip_bad_rows: leave out rows whose SMILES RDKit cannot parse (counted) instead of failing.
        cache_dir: where features are cached (``null``: never; ``default``: ``$MTLKIT_CACHE_DIR``).
        url, sha256: where a missing ``path`` is fetched from when online, and the sum it must have.
        **kwargs: :class:`LabelledFileDataModule` arguments (path, label_columns, group_column, seed, ...).
    """

    name = "molecules"

    def __init__(
        self,
        smiles_column: str = "smiles",
        features: str = "ecfp",
        ecfp_radius: int = 2,
        ecfp_size: int = 2048,
        split: str = "random",
        skip_bad_rows: bool = False,
        cache_dir: str | None = None,
        url: str | None = None,
        sha256: str | None = None,
        **kwargs,
    ):
        super().__init__(**kwargs)
        require_rdkit(f"data={self.name}")
        if split not in SPLIT_MODES:
            raise ConfigError(f"data.split={split!r}; choose one of {list(SPLIT_MODES)}")
        if split in SCAFFOLD_SPLITS and self.group_column:
            raise ConfigError(
                f"data.split={split} groups molecules by scaffold and data.group_column={self.group_column!r} by "
                "that column; use one: data.group_column=null or data.split=random"
            )
        self.smiles_column = smiles_column
        self.settings = FeaturizerSettings.parse(features, ecfp_radius, ecfp_size)
        self.split = split
        self.skip_bad_rows = skip_bad_rows
        self.cache_dir = default_cache_dir() if cache_dir == "default" else cache_dir
        self.url = url
        self.sha256 = sha256
        self.preprocessing: TablePreprocessing | None = None  # of the descriptors
        self.descriptor_names: list[str] = []
        self.feature_names: list[str] = []
        self._features: dict[str, np.ndarray] = {}
        self._scaffolds: list[str] = []

    # -- the file and its columns -------------------------------------------------------------------
    def load_splits(self):
        ensure_file(self.path, self.url, self.sha256)
        return super().load_splits()

    def reserved_columns(self, frame: Frame) -> list[str]:
        require_columns(frame, [self.smiles_column], "data.smiles_column")
        return [self.smiles_column, *super().reserved_columns(frame)]

    def default_label_columns(self, frame: Frame, reserved: Sequence[str]) -> list[str]:
        tasks = self.columns_besides(frame, reserved)
        self.info(f"label columns: all columns but {list(reserved)}: {names_preview(tasks)} (data.label_columns)")
        return tasks

    def row_ids(self, frame: Frame) -> list[str]:
        """The id column where the file has one, else each row's SMILES (what predictions are written with)."""
        if self.id_column and self.id_column in frame.data.columns:
            return super().row_ids(frame)
        return frame.data[self.smiles_column].astype(str).str.strip().tolist()

    # -- molecules: parsed, checked, featurised (cached) ----------------------------------------------
    def usable_rows(self, frame: Frame) -> np.ndarray:
        """Featurise every row (or load the cache); rows whose SMILES does not parse fail or are left out."""
        require_columns(frame, [self.smiles_column], "data.smiles_column")
        cells = frame.data[self.smiles_column]
        params = {
            "file_sha256": file_sha256(frame.path),
            "smiles_column": self.smiles_column,
            "features": self.settings.to_dict(),
            "rdkit": rdkit_version(),
        }

        def build() -> dict[str, torch.Tensor]:
            mols = parse_smiles(cells.tolist())
            ok = np.array([m is not None for m in mols], dtype=bool)
            self.check_parsed(frame, ok, say=False)  # refuse before the expensive part
            good = [m for m in mols if m is not None]
            out = {"ok": torch.from_numpy(ok)}
            if self.settings.fingerprint:
                fps = np.zeros((len(mols), self.settings.fp_size), dtype=np.uint8)
                fps[ok] = fingerprints(good, self.settings)
                out["fingerprints"] = torch.from_numpy(fps)
            if self.settings.descriptors:
                desc = np.full((len(mols), len(descriptor_names())), np.nan)
                desc[ok] = descriptors(good, descriptor_names())
                out["descriptors"] = torch.from_numpy(desc)
            if self.split in SCAFFOLD_SPLITS:
                out["scaffolds"] = murcko_scaffolds(good)
            return out

        if self.split in SCAFFOLD_SPLITS:
            params["scaffolds"] = True
        data = cached("molecules", params, build, self.cache_dir)
        ok = data["ok"].numpy()
        self.check_parsed(frame, ok)
        self._features = {k: data[k].numpy()[ok] for k in ("fingerprints", "descriptors") if k in data}
        self._scaffolds = list(data.get("scaffolds", []))
        return ok

    def check_parsed(self, frame: Frame, ok: np.ndarray, say: bool = True) -> None:
        """Refuse rows whose SMILES is blank or does not parse (naming them), or (``say``) say how many are left
        out."""
        if ok.all():
            return
        bad = np.nonzero(~ok)[0]
        cells = frame.data[self.smiles_column]
        first = ", ".join(f"{frame.unit} {int(frame.numbers[i])} {_cell(cells.iloc[i])!r}" for i in bad[:3])
        more = f" and {len(bad) - 3} more" if len(bad) > 3 else ""
        column = f"column {self.smiles_column!r}"
        what = f"{len(bad)} of {len(ok)} SMILES in {frame.path}, {column}, cannot be parsed by RDKit"
        if len(bad) == len(ok):
            raise DataError(f"{what} (all of them: {first}{more}); is data.smiles_column the SMILES column?")
        if not self.skip_bad_rows:
            raise DataError(f"{what}: {first}{more}; fix them, or leave those rows out with data.skip_bad_rows=true")
        if say:
            self.info(f"warning: {what} ({first}{more}): left out (data.skip_bad_rows=true)", style="yellow")

    def split_by_fractions(self, frame: Frame, codes: np.ndarray, groups: np.ndarray | None) -> np.ndarray:
        if self.split not in SCAFFOLD_SPLITS:
            return super().split_by_fractions(frame, codes, groups)
        balanced = self.split == "scaffold_balanced"
        split = scaffold_split(self._scaffolds, self.fractions, balanced, self.seed)
        fr = "/".join(f"{f:g}" for f in self.fractions)
        how = f"seeded by data.seed={self.seed}" if balanced else "largest scaffold sets to train, then val, then test"
        n_sets = len(set(self._scaffolds))
        self.split_source = f"{self.split} {fr} over {n_sets} Bemis-Murcko scaffolds ({how})"
        self.check_train_labelled(codes, split == 0)
        return split

    def check_train_labelled(self, codes: np.ndarray, train: np.ndarray) -> None:
        """Fail when a task has no labelled entry in the train rows: nothing to learn it from."""
        labelled = np.isin(codes[train], (POSITIVE, NEGATIVE)).any(0)
        empty = [t for t, has in zip(self.label_names, labelled) if not has]
        if empty:
            raise DataError(
                f"{self.path}: task(s) {names_preview(empty)} have no labelled entry in the train rows of "
                f"data.split={self.split}; leave them out (data.label_columns) or use data.split=random"
            )

    def build_inputs(self, frame: Frame, split: np.ndarray) -> list[torch.Tensor]:
        blocks, names = [], []
        fps = self._features.get("fingerprints")
        if fps is not None:
            blocks.append(fps.astype(np.float32))
            names += [f"{self.settings.fingerprint}_{i}" for i in range(fps.shape[1])]
        desc = self._features.get("descriptors")
        if desc is not None:
            blocks.append(self.standardized_descriptors(frame, desc, split == 0))
            names += self.descriptor_names
        self._features = {}
        x = np.concatenate(blocks, axis=1) if len(blocks) > 1 else blocks[0]
        self.feature_names = names
        how = "+".join(self.settings.kinds)
        radius = f", radius {self.settings.radius}" if fps is not None else ""
        self.info(f"molecules {frame.path}: {x.shape[1]} inputs per molecule ({how}{radius})")
        return [torch.from_numpy(x[split == s]) for s in range(3)]

    def standardized_descriptors(self, frame: Frame, values: np.ndarray, train: np.ndarray) -> np.ndarray:
        """Descriptors standardised with the train statistics (fitted here, or the run's); missing values (non-finite
        or huge) become the train mean, said in one line; the result is clipped to +-CLIP."""
        names = self.descriptor_names or descriptor_names()
        values = np.where(np.isfinite(values) & (np.abs(values) < HUGE), values, np.nan)
        missing = np.isnan(values)
        if self.preprocessing is None:  # training: the train mean fills the gaps, then mean and std are fitted
            with np.errstate(all="ignore"):
                fill = np.nan_to_num(np.nanmean(np.where(train[:, None], values, np.nan), axis=0), nan=0.0)
            values = np.where(missing, fill, values)
            table = Frame(pd.DataFrame(values, columns=names), frame.path, frame.numbers, frame.unit)
            self.preprocessing = TablePreprocessing.fit(table, names, {}, train, True)
            self.descriptor_names = list(names)
        else:
            values = np.where(missing, np.asarray(self.preprocessing.mean), values)
        if missing.any():
            cols = [names[j] for j in np.nonzero(missing.any(0))[0]]
            self.info(
                f"note: {int(missing.sum())} descriptor value(s) that are not finite or beyond 1e10 in "
                f"{len(cols)} descriptor(s) ({names_preview(cols, 3)}) are set to the train mean",
                style="yellow",
            )
        table = Frame(pd.DataFrame(values, columns=names), frame.path, frame.numbers, frame.unit)
        return np.clip(self.preprocessing.transform(table), -CLIP, CLIP)

    # -- the fitted preprocessing, kept with the run ----------------------------------------------
    def fitted_inputs(self) -> dict[str, Any]:
        return {
            "smiles_column": self.smiles_column,
            "featurizer": self.settings.to_dict(),
            "descriptors": None if self.preprocessing is None else self.preprocessing.to_dict(),
        }

    def use_fitted_inputs(self, inputs: Mapping[str, Any]) -> None:
        self.settings = FeaturizerSettings.from_dict(inputs["featurizer"])
        saved = inputs.get("descriptors")
        self.preprocessing = None if saved is None else TablePreprocessing.from_dict(saved)
        self.descriptor_names = [] if saved is None else list(saved["numeric"])
        if self.split in SCAFFOLD_SPLITS and self.whole_file:
            self.split = "random"  # the whole file is predicted: no scaffolds needed


def file_sha256(path: str | Path) -> str:
    """The sha256 of a file's bytes (the features cache's key)."""
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _cell(value: object) -> str:
    return "" if value is None or (isinstance(value, float) and np.isnan(value)) else str(value)
