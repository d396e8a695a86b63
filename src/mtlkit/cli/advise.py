"""``mtlkit-advise``: should these tasks share one network, be grouped, transferred, or trained separately?

    mtlkit-advise [--seeds 3] [--epochs N] [--budget steps|compute|both] [--balancing famo] [--min-effect PCT]
                  [--out DIR] [OVERRIDES]

The overrides are those of ``mtlkit-train`` (``data=table data.path=...``) and apply to every job. What it runs and
how the verdict is computed: :mod:`mtlkit.advise.run`, :mod:`mtlkit.advise.verdict`, docs/grouping.md.
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path

from omegaconf import DictConfig
from rich.markup import escape

from mtlkit.advise.plan import Plan, balancing_methods
from mtlkit.console import get_console
from mtlkit.errors import ConfigError, MtlkitError
from mtlkit.report.paired import check_min_effect

PROG = "mtlkit-advise"


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog=PROG,
        description="Train separate networks, one shared network (plain and balanced), the grouping task affinity "
        "recommends and transfer (with --transfer) at N seeds on your data, and say which to use, with paired-by-"
        "seed confidence intervals and the cost. Other arguments are mtlkit-train overrides for every job.",
    )
    p.add_argument("--seeds", type=int, default=3, help="seeds per approach (default 3; 5 for tighter intervals)")
    p.add_argument("--epochs", type=int, default=None, help="epochs of each separate network (default: trainer's)")
    p.add_argument(
        "--budget",
        default="steps",
        choices=["steps", "compute", "both"],
        help="steps: every network trains --epochs (separate networks get T times the compute); compute: shared "
        "networks get T/networks times the epochs (equal training compute); both",
    )
    p.add_argument(
        "--balancing",
        default="famo",
        help="weighting= of the balanced shared network, or several: famo,task_mean (one arm each); none: skip it",
    )
    p.add_argument("--k", type=int, default=None, help="networks of the grouped arm (default: best of 2..T-1)")
    p.add_argument("--affinity-every", type=int, default=5, help="affinity.every of the affinity run (default 5)")
    p.add_argument("--transfer", default="", help="overrides of a transfer arm, e.g. 'data@source=driving_source'")
    p.add_argument("--metric", default="auroc", help="the metric of the verdict (default auroc)")
    p.add_argument("--split", default="test", choices=["val", "test"], help="the split of the verdict (default test)")
    p.add_argument(
        "--min-effect",
        type=float,
        default=0.0,
        metavar="PCT",
        help="smallest |Δm| in percent that counts as better or worse (e.g. 0.5); smaller effects are 'no meaningful "
        "difference'. Default 0: the 95 %% interval alone. Re-run with the same --out to re-judge finished runs",
    )
    p.add_argument("--out", type=Path, default=None, help="output folder (default $MTLKIT_LOG_DIR/advise/<time>)")
    p.add_argument(
        "--groupings-from",
        type=Path,
        default=None,
        metavar="RUN",
        help="train nothing: print the best grouping for each k from the affinity of RUN (a run folder of "
        "affinity=tag, or its affinity.csv), with the override line that trains it",
    )
    return p


def print_groupings_from(source: Path, k_max: int | None = None) -> None:
    """The best grouping into k networks for every k from a recorded affinity (no training)."""
    from mtlkit.grouping.affinity import affinity_matrix
    from mtlkit.grouping.files import read_affinity
    from mtlkit.grouping.outputs import print_groupings
    from mtlkit.grouping.search import best_groupings

    tasks, z = affinity_matrix(read_affinity(source))
    print_groupings(best_groupings(tasks, z, k_max))


def check_overrides(overrides: Sequence[str]) -> DictConfig:
    """Compose the train config with ``overrides`` once, so that a typo fails now, not in every job."""
    from mtlkit.config import compose_train

    try:
        return compose_train(overrides)
    except Exception as err:
        first = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        raise ConfigError(f"the overrides {list(overrides)} do not compose: {first}") from err


def main(argv: Sequence[str] | None = None) -> int:
    args, overrides = parser().parse_known_args(argv)
    console = get_console()
    try:
        if args.groupings_from is not None:
            print_groupings_from(args.groupings_from, args.k)
            return 0
        unknown = [o for o in overrides if o.startswith("-")]
        if unknown:
            raise ConfigError(f"unknown option(s) {unknown}; see {PROG} --help (train overrides are key=value)")
        check_min_effect(args.min_effect)
        if args.seeds < 1:
            raise ConfigError(f"--seeds {args.seeds}: give at least 1 (2 or more for confidence intervals)")
        given = [o for o in overrides if o.split("=")[0] == "trainer.max_epochs"]
        data_overrides = [o for o in overrides if o not in given]  # each job gets its own trainer.max_epochs
        if not any(o.split("=")[0].lstrip("+~") == "logger" for o in overrides):
            data_overrides.append("logger=csv")  # no wandb run per job unless asked for
        transfer = args.transfer.split()
        cfg = check_overrides([*overrides, *(["approach=transfer", *transfer] if transfer else [])])
        epochs = args.epochs if args.epochs is not None else int(cfg.trainer.max_epochs)
        if epochs < 1:
            raise ConfigError(f"--epochs {epochs}: give at least 1")
        methods = balancing_methods(args.balancing)
        balancing = ",".join(methods) or None
        for method in methods:
            check_overrides([*data_overrides, f"weighting={method}"])
        plan = Plan(
            data_overrides=data_overrides,
            seeds=list(range(args.seeds)),
            balancing=balancing,
            transfer=transfer,
            affinity_every=args.affinity_every,
            k=args.k,
            metric=args.metric,
            split=args.split,
            epochs=epochs,
            budget=args.budget,
        )
        out = args.out or Path(os.environ.get("MTLKIT_LOG_DIR", "outputs")) / "advise" / datetime.now().strftime(
            "%Y-%m-%d_%H-%M-%S"
        )
        from mtlkit.advise.run import advise

        verdict = advise(plan, out, args.min_effect)
    except MtlkitError as err:
        console.print(f"[red]{PROG}: error: {escape(str(err))}", highlight=False, soft_wrap=True)
        return 2
    except KeyboardInterrupt as interrupt:
        done = f": {interrupt}" if str(interrupt) else ""  # JobsInterrupted says how many jobs are done
        print(f"\n{PROG}: interrupted; rerun the same command to resume{done}", file=sys.stderr, flush=True)
        return 128 + signal.SIGINT
    return 0 if not verdict.problems else 1


def run() -> None:
    """Console-script entry point."""
    sys.exit(main())


if __name__ == "__main__":
    run()
