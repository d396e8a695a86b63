"""Per-task label counts (positive / negative / unknown, and uncertain where the data mark it, per split) and
their terminal table."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from rich.console import Console
from rich.table import Table

from mtlkit.console import get_console

MAX_ROWS = 24


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
) -> None:
    """Print one row per task with ``pos / neg / ?`` for each split (and ``/ unc`` where counts have
    ``"uncertain"``); long task lists are cut, with a count."""
    with_unc = any("uncertain" in v for c in counts.values() for v in c.values())
    table = Table(title=title, title_justify="left", caption=caption, caption_justify="left")
    table.add_column("task")
    for split in counts:
        table.add_column(f"{split}: pos / neg / ?{' / unc' if with_unc else ''}", justify="right")

    def cell(v: Mapping) -> str:
        text = f"{v['pos']} / {v['neg']} / {v['unknown']}"
        return f"{text} / {v.get('uncertain', 0)}" if with_unc else text

    shown = list(tasks)[:MAX_ROWS]
    for t in shown:
        table.add_row(t, *[cell(c[t]) for c in counts.values()])
    if len(tasks) > len(shown):
        table.add_row(f"... {len(tasks) - len(shown)} more", *["" for _ in counts])
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
