"""Score one task's probability column of an ``mtlkit-predict`` CSV against its labels, by AUROC.

    python -m mtlkit.report.derived_score PREDICTIONS.csv [MORE.csv ...] --task stop [--json]

The CSV is what ``mtlkit-predict`` writes (:mod:`mtlkit.evaluation.predictions`): ``prob_<task>`` and
``label_<task>`` (1, 0, or empty where the label is unknown). The column scored may be one the model predicts or a
derived one (``mtlkit-predict --derived stop="pedestrian or stop_sign"`` with ``data.derived`` among the data
overrides writes both ``prob_stop``, the rule applied to the model's probabilities, and the data's ``label_stop``),
so a pipeline (detect the parts, then apply the rule) and a network trained on the target alone are scored by the
same code on the same examples. Rows whose label is unknown (empty or ``?``) are left out. The AUROC is
torchmetrics' ``binary_auroc``, the one ``mtlkit-train`` reports.
"""

from __future__ import annotations

import argparse
import csv
import json
import math
import sys
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

import torch
from torchmetrics.functional.classification import binary_auroc

from mtlkit.errors import DataError

UNKNOWN = ("", "?")


@dataclass(frozen=True)
class Score:
    """AUROC of ``prob_<task>`` against ``label_<task>`` over the rows with a known label."""

    task: str
    auroc: float
    n: int  # rows with a known label (those scored)
    positives: int
    unknown: int  # rows left out

    @property
    def negatives(self) -> int:
        return self.n - self.positives


def _label(value: str, where: str) -> int | None:
    value = value.strip()
    if value in UNKNOWN:
        return None
    try:
        number = float(value)
    except ValueError:
        number = math.nan
    if number not in (0.0, 1.0):
        raise DataError(f"{where}: label {value!r} is not 1, 0, empty or '?'")
    return int(number)


def read_column(path: str | Path, task: str) -> tuple[list[str], list[float], list[int | None]]:
    """The ids, ``prob_<task>`` and ``label_<task>`` (None where unknown) of an ``mtlkit-predict`` CSV."""
    path = Path(path)
    ids, probs, labels = [], [], []
    with path.open(newline="") as f:
        reader = csv.DictReader(f)
        missing = [c for c in (f"prob_{task}", f"label_{task}") if c not in (reader.fieldnames or [])]
        if missing:
            raise DataError(
                f"{path} has no column(s) {missing} (it has {reader.fieldnames}); for a derived task, predict with "
                f'--derived {task}="..." and data.derived among the data overrides'
            )
        for line, row in enumerate(reader, start=2):
            ids.append(row.get("id", str(line - 2)))
            probs.append(float(row[f"prob_{task}"]))
            labels.append(_label(row[f"label_{task}"], f"{path}:{line}"))
    return ids, probs, labels


def auroc(probs: Sequence[float], labels: Sequence[int | None], task: str = "task") -> Score:
    """AUROC of ``probs`` against ``labels``, leaving out the None (unknown) ones; NaN when one class is absent."""
    known = [(p, y) for p, y in zip(probs, labels, strict=True) if y is not None]
    positives = sum(y for _, y in known)
    value = math.nan
    if 0 < positives < len(known):
        p = torch.tensor([p for p, _ in known], dtype=torch.float64)
        y = torch.tensor([y for _, y in known], dtype=torch.long)
        value = float(binary_auroc(p, y))
    return Score(task, value, len(known), positives, len(labels) - len(known))


def score_csv(path: str | Path, task: str) -> Score:
    """AUROC of ``prob_<task>`` in an ``mtlkit-predict`` CSV against its known ``label_<task>``."""
    _, probs, labels = read_column(path, task)
    return auroc(probs, labels, task)


def same_examples(paths: Sequence[str | Path], task: str) -> None:
    """Raise unless every CSV holds the same ids with the same ``label_<task>`` (two arms scored on one test set)."""
    first = None
    for path in paths:
        ids, _, labels = read_column(path, task)
        if first is None:
            first = (path, ids, labels)
        elif (ids, labels) != first[1:]:
            raise DataError(f"{path} and {first[0]} do not hold the same examples and {task} labels")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m mtlkit.report.derived_score",
        description="AUROC of prob_TASK against the known label_TASK in mtlkit-predict CSVs (unknown labels left out).",
    )
    parser.add_argument("csv", nargs="+", help="mtlkit-predict CSVs")
    parser.add_argument("--task", required=True, help="the task (or derived task) to score, e.g. stop")
    parser.add_argument("--same-examples", action="store_true", help="fail unless all CSVs hold the same ids/labels")
    parser.add_argument("--json", action="store_true", help="one JSON object per CSV instead of a line of text")
    args = parser.parse_args(argv)
    try:
        if args.same_examples:
            same_examples(args.csv, args.task)
        for path in args.csv:
            s = score_csv(path, args.task)
            if args.json:
                print(json.dumps({"csv": path, **asdict(s)}))
            else:
                print(f"{path}: {s.task} auroc {s.auroc:.6f} (n {s.n}: {s.positives} positive; {s.unknown} unknown)")
    except (DataError, OSError, ValueError) as err:
        print(f"derived_score: error: {err}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
