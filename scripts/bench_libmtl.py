"""LibMTL's side of scripts/bench_weighting.py: one round of training steps with LibMTL 1.1.5's weightings.

Run by bench_weighting.py (``--libmtl-python``) with the python of a separate venv, never the project's:

    python3 -m venv .cache/libmtl-venv
    .cache/libmtl-venv/bin/pip install "torch==2.13.0"          # the CPU build; never leave torch unpinned
    .cache/libmtl-venv/bin/pip install --no-deps libmtl numpy   # LibMTL 1.1.5, the only version on PyPI
    .cache/libmtl-venv/bin/pip install scipy                    # LibMTL.weighting.CAGrad imports it

    python scripts/bench_weighting.py --libmtl-python .cache/libmtl-venv/bin/python

LibMTL's package ``__init__`` imports ``torchvision.models.utils.load_state_dict_from_url`` (for its ResNets),
and PyPI's torchvision does not load against the CPU torch, so this script puts stub modules ``torchvision``,
``torchvision.models`` and ``torchvision.models.utils`` into ``sys.modules`` before importing LibMTL. The stubs
live here only: mtlkit never imports LibMTL.

The model is LibMTL's: ``class MTLmodel(HPS, Weighting)`` as ``LibMTL.Trainer._prepare_model`` builds it, with
the encoder bench_weighting.py hands over (mtlkit's CNN, same initial weights, as a plain ``nn.Sequential``) and
one ``nn.Linear(F, 1)`` decoder per task. A step is LibMTL's training step (``Trainer.train``): forward, per-task
losses written into a ``[T]`` tensor (``Trainer._compute_loss``), ``optimizer.zero_grad()``,
``model.backward(losses, **weight_args)``, ``optimizer.step()``, with mtlkit's loss (each task's logistic loss
summed over its labelled entries, over m) and AdamW with mtlkit's settings (LibMTL's Trainer itself offers SGD,
Adam, Adagrad and RMSprop). LibMTL's per-step metric meter is left out. Gradients are zeroed in place
(``set_to_none=False``), as under the torch 1.x LibMTL 1.1.5 was written for: with torch 2's default its
``_reset_grad`` fails (``'NoneType' object has no attribute 'data'``). ``epoch`` is set to 2 and
``train_loss_buffer`` filled, so that DWA and GradNorm run their weighting branch (both are plain EW in LibMTL's
first epochs). Settings are LibMTL's defaults (``LibMTL.config``): DWA T=2, GradNorm alpha=1.5, MGDA
mgda_gn=none, CAGrad calpha=0.5 rescale=1, GradDrop leak=0, RLW dist=Normal. ``rep_grad=False`` (gradients of
the shared parameters) except GradDrop, which LibMTL implements on the representation only (``rep_grad=True``).

LibMTL 1.1.5's CAGrad hard-codes three tasks (``x.reshape(1, 3)`` in its objective) and fails for any other T;
``CAGrad_T`` is the same code with 3 replaced by T, timed so that CAGrad can still be compared (say so when
quoting it). A method that raises or runs past ``--step-timeout`` seconds in one step is reported with its error. Each
step is timed by the wall clock and by the process's CPU time (``time.process_time``, all threads).
"""

from __future__ import annotations

import argparse
import copy
import json
import random
import signal
import statistics
import sys
import time
import types
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn


def import_libmtl() -> tuple[Any, Any]:
    """``(LibMTL.weighting, LibMTL.architecture.HPS)``, with the torchvision stubs LibMTL's import needs."""
    for name in ("torchvision", "torchvision.models", "torchvision.models.utils"):
        sys.modules.setdefault(name, types.ModuleType(name))
    sys.modules["torchvision.models.utils"].load_state_dict_from_url = None  # only named by LibMTL.model.resnet
    import LibMTL.weighting as weighting
    from LibMTL.architecture import HPS

    return weighting, HPS


WEIGHT_ARGS = {
    "EW": {},
    "UW": {},
    "DWA": {"T": 2.0},
    "RLW": {"dist": "Normal"},
    "GradNorm": {"alpha": 1.5},
    "IMTL": {},
    "MGDA": {"mgda_gn": "none"},
    "PCGrad": {},
    "CAGrad": {"calpha": 0.5, "rescale": 1},
    "CAGrad_T": {"calpha": 0.5, "rescale": 1},
    "GradDrop": {"leak": 0.0},
}
REP_GRAD = {"GradDrop"}


def cagrad_any_t(weighting: Any) -> type:
    """LibMTL 1.1.5's CAGrad with its hard-coded 3 tasks replaced by ``self.task_num`` (nothing else changed)."""
    from scipy.optimize import minimize

    class CAGradT(weighting.CAGrad):
        def backward(self, losses: torch.Tensor, **kwargs: Any) -> np.ndarray:
            calpha, rescale = kwargs["calpha"], kwargs["rescale"]
            self._compute_grad_dim()
            grads = self._compute_grad(losses, mode="backward")
            GG = torch.matmul(grads, grads.t()).cpu()
            g0_norm = (GG.mean() + 1e-8).sqrt()
            t = self.task_num
            x_start = np.ones(t) / t
            bnds = tuple((0, 1) for _ in x_start)
            cons = {"type": "eq", "fun": lambda x: 1 - sum(x)}
            A = GG.numpy()
            b = x_start.copy()
            c = (calpha * g0_norm + 1e-8).item()

            def objfn(x: np.ndarray) -> float:
                return (
                    x.reshape(1, t).dot(A).dot(b.reshape(t, 1))
                    + c * np.sqrt(x.reshape(1, t).dot(A).dot(x.reshape(t, 1)) + 1e-8)
                ).sum()

            res = minimize(objfn, x_start, bounds=bnds, constraints=cons)
            w_cpu = res.x
            ww = torch.Tensor(w_cpu).to(self.device)
            gw = (grads * ww.view(-1, 1)).sum(0)
            lmbda = c / (gw.norm() + 1e-8)
            g = grads.mean(0) + lmbda * gw
            new_grads = {0: g, 1: g / (1 + calpha**2), 2: g / (1 + calpha)}[rescale]
            self._reset_grad(new_grads)
            return w_cpu

    return CAGradT


def build(name: str, spec: dict, weighting: Any, HPS: type) -> tuple[nn.Module, torch.optim.Optimizer]:
    """LibMTL's MTLmodel (HPS + the weighting) on the spec's encoder, and AdamW over all its parameters."""
    cls = cagrad_any_t(weighting) if name == "CAGrad_T" else getattr(weighting, name)
    tasks, feat = spec["tasks"], spec["feature_dim"]

    class MTLmodel(HPS, cls):  # as LibMTL.Trainer._prepare_model
        def __init__(self, task_name, encoder_class, decoders, rep_grad, multi_input, device, kwargs):
            super().__init__(task_name, encoder_class, decoders, rep_grad, multi_input, device, **kwargs)
            self.init_param()

        def zero_grad_share_params(self) -> None:
            self.encoder.zero_grad(set_to_none=False)  # see step()

    torch.manual_seed(spec["seed"])
    decoders = nn.ModuleDict({t: nn.Linear(feat, 1) for t in tasks})
    model = MTLmodel(
        task_name=tasks,
        encoder_class=lambda: copy.deepcopy(spec["encoder"]),
        decoders=decoders,
        rep_grad=name in REP_GRAD,
        multi_input=False,
        device=torch.device("cpu"),
        kwargs={},
    )
    model.epoch = 2  # past LibMTL's EW-only first epochs of DWA (epoch > 1) and GradNorm (epoch >= 1)
    model.train_loss_buffer = np.stack([np.full(len(tasks), 0.7), np.full(len(tasks), 0.6), np.zeros(len(tasks))], 1)
    model.train()
    return model, torch.optim.AdamW(model.parameters(), **spec["optimizer"])


def step(model: nn.Module, optimizer: torch.optim.Optimizer, spec: dict, weight_args: dict) -> None:
    """One LibMTL training step (``Trainer.train``), with mtlkit's masked loss."""
    x, y, mask = spec["batch"]["x"], spec["batch"]["y"], spec["batch"]["mask"]
    preds = model(x)
    losses = torch.zeros(len(spec["tasks"]))
    for j, task in enumerate(spec["tasks"]):
        terms = F.binary_cross_entropy_with_logits(preds[task][:, 0], y[:, j], reduction="none")
        losses[j] = torch.where(mask[:, j], terms, 0.0).sum() / len(y)
    # LibMTL 1.1.5 was written for torch 1.x, where zero_grad() zeroed the gradients; torch 2's default
    # (set_to_none=True) leaves them None and its _reset_grad then fails ('NoneType' has no attribute 'data').
    optimizer.zero_grad(set_to_none=False)
    model.backward(losses, **weight_args)
    optimizer.step()


class StepTimeout(Exception):
    pass


def _alarm(signum: int, frame: Any) -> None:
    raise StepTimeout


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--spec", required=True, help="the .pt file bench_weighting.py writes")
    parser.add_argument("--methods", nargs="+", required=True, help="LibMTL class names (and CAGrad_T)")
    parser.add_argument("--steps", type=int, default=6, help="timed steps (after one warm-up step)")
    parser.add_argument("--seed", type=int, default=0, help="shuffles the order of the methods")
    parser.add_argument("--step-timeout", type=int, default=300, help="seconds one step may take")
    parser.add_argument("--threads", type=int, help="torch threads (bench_weighting.py passes its own)")
    parser.add_argument("--out", required=True, help="JSON: {method: {times, cpu_times, error}}")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    weighting, HPS = import_libmtl()
    spec = torch.load(args.spec, weights_only=False)
    order = list(args.methods)
    random.Random(args.seed).shuffle(order)
    out: dict[str, dict] = {}
    signal.signal(signal.SIGALRM, _alarm)
    for name in order:
        times: list[float] = []
        cpu: list[float] = []
        try:
            model, optimizer = build(name, spec, weighting, HPS)
            for i in range(args.steps + 1):
                signal.alarm(args.step_timeout)
                t0, c0 = time.perf_counter(), time.process_time()
                step(model, optimizer, spec, WEIGHT_ARGS[name])
                dt, dc = time.perf_counter() - t0, time.process_time() - c0
                signal.alarm(0)
                if i:
                    times.append(dt)
                    cpu.append(dc)
            out[name] = {"times": times, "cpu_times": cpu, "median_ms": 1000 * statistics.median(times), "error": None}
        except StepTimeout:
            out[name] = {"times": [], "error": f"one step ran past {args.step_timeout} s"}
        except Exception as exc:
            signal.alarm(0)
            out[name] = {"times": [], "error": f"{type(exc).__name__}: {exc}"[:300]}
    with open(args.out, "w") as fh:
        json.dump(out, fh)


if __name__ == "__main__":
    main()
