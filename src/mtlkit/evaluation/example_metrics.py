"""Example-based multi-label metrics (Hamming loss, LRAP, ranking loss, one-error, coverage) and micro/macro-F1,
on the labelled entries of each example (docs/metrics.md gives every definition).

With "?" entries each example is scored on its labelled entries only: the unlabelled ones are neither relevant nor
irrelevant and never enter a ranking or a count. An example a metric cannot score is left out of that metric's mean
and counted in ``left_out_examples``: no labelled entry (Hamming loss), no labelled positive (LRAP, one-error,
coverage), or no labelled positive or no labelled negative (ranking loss). On complete labels, and examples that
have both a positive and a negative label, every value equals scikit-learn's (``tests/unit/evaluation``).

torchmetrics computes LRAP (``ignore_index`` gives the unlabelled entries the lowest score and no relevance, which
is exact) and the per-example Hamming loss and micro-F1. Its ranking loss and coverage error count the ignored
entries as labels (coverage becomes the number of labels, the ranking loss is diluted by always-correct pairs),
so those two, and one-error (not in torchmetrics), are computed here.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
from torchmetrics.functional.classification import (
    multilabel_f1_score,
    multilabel_ranking_average_precision,
)

EXAMPLE_METRICS = ("hamming", "lrap", "ranking_loss", "one_error", "coverage", "micro_f1", "macro_f1")
LOWER_IS_BETTER = frozenset({"hamming", "ranking_loss", "one_error", "coverage"})
IGNORE = -1  # the target value of an unlabelled entry for torchmetrics' ignore_index
PAIR_BLOCK = 1 << 22  # ranking loss: examples per block so that a block's pair table has about this many entries


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
    count as wrong, as in scikit-learn); NaN where the example has no such pair."""
    pos, neg = masks & targets.bool(), masks & ~targets.bool()
    n_tasks = probs.shape[1]
    step = max(1, PAIR_BLOCK // max(1, n_tasks * n_tasks))
    wrong = []
    for i in range(0, probs.shape[0], step):
        s, p, n = probs[i : i + step], pos[i : i + step], neg[i : i + step]
        pairs = p.unsqueeze(2) & n.unsqueeze(1)  # [B, pos task, neg task]
        wrong.append(((s.unsqueeze(2) <= s.unsqueeze(1)) & pairs).sum((1, 2)))
    wrong_pairs = torch.cat(wrong) if wrong else torch.zeros(0, dtype=torch.long)
    n_pairs = pos.sum(1) * neg.sum(1)
    return torch.where(n_pairs > 0, wrong_pairs / n_pairs.clamp(min=1), torch.nan)


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
    if probs.shape[1] == 1:  # torchmetrics' multilabel functions need 2 labels: add one never labelled (no effect)
        probs, targets = (
            torch.cat([probs, torch.zeros_like(probs)], 1),
            torch.cat([targets, torch.zeros_like(targets)], 1),
        )
        masks, thresholds = torch.cat([masks, torch.zeros_like(masks)], 1), [*thresholds, 0.5]
    n_examples, n_tasks = probs.shape
    labelled, has_pos = masks.sum(1), (masks & targets.bool()).any(1)
    has_neg = (masks & ~targets.bool()).any(1)
    out: dict = {m: math.nan for m in EXAMPLE_METRICS}
    ignored = targets.masked_fill(~masks, IGNORE)
    decisions = decide(probs, thresholds).long()
    if n_examples and n_tasks:
        # per example: the share of its labelled entries decided wrong (by hand: torchmetrics' samplewise
        # Hamming distance fails on a single example, e.g. the one val row of a 5-row table)
        wrong_share = ((decisions != targets) & masks).sum(1).double() / labelled.clamp(min=1)
        out["hamming"] = _mean(wrong_share, labelled > 0)
        if bool(has_pos.any()):
            out["lrap"] = float(
                multilabel_ranking_average_precision(probs[has_pos], ignored[has_pos], n_tasks, ignore_index=IGNORE)
            )
        out["ranking_loss"] = _mean(ranking_loss(probs, targets, masks), has_pos & has_neg)
        out["one_error"] = _mean(one_error(probs, targets, masks), has_pos)
        out["coverage"] = _mean(coverage(probs, targets, masks), has_pos)
        tp = int((decisions.bool() & targets.bool() & masks).sum())
        wrong = int(((decisions != targets) & masks).sum())  # false positives + false negatives
        if 2 * tp + wrong:
            out["micro_f1"] = float(
                multilabel_f1_score(decisions, ignored, n_tasks, average="micro", ignore_index=IGNORE)
            )
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
