"""Under DDP the loss is normalised over the global batch: N processes get the gradient of one."""

import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from mtlkit.objective.masked_bce import masked_bce, masked_bce_terms
from mtlkit.objective.task_losses import shard_loss


@settings(max_examples=50, deadline=None)
@given(
    m=st.integers(2, 40),
    tasks=st.integers(1, 5),
    world=st.integers(1, 4),
    missing=st.sampled_from([0.0, 0.5, 0.95, 1.0]),
    normalization=st.sampled_from(["examples", "labels"]),
    unknown=st.sampled_from(["ignore", "negative"]),
    seed=st.integers(0, 10_000),
)
def test_averaged_shard_gradients_equal_the_global_batch_gradient(
    m, tasks, world, missing, normalization, unknown, seed
):
    world = min(world, m)
    gen = torch.Generator().manual_seed(seed)
    logits = torch.randn(m, tasks, generator=gen, dtype=torch.float64)
    y = (torch.rand(m, tasks, generator=gen) < 0.4).double()
    mask = torch.rand(m, tasks, generator=gen) >= missing
    # uneven shares, as in a last batch; some may hold no label of a task, or none at all
    cuts = sorted(torch.randperm(m - 1, generator=gen)[: world - 1].add(1).tolist())
    bounds = [0, *cuts, m]

    full = logits.clone().requires_grad_(True)
    expected = masked_bce(full, y, mask, normalization, unknown)
    expected.backward()

    shares = [slice(a, b) for a, b in zip(bounds[:-1], bounds[1:])]
    leaves = [logits[s].clone().requires_grad_(True) for s in shares]
    terms = [masked_bce_terms(x, y[s], mask[s], normalization, unknown) for x, s in zip(leaves, shares)]
    stats = torch.stack(
        [
            torch.stack([t.detach().float(), d.float(), torch.tensor(float(x.shape[0]))])
            for (t, d), x in zip(terms, leaves)
        ]
    ).sum(0)  # what the all-reduce returns

    values = []
    for (total, divisor), x in zip(terms, leaves):
        out = shard_loss(total, divisor, x.shape[0], reduce=lambda t: stats, processes=world)
        (out.backward / world).backward()  # DDP averages the gradients of the processes
        values.append(out.value)
        assert out.examples.item() == m
    grad = torch.cat([x.grad for x in leaves])
    torch.testing.assert_close(grad, full.grad, rtol=1e-5, atol=1e-7)
    for v in values:
        torch.testing.assert_close(v.double(), expected.detach(), rtol=1e-5, atol=1e-6)


def test_local_normalisation_would_be_wrong_with_uneven_shares():
    """The reason for the global divisor: dividing each share by its own m over-weights the small share."""
    logits = torch.tensor([[2.0], [-1.0], [0.5]], requires_grad=True)
    y, mask = torch.tensor([[1.0], [0.0], [1.0]]), torch.ones(3, 1, dtype=torch.bool)
    local = (masked_bce(logits[:2], y[:2], mask[:2]) + masked_bce(logits[2:], y[2:], mask[2:])) / 2
    assert not torch.isclose(local, masked_bce(logits, y, mask))


def test_one_process_gives_the_plain_seed_loss():
    logits, y = torch.randn(6, 3), (torch.rand(6, 3) > 0.5).float()
    mask = torch.rand(6, 3) > 0.3
    for normalization in ("examples", "labels"):
        total, divisor = masked_bce_terms(logits, y, mask, normalization)
        out = shard_loss(total, divisor, 6)
        assert torch.equal(out.backward, masked_bce(logits, y, mask, normalization))
        assert out.examples.item() == 6
