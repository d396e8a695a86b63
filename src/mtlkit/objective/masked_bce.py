"""The masked multi-label logistic loss: the seed formula (docs/loss.md, the contract).

    J = (1/m) * sum_i sum_j mask_ij * L(sigmoid(z_ij), y_ij),   L(p, y) = -y log p - (1 - y) log(1 - p)

Entries with ``mask`` False ("?") are left out of the sum; m is the number of examples in the batch.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from mtlkit.errors import ConfigError

NORMALIZATIONS = ("examples", "labels")
UNKNOWN_POLICIES = ("ignore", "negative")


def check_options(normalization: str, unknown: str) -> None:
    """A ConfigError naming the choices unless ``loss.normalization`` and ``loss.unknown`` are known."""
    if normalization not in NORMALIZATIONS:
        raise ConfigError(f"unknown loss normalization {normalization!r}; choose one of {list(NORMALIZATIONS)}")
    if unknown not in UNKNOWN_POLICIES:
        raise ConfigError(f"unknown loss.unknown {unknown!r}; choose one of {list(UNKNOWN_POLICIES)}")


def masked_bce_terms(
    logits: torch.Tensor,
    y: torch.Tensor,
    mask: torch.Tensor,
    normalization: str = "examples",
    unknown: str = "ignore",
) -> tuple[torch.Tensor, torch.Tensor]:
    """The two parts of the seed loss, ``(sum over counted entries, divisor)``: the loss is their ratio.

    The divisor is m (``examples``) or the number of counted entries (``labels``), unclamped; it is a float
    tensor on the logits' device, so that it can be summed across processes (:mod:`mtlkit.objective.sharding`).
    """
    sums, divisors = masked_bce_terms_per_task(logits, y, mask, normalization, unknown)
    count = divisors[0] if normalization == "examples" else divisors.sum()
    return sums.sum(), count


def masked_bce(
    logits: torch.Tensor,
    y: torch.Tensor,
    mask: torch.Tensor,
    normalization: str = "examples",
    unknown: str = "ignore",
    denominator: torch.Tensor | float | None = None,
) -> torch.Tensor:
    """The seed loss on a batch of ``logits``, ``y`` and ``mask`` of shape [m, T].

    Args:
        normalization: ``examples`` divides by m (the seed formula, the default); ``labels`` divides by the
            number of labelled entries (a per-label mean).
        unknown: ``ignore`` leaves "?" out (the seed rule); ``negative`` counts every "?" as a 0 label
            (the naive baseline, for experiments only).
        denominator: overrides the divisor (e.g. a global count under data parallelism).
    """
    total, count = masked_bce_terms(logits, y, mask, normalization, unknown)
    if denominator is None:
        denominator = logits.shape[0] if normalization == "examples" else count.clamp(min=1)
    return total / denominator


def masked_bce_terms_per_task(
    logits: torch.Tensor,
    y: torch.Tensor,
    mask: torch.Tensor,
    normalization: str = "examples",
    unknown: str = "ignore",
    pos_weight: torch.Tensor | None = None,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Per-task parts of the loss, ``(sums [T], divisors [T])``: task j's loss is ``sums[j] / divisors[j]``.

    The divisor of task j is m (``examples``) or task j's number of counted entries (``labels``), so that task
    j's loss, and its gradients, never depend on another task's labels (what ``approach=separate`` needs).
    ``pos_weight`` ``[T]`` multiplies the loss of the positive entries of each task (``loss.pos_weight``).
    """
    check_options(normalization, unknown)
    if unknown == "negative":
        y = torch.where(mask, y, 0.0)
        mask = torch.ones_like(mask)
    per_entry = F.binary_cross_entropy_with_logits(
        logits, torch.where(mask, y, 0.0), reduction="none", pos_weight=pos_weight
    )
    sums = torch.where(mask, per_entry, 0.0).sum(0)
    if normalization == "examples":
        divisors = torch.full_like(sums, float(logits.shape[0]), dtype=torch.float32)
    else:
        divisors = mask.sum(0).to(torch.float32)
    return sums, divisors


def masked_bce_per_task(
    logits: torch.Tensor,
    y: torch.Tensor,
    mask: torch.Tensor,
    normalization: str = "examples",
    unknown: str = "ignore",
) -> torch.Tensor:
    """The seed loss with each task normalised on its own: ``sum_j (sum_i mask_ij L_ij) / n_j``.

    With ``examples`` it equals :func:`masked_bce`; see :func:`masked_bce_terms_per_task`.
    """
    sums, divisors = masked_bce_terms_per_task(logits, y, mask, normalization, unknown)
    return (sums / divisors.clamp(min=1)).sum()
