"""Per-task label counts (positive / negative / unknown per split) and their terminal table."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from rich.console import Console
from rich.table import Table

from mtlkit.console import get_console

MAX_ROWS = 24


def label_counts(splits: Mapping, tasks: Sequence[str]) -> dict[str, dict[str, dict[str, int]]]:
    """``{split: {task: {"pos", "neg", "unknown"}}}`` counted from each split's ``y`` and ``mask``."""
    out: dict[str, dict[str, dict[str, int]]] = {}
    for name, sp in splits.items():
        pos = ((sp.y > 0.5) & sp.mask).sum(0).tolist()
        lab = sp.mask.sum(0).tolist()
        n = len(sp)
        out[name] = {t: {"pos": int(p), "neg": int(m - p), "unknown": int(n - m)} for t, p, m in zip(tasks, pos, lab)}
    return out


def print_label_table(
    counts: Mapping, tasks: Sequence[str], title: str = "Labels", console: Console | None = None
) -> None:
    """Print one row per task with ``pos / neg / ?`` for each split (long task lists are cut, with a count)."""
    table = Table(title=title, title_justify="left")
    table.add_column("task")
    for split in counts:
        table.add_column(f"{split}: pos / neg / ?", justify="right")
    shown = list(tasks)[:MAX_ROWS]
    for t in shown:
        cells = [f"{c[t]['pos']} / {c[t]['neg']} / {c[t]['unknown']}" for c in counts.values()]
        table.add_row(t, *cells)
    if len(tasks) > len(shown):
        table.add_row(f"... {len(tasks) - len(shown)} more", *["" for _ in counts])
    totals = []
    for c in counts.values():
        p = sum(v["pos"] for v in c.values())
        n = sum(v["neg"] for v in c.values())
        u = sum(v["unknown"] for v in c.values())
        frac = u / max(p + n + u, 1)
        totals.append(f"{p} / {n} / {u} ({frac:.0%} ?)")
    table.add_row("all tasks", *totals, style="bold")
    (console or get_console()).print(table)
