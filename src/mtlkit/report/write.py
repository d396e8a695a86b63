"""Write a report to a folder: report.md (tables, plots, failures, the Δm convention) and CSV files."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

from mtlkit.evaluation.metrics import METRICS
from mtlkit.report.build import Report
from mtlkit.report.tables import (
    delta_table,
    example_table,
    failed_table,
    markdown,
    missing_table,
    per_task_records,
    per_task_table,
    run_records,
    summary_records,
    summary_table,
    task_delta_records,
    task_delta_table,
    write_csv,
)

CSV_FILES = {
    "summary.csv": "one row per configuration: macro mean/std/n per metric, parameters, Δm per metric",
    "per_task.csv": "one row per configuration, task and metric: mean, std, n over seeds",
    "runs.csv": "one row per run folder (ok / failed) and per missing job, with its macro metrics or its error",
    "per_task_delta.csv": "one row per configuration and task: the gain over the baseline (%) paired by seed, its "
    "95 % interval, the number of pairs and the verdict",
}

PAIRED_TEXT = (
    "Paired by seed: a configuration's run with seed s is compared with the baseline's run with seed s (same data, "
    "hidden labels and batch order); the per-seed Δm (and each task's relative gain) are averaged over the pairs, "
    "with a 95 % Student-t interval that holds the spread of both. Verdict: better when the interval is above 0, "
    "worse when below, tie when it contains 0, undecided with fewer than 2 pairs. The worst task is the task with "
    "the lowest mean paired gain."
)

EXAMPLE_TEXT = (
    "Per example over its labelled entries, then averaged over examples (docs/metrics.md): Hamming loss, LRAP "
    "(label ranking average precision), ranking loss, one-error and coverage; micro-F1 pools every labelled entry, "
    "macro-F1 averages the per-task F1. ↓ lower is better, ↑ higher is better. Examples with no labelled positive "
    "are left out of LRAP, one-error, coverage and ranking loss (counted in the last column)."
)

TASK_PLOTS_TEXT = (
    "Per configuration (mean over its seeds): `task_cosines_*` is the mean cosine between the per-task gradients "
    "of the shared parameters (red, negative: the two tasks pull the shared features in conflicting directions; "
    "blue, positive: they help each other; the row labels give each task's mean gradient norm |g|, and a task "
    "whose |g| dwarfs the others dominates the shared features). `task_weights_*` shows the task weights during "
    "training (flat at 1 for equal weighting). Measured every `weighting.log_every` steps; see "
    "docs/task_gradients.md."
)


def write_csvs(report: Report, out_dir: Path) -> list[Path]:
    out_dir.mkdir(parents=True, exist_ok=True)
    return [
        write_csv(summary_records(report), out_dir / "summary.csv"),
        write_csv(per_task_records(report), out_dir / "per_task.csv"),
        write_csv(run_records(report), out_dir / "runs.csv"),
        write_csv(task_delta_records(report), out_dir / "per_task_delta.csv"),
    ]


def render_markdown(
    report: Report,
    out_dir: Path,
    plots: Sequence[Path] = (),
    title: str = "mtlkit report",
    task_plots: Sequence[Path] = (),
) -> str:
    """The whole report as markdown; plot links are relative to ``out_dir`` (where report.md goes)."""
    opts = report.options
    coll = report.collection
    nk = len(report.keys)
    parts = [f"# {title}", ""]
    parts.append(
        f"{len(coll.succeeded)} succeeded, {len(coll.failed)} failed and {len(coll.missing)} missing run(s) under "
        + ", ".join(f"`{d}`" for d in report.dirs)
        + f". Split: **{opts.split}**. Swept: {', '.join(f'`{k}`' for k in report.keys) or 'nothing'}; "
        f"replicates over {', '.join(f'`{k}`' for k in opts.seed_keys)}. "
        "Cells are mean ± sample std (ddof=1) over the succeeded runs of a configuration; `n` counts them."
    )
    n = len(report.tasks)
    over = f"the {n} task{'s' if n != 1 else ''} chosen with --tasks" if report.options.tasks else "tasks"
    parts += ["", f"## Summary (macro mean over {over})", "", markdown(*summary_table(report), numeric_from=nk)]
    examples = example_table(report)
    if examples:
        parts += ["", "## Example-based metrics", "", EXAMPLE_TEXT, "", markdown(*examples, numeric_from=1)]
    if report.has_deltas:
        parts += ["", "## Δm against the baseline", "", markdown(*delta_table(report), numeric_from=2)]
        parts += ["", PAIRED_TEXT]
        if opts.min_effect > 0:
            parts[-1] += (
                f" With --min-effect {opts.min_effect:g}: better or worse only when the interval excludes 0 and the "
                f"mean is at least {opts.min_effect:g} % in size; otherwise no meaningful difference."
            )
        task_deltas = task_delta_table(report)
        if task_deltas:
            parts += ["", f"## {opts.metric} gain per task over the baseline (%, paired by seed)", ""]
            parts += [markdown(*task_deltas, numeric_from=1)]
    parts += ["", f"Δm convention: {opts.baseline.convention()}"]
    for metric in METRICS:
        table = per_task_table(report, metric)
        if table:
            parts += ["", f"## {metric} per task", "", markdown(*table, numeric_from=1)]
    if report.tasks and opts.metric in METRICS and not per_task_table(report, opts.metric):
        parts += ["", f"{len(report.tasks)} tasks: per-task values are in `per_task.csv`."]
    if plots:
        parts += ["", "## Plots", ""]
        parts += [f"![{p.stem}]({os.path.relpath(p, out_dir)})" for p in plots]
    if task_plots:
        parts += ["", "## Task gradients and weights", "", TASK_PLOTS_TEXT, ""]
        parts += [f"![{p.stem}]({os.path.relpath(p, out_dir)})" for p in task_plots]
    parts += ["", f"## Failed runs ({len(coll.failed)})", ""]
    parts += [markdown(*failed_table(report)) if coll.failed else "None."]
    parts += ["", f"## Missing runs ({len(coll.missing)})", ""]
    if coll.missing:
        parts += ["Jobs that a multirun planned (multirun.yaml) but that left no run folder.", ""]
        parts += [markdown(*missing_table(report))]
    else:
        parts += ["None."]
    if report.notes:
        parts += ["", "## Notes", ""] + [f"- {n}" for n in report.notes]
    parts += ["", "## Files", ""] + [f"- `{name}`: {what}" for name, what in CSV_FILES.items()]
    return "\n".join(parts) + "\n"


def write_report(
    report: Report,
    out_dir: Path,
    plots: Sequence[Path] = (),
    title: str = "mtlkit report",
    task_plots: Sequence[Path] = (),
) -> list[Path]:
    """Write report.md and the CSV files into ``out_dir``; returns the files written."""
    paths = write_csvs(report, out_dir)
    md = out_dir / "report.md"
    md.write_text(render_markdown(report, out_dir, plots, title, task_plots))
    return [md, *paths]
