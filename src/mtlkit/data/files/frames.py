"""Read a user's CSV or Parquet file into pandas, remembering how the user numbers its rows.

Row numbers in error messages are the ones the user sees: ``line N`` of a CSV file (the header is line 1, so
the first data row is line 2; blank lines count) or ``row N`` of a Parquet file (the first data row is row 1).
"""

from __future__ import annotations

import csv
import difflib
import fnmatch
import gzip
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from mtlkit.errors import ConfigError, DataError

CSV_SUFFIXES = (".csv", ".tsv", ".txt", ".csv.gz", ".tsv.gz")
PARQUET_SUFFIXES = (".parquet", ".pq")


@dataclass
class Frame:
    """A table read from ``path``; ``numbers[i]`` is row ``i``'s number as the user sees it (``unit`` ``i``)."""

    data: pd.DataFrame
    path: Path
    numbers: np.ndarray
    unit: str  # "line" (CSV) or "row" (Parquet)

    def where(self, i: int) -> str:
        """``"<file>, line 7"``: row ``i`` of :attr:`data` as the user finds it in the file."""
        return f"{self.path}, {self.unit} {int(self.numbers[i])}"

    def rows(self, positions: Iterable[int], limit: int = 5) -> str:
        """``"lines 3, 9, 12 and 4 more"`` for some rows of :attr:`data`."""
        positions = list(positions)
        shown = ", ".join(str(int(self.numbers[i])) for i in positions[:limit])
        more = f" and {len(positions) - limit} more" if len(positions) > limit else ""
        return f"{self.unit}{'s' if len(positions) > 1 else ''} {shown}{more}"

    def take(self, keep: np.ndarray) -> Frame:
        """The rows where ``keep`` is True, renumbered 0..n-1, keeping the user's row numbers."""
        return Frame(self.data[keep].reset_index(drop=True), self.path, self.numbers[keep], self.unit)

    def __len__(self) -> int:
        return len(self.data)


def _kind(path: Path) -> str:
    name = path.name.lower()
    if name.endswith(CSV_SUFFIXES):
        return "csv"
    if name.endswith(PARQUET_SUFFIXES):
        return "parquet"
    raise DataError(
        f"{path}: unknown file type; data.path must end in one of {list(CSV_SUFFIXES + PARQUET_SUFFIXES)} "
        "(CSV or Parquet)"
    )


def _separator(path: Path) -> str:
    return "\t" if ".tsv" in path.name.lower() else ","


def _header(path: Path, kind: str) -> list[str]:
    if kind == "parquet":
        import pyarrow.parquet as pq

        return [str(n) for n in pq.read_schema(path).names]
    opener = gzip.open if path.name.lower().endswith(".gz") else open
    with opener(path, "rt", newline="", encoding="utf-8-sig") as f:
        return next(csv.reader(f, delimiter=_separator(path)), [])


def check_unique_header(names: Sequence[str], path: Path) -> None:
    """Fail on a repeated column name (pandas would silently rename the second one to ``name.1``)."""
    counts = Counter(n.strip() for n in names)
    dups = [n for n, c in counts.items() if c > 1]
    if dups:
        where = {d: [i + 1 for i, n in enumerate(names) if n.strip() == d] for d in dups}
        desc = "; ".join(f"{d!r} (columns {', '.join(map(str, p))})" for d, p in where.items())
        raise DataError(f"{path}: duplicate column name(s) {desc} in the header; give every column its own name")


def read_frame(path: str | Path) -> Frame:
    """Read a CSV (``.csv``, ``.tsv``, optionally gzipped) or Parquet file; fail clearly on an empty file,
    a header without rows or a repeated column name. Column names are stripped of surrounding spaces and rows
    whose cells are all blank are skipped."""
    path = Path(path).expanduser()
    if not path.is_file():
        hint = "" if path.is_absolute() else f" (relative paths start at the working directory {Path.cwd()})"
        raise DataError(f"data.path={str(path)!r} does not exist{hint}; point data.path at your CSV or Parquet file")
    kind = _kind(path)
    if path.stat().st_size == 0:
        raise DataError(f"{path} is empty; it needs a header line and one row per example")
    try:
        header = _header(path, kind)
    except UnicodeDecodeError as e:
        raise DataError(f"{path} is not UTF-8 text ({e}); save it as UTF-8 (CSV UTF-8 in a spreadsheet)") from e
    except Exception as e:  # noqa: BLE001 - any reader failure becomes one clear message
        raise DataError(f"{path}: cannot read the {kind} header ({type(e).__name__}: {e})") from e
    if not [h for h in header if h.strip()]:
        raise DataError(f"{path} has no header line; the first line must name the columns")
    check_unique_header(header, path)
    try:
        if kind == "csv":
            data = pd.read_csv(path, sep=_separator(path), skip_blank_lines=False, encoding="utf-8-sig")
        else:
            data = pd.read_parquet(path)
    except pd.errors.EmptyDataError as e:
        raise DataError(f"{path} is empty; it needs a header line and one row per example") from e
    except Exception as e:  # noqa: BLE001
        raise DataError(f"{path}: cannot read it as {kind} ({type(e).__name__}: {e}); check the file format") from e
    data.columns = [str(c).strip() for c in data.columns]
    numbers = np.arange(len(data)) + (2 if kind == "csv" else 1)
    frame = Frame(data.reset_index(drop=True), path, numbers, "line" if kind == "csv" else "row")
    blank = data.isna().all(axis=1).to_numpy()
    if blank.any():
        frame = frame.take(~blank)
    if len(frame) == 0:
        raise DataError(f"{path} has a header but no rows; add one row per example")
    return frame


def _suggest(name: str, columns: Sequence[str]) -> str:
    close = difflib.get_close_matches(name, list(columns), n=1)
    return f" (did you mean {close[0]!r}?)" if close else ""


def require_columns(frame: Frame, names: Sequence[str], key: str) -> None:
    """Fail if a column named by config key ``key`` is not in the file; suggest the closest name."""
    columns = list(frame.data.columns)
    missing = [n for n in names if n not in columns]
    if missing:
        hints = "".join(_suggest(m, columns) for m in missing[:1])
        raise DataError(
            f"{frame.path} has no column(s) {missing} named by {key}{hints}; its columns are {_preview(columns)}"
        )


def _preview(names: Sequence[str], limit: int = 20) -> str:
    shown = list(names)[:limit]
    return str(shown)[:-1] + (f", ... {len(names) - limit} more]" if len(names) > limit else "]")


def is_pattern(name: str) -> bool:
    return any(c in name for c in "*?[")


def resolve_columns(frame: Frame, spec: str | Sequence[str] | None, key: str) -> list[str]:
    """Column names from a list of names and/or glob patterns (``label_*``), in the order given (a pattern's
    matches in file order). Every name must exist and every pattern must match; no column twice."""
    if spec is None:
        return []
    items = [spec] if isinstance(spec, str) else list(spec)
    columns = list(frame.data.columns)
    out: list[str] = []
    for item in items:
        item = str(item).strip()
        if is_pattern(item):
            hits = [c for c in columns if fnmatch.fnmatchcase(c, item)]
            if not hits:
                raise DataError(
                    f"{key} pattern {item!r} matches no column of {frame.path}; its columns are {_preview(columns)}"
                )
            out += [h for h in hits if h not in out]
        else:
            require_columns(frame, [item], key)
            if item in out:
                raise ConfigError(f"{key} names column {item!r} twice")
            out.append(item)
    return out
