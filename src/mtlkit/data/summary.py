"""Per-task label counts (positive / negative / unknown, and uncertain where the data mark it, per split) and
their terminal table."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from rich.console import Console
from rich.table import Table

from mtlkit.console import get_console

MAX_ROWS = 24  # more tasks than this: the table shows the extremes (data.label_table=full: every task)
EXTREME_ROWS = 10
LABEL_TABLE_MODES = ("summary", "full")


def label_counts(splits: Mapping, tasks: Sequence[str]) -> dict[str, dict[str, dict[str, int]]]:
    """``{split: {task: {"pos", "neg", "unknown"}}}`` counted from each split's ``y`` and ``mask`` (what training
    sees). Splits that carry an ``uncertain`` mask also get ``"uncertain"``: how many of the task's cells were
    marked uncertain (-1) in the file, whichever of pos / neg / unknown the uncertain policy made of them."""
    out: dict[str, dict[str, dict[str, int]]] = {}
    for name, sp in splits.items():
        pos = ((sp.y > 0.5) & sp.mask).sum(0).tolist()
        lab = sp.mask.sum(0).tolist()
        n = len(sp)
        out[name] = {t: {"pos": int(p), "neg": int(m - p), "unknown": int(n - m)} for t, p, m in zip(tasks, pos, lab)}
        unc = getattr(sp, "uncertain", None)
        if unc is not None:
            for t, u in zip(tasks, unc.sum(0).tolist()):
                out[name][t]["uncertain"] = int(u)
    return out


def print_label_table(
    counts: Mapping,
    tasks: Sequence[str],
    title: str = "Labels",
    console: Console | None = None,
    caption: str | None = None,
    full: bool = False,
) -> None:
    """Print one row per task with ``pos / neg / ?`` for each split (and ``/ unc`` where counts have
    ``"uncertain"``). Over :data:`MAX_ROWS` tasks, unless ``full``, only the :data:`EXTREME_ROWS` tasks with the
    most labelled entries and those with the fewest are shown, with a line on the spread over all tasks."""
    with_unc = any("uncertain" in v for c in counts.values() for v in c.values())
    table = Table(title=title, title_justify="left", caption=caption, caption_justify="left")
    table.add_column("task")
    for split in counts:
        table.add_column(f"{split}: pos / neg / ?{' / unc' if with_unc else ''}", justify="right")

    def cell(v: Mapping) -> str:
        text = f"{v['pos']} / {v['neg']} / {v['unknown']}"
        return f"{text} / {v.get('uncertain', 0)}" if with_unc else text

    if full or len(tasks) <= MAX_ROWS:
        for t in tasks:
            table.add_row(t, *[cell(c[t]) for c in counts.values()])
    else:  # the best- and least-labelled tasks, and how the labels spread over all of them
        top, bottom = extreme_tasks(counts, tasks, EXTREME_ROWS)
        for t in top:
            table.add_row(t, *[cell(c[t]) for c in counts.values()])
        table.add_row(f"... {len(tasks) - len(top) - len(bottom)} more", *["" for _ in counts], style="dim")
        for t in bottom:
            table.add_row(t, *[cell(c[t]) for c in counts.values()])
        spread = spread_line(counts, tasks)
        caption = f"{caption} {spread}" if caption else spread
        table.caption = caption
    totals = []
    for c in counts.values():
        p = sum(v["pos"] for v in c.values())
        n = sum(v["neg"] for v in c.values())
        u = sum(v["unknown"] for v in c.values())
        frac = u / max(p + n + u, 1)
        unc = f" / {sum(v.get('uncertain', 0) for v in c.values())}" if with_unc else ""
        totals.append(f"{p} / {n} / {u}{unc} ({frac:.0%} ?)")
    table.add_row("all tasks", *totals, style="bold")
    (console or get_console()).print(table)


def labelled_per_task(counts: Mapping, tasks: Sequence[str]) -> tuple[list[int], list[int]]:
    """Labelled entries (pos + neg) and positives of each task, summed over the splits."""
    labelled = [sum(c[t]["pos"] + c[t]["neg"] for c in counts.values()) for t in tasks]
    positives = [sum(c[t]["pos"] for c in counts.values()) for t in tasks]
    return labelled, positives


def extreme_tasks(counts: Mapping, tasks: Sequence[str], k: int) -> tuple[list[str], list[str]]:
    """The ``k`` tasks with the most labelled entries (most first) and the ``k`` with the fewest (fewest last);
    ties keep the task order."""
    labelled, _ = labelled_per_task(counts, tasks)
    order = sorted(range(len(tasks)), key=lambda j: (-labelled[j], j))
    k = min(k, len(tasks) // 2)
    return [tasks[j] for j in order[:k]], [tasks[j] for j in order[len(order) - k :]]


def spread_line(counts: Mapping, tasks: Sequence[str]) -> str:
    """One line: how many tasks, and the min / median / max of labelled entries and positives per task."""
    labelled, positives = labelled_per_task(counts, tasks)

    def spread(values: list[int]) -> str:
        ordered = sorted(values)
        return f"{ordered[0]} / {ordered[len(ordered) // 2]} / {ordered[-1]}"

    return (
        f"{len(tasks)} tasks, the {EXTREME_ROWS} most and {EXTREME_ROWS} least labelled shown; per task (all splits) "
        f"labelled min / median / max {spread(labelled)}, positives {spread(positives)}. Every task: "
        "data.label_table=full."
    )
