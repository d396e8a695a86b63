"""The shared part of ``data=table`` and ``data=images``: a CSV or Parquet file with one row per example and one
label column per task, read, checked, split and turned into :class:`SplitData`.

Subclasses say which rows are usable (:meth:`LabelledFileDataModule.usable_rows`) and how a row becomes an input
(:meth:`LabelledFileDataModule.build_inputs`).

What a run fits on its train rows (feature statistics, categories, image size and normalisation) is kept with the
run: in every checkpoint (this data module's ``state_dict``, key :data:`PREPROCESSING_KEY`) and in the run folder's
``preprocessing.json``. ``mtlkit-predict`` gives it back (:meth:`LabelledFileDataModule.use_fitted`), so that any
file, labelled or not, becomes the model's inputs exactly as in training.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch

from mtlkit.console import get_console
from mtlkit.data.base import SPLITS, MultiLabelDataModule, SplitData
from mtlkit.data.files.frames import Frame, read_frame, require_columns, resolve_columns
from mtlkit.data.files.labels import UNCERTAIN, UNKNOWN, check_policy, labels_from_codes, parse_label_frame
from mtlkit.data.files.splits import check_fractions, fraction_split, split_from_column
from mtlkit.data.files.validate import check_tasks_labelled
from mtlkit.errors import ConfigError, DataError

PREPROCESSING_KEY = "preprocessing"  # in this data module's checkpoint state
PREPROCESSING_FILE = "preprocessing.json"  # in the run folder, for people


class LabelledFileDataModule(MultiLabelDataModule):
    """A user's file of examples with partially labelled tasks.

    Args:
        path: the CSV (``.csv``, ``.tsv``, optionally ``.gz``) or Parquet file.
        label_columns: the task columns: a list of names and/or glob patterns (``[a,b,c]``, ``label_*``).
        id_column: a column of example ids (never a feature or label); used when the file has it.
        split_column: a column of ``train``/``val``/``test`` cells; used when the file has it. A split absent
            from it (no ``val`` rows, say) is carved out of the train rows: ``val_fraction`` of them.
        group_column: rows sharing a value of this column (e.g. a patient id) stay in one split.
        uncertain: what a ``-1`` cell becomes in train: ``ignore`` (left out, like "?"), ``zeros``, ``ones``.
        uncertain_eval: the same for val and test (default ``ignore``: metrics only on certain labels);
            ``null`` uses ``uncertain``.
        val_fraction, test_fraction: split fractions when there is no split column.
        stratify: stratify the fraction split over the observed labels (iterative stratification).
        **kwargs: :class:`MultiLabelDataModule` arguments (tasks, batch sizes, missing_rate, seed, ...).
    """

    name = "file"

    def __init__(
        self,
        path: str,
        label_columns: str | Sequence[str] | None = None,
        id_column: str | None = "id",
        split_column: str | None = "split",
        group_column: str | None = None,
        uncertain: str = "ignore",
        uncertain_eval: str | None = "ignore",
        val_fraction: float = 0.1,
        test_fraction: float = 0.1,
        stratify: bool = True,
        **kwargs,
    ):
        kwargs.setdefault("missing_rate", 0.0)
        super().__init__(**kwargs)
        if not path:
            raise ConfigError(f"data.path is not set; run with data={self.name} data.path=<your .csv or .parquet file>")
        check_policy(uncertain, "data.uncertain")
        if uncertain_eval is not None:
            check_policy(uncertain_eval, "data.uncertain_eval")
        check_fractions([1 - val_fraction - test_fraction, val_fraction, test_fraction])
        self.path = path
        self.label_columns = label_columns
        self.id_column = id_column
        self.split_column = split_column
        self.group_column = group_column
        self.uncertain = uncertain
        self.uncertain_eval = uncertain if uncertain_eval is None else uncertain_eval
        self.fractions = [1 - val_fraction - test_fraction, val_fraction, test_fraction]
        self.stratify = stratify
        self.split_source = ""
        self.has_uncertain = False
        self.label_names: list[str] = []
        self.fitted: dict[str, Any] | None = None  # a trained run's preprocessing, applied instead of fitting
        self.whole_file = False

    # -- hooks for subclasses -----------------------------------------------------------------------
    def default_label_columns(self, frame: Frame, reserved: Sequence[str]) -> list[str]:
        """Label columns when ``label_columns`` is not set; by default that is an error."""
        raise ConfigError(
            f"data.label_columns is not set: name the task columns of {frame.path}, e.g. "
            f"data.label_columns=[{','.join(c for c in list(frame.data.columns)[:3])}] or a pattern like "
            f"data.label_columns='label_*'"
        )

    def columns_besides(self, frame: Frame, reserved: Sequence[str]) -> list[str]:
        """Every column of ``frame`` not in ``reserved``, as label columns for sources that take them all by default
        (images, molecules); a file with none fails in one line."""
        tasks = [c for c in frame.data.columns if c not in reserved]
        if not tasks:
            raise ConfigError(f"{frame.path} has no label column besides {list(reserved)}; add one column per task")
        return tasks

    def usable_rows(self, frame: Frame) -> np.ndarray | None:
        """A bool mask of the rows to keep (e.g. rows whose image can be read), or None for all."""
        return None

    def build_inputs(self, frame: Frame, split: np.ndarray) -> list:
        """The inputs of each split (train, val, test), from the rows where ``split == 0, 1, 2``."""
        raise NotImplementedError

    def fitted_inputs(self) -> dict[str, Any]:
        """What :meth:`build_inputs` fitted on the train rows (JSON-able), after setup."""
        raise NotImplementedError

    def use_fitted_inputs(self, inputs: Mapping[str, Any]) -> None:
        """Take ``inputs`` (from :meth:`fitted_inputs` of a trained run) instead of fitting them again."""
        raise NotImplementedError

    # -- the fitted preprocessing, kept with the run ------------------------------------------------
    def fitted_preprocessing(self) -> dict[str, Any]:
        """The file, its label columns and the fitted inputs: what a checkpoint keeps for ``mtlkit-predict``."""
        return {
            "data": self.name,
            "file": str(Path(self.path).expanduser().resolve()),
            "label_columns": list(self.label_names),
            "inputs": self.fitted_inputs(),
        }

    def use_fitted(self, preprocessing: Mapping[str, Any], whole_file: bool = False) -> None:
        """Before setup: turn this file into inputs with a trained run's ``preprocessing`` (by column name) instead
        of fitting on its train rows. Label columns become optional. With ``whole_file`` every row goes to the test
        split, in file order (the split column and fractions are not used)."""
        if preprocessing.get("data") != self.name:
            raise ConfigError(
                f"the run's preprocessing is for data={preprocessing.get('data')}, not data={self.name}; "
                f"predict with data={preprocessing.get('data')}"
            )
        self.fitted = dict(preprocessing)
        self.whole_file = whole_file
        self.use_fitted_inputs(preprocessing["inputs"])

    def state_dict(self) -> dict:
        state = super().state_dict()
        if self.splits:
            state[PREPROCESSING_KEY] = self.fitted_preprocessing()
        return state

    # -- loading ------------------------------------------------------------------------------------
    def reserved_columns(self, frame: Frame) -> list[str]:
        """Columns that are neither features nor labels: id, split and group columns."""
        if self.group_column and not self.whole_file:  # the whole file is predicted: groups do not matter
            require_columns(frame, [self.group_column], "data.group_column")
        optional = [c for c in (self.id_column, self.split_column, self.group_column) if c and c in frame.data.columns]
        return optional

    def load_splits(self) -> tuple[list[str], dict[str, SplitData]]:
        frame = read_frame(self.path)
        if self.fitted is None:
            tasks = self.resolve_label_columns(frame)
            codes = parse_label_frame(frame.data, tasks, frame.where)
        else:
            tasks, codes = self.optional_labels(frame)
        self.label_names = list(tasks)
        keep = self.usable_rows(frame)
        if keep is not None and not keep.all():
            frame, codes = frame.take(keep), codes[keep]
        if self.fitted is None:
            _, mask, unc = labels_from_codes(codes, self.uncertain)
            check_tasks_labelled(mask, unc, tasks, frame)
        self.has_uncertain = bool((codes == UNCERTAIN).any())
        if self.whole_file:
            split = np.full(len(frame), 2)
            self.split_source = "every row of the file (predicted as test)"
        else:
            split = self.assign_splits(frame, codes)
        inputs = self.build_inputs(frame, split)
        ids = self.row_ids(frame)
        splits = {}
        for s, name in enumerate(SPLITS):
            rows = np.nonzero(split == s)[0]
            policy = self.uncertain if name == "train" else self.uncertain_eval
            y, mask, unc = labels_from_codes(codes[rows], policy)
            splits[name] = SplitData(
                inputs[s],
                torch.from_numpy(y),
                torch.from_numpy(mask),
                [ids[i] for i in rows],
                torch.from_numpy(unc) if self.has_uncertain else None,
            )
        if self.fitted is None:
            self.warn_undefined(splits, tasks)
        return tasks, splits

    def resolve_label_columns(self, frame: Frame) -> list[str]:
        """The task columns ``label_columns`` names (or the subclass's default), none of them reserved."""
        reserved = self.reserved_columns(frame)
        if self.label_columns is None or (not isinstance(self.label_columns, str) and not self.label_columns):
            tasks = self.default_label_columns(frame, reserved)
        else:
            tasks = resolve_columns(frame, self.label_columns, "data.label_columns")
        clash = [t for t in tasks if t in reserved]
        if clash:
            raise ConfigError(f"column(s) {clash} are both label columns and id/split/group columns; pick one role")
        return tasks

    def optional_labels(self, frame: Frame) -> tuple[list[str], np.ndarray]:
        """The trained run's label columns and their codes, unknown where the file lacks the column (predicting)."""
        assert self.fitted is not None
        tasks = list(self.fitted["label_columns"])
        present = [t for t in tasks if t in frame.data.columns]
        codes = np.full((len(frame), len(tasks)), UNKNOWN, dtype=np.int8)
        if present:
            codes[:, [tasks.index(t) for t in present]] = parse_label_frame(frame.data, present, frame.where)
        if len(present) < len(tasks):
            absent = [t for t in tasks if t not in present]
            self.info(f"{frame.path}: no label column(s) {absent}: their labels are left empty")
        return tasks, codes

    def row_ids(self, frame: Frame) -> list[str]:
        if self.id_column and self.id_column in frame.data.columns:
            return frame.data[self.id_column].astype(str).tolist()
        return [f"{frame.unit} {n}" for n in frame.numbers]

    def assign_splits(self, frame: Frame, codes: np.ndarray) -> np.ndarray:
        """Split index per row (0 train, 1 val, 2 test): from the split column, else by seeded fractions."""
        groups = None
        if self.group_column:  # a blank group cell makes a group of its own row
            cells = frame.data[self.group_column]
            groups = cells.astype(object).where(cells.notna(), pd.Series([f"\0row{i}" for i in range(len(cells))]))
            groups = groups.astype(str).to_numpy()
        col = self.split_column
        if col and col in frame.data.columns:
            split = split_from_column(frame.data[col], frame.where)
            if not (split == 0).any():
                raise DataError(
                    f"{frame.path}: column {col!r} marks no row as train; mark the training rows 'train', or set "
                    "data.split_column=null to split by fractions"
                )
            absent = [s for s in (1, 2) if not (split == s).any()]
            self.split_source = f"from column {col!r}"
            if absent:
                train = np.nonzero(split == 0)[0]
                carved = [self.fractions[s] for s in absent]  # a share of the train rows
                sub = fraction_split(
                    codes[train],
                    [1 - sum(carved), *carved],
                    self.seed,
                    None if groups is None else groups[train],
                    self.stratify,
                )
                for k, s in enumerate(absent, start=1):
                    split[train[sub == k]] = s
                names = " and ".join(SPLITS[s] for s in absent)
                self.split_source += f"; {names} carved out of its train rows (no row marked {names})"
        else:
            split = self.split_by_fractions(frame, codes, groups)
        sizes = [int((split == s).sum()) for s in range(3)]
        if min(sizes) == 0:
            raise DataError(
                f"{frame.path}: {len(split)} rows leave split(s) {[SPLITS[s] for s in range(3) if not sizes[s]]} "
                f"empty (train/val/test = {sizes}; each split needs at least 1 row); add rows, raise "
                "data.val_fraction / data.test_fraction, or mark rows in a split column"
            )
        return split

    def split_by_fractions(self, frame: Frame, codes: np.ndarray, groups: np.ndarray | None) -> np.ndarray:
        """Split index per row by the seeded fractions (no split column); sets :attr:`split_source`."""
        split = fraction_split(codes, self.fractions, self.seed, groups, self.stratify)
        how = "stratified over the observed labels" if self.stratify else "not stratified"
        fr = "/".join(f"{f:g}" for f in self.fractions)
        self.split_source = f"seeded fractions {fr} (data.seed={self.seed}, {how})"
        if groups is not None:
            self.split_source += f", rows grouped by {self.group_column!r}"
        return split

    def warn_undefined(self, splits: dict[str, SplitData], tasks: Sequence[str]) -> None:
        """Warn about tasks whose val/test AUROC will be undefined (no labelled entry, or a single class)."""
        lines = []
        for name in ("val", "test"):
            sp = splits[name]
            n_lab = sp.mask.sum(0)
            n_pos = ((sp.y > 0.5) & sp.mask).sum(0)
            bad = [t for t, n, p in zip(tasks, n_lab.tolist(), n_pos.tolist()) if n == 0 or p in (0, n)]
            if bad:
                lines.append(f"{name}: {bad}")
        if lines and self.verbose:
            self.info(
                "warning: no labelled entry or a single class for some tasks, so their AUROC/AP will be undefined "
                f"(null, left out of the macro mean) in {'; '.join(lines)}",
                style="yellow",
            )

    def label_table_caption(self) -> str | None:
        text = f"{self.path}: {self.sizes_line()}; splits {self.split_source}."
        if self.has_uncertain:
            text += (
                f" unc = cells marked uncertain (-1), counted as {_AS[self.uncertain]} in train "
                f"(data.uncertain={self.uncertain}) and as {_AS[self.uncertain_eval]} in val/test "
                f"(data.uncertain_eval={self.uncertain_eval})."
            )
        return text

    def sizes_line(self) -> str:
        return ", ".join(f"{k} {len(v)}" for k, v in self.splits.items()) if self.splits else ""

    def info(self, text: str, style: str | None = None) -> None:
        if self.verbose:
            get_console().print(text, style=style, markup=False, highlight=False)


def write_fitted_preprocessing(dm: object, folder: str | Path) -> Path | None:
    """``preprocessing.json`` in a run folder: what a file data module fitted (nothing for other data)."""
    if not isinstance(dm, LabelledFileDataModule) or not dm.splits:
        return None
    path = Path(folder) / PREPROCESSING_FILE
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(dm.fitted_preprocessing(), indent=2) + "\n")
    tmp.replace(path)
    return path


_AS = {"ignore": "? (left out)", "zeros": "neg", "ones": "pos"}
