"""``data=table``: feature columns and label columns from a CSV or Parquet file.

Features are every column that is not a label, id, split or group column (or exactly ``data.feature_columns``),
minus ``data.drop_columns``. Numeric and boolean columns are standardised with the mean and standard deviation
of the train rows only. Text columns are categorical: one-hot encoded over the categories seen in train
(a blank cell is a category of its own; a category seen only in val/test encodes as all zeros), unless they have
more than ``data.max_categories`` distinct values or ``data.categorical=error``, which fail with the fix.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
import torch

from mtlkit.data.files.frames import Frame, resolve_columns
from mtlkit.data.files.labelled_file import LabelledFileDataModule
from mtlkit.data.files.validate import check_finite_features
from mtlkit.errors import ConfigError, DataError

CATEGORICAL_MODES = ("onehot", "error")
BLANK = "(blank)"


class TableDataModule(LabelledFileDataModule):
    """Tabular features from a user's file; see the module docstring for the rules.

    Args:
        feature_columns: the feature columns (names or glob patterns); default: all the other columns.
        drop_columns: columns to leave out of the features (names or glob patterns).
        standardize: subtract the train mean and divide by the train std of each numeric feature.
        categorical: ``onehot`` (text columns become one 0/1 feature per category) or ``error``.
        max_categories: a text column with more distinct values fails (it is likely an id or free text).
        **kwargs: :class:`LabelledFileDataModule` arguments (path, label_columns, splits, uncertain, ...).
    """

    name = "table"

    def __init__(
        self,
        feature_columns: str | Sequence[str] | None = None,
        drop_columns: str | Sequence[str] | None = None,
        standardize: bool = True,
        categorical: str = "onehot",
        max_categories: int = 50,
        **kwargs,
    ):
        super().__init__(**kwargs)
        if categorical not in CATEGORICAL_MODES:
            raise ConfigError(f"data.categorical={categorical!r}; choose one of {list(CATEGORICAL_MODES)}")
        self.feature_columns = feature_columns
        self.drop_columns = drop_columns
        self.standardize = standardize
        self.categorical = categorical
        self.max_categories = max_categories
        self.feature_names: list[str] = []
        self.mean: np.ndarray | None = None
        self.std: np.ndarray | None = None

    def choose_features(self, frame: Frame) -> list[str]:
        tasks = self.label_names
        reserved = set(self.reserved_columns(frame)) | set(tasks)
        dropped = set(resolve_columns(frame, self.drop_columns, "data.drop_columns"))
        if self.feature_columns:
            cols = resolve_columns(frame, self.feature_columns, "data.feature_columns")
            both = [c for c in cols if c in reserved]
            if both:
                raise ConfigError(f"data.feature_columns names label/id/split/group column(s) {both}; remove them")
        else:
            cols = [c for c in frame.data.columns if c not in reserved]
        cols = [c for c in cols if c not in dropped]
        if not cols:
            raise DataError(
                f"{frame.path}: no feature column is left (columns {list(frame.data.columns)}, labels {tasks}); "
                "name them with data.feature_columns"
            )
        return cols

    def build_inputs(self, frame: Frame, split: np.ndarray) -> list[torch.Tensor]:
        cols = self.choose_features(frame)
        train = split == 0
        numeric = [c for c in cols if _is_numeric(frame.data[c])]
        text = [c for c in cols if c not in numeric]
        values = (
            frame.data[numeric].to_numpy(dtype=np.float64, na_value=np.nan) if numeric else np.zeros((len(frame), 0))
        )
        check_finite_features(values, numeric, frame)
        if self.standardize and numeric:
            self.mean = values[train].mean(0)
            std = values[train].std(0)
            self.std = np.where(std > 0, std, 1.0)
            values = (values - self.mean) / self.std
        blocks, names = [values], list(numeric)
        for c in text:
            block, levels = self.one_hot(frame, c, train)
            blocks.append(block)
            names += [f"{c}={v}" for v in levels]
        x = np.concatenate(blocks, axis=1).astype(np.float32)
        self.feature_names = names
        onehot = f", {len(names) - len(numeric)} one-hot from {text}" if text else ""
        scaled = "standardised on train" if self.standardize else "not standardised"
        self.info(f"table {frame.path}: {len(names)} features ({len(numeric)} numeric, {scaled}{onehot})")
        return [torch.from_numpy(x[split == s]) for s in range(3)]

    def one_hot(self, frame: Frame, column: str, train: np.ndarray) -> tuple[np.ndarray, list[str]]:
        """0/1 indicators of the categories of ``column`` seen in the train rows."""
        series = frame.data[column]
        text = series.astype(object).where(series.notna(), BLANK).astype(str).str.strip()
        numbers = pd.to_numeric(text.where(text != BLANK), errors="coerce")
        n_filled = int((text != BLANK).sum())
        looks_numeric = n_filled > 0 and numbers.notna().sum() >= 0.9 * n_filled
        if looks_numeric:
            bad = np.nonzero(numbers.isna().to_numpy() & (text != BLANK).to_numpy())[0]
            raise DataError(
                f"{frame.path}, column {column!r}: numeric feature with text cell(s) such as "
                f"{text.iloc[bad[0]]!r} at {frame.rows(bad)}; fix those cells (a number, or blank), or leave the "
                f"column out with data.drop_columns=[{column}]"
            )
        n_levels = text.nunique()
        if self.categorical == "error" or n_levels > self.max_categories:
            why = (
                "data.categorical=error"
                if self.categorical == "error"
                else f"{n_levels} distinct values > data.max_categories={self.max_categories}; an id or free text?"
            )
            raise DataError(
                f"{frame.path}, column {column!r}: text feature column ({why}, e.g. {text.iloc[0]!r} at "
                f"{frame.where(0)}); leave it out with data.drop_columns=[{column}] or name it data.id_column, "
                "or use data.categorical=onehot with a larger data.max_categories"
            )
        levels = sorted(text[train].unique().tolist())
        block = (text.to_numpy()[:, None] == np.array(levels, dtype=object)[None, :]).astype(np.float64)
        return block, levels


def _is_numeric(series: pd.Series) -> bool:
    return pd.api.types.is_numeric_dtype(series.dtype) or pd.api.types.is_bool_dtype(series.dtype)
