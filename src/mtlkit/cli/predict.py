"""``mtlkit-predict``: per-example, per-task probabilities of a trained model, written to a CSV.

    mtlkit-predict CHECKPOINT [--split test|all] [--output predictions.csv] [--decisions] [--threshold T]
                   [--derived NAME="A or B"] [data overrides]

See :mod:`mtlkit.evaluation.predictions` for what is predicted on which data, and the CSV's columns;
``--decisions`` adds 0/1 columns decided with the run's thresholds (``eval.threshold``: 0.5, or the per-task
``val_f1`` thresholds stored in the checkpoint), ``--threshold T`` with T for every task.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

import torch

from mtlkit.build import build_datamodule
from mtlkit.build.from_checkpoint import model_from_run
from mtlkit.data.base import SPLITS
from mtlkit.data.derived import DerivedTask, parse_derived
from mtlkit.errors import ConfigError, MtlkitError
from mtlkit.evaluation.predictions import (
    ALL_ROWS,
    data_config,
    is_other_file,
    predict,
    use_run_preprocessing,
    write_csv,
)
from mtlkit.evaluation.thresholds import VAL_F1, checkpoint_thresholds


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="mtlkit-predict",
        description="Write per-example, per-task probabilities of an mtlkit checkpoint to a CSV.",
    )
    parser.add_argument("checkpoint", help="a .ckpt file or the run directory of an mtlkit-train run")
    parser.add_argument("overrides", nargs="*", help="data overrides: data.KEY=VALUE, or data=NAME for another config")
    parser.add_argument(
        "--split",
        default=None,
        choices=[*SPLITS, ALL_ROWS],
        help="which split to predict; all: every row of the file (data=table|images). Default: all for a file "
        "other than the run's (data.path=...), else test",
    )
    parser.add_argument("--output", "-o", default=None, help="CSV file to write (default: predictions_<split>.csv)")
    parser.add_argument("--device", default="cpu", help="torch device, e.g. cuda (default: cpu)")
    parser.add_argument(
        "--decisions",
        action="store_true",
        help="also write pred_<task> (0/1: prob > the task's threshold), with the thresholds the run used "
        "(eval.threshold: 0.5, or the val_f1 ones stored in the checkpoint)",
    )
    parser.add_argument(
        "--threshold", type=float, default=None, metavar="T", help="decide with T for every task (implies --decisions)"
    )
    parser.add_argument(
        "--derived",
        action="append",
        default=[],
        metavar='NAME="A or B"',
        help="also write prob_NAME, a rule over the model's tasks applied to its probabilities (inputs taken as "
        "independent: noisy-OR for or, product for and); repeatable. With data.derived the data's label_NAME too",
    )
    return parser.parse_intermixed_args(argv)


def derived_rules(texts: Sequence[str]) -> list[DerivedTask]:
    """``NAME=EXPR`` options as derived tasks (one-line errors for a malformed one)."""
    rules = {}
    for text in texts:
        name, sep, expr = text.partition("=")
        if not sep or not name.strip():
            raise ConfigError(f'--derived {text!r}: give NAME="EXPR", e.g. --derived stop="pedestrian or stop_sign"')
        rules[name.strip()] = expr.strip().strip("'\"")
    return parse_derived(rules)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        ckpt, file, module = model_from_run(args.checkpoint)  # a network's checkpoint, or a classical run's estimators
        meta = ckpt["mtlkit"]
        saved_data = (meta.get("config") or {}).get("data")
        dm = build_datamodule(data_config(saved_data, args.overrides), set_up=False)
        other_file = is_other_file(dm, saved_data)
        args.split = args.split or (ALL_ROWS if other_file else "test")
        warning = use_run_preprocessing(dm, ckpt, args.split, other_file, file)
        if warning:
            print(warning, file=sys.stderr)
        dm.setup()
        tasks = list(meta["tasks"])
        missing = [t for t in tasks if t not in dm.tasks]
        if len(missing) == len(tasks):
            print(f"warning: the data have none of the model's tasks {tasks}; labels are left empty", file=sys.stderr)
        thresholds = None
        if args.decisions or args.threshold is not None:  # checked before predicting
            thresholds = checkpoint_thresholds(meta, args.threshold)
        rules = derived_rules(args.derived)
        pred = predict(module, dm, args.split, args.device)
        for rule in rules:  # the pipeline's rule over the model's probabilities, a column per derived task
            pred["probs"] = torch.cat([pred["probs"], rule.probability(pred["probs"], tasks)[:, None]], 1)
            tasks.append(rule.name)
            if thresholds is not None:
                thresholds["values"][rule.name] = 0.5 if args.threshold is None else args.threshold
        output = Path(args.output or f"predictions_{args.split}.csv")
        n = write_csv(output, tasks, dm.tasks, pred, thresholds["values"] if thresholds else None)
    except MtlkitError as err:
        print(f"mtlkit-predict: error: {err}", file=sys.stderr)
        return 2
    print(f"wrote {n} rows ({len(tasks)} tasks, split '{args.split}', model {file}) to {output}")
    if thresholds:
        rule = thresholds["rule"]
        values = ", ".join(f"{t} {v:.3f}" for t, v in thresholds["values"].items())
        how = f"chosen on val ({VAL_F1})" if rule == VAL_F1 else "fixed"
        print(f"pred_<task> = prob > threshold, {how}: {values}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
