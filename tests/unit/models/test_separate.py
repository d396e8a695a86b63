"""approach=separate: T networks that share nothing, and training them together equals training each alone."""

from __future__ import annotations

import copy
import warnings

import pytest
import pytorch_lightning as pl
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from mtlkit.data.base import MultiLabelDataset, SplitData, collate_batch
from mtlkit.errors import CheckpointError, ConfigError
from mtlkit.models.backbones import CNN, MLP
from mtlkit.models.module import MultiTaskModule
from mtlkit.models.optimization import Optimization
from mtlkit.models.separate import SeparateBackbones, SeparateModule, network_state
from mtlkit.objective.masked_bce import masked_bce, masked_bce_per_task

TASKS = ["a", "b", "c"]
SHAPE = (3, 8, 8)


def _adamw(params):
    return torch.optim.AdamW(params, lr=0.05, weight_decay=0.01)


def _backbone(kind: str) -> torch.nn.Module:
    return CNN(SHAPE, width=4, depth=2) if kind == "cnn" else MLP(SHAPE, width=8, depth=2)


def _separate(kind: str = "cnn", seed: int = 0, **kw) -> SeparateModule:
    torch.manual_seed(seed)
    optimizer = Optimization(_adamw, scheduler=kw.pop("scheduler", None))
    return SeparateModule(SeparateBackbones.build(lambda: _backbone(kind), TASKS), TASKS, optimizer=optimizer, **kw)


def _batch(seed: int, n: int = 16) -> dict[str, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    mask = torch.rand(n, len(TASKS), generator=g) < 0.6
    y = torch.where(mask, (torch.rand(n, len(TASKS), generator=g) < 0.5).float(), 0.0)
    return {"x": torch.randn(n, *SHAPE, generator=g), "y": y, "mask": mask}


def _grads(module: SeparateModule, batch: dict[str, torch.Tensor], j: int) -> list[torch.Tensor]:
    module.zero_grad(set_to_none=True)
    with warnings.catch_warnings():  # self.log without a Trainer: warns, logs nothing
        warnings.simplefilter("ignore")
        module.training_step(batch, 0).backward()  # the path training takes (loss_terms + shard_loss)
    return [(p.grad if row is None else p.grad[row]).clone() for p, row in module.network_parameters(j)]


@settings(max_examples=20, deadline=None)
@given(
    seed=st.integers(0, 10_000),
    j=st.integers(0, 2),
    shift=st.integers(1, 2),
    normalization=st.sampled_from(["examples", "labels"]),
    kind=st.sampled_from(["cnn", "mlp"]),
)
def test_gradients_of_network_j_do_not_depend_on_labels_of_other_tasks(seed, j, shift, normalization, kind):
    k = (j + shift) % 3
    module = _separate(kind, loss_normalization=normalization)
    batch = _batch(seed)
    other = {key: v.clone() for key, v in batch.items()}
    g = torch.Generator().manual_seed(seed + 1)
    other["mask"][:, k] = torch.rand(len(other["mask"]), generator=g) < 0.5  # relabel task k completely
    other["y"][:, k] = torch.where(other["mask"][:, k], 1.0 - batch["y"][:, k], 0.0)
    assert not torch.equal(other["y"], batch["y"]) or not torch.equal(other["mask"], batch["mask"])
    before, after = _grads(module, batch, j), _grads(module, other, j)
    assert all(torch.equal(a, b) for a, b in zip(before, after))
    # ... while network k itself does see the change (so the test can fail)
    assert any(not torch.equal(a, b) for a, b in zip(_grads(module, batch, k), _grads(module, other, k)))


def test_per_task_loss_is_the_seed_loss_with_examples_and_a_sum_of_task_means_with_labels():
    batch = _batch(3)
    logits = torch.randn(16, 3)
    y, mask = batch["y"], batch["mask"]
    assert torch.allclose(masked_bce_per_task(logits, y, mask), masked_bce(logits, y, mask))
    by_task = sum(masked_bce(logits[:, [j]], y[:, [j]], mask[:, [j]], normalization="labels") for j in range(3))
    assert torch.allclose(masked_bce_per_task(logits, y, mask, normalization="labels"), by_task)


def test_networks_share_no_parameter_and_extraction_gives_the_same_outputs():
    module = _separate("cnn").eval()
    ids = [{id(p) for p in net.parameters()} for net in module.backbone.networks]
    assert all(not (ids[a] & ids[b]) for a in range(3) for b in range(a + 1, 3))
    x = torch.randn(5, *SHAPE)
    features = module.backbone(x)
    assert features.shape == (5, 3, module.backbone.feature_dim)
    for j, task in enumerate(TASKS):
        alone = module.backbone.network(task).eval()
        assert torch.equal(alone(x), features[:, j])
        alone.blocks[0][0].weight.data.add_(1.0)  # a copy: changing it leaves the set alone
        assert torch.equal(module.backbone(x)[:, j], features[:, j])
    state = network_state(module.state_dict(), 2)
    assert set(state) == set(CNN(SHAPE, width=4, depth=2).state_dict())
    with pytest.raises(CheckpointError, match="no network 7"):
        network_state(module.state_dict(), 7)
    with pytest.raises(ConfigError, match="no network for task 'z'"):
        module.backbone.network("z")


def test_networks_must_not_share_parameters():
    net = _backbone("cnn")
    with pytest.raises(ConfigError, match="share parameters"):
        SeparateBackbones([net, net], ["a", "b"])


class _Loader(pl.LightningDataModule):
    """Fixed tensors, shuffled by the global seed: the same batches for the set and for one network."""

    def __init__(self, split: SplitData):
        super().__init__()
        self.split = split

    def train_dataloader(self):
        return torch.utils.data.DataLoader(
            MultiLabelDataset(self.split), batch_size=16, shuffle=True, collate_fn=collate_batch
        )


def _fit(module: MultiTaskModule, split: SplitData, clip: float | None) -> None:
    pl.seed_everything(7, verbose=False)
    trainer = pl.Trainer(
        max_epochs=2,
        accelerator="cpu",
        logger=False,
        enable_checkpointing=False,
        enable_progress_bar=False,
        enable_model_summary=False,
        limit_val_batches=0,
        num_sanity_val_steps=0,
        gradient_clip_val=clip,
    )
    trainer.fit(module, datamodule=_Loader(split))


def _onecycle(optimizer, total_steps, max_lr):
    return torch.optim.lr_scheduler.OneCycleLR(optimizer, max_lr=max_lr, total_steps=total_steps)


@pytest.mark.parametrize("kind", ["cnn", "mlp"])
@pytest.mark.parametrize("clip", [None, 0.05])
def test_training_the_set_equals_training_each_network_alone(kind, clip):
    """Same init, seed and batches: network j after training the set == network j trained on task j alone.

    With gradient clipping by norm on (clip=0.05 clips every step here), this also checks that the set clips each
    network by its own norm, as Lightning clips a lone network.
    """
    batch = _batch(11, n=64)
    split = SplitData(batch["x"], batch["y"], batch["mask"])
    module = _separate(kind, seed=1, scheduler=_onecycle)
    start = copy.deepcopy(module)
    _fit(module, split, clip)
    for j, task in enumerate(TASKS):
        alone = MultiTaskModule(
            start.backbone.network(task), [task], optimizer=Optimization(_adamw, scheduler=_onecycle)
        )
        with torch.no_grad():
            for w, src in zip(alone.heads.parameters(), start.heads.parameters()):
                w.copy_(src[j : j + 1])
        _fit(alone, SplitData(split.x, split.y[:, [j]], split.mask[:, [j]]), clip)
        trained = module.backbone.networks[j].state_dict()
        for name, value in alone.backbone.state_dict().items():
            assert torch.allclose(trained[name].float(), value.float(), atol=1e-5), (task, name)
        first = next(iter(start.backbone.networks[j].parameters()))
        assert not torch.allclose(next(iter(module.backbone.networks[j].parameters())), first)  # it did train
        for w, src in zip(alone.heads.parameters(), module.heads.parameters()):
            assert torch.allclose(w[0], src[j], atol=1e-5), task
