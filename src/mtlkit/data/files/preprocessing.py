"""What ``data=table`` fits on the train rows (the feature columns, their standardisation, the one-hot categories),
kept with the run and applied to any file by column name.

A trained model's input j always means the same thing: :meth:`TablePreprocessing.transform` looks every feature
column up by its name, so a file whose columns are in another order, which has more rows or more columns, or no
label columns, gives each row the inputs it had in training. A missing feature column is an error naming it; a
category not seen in the train rows encodes as all zeros (as in val and test during training), said in one line.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from mtlkit.data.files.frames import Frame
from mtlkit.data.files.validate import check_finite_features, names_preview
from mtlkit.errors import DataError

BLANK = "(blank)"  # the category of a blank text cell


def category_cells(series: pd.Series) -> pd.Series:
    """A text column's cells as the strings its categories are named by (blank cells: :data:`BLANK`)."""
    return series.astype(object).where(series.notna(), BLANK).astype(str).str.strip()


def numeric_values(frame: Frame, columns: Sequence[str]) -> np.ndarray:
    """``[N, len(columns)]`` float64 values of numeric feature columns; a text, blank or infinite cell fails
    naming its column and rows."""
    if not columns:
        return np.zeros((len(frame), 0))
    data = frame.data[list(columns)]
    numbers = data.apply(pd.to_numeric, errors="coerce")
    text = numbers.isna() & data.notna()
    if text.to_numpy().any():
        column = str(text.columns[text.any().to_numpy()][0])
        rows = np.nonzero(text[column].to_numpy())[0]
        raise DataError(
            f"{frame.path}, column {column!r}: the model takes it as a number, but {len(rows)} cell(s) such as "
            f"{str(data[column].iloc[rows[0]])!r} at {frame.rows(rows)} are text; write numbers (or blank) there"
        )
    values = numbers.to_numpy(dtype=np.float64, na_value=np.nan)
    check_finite_features(values, list(columns), frame)
    return values


@dataclass
class TablePreprocessing:
    """The fitted inputs of ``data=table``: numeric columns (standardised with ``mean``/``std`` unless they are
    None), then one 0/1 input per category of each text column, in this order."""

    numeric: list[str]
    mean: list[float] | None = None
    std: list[float] | None = None
    categories: dict[str, list[str]] = field(default_factory=dict)

    @property
    def columns(self) -> list[str]:
        """The file columns the inputs come from."""
        return [*self.numeric, *self.categories]

    @property
    def feature_names(self) -> list[str]:
        """One name per input: the numeric column, or ``column=category``."""
        return [*self.numeric, *(f"{c}={v}" for c, levels in self.categories.items() for v in levels)]

    @classmethod
    def fit(
        cls, frame: Frame, numeric: Sequence[str], categories: Mapping[str, list[str]], train: np.ndarray, scale: bool
    ) -> TablePreprocessing:
        """Standardisation statistics of ``numeric`` from the ``train`` rows (when ``scale``)."""
        mean = std = None
        if scale and numeric:
            values = numeric_values(frame, numeric)[train]
            spread = values.std(0)
            mean, std = values.mean(0).tolist(), np.where(spread > 0, spread, 1.0).tolist()
        return cls(list(numeric), mean, std, {c: list(v) for c, v in categories.items()})

    def transform(self, frame: Frame, note: Callable[[str], None] = lambda _: None) -> np.ndarray:
        """``[N, len(feature_names)]`` float32 inputs of every row of ``frame``, by column name.

        A missing feature column fails naming it; categories not fitted are all-zero, said once through ``note``.
        """
        missing = [c for c in self.columns if c not in frame.data.columns]
        if missing:
            raise DataError(
                f"{frame.path} lacks the feature column(s) {missing} the model was trained on; add them (same names, "
                f"same kind of values; the model takes {self.columns})"
            )
        values = numeric_values(frame, self.numeric)
        if self.mean is not None and self.std is not None:
            values = (values - np.asarray(self.mean)) / np.asarray(self.std)
        blocks, unseen = [values], []
        for column, levels in self.categories.items():
            cells = category_cells(frame.data[column])
            known = cells.isin(levels).to_numpy()
            if not known.all():
                new = cells[~known].unique().tolist()
                unseen.append(f"{column!r}: {names_preview(new, 3)} ({int((~known).sum())} rows)")
            blocks.append((cells.to_numpy()[:, None] == np.array(levels, dtype=object)[None, :]).astype(np.float64))
        if unseen:
            note(f"categories not seen in the train rows encode as all zeros: {'; '.join(unseen)}")
        return np.concatenate(blocks, axis=1).astype(np.float32)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-able dict (what checkpoints and ``preprocessing.json`` hold)."""
        return {"numeric": self.numeric, "mean": self.mean, "std": self.std, "categories": self.categories}

    @classmethod
    def from_dict(cls, saved: Mapping[str, Any]) -> TablePreprocessing:
        return cls(list(saved["numeric"]), saved.get("mean"), saved.get("std"), dict(saved.get("categories") or {}))
