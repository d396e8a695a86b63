"""``data=table``: feature columns and label columns from a CSV or Parquet file.

Features are every column that is not a label, id, split or group column (or exactly ``data.feature_columns``),
minus ``data.drop_columns``. Numeric and boolean columns are standardised with the mean and standard deviation
of the train rows only. Text columns are categorical: one-hot encoded over the categories seen in train
(a blank cell is a category of its own; a category seen only in val/test encodes as all zeros), unless they have
more than ``data.max_categories`` distinct values or ``data.categorical=error``, which fail with the fix.

What is fitted (:class:`~mtlkit.data.files.preprocessing.TablePreprocessing`) is kept with the run and applied by
column name to any file ``mtlkit-predict`` is given (:meth:`LabelledFileDataModule.use_fitted`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd
import torch

from mtlkit.data.files.frames import Frame, resolve_columns
from mtlkit.data.files.labelled_file import LabelledFileDataModule
from mtlkit.data.files.preprocessing import BLANK, TablePreprocessing, category_cells
from mtlkit.errors import ConfigError, DataError

CATEGORICAL_MODES = ("onehot", "error")


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
        self.preprocessing: TablePreprocessing | None = None

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
        if self.preprocessing is None:  # training: fit on the train rows
            self.preprocessing = self.fit_preprocessing(frame, split == 0)
            how = "standardised on train" if self.standardize else "not standardised"
        else:  # a trained run's preprocessing, by column name
            self.note_ignored_columns(frame)
            how = "with the run's fitted standardisation" if self.preprocessing.mean else "not standardised"
        prep = self.preprocessing
        x = prep.transform(frame, lambda text: self.info(f"note: {frame.path}: {text}", style="yellow"))
        self.feature_names = prep.feature_names
        self.mean = None if prep.mean is None else np.asarray(prep.mean)
        self.std = None if prep.std is None else np.asarray(prep.std)
        n, n_numeric = len(self.feature_names), len(prep.numeric)
        onehot = f", {n - n_numeric} one-hot from {list(prep.categories)}" if prep.categories else ""
        self.info(f"table {frame.path}: {n} features ({n_numeric} numeric, {how}{onehot})")
        return [torch.from_numpy(x[split == s]) for s in range(3)]

    def fit_preprocessing(self, frame: Frame, train: np.ndarray) -> TablePreprocessing:
        """Choose the feature columns and fit their standardisation and categories on the ``train`` rows."""
        cols = self.choose_features(frame)
        numeric = [c for c in cols if _is_numeric(frame.data[c])]
        categories = {c: self.categories_of(frame, c, train) for c in cols if c not in numeric}
        return TablePreprocessing.fit(frame, numeric, categories, train, self.standardize)

    def note_ignored_columns(self, frame: Frame) -> None:
        """Say once which columns of a file to predict are not inputs of the model (they are ignored)."""
        used = set(self.preprocessing.columns) | set(self.label_names) | set(self.reserved_columns(frame))
        extra = [c for c in frame.data.columns if c not in used]
        if extra:
            self.info(f"note: {frame.path}: column(s) {extra} are not inputs of the model: ignored", style="yellow")

    def categories_of(self, frame: Frame, column: str, train: np.ndarray) -> list[str]:
        """The categories of text column ``column`` seen in the train rows (checked: not a number, not too many)."""
        text = category_cells(frame.data[column])
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
        return sorted(text[train].unique().tolist())

    # -- the fitted preprocessing, kept with the run ----------------------------------------------
    def fitted_inputs(self) -> dict[str, Any]:
        return self.preprocessing.to_dict() if self.preprocessing is not None else {}

    def use_fitted_inputs(self, inputs: Mapping[str, Any]) -> None:
        self.preprocessing = TablePreprocessing.from_dict(inputs)


def _is_numeric(series: pd.Series) -> bool:
    return pd.api.types.is_numeric_dtype(series.dtype) or pd.api.types.is_bool_dtype(series.dtype)
