"""Example-based multi-label metrics (Hamming loss, LRAP, ranking loss, one-error, coverage) and micro/macro-F1,
on the labelled entries of each example (docs/metrics.md gives every definition).

With "?" entries each example is scored on its labelled entries only: the unlabelled ones are neither relevant nor
irrelevant and never enter a ranking or a count. An example a metric cannot score is left out of that metric's mean
and counted in ``left_out_examples``: no labelled entry (Hamming loss), no labelled positive (LRAP, one-error,
coverage), or no labelled positive or no labelled negative (ranking loss). On complete labels, and examples that
have both a positive and a negative label, every value equals scikit-learn's (``tests/unit/evaluation``).

Everything is computed here on whole ``[N, T]`` tensors (torchmetrics' ranking loss and coverage error count
ignored entries as labels, and its per-example loops took seconds at ToxCast's 617 tasks): the ranking metrics
count, per entry, the labelled entries scoring at least as high by sorting each row (exact integer counts,
O(N T log T)); Hamming loss and micro-F1 come from the confusion counts.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch

EXAMPLE_METRICS = ("hamming", "lrap", "ranking_loss", "one_error", "coverage", "micro_f1", "macro_f1")
LOWER_IS_BETTER = frozenset({"hamming", "ranking_loss", "one_error", "coverage"})


def direction(metric: str) -> str:
    """``"lower is better"`` or ``"higher is better"``: how plots and tables state a metric's direction."""
    return "lower is better" if metric in LOWER_IS_BETTER else "higher is better"


def decide(probs: torch.Tensor, thresholds: Sequence[float] | torch.Tensor) -> torch.Tensor:
    """0/1 decisions ``probs > threshold`` of each task (column), compared in float64 so that a threshold half-way
    between two adjacent float32 probabilities separates them."""
    t = torch.as_tensor(thresholds, dtype=torch.float64, device=probs.device)
    return probs.double() > t


def _mean(values: torch.Tensor, keep: torch.Tensor) -> float:
    return float(values[keep].double().mean()) if bool(keep.any()) else math.nan


def ranking_loss(probs: torch.Tensor, targets: torch.Tensor, masks: torch.Tensor) -> torch.Tensor:
    """Per example: the fraction of (labelled positive, labelled negative) pairs with ``s_pos <= s_neg`` (ties
    count as wrong, as in scikit-learn); NaN where the example has no such pair.

    Counted by sorting, not by forming the pairs: each row's labelled negatives' scores are sorted (every other
    entry at -inf, first), and a positive scoring ``s`` is wrong against the ``T - searchsorted(sorted, s)``
    negatives scoring at least ``s``. O(N T log T) instead of O(N T^2): 617 tasks would otherwise form 330 million
    pairs for ToxCast's validation split. The counts are exact integers, so the value is the pairs' value.
    """
    pos, neg = masks & targets.bool(), masks & ~targets.bool()
    wrong_pairs = (_at_least(probs.double(), neg) * pos).sum(1)
    n_pairs = pos.sum(1) * neg.sum(1)
    return torch.where(n_pairs > 0, wrong_pairs / n_pairs.clamp(min=1), torch.nan)


def _at_least(scores: torch.Tensor, among: torch.Tensor) -> torch.Tensor:
    """``[N, T]``: per entry, how many entries of its row marked ``among`` score at least as high (exact counts by
    sorting each row, the other entries at -inf)."""
    ranked = scores.masked_fill(~among, -math.inf).sort(dim=1).values.contiguous()
    return scores.shape[1] - torch.searchsorted(ranked, scores.contiguous(), right=False)


def label_ranking_average_precision(probs: torch.Tensor, targets: torch.Tensor, masks: torch.Tensor) -> torch.Tensor:
    """Per example: the mean, over its labelled positives, of (labelled positives scoring at least as high) /
    (labelled entries scoring at least as high), scikit-learn's ``label_ranking_average_precision_score`` on the
    labelled entries; NaN where the example has no labelled positive."""
    scores = probs.double()
    pos = masks & targets.bool()
    share = _at_least(scores, pos) / _at_least(scores, masks).clamp(min=1)
    n_pos = pos.sum(1)
    return torch.where(n_pos > 0, (share * pos).sum(1) / n_pos.clamp(min=1), torch.nan)


def one_error(probs: torch.Tensor, targets: torch.Tensor, masks: torch.Tensor) -> torch.Tensor:
    """Per example: 1 when a labelled negative scores at least as high as every labelled positive (the top of the
    ranking is wrong; ties count as wrong), else 0; NaN where the example has no labelled positive."""
    pos, neg = masks & targets.bool(), masks & ~targets.bool()
    top_pos = probs.masked_fill(~pos, -math.inf).amax(1)
    top_neg = probs.masked_fill(~neg, -math.inf).amax(1)
    return torch.where(pos.any(1), (top_neg >= top_pos).double(), torch.nan)


def coverage(probs: torch.Tensor, targets: torch.Tensor, masks: torch.Tensor) -> torch.Tensor:
    """Per example: how many labelled entries score at least as high as the lowest-scored labelled positive
    (scikit-learn's ``coverage_error``: 1 is best); NaN where the example has no labelled positive."""
    pos = masks & targets.bool()
    lowest_pos = probs.masked_fill(~pos, math.inf).amin(1, keepdim=True)
    covered = ((probs >= lowest_pos) & masks).sum(1).double()
    return torch.where(pos.any(1), covered, torch.nan)


def example_based_metrics(
    probs: torch.Tensor,
    targets: torch.Tensor,
    masks: torch.Tensor,
    thresholds: Sequence[float] | torch.Tensor,
    task_f1: Sequence[float] = (),
) -> dict:
    """The example-based metrics of ``probs`` [N, T] against ``targets`` on the entries ``masks`` marks labelled.

    ``thresholds`` (one per task) turn probabilities into decisions for Hamming loss and micro-F1; ``task_f1`` (the
    per-task F1 values, NaN where undefined) gives macro-F1. Returns the seven values (NaN when no example can be
    scored), ``n_examples``, ``left_out_examples`` per example-averaged metric and ``left_out_tasks`` for macro-F1.
    """
    probs, masks = probs.float(), masks.bool()
    targets = targets.long() * masks  # unlabelled entries hold 0 from here on (they are masked everywhere)
    thresholds = [float(t) for t in thresholds]
    n_examples, n_tasks = probs.shape
    labelled, has_pos = masks.sum(1), (masks & targets.bool()).any(1)
    has_neg = (masks & ~targets.bool()).any(1)
    out: dict = {m: math.nan for m in EXAMPLE_METRICS}
    decisions = decide(probs, thresholds).long()
    if n_examples and n_tasks:
        # per example: the share of its labelled entries decided wrong (by hand: torchmetrics' samplewise
        # Hamming distance fails on a single example, e.g. the one val row of a 5-row table)
        wrong_share = ((decisions != targets) & masks).sum(1).double() / labelled.clamp(min=1)
        out["hamming"] = _mean(wrong_share, labelled > 0)
        out["lrap"] = _mean(label_ranking_average_precision(probs, targets, masks), has_pos)
        out["ranking_loss"] = _mean(ranking_loss(probs, targets, masks), has_pos & has_neg)
        out["one_error"] = _mean(one_error(probs, targets, masks), has_pos)
        out["coverage"] = _mean(coverage(probs, targets, masks), has_pos)
        tp = int((decisions.bool() & targets.bool() & masks).sum())
        wrong = int(((decisions != targets) & masks).sum())  # false positives + false negatives
        if 2 * tp + wrong:
            out["micro_f1"] = 2 * tp / (2 * tp + wrong)
    defined_f1 = [f for f in task_f1 if not math.isnan(f)]
    out["macro_f1"] = sum(defined_f1) / len(defined_f1) if defined_f1 else math.nan
    out["n_examples"] = n_examples
    out["left_out_examples"] = {
        "hamming": int((labelled == 0).sum()),
        "lrap": int((~has_pos).sum()),
        "ranking_loss": int((~(has_pos & has_neg)).sum()),
        "one_error": int((~has_pos).sum()),
        "coverage": int((~has_pos).sum()),
    }
    out["left_out_tasks"] = {"macro_f1": len(task_f1) - len(defined_f1)}
    return out
