"""Fine-tuning strategies freeze exactly what they claim: parameters AND buffers, before and after training."""

from __future__ import annotations

from pathlib import Path

import pytest
import pytorch_lightning as pl
import torch
from omegaconf import OmegaConf

from mtlkit.config import CONFIG_DIR
from mtlkit.data.base import MultiLabelDataset, SplitData, collate_batch
from mtlkit.errors import ConfigError
from mtlkit.finetune import FreezeSchedule, Phase, plan
from mtlkit.models.backbones import CNN, MLP
from mtlkit.models.freezing import set_trainable
from mtlkit.models.module import MultiTaskModule

SHAPE = (3, 8, 8)
TASKS = ["a", "b"]


def _strategy(name: str) -> dict[str, str]:
    """A strategy's settings as ``finetune=NAME`` composes them: its ``_target_`` and name (its options given)."""
    return {"_target_": str(OmegaConf.load(Path(CONFIG_DIR) / "finetune" / f"{name}.yaml")._target_), "strategy": name}


def _adamw(params):
    return torch.optim.AdamW(params, lr=0.05, weight_decay=0.01)


class _Data(pl.LightningDataModule):
    def __init__(self, n: int = 64):
        super().__init__()
        g = torch.Generator().manual_seed(0)
        mask = torch.rand(n, 2, generator=g) < 0.7
        self.split = SplitData(torch.randn(n, *SHAPE, generator=g), (torch.rand(n, 2, generator=g) < 0.5).float(), mask)

    def _loader(self, shuffle: bool):
        ds = MultiLabelDataset(self.split)
        return torch.utils.data.DataLoader(ds, batch_size=16, shuffle=shuffle, collate_fn=collate_batch)

    def train_dataloader(self):
        return self._loader(True)

    def val_dataloader(self):
        return self._loader(False)


def _module(kind: str = "cnn") -> MultiTaskModule:
    torch.manual_seed(0)
    backbone = CNN(SHAPE, width=4, depth=3) if kind == "cnn" else MLP(SHAPE, width=8, depth=3, dropout=0.2)
    return MultiTaskModule(backbone, TASKS, optimizer=_adamw)


def _fit(module: MultiTaskModule, callbacks=(), epochs: int = 2) -> None:
    """Two epochs with a validation pass in between, which switches modes back and forth."""
    trainer = pl.Trainer(
        max_epochs=epochs,
        accelerator="cpu",
        logger=False,
        enable_checkpointing=False,
        enable_progress_bar=False,
        enable_model_summary=False,
        callbacks=list(callbacks),
    )
    trainer.fit(module, datamodule=_Data())


def _state(module: torch.nn.Module) -> dict[str, torch.Tensor]:
    """Every parameter and buffer (BatchNorm running mean/var and batch counts included), copied."""
    return {k: v.detach().clone() for k, v in module.state_dict().items()}


def _same(a: dict[str, torch.Tensor], b: dict[str, torch.Tensor]) -> bool:
    return a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


@pytest.mark.parametrize("kind", ["cnn", "mlp"])
@pytest.mark.parametrize("k", [0, 1, 2, 3])
def test_last_k_trains_the_heads_and_last_k_blocks_and_leaves_the_others_bit_identical(kind, k):
    module = _module(kind)
    blocks = module.backbone.blocks
    before = [_state(b) for b in blocks]
    heads_before = _state(module.heads)
    set_trainable(module.backbone, k)
    n_trainable = sum(p.numel() for p in module.parameters() if p.requires_grad)
    assert n_trainable == sum(p.numel() for b in list(blocks)[3 - k :] for p in b.parameters()) + sum(
        p.numel() for p in module.heads.parameters()
    )
    _fit(module)
    for i, (block, old) in enumerate(zip(blocks, before)):
        if i < 3 - k:
            assert _same(_state(block), old), f"frozen block {i} changed"
            assert not block.training, f"frozen block {i} left eval mode"
        else:
            new = _state(block)
            changed = [name for name in old if not torch.equal(new[name], old[name])]
            assert set(changed) == set(old), f"block {i}: only {changed} changed"  # params AND running stats
    assert not _same(_state(module.heads), heads_before)


def test_head_only_keeps_every_backbone_parameter_and_batchnorm_statistic():
    module = _module("cnn")
    before = _state(module.backbone)
    assert any("running_mean" in k for k in before) and any("num_batches_tracked" in k for k in before)
    set_trainable(module.backbone, 0)
    _fit(module)
    assert _same(_state(module.backbone), before)


def test_full_trains_everything():
    module = _module("cnn")
    before = _state(module.backbone)
    set_trainable(module.backbone, None)
    _fit(module)
    after = _state(module.backbone)
    assert all(not torch.equal(after[k], before[k]) for k in before)


def test_gradual_keeps_the_backbone_until_the_unfreeze_epoch_then_trains_it():
    module = _module("cnn")
    start = _state(module.backbone)
    seen: dict[int, dict[str, torch.Tensor]] = {}

    class Snapshot(pl.Callback):
        def on_train_epoch_end(self, trainer, pl_module):
            seen[trainer.current_epoch] = _state(pl_module.backbone)

    schedule = FreezeSchedule(plan({**_strategy("gradual"), "unfreeze_epoch": 1}, max_epochs=3))
    _fit(module, callbacks=[schedule, Snapshot()], epochs=3)
    assert _same(seen[0], start)  # epoch 0: heads only
    assert all(not torch.equal(seen[1][k], start[k]) for k in start)  # from epoch 1: everything
    assert [r["name"] for r in schedule.records] == ["head", "backbone"]
    assert schedule.records[0]["parameters"]["parts"]["backbone"]["trainable"] == 0
    backbone = schedule.records[1]["parameters"]["parts"]["backbone"]
    assert backbone["trainable"] == backbone["total"]


def test_plan_of_each_strategy():
    assert plan({**_strategy("head_only")}, 5) == [Phase("finetune", 0)]
    assert plan({**_strategy("last_k"), "k": 2}, 5) == [Phase("finetune", 2)]
    assert plan({**_strategy("full")}, 5) == [Phase("finetune", None)]
    assert plan({**_strategy("gradual"), "unfreeze_epoch": 2}, 5) == [Phase("head", 0, 0), Phase("backbone", None, 2)]
    lp_ft = plan({**_strategy("lp_ft"), "probe_epochs": 2}, 5)
    assert [(p.name, p.trainable_blocks, p.fit, p.epochs) for p in lp_ft] == [
        ("probe", 0, 0, 2),
        ("finetune", None, 1, 3),
    ]


@pytest.mark.parametrize(
    "settings, match",
    [
        ({**_strategy("gradual"), "unfreeze_epoch": 5}, "unfreeze_epoch=5"),
        ({**_strategy("lp_ft"), "probe_epochs": 5}, "probe_epochs=5"),
        ({**_strategy("last_k"), "k": -1}, "finetune.k"),
        ({"strategy": "everything"}, "head_only"),
    ],
)
def test_bad_strategy_settings_fail_with_the_fix(settings, match):
    with pytest.raises(ConfigError, match=match):
        plan(settings, max_epochs=5)


def test_k_larger_than_the_backbone_names_its_depth():
    with pytest.raises(ConfigError, match="3 blocks"):
        set_trainable(_module("cnn").backbone, 4)


@pytest.mark.parametrize(
    "settings, key",
    [
        ({**_strategy("gradual"), "unfreeze_epoch": 0}, "unfreeze_epoch=0"),
        ({**_strategy("gradual"), "unfreeze_epoch": 3}, "unfreeze_epoch=3"),
        ({**_strategy("lp_ft"), "probe_epochs": 3}, "probe_epochs=3"),
    ],
)
def test_phase_epochs_outside_the_run_name_the_key_and_the_fix(settings, key):
    with pytest.raises(ConfigError, match=rf"finetune\.{key} must be in \[1, trainer\.max_epochs=3\).*raise trainer"):
        plan(settings, 3)
    assert plan({**settings, key.split("=")[0]: 1}, 3)  # inside the run: a valid plan
