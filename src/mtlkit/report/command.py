"""``mtlkit-report DIR...`` (``python -m mtlkit.report``): tables (terminal, markdown, CSV), Δm and plots from runs."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from mtlkit.console import get_console
from mtlkit.errors import ConfigError, MtlkitError
from mtlkit.report.aggregate import SEED_KEYS
from mtlkit.report.build import REPORT_METRICS, SPLITS, Options, build_report
from mtlkit.report.delta import DEFAULT_BASELINE, BaselineSpec
from mtlkit.report.plots import draw_plots, numeric_keys
from mtlkit.report.tables import print_report
from mtlkit.report.task_plots import draw_task_plots
from mtlkit.report.write import write_report

EPILOG = """examples:
  mtlkit-report outputs/train/multiruns/2026-01-01_12-00-00
  mtlkit-report outputs/c1_partial_labels/multiruns/* --baseline loss.unknown=ignore --out experiments/results/c1
  mtlkit-report sweep/ --split val --metric ap --tasks car stop_sign --x data.num_train
  mtlkit-report sweep/ --metric lrap          # an example-based metric (hamming, ranking_loss, ... docs/metrics.md)

exit status: 0 when the report was written, 1 when no run succeeded (or, with --strict, any run failed or is
missing), 2 for bad arguments or no runs at all."""


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="mtlkit-report",
        description="Summarise mtlkit runs and multiruns: per-task and macro metrics grouped by the swept "
        "parameters (mean ± std over seeds), Δm against the separate-network baseline, PNG plots. "
        "Failed runs and jobs a sweep planned but never ran are listed; where runs recorded them, heatmaps of "
        "the task-gradient cosines and plots of the task weights.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("dirs", nargs="+", type=Path, help="run or multirun folders, searched recursively")
    p.add_argument("--out", type=Path, help="where report.md, the CSVs and plots/ go (default: DIR/report)")
    p.add_argument("--split", choices=SPLITS, default="test", help="metrics of this split (default: test)")
    p.add_argument(
        "--metric",
        choices=REPORT_METRICS,
        default="auroc",
        help="headline metric: Δm column, plots. Per task (macro over tasks): auroc, ap, acc, f1; example-based "
        "(docs/metrics.md): lrap, micro_f1, macro_f1, and hamming, ranking_loss, one_error, coverage (lower is "
        "better: Δm's sign is flipped so that Δm > 0 is always better)",
    )
    p.add_argument(
        "--baseline",
        default=DEFAULT_BASELINE,
        metavar="KEY=VALUE",
        help=f"the runs Δm is measured against (default: {DEFAULT_BASELINE}); e.g. loss.unknown=ignore",
    )
    p.add_argument(
        "--ignore", nargs="*", default=[], metavar="KEY", help="swept keys that need not match the baseline's"
    )
    p.add_argument(
        "--seed-keys",
        nargs="+",
        default=list(SEED_KEYS),
        metavar="KEY",
        help="keys whose runs are replicates, averaged over (default: seed); e.g. seed data.seed",
    )
    p.add_argument(
        "--tasks",
        nargs="+",
        metavar="TASK",
        help="only these tasks: per-task tables, macro means (over these tasks), Δm and plots",
    )
    p.add_argument(
        "--where",
        nargs="+",
        default=[],
        metavar="KEY=VALUE",
        help="only the runs with these values, e.g. finetune=full",
    )
    p.add_argument(
        "--min-effect",
        type=float,
        default=0.0,
        metavar="PCT",
        help="the smallest paired effect that counts, in %% (e.g. 0.5): better/worse need the 95 %% interval to "
        "exclude 0 AND |mean| >= PCT, else 'no meaningful difference' (default 0: the interval alone)",
    )
    p.add_argument("--x", nargs="+", metavar="KEY", help="numeric swept keys for the x axis (default: all)")
    p.add_argument("--title", default="mtlkit report", help="title of report.md")
    p.add_argument("--no-plots", action="store_true", help="tables only")
    p.add_argument("--strict", action="store_true", help="exit 1 if any run failed or is missing")
    return p


def default_out(dirs: Sequence[Path]) -> Path:
    return dirs[0] / "report" if len(dirs) == 1 else Path("report")


def main(argv: Sequence[str] | None = None) -> int:
    args = parser().parse_args(argv)
    console = get_console()
    try:
        options = Options(
            split=args.split,
            metric=args.metric,
            baseline=BaselineSpec.parse(args.baseline, args.ignore),
            seed_keys=tuple(args.seed_keys),
            tasks=tuple(args.tasks) if args.tasks else None,
            where=tuple(args.where),
            min_effect=args.min_effect,
        )
        report = build_report(args.dirs, options)
        out = args.out or default_out(args.dirs)
        if args.x:
            numeric = numeric_keys(report)
            bad = [x for x in args.x if x not in numeric]
            if bad:
                raise ConfigError(f"--x {bad}: not a swept numeric key; the numeric swept keys are {numeric}")
        plots = [] if args.no_plots else draw_plots(report, out / "plots", args.x)
        task_plots = [] if args.no_plots else draw_task_plots(report, out / "plots")
        written = write_report(report, out, plots, args.title, task_plots)
    except MtlkitError as err:
        console.print(f"[red]mtlkit-report: {err}")
        return 2
    print_report(report, console, [*written, *plots, *task_plots])
    coll = report.collection
    if not coll.succeeded:
        console.print("[red]no run succeeded: see the failed runs above")
        return 1
    if args.strict and (coll.failed or coll.missing):
        return 1
    return 0


def run() -> None:
    """Console-script entry point."""
    sys.exit(main())


if __name__ == "__main__":
    run()
