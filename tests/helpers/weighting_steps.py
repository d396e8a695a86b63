"""What the weighting tests share: a tiny network with a shared layer, one training step
done by hand (forward, gradients, SGD, ``after_step``) and a check that save/load in the middle is exact."""

from __future__ import annotations

import copy
from collections.abc import Callable, Sequence

import torch
from torch import nn

from mtlkit.objective.masked_task_loss import MaskedTaskLoss
from mtlkit.objective.task_losses import TaskLosses, task_losses
from mtlkit.objective.weighting.base import Weighting


def names(t: int) -> list[str]:
    return [f"t{j}" for j in range(t)]


def hand_losses(values: Sequence[float], counts: Sequence[float], divisor: float = 10.0) -> TaskLosses:
    """A one-process :class:`TaskLosses` with losses ``values`` (sums ``values * divisor``, one shared divisor)."""
    sums = torch.tensor(values, dtype=torch.float32) * divisor
    return task_losses(
        sums,
        torch.tensor(divisor),
        10,
        reduce=lambda t: t,
        processes=1,
        counts=torch.tensor(counts, dtype=torch.float32),
    )


class TinyNet(nn.Module):
    """``logits = heads(tanh(shared(x)))``; ``task_losses(batch)`` as the LightningModule builds them."""

    def __init__(self, inputs: int, tasks: int, seed: int = 0, normalization: str = "examples", per_task=False):
        super().__init__()
        gen = torch.Generator().manual_seed(seed)
        self.shared = nn.Linear(inputs, 3)
        self.heads = nn.Linear(3, tasks)
        with torch.no_grad():
            for p in self.parameters():
                p.copy_(torch.randn(p.shape, generator=gen))
        self.objective = MaskedTaskLoss(normalization, per_task=per_task)
        self.logits: torch.Tensor | None = None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.heads(torch.tanh(self.shared(x)))

    def task_losses(self, batch: dict[str, torch.Tensor]) -> TaskLosses:
        self.logits = self(batch["x"])
        losses = self.objective.task_losses(self.logits, batch["y"], batch["mask"])
        losses.shared_parameters = list(self.shared.parameters())
        return losses


def batch(m: int, t: int, seed: int, missing: float = 0.5, inputs: int = 4) -> dict[str, torch.Tensor]:
    gen = torch.Generator().manual_seed(seed)
    return {
        "x": torch.randn(m, inputs, generator=gen),
        "y": (torch.rand(m, t, generator=gen) < 0.4).float(),
        "mask": torch.rand(m, t, generator=gen) >= missing,
    }


def train_step(
    method: Weighting, net: TinyNet, data: dict[str, torch.Tensor], step: int, epoch: int, lr: float = 0.1
) -> tuple[torch.Tensor, list[torch.Tensor | None]]:
    """One step as the module takes it: the weighting's loss, its gradients (of the logits, the network's and the
    weighting's parameters), plain SGD on both, then ``after_step``. Returns the loss and those gradients."""
    losses = net.task_losses(data)
    losses.step, losses.epoch = step, epoch
    loss = method(losses)
    params = [*net.parameters(), *method.parameters()]
    grads = list(torch.autograd.grad(loss, [net.logits, *params], allow_unused=True))
    with torch.no_grad():
        for p, g in zip(params, grads[1:]):
            if g is not None:
                p.sub_(lr * g)
    method.after_step(net, data, losses)
    return loss.detach(), grads


def assert_resumes_exactly(
    make: Callable[[Sequence[str]], Weighting], t: int = 3, before: int = 5, after: int = 4, steps_per_epoch: int = 2
) -> None:
    """Train ``before`` steps, save the network's and the weighting's state, load both into fresh objects, and
    check that the next ``after`` steps give the same losses, gradients and state as going on without the save."""
    tasks = names(t)
    method, net = make(tasks), TinyNet(4, t, seed=1)
    data = [batch(8, t, seed=s, missing=0.6) for s in range(before + after)]
    for s in range(before):
        train_step(method, net, data[s], s, s // steps_per_epoch)
    saved = copy.deepcopy(method.state_dict()), copy.deepcopy(net.state_dict())
    resumed, resumed_net = make(tasks), TinyNet(4, t, seed=99)
    resumed.load_state_dict(saved[0])
    resumed_net.load_state_dict(saved[1])
    for s in range(before, before + after):
        a = train_step(method, net, data[s], s, s // steps_per_epoch)
        b = train_step(resumed, resumed_net, data[s], s, s // steps_per_epoch)
        assert torch.equal(a[0], b[0])
        assert all((x is None and y is None) or torch.equal(x, y) for x, y in zip(a[1], b[1]))
        for key, value in method.state_dict().items():
            assert torch.equal(value, resumed.state_dict()[key]), key
