"""GPU-only checks, skipped (with the reason) on machines without CUDA and run on a GPU machine:
``trainer=gpu`` end to end, bf16 mixed precision, and DDP over two GPUs. ``pytest -m gpu`` runs just these."""

from __future__ import annotations

import pytest
import torch

from tests.helpers.subprocess_runs import SMALL, results, run_dirs, train

GPUS = torch.cuda.device_count() if torch.cuda.is_available() else 0


def run_if(min_gpus: int = 1, bf16: bool = False):
    """Lightning's ``RunIf`` in small: skip unless this machine has ``min_gpus`` CUDA GPUs (and bf16 support)."""
    reason = None
    if GPUS < min_gpus:
        reason = f"needs {min_gpus} CUDA GPU(s), this machine has {GPUS} (torch {torch.__version__})"
    elif bf16 and not torch.cuda.is_bf16_supported():
        reason = "needs a GPU with bf16 (Ampere or newer)"
    return pytest.mark.skipif(reason is not None, reason=reason or "")


pytestmark = [pytest.mark.slow, pytest.mark.gpu]
RUN = [*SMALL, "data.batch_size=64", "trainer.max_epochs=1", "logger=csv"]


def _ok(proc, tmp_path):
    assert proc.returncode == 0, proc.stderr[-3000:]
    res = results(run_dirs(tmp_path)[0])
    assert res["status"] == "completed" and res["environment"]["accelerator"] == "CUDAAccelerator"
    return res


@run_if(min_gpus=1)
def test_trainer_gpu_trains_and_evaluates(tmp_path):
    _ok(train([*RUN, "trainer=gpu"], tmp_path), tmp_path)


@run_if(min_gpus=1, bf16=True)
def test_bf16_mixed_precision(tmp_path):
    res = _ok(train([*RUN, "trainer=gpu", "trainer.precision=bf16-mixed"], tmp_path), tmp_path)
    assert res["metrics"]["test"]["macro"]["auroc"] is not None


@run_if(min_gpus=2)
def test_ddp_on_two_gpus(tmp_path):
    res = _ok(train([*RUN, "trainer=ddp", "trainer.devices=2"], tmp_path), tmp_path)
    assert res["environment"]["devices"] == 2
