"""The shared part of ``data=table`` and ``data=images``: a CSV or Parquet file with one row per example and one
label column per task, read, checked, split and turned into :class:`SplitData`.

Subclasses say which rows are usable (:meth:`LabelledFileDataModule.usable_rows`) and how a row becomes an input
(:meth:`LabelledFileDataModule.build_inputs`).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
import torch

from mtlkit.console import get_console
from mtlkit.data.base import SPLITS, MultiLabelDataModule, SplitData
from mtlkit.data.files.frames import Frame, read_frame, require_columns, resolve_columns
from mtlkit.data.files.labels import UNCERTAIN, check_policy, labels_from_codes, parse_label_frame
from mtlkit.data.files.splits import check_fractions, fraction_split, split_from_column
from mtlkit.data.files.validate import check_tasks_labelled
from mtlkit.errors import ConfigError, DataError


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

    # -- hooks for subclasses -----------------------------------------------------------------------
    def default_label_columns(self, frame: Frame, reserved: Sequence[str]) -> list[str]:
        """Label columns when ``label_columns`` is not set; by default that is an error."""
        raise ConfigError(
            f"data.label_columns is not set: name the task columns of {frame.path}, e.g. "
            f"data.label_columns=[{','.join(c for c in list(frame.data.columns)[:3])}] or a pattern like "
            f"data.label_columns='label_*'"
        )

    def usable_rows(self, frame: Frame) -> np.ndarray | None:
        """A bool mask of the rows to keep (e.g. rows whose image can be read), or None for all."""
        return None

    def build_inputs(self, frame: Frame, split: np.ndarray) -> list:
        """The inputs of each split (train, val, test), from the rows where ``split == 0, 1, 2``."""
        raise NotImplementedError

    # -- loading ------------------------------------------------------------------------------------
    def reserved_columns(self, frame: Frame) -> list[str]:
        """Columns that are neither features nor labels: id, split and group columns."""
        if self.group_column:
            require_columns(frame, [self.group_column], "data.group_column")
        optional = [c for c in (self.id_column, self.split_column) if c and c in frame.data.columns]
        return optional + ([self.group_column] if self.group_column else [])

    def load_splits(self) -> tuple[list[str], dict[str, SplitData]]:
        frame = read_frame(self.path)
        reserved = self.reserved_columns(frame)
        if self.label_columns is None or (not isinstance(self.label_columns, str) and not self.label_columns):
            tasks = self.default_label_columns(frame, reserved)
        else:
            tasks = resolve_columns(frame, self.label_columns, "data.label_columns")
        clash = [t for t in tasks if t in reserved]
        if clash:
            raise ConfigError(f"column(s) {clash} are both label columns and id/split/group columns; pick one role")
        self.label_names = list(tasks)
        codes = parse_label_frame(frame.data, tasks, frame.where)
        keep = self.usable_rows(frame)
        if keep is not None and not keep.all():
            frame, codes = frame.take(keep), codes[keep]
        _, mask, unc = labels_from_codes(codes, self.uncertain)
        check_tasks_labelled(mask, unc, tasks, frame)
        self.has_uncertain = bool((codes == UNCERTAIN).any())
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
        self.warn_undefined(splits, tasks)
        return tasks, splits

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
            split = fraction_split(codes, self.fractions, self.seed, groups, self.stratify)
            how = "stratified over the observed labels" if self.stratify else "not stratified"
            fr = "/".join(f"{f:g}" for f in self.fractions)
            self.split_source = f"seeded fractions {fr} (data.seed={self.seed}, {how})"
            if groups is not None:
                self.split_source += f", rows grouped by {self.group_column!r}"
        sizes = [int((split == s).sum()) for s in range(3)]
        if min(sizes) == 0:
            raise DataError(
                f"{frame.path}: {len(split)} rows leave split(s) {[SPLITS[s] for s in range(3) if not sizes[s]]} "
                f"empty (train/val/test = {sizes}; each split needs at least 1 row); add rows, raise "
                "data.val_fraction / data.test_fraction, or mark rows in a split column"
            )
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


_AS = {"ignore": "? (left out)", "zeros": "neg", "ones": "pos"}
