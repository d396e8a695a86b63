"""PNG plots of a report (matplotlib, Agg backend): a metric against a swept numeric parameter, one line per value
of the other swept keys (e.g. per approach), error bars = ±1 std over seeds; bars when nothing numeric is swept."""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from pathlib import Path

from mtlkit.errors import MtlkitError
from mtlkit.evaluation.example_metrics import EXAMPLE_METRICS, LOWER_IS_BETTER, direction
from mtlkit.report.aggregate import Group, Stat, sort_key
from mtlkit.report.build import Report, Row
from mtlkit.report.collect import display
from mtlkit.report.delta import is_baseline

MAX_TASK_PANELS = 16
DPI = 120


def _pyplot():
    try:
        import matplotlib
    except ImportError as err:  # installed with --no-deps, say
        raise MtlkitError("plots need matplotlib: pip install matplotlib (or pass --no-plots)") from err

    matplotlib.use("Agg", force=True)
    # Labels are run values, which may hold "$" (an unresolved ${...} interpolation); never read them as mathtext.
    matplotlib.rcParams["text.parse_math"] = False
    import matplotlib.pyplot as plt

    return plt


def numeric_keys(report: Report) -> list[str]:
    """Swept keys whose values are all numbers, with at least two distinct values. Baseline groups are left out for
    a key that need not match the baseline (--ignore): they are drawn as reference lines."""
    spec = report.options.baseline
    out = []
    for key in report.keys:
        groups = [g for g in report.groups if not (key in spec.ignore and is_baseline(g, spec))]
        values = {g.value(key) for g in groups}
        if len(values) >= 2 and all(isinstance(v, float) for v in values):
            out.append(key)
    return out


def _macro(report: Report) -> str:
    """How the macro mean was taken: over every task, or over the tasks chosen with --tasks (an example-based metric
    is one value over all tasks)."""
    if report.options.metric in EXAMPLE_METRICS:
        return "example-based, over all tasks"
    return f"macro over {len(report.tasks)} chosen tasks" if report.options.tasks else "macro over tasks"


def _ylabel(metric: str, what: str = "macro") -> str:
    """The y label of a metric, with its direction: ``hamming (lower is better)``."""
    kind = "" if metric in EXAMPLE_METRICS else f"{what}, "
    return f"{metric} ({kind}{direction(metric)})"


def _delta_note(metric: str) -> str:
    """What the sign of Δm means for ``metric`` (sign flipped for a lower-is-better one)."""
    flipped = " (sign flipped: lower is better)" if metric in LOWER_IS_BETTER else ""
    return f"Δm > 0 is better{flipped}"


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "_", text).strip("_")


def _short(text: str, limit: int = 40) -> str:
    """A legend-sized value: long values (a dict of per-task rates, say) cut to ``limit`` characters."""
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _series(report: Report, x: str) -> dict[str, list[Row]]:
    """Rows split into lines: one per combination of the swept keys other than ``x``. A line is labelled by the keys
    that must match the baseline; the --ignore keys are added only where those labels would not tell lines apart."""
    others = [k for k in report.keys if k != x]
    lines: dict[tuple, list[Row]] = {}
    for row in report.rows:
        lines.setdefault(tuple(display(row.group.value(k)) for k in others), []).append(row)
    for rows in lines.values():
        rows.sort(key=lambda r: sort_key(r.group.value(x)))

    def labels(keys: list[str]) -> list[str]:
        return [
            ", ".join(f"{k}={_short(v)}" for k, v in zip(others, values) if k in keys) or "all runs" for values in lines
        ]

    chosen = [k for k in others if k not in report.options.baseline.ignore]
    spare = [k for k in others if k not in chosen]
    names = labels(chosen)
    while len(set(names)) < len(names) and spare:
        # Add the ignored key that tells the most lines apart (fewest distinct values on a tie).
        def score(key: str) -> tuple[int, int]:
            distinct = {values[others.index(key)] for values in lines}
            return len(set(labels(chosen + [key]))), -len(distinct)

        best = max(spare, key=score)
        spare.remove(best)
        chosen.append(best)
        names = labels(chosen)
    return dict(zip(names, lines.values()))


def _log_x(values: Sequence[float]) -> bool:
    """Whether the positive swept values span a factor 8 or more (0 may be among them: a symlog axis then)."""
    pos = [v for v in values if v > 0]
    if len(pos) < 2 or any(v < 0 for v in values):
        return False
    return max(pos) / min(pos) >= 8


def _log_x_axis(ax, xs: Sequence[float]) -> None:
    """A log x axis when the swept values span a factor 8 or more, ticked at those values in plain numbers."""
    if not _log_x(list(xs)):
        return
    ticks = sorted(set(xs))
    if ticks[0] == 0:
        ax.set_xscale("symlog", linthresh=ticks[1])
    else:
        ax.set_xscale("log")
    ax.set_xticks(ticks, [f"{t:g}" for t in ticks])
    ax.minorticks_off()


def _errorbar(ax, xs: list[float], stats: list[Stat], label: str, color: str) -> None:
    pts = [(x, s) for x, s in zip(xs, stats) if s.n > 0]
    if not pts:
        return
    ax.errorbar(
        [x for x, _ in pts],
        [s.mean for _, s in pts],
        yerr=[0.0 if math.isnan(s.std) else s.std for _, s in pts],
        marker="o",
        capsize=3,
        label=label,
        color=color,
    )


def is_reference_series(report: Report, x: str, rows: list[Row]) -> bool:
    """A baseline series that ``x`` does not apply to (``x`` is an --ignore key, e.g. the source size of a run from
    scratch): drawn as a horizontal line, not as a point at its meaningless value of ``x``."""
    spec = report.options.baseline
    return (
        x in spec.ignore
        and len({r.group.value(x) for r in rows}) == 1
        and all(is_baseline(r.group, spec) for r in rows)
    )


def _reference_line(ax, stat: Stat, label: str, color: str) -> None:
    """A horizontal line at ``stat.mean`` with a ±1 std band."""
    if stat.n == 0:
        return
    ax.axhline(stat.mean, color=color, linestyle=":", label=f"{label} (reference)")
    if not math.isnan(stat.std):
        ax.axhspan(stat.mean - stat.std, stat.mean + stat.std, color=color, alpha=0.12, linewidth=0)


def _finish(fig, ax, x: str, xs: Sequence[float], ylabel: str, title: str, path: Path) -> Path:
    ax.set_xlabel(x)
    ax.set_ylabel(ylabel)
    ax.set_title(title, fontsize=10)
    _log_x_axis(ax, xs)
    ax.grid(alpha=0.3)
    if ax.get_legend_handles_labels()[0]:
        ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=DPI)
    return path


def plot_metric_vs(report: Report, x: str, metric: str, out_dir: Path) -> Path:
    """Macro ``metric`` against swept key ``x``, one line per value of the other swept keys."""
    plt = _pyplot()
    split = report.options.split
    fig, ax = plt.subplots(figsize=(6.4, 4.2))
    xs_all: list[float] = []
    for i, (label, rows) in enumerate(_series(report, x).items()):
        if is_reference_series(report, x, rows):
            _reference_line(ax, rows[0].group.stat(split, metric), label, f"C{i}")
            continue
        xs = [r.group.value(x) for r in rows]
        xs_all += xs
        _errorbar(ax, xs, [r.group.stat(split, metric) for r in rows], label, f"C{i}")
    title = f"{metric} ({split}, {_macro(report)}) vs {x}\n{direction(metric)}; error bars: ±1 std over seeds"
    path = _finish(fig, ax, x, xs_all, _ylabel(metric), title, out_dir / f"{_slug(metric)}_vs_{_slug(x)}.png")
    plt.close(fig)
    return path


def plot_delta_vs(report: Report, x: str, metric: str, out_dir: Path) -> Path | None:
    """Δm of ``metric`` against ``x``, one line per value of the other swept keys; baseline groups sit at 0, their
    error bars showing their own seed spread."""
    spec = report.options.baseline
    rows = [r for r in report.rows if r.deltas[metric] is not None]
    if not rows or all(is_baseline(r.group, spec) for r in rows):
        return None
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(6.4, 4.2))
    xs_all: list[float] = []
    for i, (label, members) in enumerate(_series(report, x).items()):
        members = [r for r in members if r.deltas[metric] is not None]
        if not members:
            continue
        stats = [Stat(r.deltas[metric].value, r.deltas[metric].std, r.deltas[metric].n) for r in members]
        if is_reference_series(report, x, members):
            _reference_line(ax, stats[0], label, f"C{i}")
            continue
        xs = [r.group.value(x) for r in members]
        xs_all += xs
        _errorbar(ax, xs, stats, label, f"C{i}")
    ax.axhline(0.0, color="grey", linestyle="--", linewidth=1)
    title = (
        f"Δm {metric} (%, {report.options.split}) vs {x} against {spec.text}\n{_delta_note(metric)}; "
        "error bars: ±1 std over seeds"
    )
    path = out_dir / f"delta_m_{_slug(metric)}_vs_{_slug(x)}.png"
    _finish(fig, ax, x, xs_all, f"Δm {metric} (%, > 0 better)", title, path)
    plt.close(fig)
    return path


def plot_per_task_vs(report: Report, x: str, metric: str, out_dir: Path) -> Path | None:
    """One panel per task (up to 16 tasks): ``metric`` against ``x``, one line per value of the other keys."""
    tasks = report.tasks
    if not tasks or len(tasks) > MAX_TASK_PANELS or metric in EXAMPLE_METRICS:  # example-based: no per-task values
        return None
    plt = _pyplot()
    split = report.options.split
    cols = min(4, len(tasks))
    nrows = math.ceil(len(tasks) / cols)
    fig, axes = plt.subplots(nrows, cols, figsize=(3.4 * cols, 2.8 * nrows), squeeze=False, sharex=True)
    series = _series(report, x)
    references = {label for label, rows in series.items() if is_reference_series(report, x, rows)}
    xs_all = [r.group.value(x) for label, rows in series.items() if label not in references for r in rows]
    for i, (ax, task) in enumerate(zip(axes.flat, tasks)):
        for j, (label, rows) in enumerate(series.items()):
            rows = [r for r in rows if task in r.group.tasks]
            if label in references:
                if rows:
                    _reference_line(ax, rows[0].group.stat(split, metric, task), label, f"C{j}")
                continue
            stats = [r.group.stat(split, metric, task) for r in rows]
            _errorbar(ax, [r.group.value(x) for r in rows], stats, label, f"C{j}")
        ax.set_title(task, fontsize=9)
        ax.grid(alpha=0.3)
        if i + cols >= len(tasks):  # bottom panel of its column
            ax.set_xlabel(x, fontsize=8)
            ax.tick_params(labelbottom=True)
        _log_x_axis(ax, xs_all)
    for ax in list(axes.flat)[len(tasks) :]:
        ax.set_visible(False)
    handles, labels = axes.flat[0].get_legend_handles_labels()
    if handles:
        fig.legend(handles, labels, loc="lower center", ncol=min(4, len(labels)), fontsize=8)
    fig.suptitle(f"{metric} ({split}, {direction(metric)}) per task vs {x}; error bars: ±1 std over seeds", fontsize=10)
    fig.tight_layout(rect=(0, 0.1 if handles else 0, 1, 1))
    path = out_dir / f"{_slug(metric)}_per_task_vs_{_slug(x)}.png"
    fig.savefig(path, dpi=DPI)
    plt.close(fig)
    return path


def plot_bars(report: Report, metric: str, out_dir: Path) -> list[Path]:
    """Bars per configuration (macro ``metric``, and Δm where there is a baseline), error bars ±1 std."""
    plt = _pyplot()
    split = report.options.split
    groups: list[Group] = report.groups
    labels = [g.label for g in groups]
    paths = []
    fig, ax = plt.subplots(figsize=(max(5.0, 1.1 * len(groups) + 2), 4.2))
    stats = [g.stat(split, metric) for g in groups]
    ax.bar(
        range(len(groups)),
        [0.0 if s.n == 0 else s.mean for s in stats],
        yerr=[0.0 if math.isnan(s.std) else s.std for s in stats],
        capsize=4,
    )
    ax.set_xticks(range(len(groups)), labels, rotation=20, ha="right", fontsize=8)
    ax.set_ylabel(_ylabel(metric))
    ax.set_title(
        f"{metric} ({split}, {_macro(report)})\n{direction(metric)}\nerror bars: ±1 std over seeds", fontsize=10
    )
    ax.grid(alpha=0.3, axis="y")
    fig.tight_layout()
    paths.append(out_dir / f"{_slug(metric)}_by_configuration.png")
    fig.savefig(paths[-1], dpi=DPI)
    plt.close(fig)

    rows = [r for r in report.rows if r.deltas[metric] is not None]
    if rows:
        fig, ax = plt.subplots(figsize=(max(5.0, 1.1 * len(rows) + 2), 4.2))
        deltas = [r.deltas[metric] for r in rows]
        ax.bar(
            range(len(rows)),
            [d.value for d in deltas],
            yerr=[0.0 if math.isnan(d.std) else d.std for d in deltas],
            capsize=4,
        )
        ax.axhline(0.0, color="grey", linewidth=1)
        ax.set_xticks(range(len(rows)), [r.group.label for r in rows], rotation=20, ha="right", fontsize=8)
        ax.set_ylabel(f"Δm {metric} (%, > 0 better)")
        title = (
            f"Δm {metric} (%) against {report.options.baseline.text}\n{_delta_note(metric)}\n"
            "error bars: ±1 std over seeds"
        )
        ax.set_title(title, fontsize=10)
        ax.grid(alpha=0.3, axis="y")
        fig.tight_layout()
        paths.append(out_dir / f"delta_m_{_slug(metric)}_by_configuration.png")
        fig.savefig(paths[-1], dpi=DPI)
        plt.close(fig)
    return paths


def draw_plots(report: Report, out_dir: Path, x_keys: Sequence[str] | None = None) -> list[Path]:
    """Every plot of the report, for the headline metric, into ``out_dir``; returns the files written."""
    out_dir.mkdir(parents=True, exist_ok=True)
    metric = report.options.metric
    if not report.collection.succeeded:
        return []
    xs = list(x_keys) if x_keys else numeric_keys(report)
    paths: list[Path] = []
    if not xs:
        return plot_bars(report, metric, out_dir)
    for x in xs:
        paths.append(plot_metric_vs(report, x, metric, out_dir))
        for extra in (plot_delta_vs(report, x, metric, out_dir), plot_per_task_vs(report, x, metric, out_dir)):
            if extra is not None:
                paths.append(extra)
    return paths
