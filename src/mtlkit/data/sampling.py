"""Which examples each process sees, in which order: the same run on 1 or N processes, and after a resume.

Training order is a permutation fixed by ``(seed, epoch)``, cut into *global* batches of
``batch_size * world_size`` examples; process r of N trains on the r-th share of every global batch. So an N-process
run sees exactly the batches of a 1-process run whose ``batch_size`` is N times larger, with no example padded or
repeated: the uneven last batch is split as evenly as possible (shares differ by at most one example). Only a final
global batch with fewer examples than processes is dropped (a process cannot train on an empty share).

Evaluation splits are partitioned across processes without padding, so each example is scored exactly once.

A resumed run starts an epoch after the batches it had already trained on (:meth:`ShardedBatchSampler.resume`),
and puts the random number generators back where they stood at that point, so it continues exactly where the
interrupted run was (single process, ``num_workers=0``).
"""

from __future__ import annotations

import random
import warnings
from collections.abc import Iterator
from typing import Any

import numpy as np
import torch
from torch.utils.data import DataLoader, Sampler

from mtlkit.errors import ConfigError


def process_rank_and_count(trainer: Any = None) -> tuple[int, int]:
    """``(global rank, world size)`` of this process: from the trainer if attached, else torch.distributed."""
    if trainer is not None:
        return int(trainer.global_rank), int(trainer.world_size)
    if torch.distributed.is_available() and torch.distributed.is_initialized():
        return torch.distributed.get_rank(), torch.distributed.get_world_size()
    return 0, 1


class EpochOrder(Sampler[int]):
    """The order of a split's ``n`` examples in an epoch: a permutation fixed by ``(seed, epoch)``, or 0..n-1.

    Lightning calls :meth:`set_epoch` at the start of every training epoch.
    """

    def __init__(self, n: int, shuffle: bool = True, seed: int = 0):
        self.n, self.shuffle, self.seed, self.epoch = int(n), shuffle, int(seed), 0

    def set_epoch(self, epoch: int) -> None:
        self.epoch = int(epoch)

    def indices(self) -> torch.Tensor:
        if not self.shuffle:
            return torch.arange(self.n)
        gen = torch.Generator().manual_seed((self.seed * 1_000_003 + self.epoch) % (2**63))
        return torch.randperm(self.n, generator=gen)

    def __iter__(self) -> Iterator[int]:
        return iter(self.indices().tolist())

    def __len__(self) -> int:
        return self.n


class ShardedBatchSampler(Sampler[list[int]]):
    """This process's batches: global batches of ``batch_size * world_size`` taken in :class:`EpochOrder`, each
    split across the ``world_size`` processes; every process gets the same number of batches.

    Args:
        order: the epoch's example order (``self.sampler``, so Lightning's ``set_epoch`` reaches it).
        batch_size: examples per process per step.
        rank / world_size: this process and the number of processes.
        drop_last: drop a final global batch smaller than ``batch_size * world_size``.
    """

    def __init__(self, order: EpochOrder, batch_size: int, rank: int = 0, world_size: int = 1, drop_last: bool = False):
        if batch_size < 1:
            raise ConfigError(f"batch_size must be >= 1, got {batch_size}")
        if not 0 <= rank < world_size:
            raise ConfigError(f"rank {rank} is not in 0..{world_size - 1}")
        if order.n < world_size:
            raise ConfigError(
                f"the training split has {order.n} examples, fewer than the {world_size} processes: "
                "use fewer devices or more data"
            )
        self.sampler = order
        self.batch_size, self.rank, self.world_size, self.drop_last = batch_size, rank, world_size, drop_last
        self._resume: dict[str, Any] | None = None
        self._warned = False

    @property
    def global_batch_size(self) -> int:
        return self.batch_size * self.world_size

    def _num_global_batches(self) -> int:
        n, g = self.sampler.n, self.global_batch_size
        full, rest = divmod(n, g)
        return full + (1 if rest >= self.world_size and not self.drop_last else 0)

    def __len__(self) -> int:
        return self._num_global_batches()

    def global_batches(self) -> list[torch.Tensor]:
        """The epoch's global batches (what a single process with the global batch size would see)."""
        order = self.sampler.indices()
        g = self.global_batch_size
        batches = list(order[: self._num_global_batches() * g].split(g))
        dropped = self.sampler.n - sum(len(b) for b in batches)
        if dropped and not self.drop_last and not self._warned:
            self._warned = True
            warnings.warn(
                f"{dropped} training example(s) left over after the last global batch are skipped this epoch: "
                f"fewer than the {self.world_size} processes (a different order each epoch)",
                stacklevel=2,
            )
        return batches

    def resume(self, epoch: int, batches_done: int, rng_state: dict | None = None) -> None:
        """Make the next pass over ``epoch`` start after its first ``batches_done`` batches, restoring
        ``rng_state`` (from :func:`rng_states`) before the first one."""
        self._resume = {"epoch": int(epoch), "batches_done": int(batches_done), "rng_state": rng_state}

    def __iter__(self) -> Iterator[list[int]]:
        skip, rng_state = 0, None
        if self._resume is not None and self._resume["epoch"] == self.sampler.epoch:
            skip, rng_state = self._resume["batches_done"], self._resume["rng_state"]
            self._resume = None
        for i, batch in enumerate(self.global_batches()):
            if i < skip:
                continue
            if rng_state is not None:
                set_rng_states(rng_state)
                rng_state = None
            yield batch.tensor_split(self.world_size)[self.rank].tolist()


class EvalShardSampler(Sampler[list[int]]):
    """Evaluation batches of process ``rank``: examples ``rank, rank + world_size, ...`` in order, never padded, so
    that the processes together score every example exactly once."""

    def __init__(self, n: int, batch_size: int, rank: int = 0, world_size: int = 1):
        if batch_size < 1:
            raise ConfigError(f"eval batch_size must be >= 1, got {batch_size}")
        self.n, self.batch_size, self.rank, self.world_size = n, batch_size, rank, world_size

    def indices(self) -> torch.Tensor:
        return torch.arange(self.n)[self.rank :: self.world_size]

    def __iter__(self) -> Iterator[list[int]]:
        indices = self.indices()
        for batch in indices.split(self.batch_size) if len(indices) else ():
            yield batch.tolist()

    def __len__(self) -> int:
        return -(-len(self.indices()) // self.batch_size)


class ResumableDataLoader(DataLoader):
    """A DataLoader whose position is restored by its batch sampler (driven by the data module's checkpoint state,
    :func:`training_position`); ``state_dict`` only tells Lightning that the loader is resumable mid-epoch."""

    def state_dict(self) -> dict[str, Any]:
        return {}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        pass


def rng_states() -> dict[str, Any]:
    """The torch (CPU and CUDA), numpy and Python RNG states, in types that ``torch.load(weights_only=True)``
    accepts (checkpoints are loaded that way)."""
    np_state = np.random.get_state()
    states: dict[str, Any] = {
        "torch": torch.get_rng_state(),
        "numpy": [np_state[0], torch.from_numpy(np_state[1].astype(np.int64)), *map(_plain, np_state[2:])],
        "python": _plain(random.getstate()),
    }
    if torch.cuda.is_available() and torch.cuda.is_initialized():
        states["cuda"] = torch.cuda.get_rng_state_all()
    return states


def set_rng_states(states: dict[str, Any]) -> None:
    """Restore what :func:`rng_states` captured."""
    torch.set_rng_state(states["torch"])
    name, keys, *rest = states["numpy"]
    np.random.set_state((name, keys.numpy().astype(np.uint32), *rest))
    version, internal, gauss = states["python"]
    random.setstate((version, tuple(internal), gauss))
    if "cuda" in states and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(states["cuda"])


def _plain(value: Any) -> Any:
    """Tuples of ints/floats as lists (numpy scalars as Python numbers)."""
    if isinstance(value, (tuple, list)):
        return [_plain(v) for v in value]
    return value.item() if isinstance(value, np.generic) else value


def training_position(trainer: Any) -> dict[str, Any] | None:
    """Where training stands when a checkpoint is saved: epoch, batches of it done, and the RNG states."""
    from pytorch_lightning.trainer.states import TrainerFn

    if trainer is None or trainer.state.fn != TrainerFn.FITTING:
        return None
    progress = trainer.fit_loop.epoch_loop.batch_progress.current
    return {"epoch": int(trainer.current_epoch), "batches_done": int(progress.processed), "rng_state": rng_states()}
