"""Which parameters train: counts and percentages per part of the model, printed and kept in results.json."""

from __future__ import annotations

from typing import Any

from torch import nn

from mtlkit.console import get_console
from mtlkit.models.backbones.base import ordered_blocks


def _count(module: nn.Module) -> tuple[int, int]:
    params = list(module.parameters())
    return sum(p.numel() for p in params), sum(p.numel() for p in params if p.requires_grad)


def trainable_summary(module: nn.Module) -> dict[str, Any]:
    """``{"total", "trainable", "trainable_pct", "parts": {name: {"total", "trainable"}}, "blocks": [...]}``.

    ``parts`` are the model's top-level children that hold parameters (``backbone``, ``heads``); ``blocks``
    says, for a backbone with ordered blocks, how many parameters of each block train.
    """
    total, trainable = _count(module)
    parts = {}
    for name, child in module.named_children():
        t, tr = _count(child)
        if t:
            parts[name] = {"total": t, "trainable": tr}
    summary: dict[str, Any] = {
        "total": total,
        "trainable": trainable,
        "trainable_pct": round(100.0 * trainable / max(total, 1), 4),
        "parts": parts,
    }
    backbone = getattr(module, "backbone", None)
    blocks = ordered_blocks(backbone) if isinstance(backbone, nn.Module) else None
    if blocks:
        summary["blocks"] = [{"total": t, "trainable": tr} for t, tr in map(_count, blocks)]
    return summary


def describe(summary: dict[str, Any]) -> str:
    """One line: ``trainable 1,234 of 66,020 parameters (1.87%): backbone 0 of 65,760, heads 260 of 260``."""
    parts = ", ".join(f"{n} {p['trainable']:,} of {p['total']:,}" for n, p in summary["parts"].items())
    line = f"trainable {summary['trainable']:,} of {summary['total']:,} parameters ({summary['trainable_pct']:.2f}%)"
    if parts:
        line += f": {parts}"
    if summary.get("blocks"):
        states = ["train" if b["trainable"] else "frozen" for b in summary["blocks"] if b["total"]]
        line += f"; backbone blocks (input to output): {' '.join(states)}"
    return line


def print_trainable(module: nn.Module, label: str = "") -> dict[str, Any]:
    """Print which parameters of ``module`` train and return the summary."""
    summary = trainable_summary(module)
    prefix = f"[bold]{label}:[/bold] " if label else ""
    get_console().print(prefix + describe(summary), highlight=False, soft_wrap=True)
    return summary
