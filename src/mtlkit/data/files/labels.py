"""Label cells as people write them, parsed one pandas column at a time.

Accepted cells (surrounding spaces and letter case ignored):

- positive: ``1``, ``1.0``, ``true``, ``yes`` (any number equal to 1);
- negative: ``0``, ``0.0``, ``false``, ``no`` (any number equal to 0);
- unknown ("?", left out of the loss): a blank cell, ``?``, ``NaN``, ``NA``, ``N/A``, ``null``, ``None``;
- uncertain (the CheXpert convention): ``-1`` (any number equal to -1), mapped by an :data:`UNCERTAIN_POLICIES`
  policy.

Anything else is an error that names the file, the row as the user sees it, the column and the value.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from mtlkit.errors import ConfigError, DataError

# Codes of a parsed cell (int8).
POSITIVE, NEGATIVE, UNCERTAIN, UNKNOWN = 1, 0, -1, -2

ACCEPTED = (
    "1/0, 1.0/0.0, true/false, yes/no (any case) for a label; blank, ?, NaN, NA, N/A, null or None for "
    "unknown; -1 for uncertain"
)

_TOKENS: dict[str, int] = {
    "1": POSITIVE,
    "1.0": POSITIVE,
    "true": POSITIVE,
    "yes": POSITIVE,
    "0": NEGATIVE,
    "0.0": NEGATIVE,
    "false": NEGATIVE,
    "no": NEGATIVE,
    "-1": UNCERTAIN,
    "-1.0": UNCERTAIN,
    "": UNKNOWN,
    "?": UNKNOWN,
    "nan": UNKNOWN,
    "na": UNKNOWN,
    "n/a": UNKNOWN,
    "null": UNKNOWN,
    "none": UNKNOWN,
    "<na>": UNKNOWN,
}
_NUMBERS = {1.0: POSITIVE, 0.0: NEGATIVE, -1.0: UNCERTAIN}

# data.uncertain: what an uncertain (-1) cell becomes (CheXpert's U-Ignore / U-Zeros / U-Ones).
UNCERTAIN_POLICIES = ("ignore", "zeros", "ones")


def _codes_from_numbers(values: np.ndarray) -> np.ndarray:
    """float array -> codes; NaN is unknown; numbers other than 1, 0, -1 get code 127 (bad)."""
    codes = np.full(values.shape, 127, dtype=np.int8)
    codes[np.isnan(values)] = UNKNOWN
    for number, code in _NUMBERS.items():
        codes[values == number] = code
    return codes


def parse_label_cells(column: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """Codes (int8, one of POSITIVE/NEGATIVE/UNCERTAIN/UNKNOWN) of every cell of ``column``, and a bool array that
    is True where a cell is not an accepted form (its code is then meaningless). Vectorised over the column."""
    if pd.api.types.is_numeric_dtype(column.dtype) or pd.api.types.is_bool_dtype(column.dtype):
        codes = _codes_from_numbers(column.to_numpy(dtype=np.float64, na_value=np.nan))
        return codes, codes == 127
    missing = column.isna().to_numpy()
    text = column.astype(object).where(~missing, "").astype(str).str.strip().str.lower()
    mapped = text.map(_TOKENS)
    rest = mapped.isna().to_numpy()
    codes = np.full(len(column), 127, dtype=np.int8)
    codes[~rest] = mapped.to_numpy()[~rest].astype(np.int8)
    if rest.any():
        numbers = pd.to_numeric(text[rest], errors="coerce").to_numpy(dtype=np.float64)
        numeric = _codes_from_numbers(numbers)
        numeric[np.isnan(numbers)] = 127  # text that is not a number at all
        codes[rest] = numeric
    return codes, codes == 127


def parse_label_frame(frame: pd.DataFrame, columns: Sequence[str], where) -> np.ndarray:
    """Codes ``[rows, len(columns)]`` of the label columns of ``frame``.

    ``where(i)`` names row ``i`` as the user sees it (e.g. ``"my.csv, line 7"``). The first bad cell in file order
    raises one :class:`DataError` naming the file, row, column, the value seen and the accepted forms.
    """
    codes = np.empty((len(frame), len(columns)), dtype=np.int8)
    bad = np.zeros((len(frame), len(columns)), dtype=bool)
    for j, name in enumerate(columns):
        codes[:, j], bad[:, j] = parse_label_cells(frame[name])
    if bad.any():
        rows, cols = np.nonzero(bad)  # row-major: the first hit is the earliest row
        i, j = int(rows[0]), int(cols[0])
        value = frame[columns[j]].iloc[i]
        more = int(bad.sum()) - 1
        tail = f" ({more} more bad cell(s) in column(s) {_bad_columns(bad, columns)})" if more else ""
        hint = " Soft labels (probabilities) are not supported." if _is_fraction(value) else ""
        raise DataError(
            f"{where(i)}, column {columns[j]!r}: label cell {shown(value)!r} is not a label{tail}. "
            f"Accepted: {ACCEPTED}. Fix the cell(s) or leave the column out of data.label_columns.{hint}"
        )
    return codes


def shown(value) -> str:
    """A cell as the user wrote it: ``2.0`` read from "2" shows as ``2``, a blank cell as ``""``, text as itself."""
    if value is None or value is pd.NA or (isinstance(value, (float, np.floating)) and np.isnan(value)):
        return ""
    if isinstance(value, (bool, np.bool_)):
        return str(bool(value))
    if isinstance(value, (int, float, np.integer, np.floating)):
        v = float(value)
        return str(int(v)) if v.is_integer() else str(v)
    return str(value)


def _bad_columns(bad: np.ndarray, columns: Sequence[str]) -> list[str]:
    return [columns[j] for j in np.nonzero(bad.any(0))[0]]


def _is_fraction(value) -> bool:
    try:
        v = float(value)
    except (TypeError, ValueError):
        return False
    return 0.0 < v < 1.0


def check_policy(policy: str | None, key: str = "data.uncertain") -> None:
    if policy not in UNCERTAIN_POLICIES:
        raise ConfigError(
            f"{key}={policy!r} is not a policy for uncertain (-1) labels; choose one of {list(UNCERTAIN_POLICIES)} "
            "(ignore: left out like '?', zeros: counted as 0, ones: counted as 1)"
        )


def labels_from_codes(codes: np.ndarray, uncertain: str = "ignore") -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(y float32, mask bool, uncertain bool)`` from cell codes, uncertain cells mapped by ``uncertain``.

    ``ignore``: an uncertain cell is left out of the loss, like "?" (U-Ignore); ``zeros``: it counts as 0 (U-Zeros);
    ``ones``: it counts as 1 (U-Ones). ``y`` is 0 wherever ``mask`` is False.
    """
    check_policy(uncertain)
    unc = codes == UNCERTAIN
    y = (codes == POSITIVE) | (unc & (uncertain == "ones"))
    mask = (codes == POSITIVE) | (codes == NEGATIVE) | (unc & (uncertain != "ignore"))
    return (y & mask).astype(np.float32), mask, unc
