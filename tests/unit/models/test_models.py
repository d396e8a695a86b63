import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from torch import nn

from mtlkit.errors import ConfigError
from mtlkit.models.backbones import CNN, MLP
from mtlkit.models.heads import TaskHeads


@pytest.mark.parametrize("width, depth, size, feat", [(32, 4, 32, 64), (8, 2, 16, 8), (4, 6, 32, 16)])
def test_cnn_exposes_feature_width_and_blocks(width, depth, size, feat):
    net = CNN((3, size, size), width=width, depth=depth)
    assert len(net.blocks) == depth and net.feature_dim == feat
    assert net(torch.randn(5, 3, size, size)).shape == (5, feat)
    # running the blocks in order then pooling is the forward pass
    x = torch.randn(2, 3, size, size)
    net.eval()
    h = x
    for b in net.blocks:
        h = b(h)
    assert torch.allclose(net.pool(h), net(x))


def test_mlp_flattens_inputs():
    net = MLP((3, 4, 4), width=16, depth=3)
    assert net(torch.randn(7, 3, 4, 4)).shape == (7, 16)
    assert len(net.blocks) == 3 and net.feature_dim == 16


def test_mlp_without_input_dropout_keeps_its_layers_and_parameter_names():
    # input_dropout=0 (the default) adds no layer: checkpoints of earlier runs still load
    net = MLP((6,), width=8, depth=2, dropout=0.3)
    assert [type(m) for m in net.blocks[0]] == [nn.Flatten, nn.Linear, nn.LayerNorm, nn.ReLU, nn.Dropout]
    assert set(net.state_dict()) == set(MLP((6,), width=8, depth=2, dropout=0.3, input_dropout=0.0).state_dict())


@settings(max_examples=20, deadline=None)
@given(p=st.floats(0.05, 0.9), seed=st.integers(0, 1000))
def test_mlp_input_dropout_zeroes_and_rescales_inputs_in_training_only(p, seed):
    torch.manual_seed(seed)
    net = MLP((400,), width=4, depth=1, input_dropout=p)
    plain = MLP((400,), width=4, depth=1)
    plain.load_state_dict(dict(zip(plain.state_dict(), net.state_dict().values(), strict=True)))  # same weights
    seen = []
    first_linear = next(m for m in net.modules() if isinstance(m, nn.Linear))
    first_linear.register_forward_hook(lambda _m, inputs, _out: seen.append(inputs[0]))
    x = torch.rand(3, 400) + 0.5  # no zero inputs
    net.train()
    net(x)
    kept = seen[-1] != 0
    assert torch.allclose(seen[-1][kept], x[kept] / (1 - p))  # survivors scaled by 1 / (1 - p)
    assert abs((~kept).float().mean().item() - p) < 0.1  # about a fraction p dropped (1,200 draws)
    net.eval()
    assert torch.allclose(net(x), plain.eval()(x))  # evaluation: the network without input dropout


@pytest.mark.parametrize("key, value", [("input_dropout", 1.0), ("input_dropout", -0.1), ("dropout", 1.0)])
def test_mlp_refuses_a_dropout_outside_0_1(key, value):
    with pytest.raises(ConfigError, match=f"model.{key}"):
        MLP((6,), **{key: value})


def test_cnn_on_tabular_input_says_use_mlp():
    with pytest.raises(ConfigError, match="model=mlp"):
        CNN((10,))


def _reference_heads(heads: TaskHeads, feats: torch.Tensor) -> torch.Tensor:
    """Loop over tasks with plain nn.Linear-style maths (what a ModuleDict of heads would compute)."""
    outs = []
    for j in range(len(heads.tasks)):
        h = feats if feats.dim() == 2 else feats[:, j]
        for i, (w, b) in enumerate(zip(heads.weights, heads.biases)):
            h = h @ w[j] + b[j]
            if i < heads.layers - 1:
                h = torch.relu(h)
        outs.append(h[:, 0])
    return torch.stack(outs, 1)


@pytest.mark.parametrize("layers", [1, 2, 3])
@pytest.mark.parametrize("per_task_features", [False, True])
def test_batched_heads_equal_one_head_per_task(layers, per_task_features):
    heads = TaskHeads(12, ["a", "b", "c", "d", "e"], layers=layers, hidden=7)
    feats = torch.randn(9, 5, 12) if per_task_features else torch.randn(9, 12)
    assert torch.allclose(heads(feats), _reference_heads(heads, feats), atol=1e-5)


@settings(max_examples=25, deadline=None)
@given(perm_seed=st.integers(0, 1000), layers=st.integers(1, 2))
def test_permuting_tasks_permutes_outputs(perm_seed, layers):
    tasks = ["t0", "t1", "t2", "t3"]
    heads = TaskHeads(6, tasks, layers=layers)
    perm = torch.randperm(4, generator=torch.Generator().manual_seed(perm_seed))
    permuted = TaskHeads(6, [tasks[i] for i in perm], layers=layers)
    with torch.no_grad():
        for w, pw in zip(heads.weights, permuted.weights):
            pw.copy_(w[perm])
        for b, pb in zip(heads.biases, permuted.biases):
            pb.copy_(b[perm])
    x = torch.randn(3, 6)
    assert torch.allclose(permuted(x), heads(x)[:, perm], atol=1e-6)


def test_heads_are_initialised_like_fresh_linear_layers_and_differ_per_task():
    torch.manual_seed(0)
    heads = TaskHeads(64, [f"t{i}" for i in range(50)])
    w = heads.weights[0]
    bound = 1 / 64**0.5
    assert w.abs().max() <= bound and w.std() > bound / 3
    assert not torch.allclose(w[0], w[1])
    assert isinstance(heads, nn.Module) and heads.index("t3") == 3
    with pytest.raises(ConfigError, match="unknown task"):
        heads.index("bus")


def test_duplicate_task_names_are_rejected():
    with pytest.raises(ConfigError, match="distinct"):
        TaskHeads(4, ["a", "a"])
