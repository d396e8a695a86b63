"""finetune=last_k, finetune=blocks and finetune.lr_decay on a timm backbone act on the blocks they claim:
parameters AND BatchNorm buffers compared before and after training, learning rates read from the optimizer."""

from __future__ import annotations

from pathlib import Path

import pytest
import pytorch_lightning as pl
import torch
from omegaconf import OmegaConf

from mtlkit.config import CONFIG_DIR
from mtlkit.data.base import MultiLabelDataset, SplitData, collate_batch
from mtlkit.errors import ConfigError
from mtlkit.finetune import Phase, plan
from mtlkit.models.backbones.base import ordered_blocks
from mtlkit.models.freezing import set_trainable
from mtlkit.models.module import MultiTaskModule
from mtlkit.models.optimization import Optimization

pytest.importorskip("timm")
from mtlkit.models.backbones.timm_backbone import TimmBackbone  # noqa: E402

SHAPE = (3, 32, 32)
TASKS = ["a", "b"]
LR = 0.01


def _strategy(name: str) -> dict[str, str]:
    """A strategy's settings as ``finetune=NAME`` composes them: its ``_target_`` and name (its options given)."""
    return {"_target_": str(OmegaConf.load(Path(CONFIG_DIR) / "finetune" / f"{name}.yaml")._target_), "strategy": name}


def _module(lr_decay: float | None = None, backbone_lr_scale: float = 1.0) -> MultiTaskModule:
    torch.manual_seed(0)
    return MultiTaskModule(
        TimmBackbone(SHAPE, name="test_resnet"),
        TASKS,
        optimizer=Optimization(
            lambda params: torch.optim.SGD(params, lr=LR, momentum=0.9),
            lr_decay=lr_decay,
            backbone_lr_scale=backbone_lr_scale,
        ),
    )


def _fit(module: MultiTaskModule) -> None:
    g = torch.Generator().manual_seed(0)
    split = SplitData(torch.randn(32, *SHAPE, generator=g), (torch.rand(32, 2, generator=g) < 0.5).float(),
                      torch.rand(32, 2, generator=g) < 0.8)  # fmt: skip
    loader = torch.utils.data.DataLoader(MultiLabelDataset(split), batch_size=16, collate_fn=collate_batch)
    trainer = pl.Trainer(max_epochs=1, accelerator="cpu", logger=False, enable_checkpointing=False,
                         enable_progress_bar=False, enable_model_summary=False)  # fmt: skip
    trainer.fit(module, train_dataloaders=loader)


def _state(module_part: torch.nn.Module) -> dict[str, torch.Tensor]:
    return {k: v.detach().clone() for k, v in module_part.state_dict().items() if v.is_floating_point()}


def _changed(before: dict, after: dict) -> bool:
    return any(not torch.equal(before[k], after[k]) for k in before)


@pytest.mark.parametrize(("phase", "trained"), [(Phase("f", 1), {3}), (Phase("f", None, blocks=(0, 2)), {0, 2})])
def test_only_the_chosen_stages_change_parameters_and_batchnorm_statistics(phase, trained):
    module = _module()
    blocks = ordered_blocks(module.backbone)
    stem = [module.backbone.model.conv1, module.backbone.model.bn1]
    set_trainable(module.backbone, phase.trainable_blocks, phase.blocks)
    before = [_state(b) for b in blocks]
    stem_before = [_state(m) for m in stem]
    assert all("running_mean" in k or "weight" in k or "bias" in k or "running_var" in k for k in before[0])
    _fit(module)
    for i, block in enumerate(blocks):
        assert _changed(before[i], _state(block)) == (i in trained), f"block {i}"
        running = {k: v for k, v in before[i].items() if "running" in k}
        assert running and _changed(running, {k: _state(block)[k] for k in running}) == (i in trained)
    assert not any(_changed(b, _state(m)) for b, m in zip(stem_before, stem))  # the stem is the input side


def test_blocks_strategy_refuses_a_block_the_backbone_lacks():
    phases = plan({**_strategy("blocks"), "blocks": [0, 4]}, None)
    assert phases[0].blocks == (0, 4)
    with pytest.raises(ConfigError, match=r"finetune.blocks names block\(s\) \[4\] but the backbone has 4 blocks"):
        set_trainable(_module().backbone, phases[0].trainable_blocks, phases[0].blocks)
    with pytest.raises(ConfigError, match=r"finetune=blocks needs finetune.blocks, a list of block indices"):
        plan({**_strategy("blocks"), "blocks": []}, None)


@pytest.mark.parametrize("trainable", [None, 2])
def test_lr_decay_gives_each_stage_the_next_ones_rate_times_the_factor(trainable):
    module = _module(lr_decay=0.5, backbone_lr_scale=0.8)
    set_trainable(module.backbone, trainable)
    optimizer = module.configure_optimizers()
    lr_of = {id(p): group["lr"] for group in optimizer.param_groups for p in group["params"]}
    listed = sum(len(group["params"]) for group in optimizer.param_groups)
    assert listed == len(lr_of) == sum(p.requires_grad for p in module.parameters())  # each parameter once
    blocks = ordered_blocks(module.backbone)
    n = len(blocks)
    for i, block in enumerate(blocks):
        for p in block.parameters():
            if trainable is None or i >= n - trainable:
                assert lr_of[id(p)] == pytest.approx(LR * 0.8 * 0.5 ** (n - i))
            else:
                assert id(p) not in lr_of  # frozen: not in the optimizer
    stem = module.backbone.model.conv1[0].weight
    assert lr_of.get(id(stem)) == (pytest.approx(LR * 0.8 * 0.5 ** (n + 1)) if trainable is None else None)
    assert all(lr_of[id(p)] == LR for p in module.heads.parameters())
