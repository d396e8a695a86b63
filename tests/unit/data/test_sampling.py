"""Which examples each process sees: N processes see exactly the batches of one, and a resume skips what was done."""

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from mtlkit.data.sampling import EpochOrder, EvalShardSampler, ShardedBatchSampler, rng_states
from mtlkit.errors import ConfigError


def rank_batches(n: int, batch: int, world: int, seed: int = 0, epoch: int = 0) -> list[list[list[int]]]:
    """batches[rank][step] for every process of a ``world``-process run."""
    out = []
    for rank in range(world):
        order = EpochOrder(n, shuffle=True, seed=seed)
        order.set_epoch(epoch)
        out.append(list(ShardedBatchSampler(order, batch, rank, world)))
    return out


@settings(max_examples=60, deadline=None)
@given(n=st.integers(2, 300), batch=st.integers(1, 40), world=st.integers(1, 4), seed=st.integers(0, 5))
def test_n_processes_see_the_batches_of_one_process_with_the_global_batch_size(n, batch, world, seed):
    world = min(world, n)
    single = rank_batches(n, batch * world, 1, seed)[0]
    per_rank = rank_batches(n, batch, world, seed)
    steps = {len(b) for b in per_rank}
    assert len(steps) == 1, "every process must take the same number of steps (DDP would hang otherwise)"
    rest = n % (batch * world)
    assert steps.pop() == len(single) - (1 if 0 < rest < world else 0)
    for step in range(len(per_rank[0])):
        shares = [per_rank[r][step] for r in range(world)]
        assert sum(shares, []) == single[step], "the shares, in rank order, make up the global batch"
        sizes = [len(s) for s in shares]
        assert min(sizes) >= 1 and max(sizes) - min(sizes) <= 1
    seen = sorted(i for b in per_rank for s in b for i in s)
    assert len(seen) == len(set(seen)), "no example is padded or repeated"
    assert len(seen) == n - (rest if 0 < rest < world else 0)


def test_order_is_fixed_by_seed_and_epoch():
    a, b = EpochOrder(100, seed=3), EpochOrder(100, seed=3)
    assert torch.equal(a.indices(), b.indices())
    b.set_epoch(1)
    assert not torch.equal(a.indices(), b.indices())
    assert not torch.equal(a.indices(), EpochOrder(100, seed=4).indices())
    assert EpochOrder(5, shuffle=False).indices().tolist() == [0, 1, 2, 3, 4]


@settings(max_examples=40, deadline=None)
@given(n=st.integers(1, 200), batch=st.integers(1, 64), world=st.integers(1, 4))
def test_eval_shards_score_every_example_exactly_once(n, batch, world):
    samplers = [EvalShardSampler(n, batch, r, world) for r in range(world)]
    seen = [i for s in samplers for b in s for i in b]
    assert sorted(seen) == list(range(n))
    assert all(len(list(s)) == len(s) for s in samplers)
    assert all(len(b) <= batch for s in samplers for b in s)


def test_resume_skips_the_batches_done_in_that_epoch_only():
    order = EpochOrder(50, seed=1)
    sampler = ShardedBatchSampler(order, 8)
    full = list(sampler)
    sampler.resume(epoch=0, batches_done=3)
    assert list(sampler) == full[3:]
    assert list(sampler) == full, "the skip applies to one pass only"
    sampler.resume(epoch=1, batches_done=2)
    assert list(sampler) == full, "epoch 0 is not the epoch to resume"
    order.set_epoch(1)
    epoch1 = list(ShardedBatchSampler(_at_epoch(1), 8))
    assert list(sampler) == epoch1[2:]


def _at_epoch(epoch: int) -> EpochOrder:
    order = EpochOrder(50, seed=1)
    order.set_epoch(epoch)
    return order


def test_resume_restores_the_random_state_before_the_first_remaining_batch():
    states = rng_states()
    expected = torch.rand(3)
    torch.rand(7)  # the generator moves on
    sampler = ShardedBatchSampler(EpochOrder(20, seed=0), 4)
    sampler.resume(epoch=0, batches_done=1, rng_state=states)
    next(iter(sampler))
    assert torch.equal(torch.rand(3), expected)


def test_fewer_examples_than_processes_is_a_clear_error():
    with pytest.raises(ConfigError, match="fewer than the 4 processes"):
        ShardedBatchSampler(EpochOrder(3), 2, rank=0, world_size=4)
