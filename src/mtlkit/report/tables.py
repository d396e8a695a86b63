"""The report's tables: plain records for CSV, and formatted cells for markdown and the terminal (rich)."""

from __future__ import annotations

import csv
import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from mtlkit.evaluation.example_metrics import EXAMPLE_METRICS, LOWER_IS_BETTER
from mtlkit.evaluation.metrics import METRICS
from mtlkit.report.aggregate import Stat, metric_value
from mtlkit.report.build import Report
from mtlkit.report.collect import canonical, display
from mtlkit.report.delta import Delta
from mtlkit.report.paired import Paired, PairedGains

MAX_TASK_COLUMNS = 12  # wider per-task tables go to per_task.csv only


def _num(x: float | None) -> float | str:
    return "" if x is None or (isinstance(x, float) and math.isnan(x)) else x


def pm(stat: Stat, digits: int = 3) -> str:
    """``mean ± std`` (``n/a`` when undefined; ``± n/a`` with a single seed)."""
    if stat.n == 0:
        return "n/a"
    std = "n/a" if math.isnan(stat.std) else f"{stat.std:.{digits}f}"
    return f"{stat.mean:.{digits}f} ± {std}"


def metric_label(metric: str) -> str:
    """A metric's column name, marked ↓ when lower is better (↑ for the other example-based metrics)."""
    if metric in LOWER_IS_BETTER:
        return f"{metric} ↓"
    return f"{metric} ↑" if metric in EXAMPLE_METRICS else metric


def shown_metrics(report: Report) -> list[str]:
    """The macro columns of the summary: the per-task metrics, and the headline metric when it is example-based."""
    metric = report.options.metric
    return [*METRICS, metric] if metric in EXAMPLE_METRICS else list(METRICS)


def csv_metrics(report: Report) -> list[str]:
    """The metrics the CSV files carry: the per-task ones, and the example-based ones when runs have them."""
    return [*METRICS, *EXAMPLE_METRICS] if report.has_example_metrics else list(METRICS)


def delta_cell(delta: Delta | None, is_own_baseline: bool = False) -> str:
    if delta is None:
        return "n/a"
    std = "n/a" if math.isnan(delta.std) else f"{delta.std:.2f}"
    text = f"{delta.value:+.2f} ± {std}"
    return f"{text} (baseline)" if is_own_baseline else text


# ---------------------------------------------------------------- records (CSV)


def summary_records(report: Report) -> list[dict[str, Any]]:
    """One record per configuration: swept values, run counts, macro mean/std/n per metric, Δm per metric."""
    split = report.options.split
    metrics = csv_metrics(report)
    out = []
    for row in report.rows:
        g = row.group
        rec: dict[str, Any] = {k: display(g.value(k)) for k in report.keys}
        rec.update(n_ok=len(g.ok_runs), n_failed=len(g.failed_runs), seeds=" ".join(g.seeds(report.options.seed_keys)))
        for m in metrics:
            s = g.stat(split, m)
            rec.update({f"{m}_mean": _num(s.mean), f"{m}_std": _num(s.std), f"{m}_n": s.n})
        rec["params_mean"] = _num(g.field_stat("parameters", "total").mean)
        rec["fit_s_mean"] = _num(g.field_stat("timings", "fit_s").mean)
        rec["baseline"] = row.baseline.label if row.baseline else ""
        for m in metrics:
            d = row.deltas[m]
            rec.update(
                {
                    f"delta_m_{m}_pct": _num(d.value if d else None),
                    f"delta_m_{m}_std": _num(d.std if d else None),
                    f"delta_m_{m}_n": d.n if d else "",
                }
            )
        rec["delta_m_tasks"] = len(row.deltas[report.options.metric].tasks) if row.deltas[report.options.metric] else ""
        p = row.paired
        rec.update(
            paired_delta_m_pct=_num(p.delta.mean if p else None),
            paired_ci_low=_num(p.delta.low if p else None),
            paired_ci_high=_num(p.delta.high if p else None),
            paired_n=p.delta.n if p else "",
            verdict=p.delta.verdict_at(report.options.min_effect) if p else "",
            worst_task=(p.worst_task[0] if p and p.worst_task else ""),
            worst_task_gain_pct=_num(p.worst_task[1] if p and p.worst_task else None),
        )
        rec["no_baseline_reason"] = row.why_no_baseline
        out.append(rec)
    return out


def per_task_records(report: Report) -> list[dict[str, Any]]:
    """Tidy records: one per configuration, task and metric, with mean, std and n over seeds."""
    split = report.options.split
    out = []
    for g in report.groups:
        for task in report.tasks:
            if task not in g.tasks:
                continue
            for m in METRICS:
                s = g.stat(split, m, task)
                rec = {k: display(g.value(k)) for k in report.keys}
                rec.update(task=task, metric=m, mean=_num(s.mean), std=_num(s.std), n=s.n)
                out.append(rec)
    return out


def run_records(report: Report) -> list[dict[str, Any]]:
    """One record per run folder (succeeded and failed), then one per missing job."""
    split = report.options.split
    keys = report.keys
    out = []
    for run in report.collection.runs:
        rec: dict[str, Any] = {"status": "ok" if run.ok else "failed", "path": str(run.path)}
        rec.update({k: display(run.value(k)) for k in keys})
        rec.update({k: display(run.value(k)) for k in report.options.seed_keys})
        rec.update({f"{m}_macro": _num(metric_value(run, split, m)) for m in METRICS})
        if report.has_example_metrics:
            rec.update({m: _num(metric_value(run, split, m)) for m in EXAMPLE_METRICS})
        rec["error"] = run.error or ""
        out.append(rec)
    for job in report.collection.missing:
        rec = {"status": "missing", "path": str(job.sweep_dir)}
        rec.update({k: display(job.overrides.get(k, "")) for k in [*keys, *report.options.seed_keys]})
        rec["error"] = "planned by the sweep, no run folder: " + overrides_text(job.overrides)
        out.append(rec)
    return out


def overrides_text(overrides: Mapping[str, Any]) -> str:
    return " ".join(f"{k}={display(canonical(v))}" for k, v in overrides.items())


def write_csv(records: Sequence[Mapping[str, Any]], path: Path) -> Path:
    fields: list[str] = []
    for rec in records:
        fields += [k for k in rec if k not in fields]
    with path.open("w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=fields)
        writer.writeheader()
        writer.writerows(records)
    return path


# ---------------------------------------------------------------- formatted tables (markdown, rich)


def summary_table(report: Report) -> tuple[list[str], list[list[str]]]:
    """Headers and rows of the summary: swept values, n, failed, params, macro metrics, Δm of the headline metric."""
    split, metric = report.options.split, report.options.metric
    shown = shown_metrics(report)
    headers = [*report.keys, "n", "failed", "params", *[metric_label(m) for m in shown]]
    show_delta = report.has_deltas
    if show_delta:
        headers += [f"Δm {metric} (%)", "paired Δm, 95 % CI", "verdict", "worst task (%)"]
    rows = []
    for row in report.rows:
        g = row.group
        params = g.field_stat("parameters", "total")
        cells = [display(g.value(k)) for k in report.keys]
        cells += [str(len(g.ok_runs)), str(len(g.failed_runs)), f"{params.mean:,.0f}" if params.n else "n/a"]
        cells += [pm(g.stat(split, m)) for m in shown]
        if show_delta:
            cells.append(delta_cell(row.deltas[metric], row.baseline is g))
            cells += paired_cells(row.paired, row.baseline is g, report.options.min_effect)
        rows.append(cells)
    return headers, rows


def paired_cell(p: Paired) -> str:
    """``+1.23 [+0.40, +2.06]`` (the mean paired difference and its 95 % interval; n/a below 2 pairs)."""
    if p.n == 0 or math.isnan(p.mean):
        return "n/a"
    if p.n < 2:
        return f"{p.mean:+.2f} (1 pair)"
    return f"{p.mean:+.2f} [{p.low:+.2f}, {p.high:+.2f}]"


def paired_cells(gains: PairedGains | None, is_own_baseline: bool = False, min_effect: float = 0.0) -> list[str]:
    """The paired Δm with its interval, the verdict (with ``min_effect``, :meth:`Paired.verdict_at`), and the
    worst task of a configuration."""
    if is_own_baseline:
        return ["baseline", "", ""]
    if gains is None:
        return ["n/a", "", ""]
    worst = gains.worst_task
    worst_text = "" if worst is None or worst[0] == "None" else f"{worst[0]} ({worst[1]:+.2f})"
    return [paired_cell(gains.delta), gains.delta.verdict_at(min_effect), worst_text]


def task_delta_table(report: Report) -> tuple[list[str], list[list[str]]] | None:
    """Configurations x tasks: each task's relative gain over the baseline (%), paired by seed, with its 95 %
    interval and verdict; None when no configuration has a paired baseline or there are too many tasks."""
    rows_with = [r for r in report.rows if r.paired is not None]
    tasks = report.tasks
    if not rows_with or not tasks or len(tasks) > MAX_TASK_COLUMNS or report.options.metric in EXAMPLE_METRICS:
        return None
    headers = ["configuration", *tasks]
    rows = []
    for row in rows_with:
        cells = []
        for t in tasks:
            p = row.paired.per_task.get(t) if row.paired else None
            verdict = p.verdict_at(report.options.min_effect) if p is not None and p.n >= 2 else ""
            cells.append("-" if p is None else f"{paired_cell(p)} {verdict}".strip())
        rows.append([row.group.label, *cells])
    return headers, rows


def task_delta_records(report: Report) -> list[dict[str, Any]]:
    """Tidy records of the paired per-task gains: configuration, task, mean, 95 % interval, n, verdict."""
    out = []
    for row in report.rows:
        if row.paired is None:
            continue
        for task, p in row.paired.per_task.items():
            rec: dict[str, Any] = {k: display(row.group.value(k)) for k in report.keys}
            rec.update(
                task=task,
                metric=report.options.metric,
                gain_pct=_num(p.mean),
                ci_low=_num(p.low),
                ci_high=_num(p.high),
                n_pairs=p.n,
                verdict=p.verdict_at(report.options.min_effect),
            )
            out.append(rec)
    return out


def delta_table(report: Report) -> tuple[list[str], list[list[str]]]:
    """Δm of every per-task metric (and of the headline metric when it is example-based) for each configuration that
    has a baseline, and which baseline and tasks it used."""
    shown = shown_metrics(report)
    headers = ["configuration", "baseline", *[f"Δm {m} (%)" for m in shown], "tasks"]
    rows = []
    for row in report.rows:
        if row.baseline is None:
            rows.append([row.group.label, f"none: {row.why_no_baseline}", *["n/a" for _ in shown], ""])
            continue
        first = next((row.deltas[m] for m in METRICS if row.deltas.get(m) is not None), None)
        tasks = "0"  # e.g. every run of the configuration failed
        if first is not None:
            tasks = f"{len(first.tasks)}" + (f" ({len(first.skipped)} skipped)" if first.skipped else "")
        cells = [delta_cell(row.deltas[m]) for m in shown]
        base = "itself" if row.baseline is row.group else row.baseline.label
        rows.append([row.group.label, base, *cells, tasks])
    return headers, rows


def per_task_table(report: Report, metric: str) -> tuple[list[str], list[list[str]]] | None:
    """Configurations x tasks for one metric (None when there are too many tasks for a readable table)."""
    tasks = report.tasks
    if not tasks or len(tasks) > MAX_TASK_COLUMNS or metric in EXAMPLE_METRICS:  # example-based: no per-task values
        return None
    headers = ["configuration", *tasks, "macro"]
    rows = []
    for g in report.groups:
        cells = [pm(g.stat(report.options.split, metric, t)) if t in g.tasks else "-" for t in tasks]
        rows.append([g.label, *cells, pm(g.stat(report.options.split, metric))])
    return headers, rows


def example_table(report: Report) -> tuple[list[str], list[list[str]]] | None:
    """Configurations x example-based metrics (mean ± std over seeds; ↓ lower is better), with the mean number of
    examples and of those left out of the ranking metrics (no labelled positive); None when no run has them."""
    if not report.has_example_metrics:
        return None
    split = report.options.split
    headers = ["configuration", *[metric_label(m) for m in EXAMPLE_METRICS], "examples", "no labelled positive"]
    rows = []
    for g in report.groups:
        block = ("metrics", split, "example_based")
        n = g.field_stat(*block, "n_examples")
        left = g.field_stat(*block, "left_out_examples", "lrap")
        counts = [f"{s.mean:,.0f}" if s.n else "n/a" for s in (n, left)]
        rows.append([g.label, *[pm(g.stat(split, m)) for m in EXAMPLE_METRICS], *counts])
    return headers, rows


def failed_table(report: Report) -> tuple[list[str], list[list[str]]]:
    rows = [[str(r.path), r.error or "", overrides_text(r.overrides)] for r in report.collection.failed]
    return ["run", "reason", "overrides"], rows


def missing_table(report: Report) -> tuple[list[str], list[list[str]]]:
    rows = [[str(m.sweep_dir), overrides_text(m.overrides)] for m in report.collection.missing]
    return ["multirun", "overrides of the job that never ran"], rows


def markdown(headers: Sequence[str], rows: Sequence[Sequence[str]], numeric_from: int | None = None) -> str:
    """A GitHub markdown table; columns from ``numeric_from`` on are right-aligned."""

    def esc(cell: str) -> str:
        return str(cell).replace("|", "\\|").replace("\n", " ")

    align = ["---:" if numeric_from is not None and i >= numeric_from else "---" for i in range(len(headers))]
    lines = ["| " + " | ".join(esc(h) for h in headers) + " |", "|" + "|".join(align) + "|"]
    lines += ["| " + " | ".join(esc(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)


def rich_table(
    headers: Sequence[str], rows: Sequence[Sequence[str]], title: str, numeric_from: int | None = None
) -> Table:
    table = Table(title=title, title_justify="left")
    for i, h in enumerate(headers):
        table.add_column(h, justify="right" if numeric_from is not None and i >= numeric_from else "left")
    for row in rows:
        table.add_row(*row)
    return table


def print_report(report: Report, console: Console, written: Sequence[Path] = ()) -> None:
    """The summary, the headline metric per task, Δm's convention, failures, missing jobs and notes."""
    opts = report.options
    coll = report.collection
    console.print(
        f"[bold]{len(coll.succeeded)} succeeded, {len(coll.failed)} failed, {len(coll.missing)} missing run(s)[/] "
        f"in {', '.join(map(str, report.dirs))}; split {opts.split}; swept: {', '.join(report.keys) or 'nothing'}; "
        f"replicates over {', '.join(opts.seed_keys)}"
    )
    headers, rows = summary_table(report)
    title = f"Macro over tasks, mean ± std over seeds ({opts.split})"
    console.print(rich_table(headers, rows, title, numeric_from=len(report.keys)))
    per_task = per_task_table(report, opts.metric)
    if per_task:
        console.print(rich_table(*per_task, title=f"{opts.metric} per task ({opts.split})", numeric_from=1))
    examples = example_table(report)
    if examples:
        title = f"Example-based metrics ({opts.split}; ↓ lower is better; docs/metrics.md)"
        console.print(rich_table(*examples, title=title, numeric_from=1))
    if report.has_deltas:
        console.print(rich_table(*delta_table(report), title="Δm against the baseline", numeric_from=2))
        task_deltas = task_delta_table(report)
        if task_deltas:
            title = f"{opts.metric} gain per task over the baseline (%, paired by seed, 95 % CI, verdict)"
            console.print(rich_table(*task_deltas, title=title, numeric_from=1))
        console.print(f"[dim]{opts.baseline.convention()}")
    if coll.failed:
        console.print(rich_table(*failed_table(report), title=f"[red]Failed runs ({len(coll.failed)})"))
    if coll.missing:
        console.print(rich_table(*missing_table(report), title=f"[red]Missing runs ({len(coll.missing)})"))
    for note in report.notes:
        console.print(f"[yellow]note: {note}")
    for path in written:
        console.print(f"wrote {path}")
