"""Load-time checks of a user's data: each failure is one line naming the file, rows or columns, and the fix."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from mtlkit.data.files.frames import Frame
from mtlkit.errors import DataError


def names_preview(names: Sequence[str], limit: int = 5) -> str:
    """``'a.png', 'b.png', 'c.png' and 12 more``."""
    shown = ", ".join(repr(str(n)) for n in list(names)[:limit])
    return shown + (f" and {len(names) - limit} more" if len(names) > limit else "")


def check_tasks_labelled(mask: np.ndarray, uncertain: np.ndarray, tasks: Sequence[str], frame: Frame) -> None:
    """Fail if a task has no labelled (0/1) entry in the whole file: it cannot be trained or evaluated."""
    empty = [j for j in range(len(tasks)) if not mask[:, j].any()]
    if not empty:
        return
    j = empty[0]
    n_unc = int(uncertain[:, j].sum())
    unc = f", {n_unc} of them uncertain (-1) and left out by data.uncertain=ignore" if n_unc else ""
    names = [tasks[k] for k in empty]
    raise DataError(
        f"{frame.path}: label column(s) {names} have no labelled entry (all {len(mask)} cells of {tasks[j]!r} are "
        f"unknown{unc}); label some rows with 1 or 0, or leave the column(s) out of data.label_columns"
    )


def check_finite_features(values: np.ndarray, names: Sequence[str], frame: Frame) -> None:
    """Fail on blank, NaN or infinite feature cells, naming the columns and the first rows of each."""
    bad = ~np.isfinite(values)
    if not bad.any():
        return
    cols = np.nonzero(bad.any(0))[0]
    parts = []
    for j in cols[:3]:
        rows = np.nonzero(bad[:, j])[0]
        kinds = "blank/NaN" if np.isnan(values[rows, j]).all() else "blank/NaN/inf"
        parts.append(f"{names[j]!r}: {len(rows)} {kinds} cell(s) at {frame.rows(rows)}")
    more = f"; {len(cols) - 3} more column(s)" if len(cols) > 3 else ""
    drop = ",".join(names[j] for j in cols)
    raise DataError(
        f"{frame.path}: feature column(s) with missing or infinite values: {'; '.join(parts)}{more}. Fill or drop "
        f"those rows, or leave the column(s) out with data.drop_columns=[{drop}]"
    )


def report_bad_images(bad: dict[str, list[tuple[int, str]]], frame: Frame, root, skip: bool, total: int) -> str:
    """Raise a :class:`DataError` listing missing and unreadable images, or with ``skip`` return a warning line.

    ``bad`` maps ``"missing"`` / ``"unreadable"`` to ``(row, path)`` pairs."""
    parts = []
    for kind, items in bad.items():
        if items:
            names = names_preview([p for _, p in items])
            parts.append(f"{len(items)} {kind} ({names}; first at {frame.where(items[0][0])})")
    n_bad = sum(len(v) for v in bad.values())
    message = f"{n_bad} of {total} images under data.root={str(root)!r} cannot be used: {'; '.join(parts)}"
    if not skip:
        raise DataError(
            f"{message}. Fix the paths (they are relative to data.root) or set data.skip_bad_images=true to "
            "leave those rows out"
        )
    if n_bad == total:
        raise DataError(f"{message}: no image is left. Check data.root and data.path_column")
    return f"{message}; skipped (data.skip_bad_images=true)"
