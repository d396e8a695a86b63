"""``verdict.png``: mtlkit-advise's verdict as a picture. Left, each approach's Δm against separate networks with its
95 % paired interval (a zero line; optionally a band of effects too small to count); right, each task's mean paired
gain per approach, as a heat map with the numbers written in.

Drawn from the ``verdict.json`` record, so an old verdict can be drawn again:
``python -m mtlkit.advise.plot runs/advise/verdict.json --floor 0.5``.
"""

from __future__ import annotations

import argparse
import json
import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from mtlkit.errors import MtlkitError
from mtlkit.report.paired import Paired
from mtlkit.report.plots import DPI, _pyplot

VERDICT_COLOURS = {"better": "tab:green", "worse": "tab:red"}  # ties and "no meaningful difference": grey


def _num(x: Any) -> float:
    return float(x) if isinstance(x, (int, float)) and not isinstance(x, bool) else math.nan


def _short(text: str, limit: int = 80) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def plot_verdict(record: Mapping[str, Any], path: Path, floor: float = 0.0, title: str | None = None) -> Path | None:
    """Draw ``record`` (a verdict.json dict) to ``path``; None when no approach has a Δm to draw.

    ``floor`` > 0 shades |Δm| < floor (a smallest effect worth counting, e.g. 0.5 %) and colours each point by
    :meth:`Paired.verdict_at` (green better, red worse, grey no meaningful difference); mtlkit-advise draws its
    verdict.png with its ``--min-effect`` as the floor (0 by default: the interval alone)."""
    arms = [a for a in record.get("arms", []) if not math.isnan(_num(a.get("delta", {}).get("mean")))]
    if not arms:
        return None
    tasks: Sequence[str] = record.get("tasks", [])
    plt = _pyplot()
    height = max(2.6, 0.45 * len(arms) + 1.4)
    fig, (left, right) = plt.subplots(
        1, 2, figsize=(14.0, height), gridspec_kw={"width_ratios": [1.15, max(1.0, 0.35 * len(tasks))]}
    )
    labels = [_short(str(a.get("description") or a.get("name"))) for a in arms]
    ys = list(range(len(arms)))[::-1]
    if floor > 0:
        left.axvspan(-floor, floor, color="tab:grey", alpha=0.15, linewidth=0, label=f"|Δm| < {floor:g} %")
    left.axvline(0.0, color="black", linewidth=1)
    for y, arm in zip(ys, arms):
        d = arm["delta"]
        mean, low, high = _num(d.get("mean")), _num(d.get("low")), _num(d.get("high"))
        verdict = str(arm.get("verdict"))
        if floor > 0 and not (math.isnan(low) or math.isnan(high)):
            verdict = Paired.from_record(d).verdict_at(floor)
        colour = VERDICT_COLOURS.get(verdict, "tab:grey")
        if math.isnan(low) or math.isnan(high):
            left.plot([mean], [y], "o", color=colour)
        else:
            left.errorbar([mean], [y], xerr=[[mean - low], [high - mean]], fmt="o", color=colour, capsize=3)
        left.annotate(f"{mean:+.2f}", (mean, y), textcoords="offset points", xytext=(0, 6), ha="center", fontsize=7)
    left.set_yticks(ys, labels, fontsize=8)
    left.set_xlabel(f"Δm % vs separate networks ({record.get('split')} {record.get('metric')}), 95 % paired interval")
    left.grid(axis="x", alpha=0.3)
    if floor > 0:
        left.legend(fontsize=7, loc="lower left", bbox_to_anchor=(0.0, 1.0), frameon=False)

    gains = [[_num(a.get("per_task", {}).get(t, {}).get("mean")) for t in tasks] for a in arms]
    finite = [abs(g) for row in gains for g in row if not math.isnan(g)]
    if tasks and finite:
        scale = max(finite) or 1.0
        image = right.imshow(gains, cmap="RdYlGn", vmin=-scale, vmax=scale, aspect="auto")
        for i, row in enumerate(gains):
            for j, g in enumerate(row):
                right.text(j, i, "-" if math.isnan(g) else f"{g:+.1f}", ha="center", va="center", fontsize=7)
        right.set_xticks(range(len(tasks)), list(tasks), rotation=45, ha="right", fontsize=8)
        right.set_yticks(range(len(arms)), [str(a.get("name")) for a in arms], fontsize=8)
        right.set_title("per-task gain % vs separate (mean over paired seeds)", fontsize=9)
        fig.colorbar(image, ax=right, fraction=0.046, pad=0.02)
    else:
        right.axis("off")
    fig.suptitle(title or f"mtlkit-advise: {record.get('recommendation', '')}", fontsize=9)
    fig.tight_layout()
    fig.savefig(path, dpi=DPI)
    plt.close(fig)
    return path


def main(argv: Sequence[str] | None = None) -> None:
    """``python -m mtlkit.advise.plot VERDICT_JSON [--out PNG] [--floor 0.5] [--title TEXT]``."""
    parser = argparse.ArgumentParser(prog="python -m mtlkit.advise.plot", description=__doc__.splitlines()[0])
    parser.add_argument("verdict", type=Path, help="a verdict.json written by mtlkit-advise")
    parser.add_argument("--out", type=Path, help="the PNG to write (default: verdict.png beside the JSON)")
    parser.add_argument(
        "--floor", type=float, default=None, help="shade |Δm| below this many percent (default: its min_effect)"
    )
    parser.add_argument("--title", help="the figure's title (default: the verdict sentence)")
    args = parser.parse_args(argv)
    if not args.verdict.is_file():
        raise SystemExit(f"error: {args.verdict} does not exist: give the verdict.json of an mtlkit-advise run")
    try:
        record = json.loads(args.verdict.read_text())
    except json.JSONDecodeError as err:
        message = f"error: {args.verdict} is not JSON ({err}): give the verdict.json of an mtlkit-advise run"
        raise SystemExit(message) from None
    out = args.out or args.verdict.with_name("verdict.png")
    try:
        floor = args.floor if args.floor is not None else float(record.get("min_effect") or 0.0)
        written = plot_verdict(record, out, floor, args.title)
    except MtlkitError as err:
        raise SystemExit(f"error: {err}") from err
    if written is None:
        raise SystemExit(f"error: {args.verdict} has no approach with a Δm to draw (every run missing or failed?)")
    print(written)


if __name__ == "__main__":
    main()
