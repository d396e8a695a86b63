"""The data contract every mtlkit data set follows, and the DataModule base class that serves it.

A batch is ``{"x": Tensor[B, ...], "y": float Tensor[B, T] in {0, 1}, "mask": bool Tensor[B, T],
"index": long Tensor[B]}``. ``mask[i, j]`` is True where example i is labelled for task j; where it is
False, ``y[i, j]`` is 0 and means nothing. ``index`` is the example's position in its split.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar

import pytorch_lightning as pl
import torch
from torch.utils.data import DataLoader, Dataset

from mtlkit.data.derived import DerivedTask, parse_derived
from mtlkit.data.hiding import hide_labels, task_rates
from mtlkit.data.sampling import (
    EpochOrder,
    EvalShardSampler,
    ResumableDataLoader,
    ShardedBatchSampler,
    process_rank_and_count,
    training_position,
)
from mtlkit.data.summary import LABEL_TABLE_MODES, label_counts, print_label_table
from mtlkit.errors import ConfigError

SPLITS = ("train", "val", "test")


@dataclass
class SplitData:
    """One split: inputs, labels, label mask, example ids and, optionally, which cells were marked uncertain.

    ``x`` is a tensor, or any array-like with ``len``, ``shape`` and batch indexing by a long tensor (e.g.
    images read lazily from disk). ``uncertain`` (bool [N, T]) marks cells written as uncertain (-1) in the
    user's file; ``y`` and ``mask`` already hold what the uncertain policy made of them.
    """

    x: torch.Tensor
    y: torch.Tensor  # float [N, T]
    mask: torch.Tensor  # bool [N, T]
    ids: list[str] = field(default_factory=list)
    uncertain: torch.Tensor | None = None  # bool [N, T], or None when the data have no uncertain cells

    def __post_init__(self) -> None:
        self.y = torch.where(self.mask, self.y.float(), torch.zeros((), dtype=torch.float32))
        if not self.ids:
            self.ids = [str(i) for i in range(len(self.y))]
        n = len(self.y)
        bad_unc = self.uncertain is not None and self.uncertain.shape != self.y.shape
        if len(self.x) != n or self.mask.shape != self.y.shape or len(self.ids) != n or bad_unc:
            raise ValueError(
                f"inconsistent split sizes: x {len(self.x)}, y {tuple(self.y.shape)}, "
                f"mask {tuple(self.mask.shape)}, ids {len(self.ids)}"
            )

    def __len__(self) -> int:
        return len(self.y)

    def select_tasks(self, columns: Sequence[int]) -> SplitData:
        cols = list(columns)
        unc = None if self.uncertain is None else self.uncertain[:, cols]
        return SplitData(self.x, self.y[:, cols], self.mask[:, cols], self.ids, unc)


def add_derived_tasks(
    rules: Sequence[DerivedTask], tasks: Sequence[str], splits: Mapping[str, SplitData]
) -> tuple[list[str], dict[str, SplitData]]:
    """Append one column per derived task to every split, in order (a rule may use the ones before it)."""
    tasks, out = list(tasks), dict(splits)
    for rule in rules:
        if rule.name in tasks:
            raise ConfigError(f"data.derived.{rule.name} is already a task of this data set; choose another name")
        for name, sp in out.items():
            y, mask = rule.compute(sp.y, sp.mask, tasks)
            unc = None if sp.uncertain is None else torch.cat([sp.uncertain, torch.zeros_like(mask)[:, None]], 1)
            ys, masks = torch.cat([sp.y, y[:, None]], 1), torch.cat([sp.mask, mask[:, None]], 1)
            out[name] = SplitData(sp.x, ys, masks, sp.ids, unc)
        tasks.append(rule.name)
    return tasks, out


class MultiLabelDataset(Dataset):
    """Map-style data set over a :class:`SplitData` that fetches whole batches with one index op."""

    def __init__(self, split: SplitData, transform: Callable[[torch.Tensor], torch.Tensor] | None = None):
        self.split = split
        self.transform = transform

    def __len__(self) -> int:
        return len(self.split)

    def __getitems__(self, indices: Sequence[int]) -> dict[str, torch.Tensor]:
        idx = torch.as_tensor(indices, dtype=torch.long)
        x = self.split.x[idx]
        if self.transform is not None:
            x = self.transform(x)
        return {"x": x, "y": self.split.y[idx], "mask": self.split.mask[idx], "index": idx}

    def __getitem__(self, i: int) -> dict[str, torch.Tensor]:
        batch = self.__getitems__([i])
        return {k: v[0] for k, v in batch.items()}


def collate_batch(batch):
    """Batches come ready from ``__getitems__``; fall back to stacking single examples."""
    if isinstance(batch, Mapping):
        return batch
    return torch.utils.data.default_collate(batch)


class MultiLabelDataModule(pl.LightningDataModule):
    """Base DataModule: subclasses implement :meth:`load_splits`; this class selects tasks, hides labels,
    prints the label table and serves the batch contract.

    Args:
        tasks: keep only these tasks (by name, in this order); ``None`` keeps all. May name derived tasks.
        derived: new tasks computed from others' labels, ``{name: "a or b"}`` (see :mod:`mtlkit.data.derived`);
            added before ``tasks`` selects and before labels are hidden.
        missing_rate: fraction of labels hidden in ``hide_splits``: one float, a list (one per task) or a
            ``{task: rate}`` mapping (key ``"*"``: the rate of every task not named; default 0).
        missing_mode: ``random`` (independent entries) or ``annotator`` (each example labelled for a random
            subset of tasks).
        hide_splits: splits whose labels are hidden; val and test stay complete by default.
        seed: fixes splits and hidden entries.
        shuffle_seed: fixes the training order of every epoch (default: the run's ``seed``, i.e.
            ``torch.initial_seed()`` after ``seed_everything``); see :mod:`mtlkit.data.sampling`.
        label_table: ``summary`` (over 24 tasks: the most and least labelled ones) or ``full`` (every task).
    """

    name = "base"
    # The config keys that set the input's channels and size ({"channels": KEY, "size": KEY}), where it has them:
    # error messages name them as fixes (e.g. ``source.channels=1``).
    input_keys: ClassVar[dict[str, str]] = {}

    @classmethod
    def planned_input_shape(cls, config: Mapping[str, Any]) -> tuple[int | None, ...] | None:
        """The input shape ``config`` will give, read from the config alone (no data built), or None if unknown.

        Entries that only the data tell (an image folder's size, say) are None. Used to check that two data
        configs (a transfer source and its target) fit one backbone before anything is built or trained.
        """
        return None

    def __init__(
        self,
        *,
        tasks: Sequence[str] | None = None,
        derived: Mapping[str, str] | None = None,
        batch_size: int = 128,
        eval_batch_size: int = 512,
        num_workers: int = 0,
        missing_rate: float | Sequence[float] | Mapping[str, float] = 0.0,
        missing_mode: str = "random",
        hide_splits: Sequence[str] = ("train",),
        seed: int = 0,
        shuffle_seed: int | None = None,
        verbose: bool = True,
        label_table: str = "summary",
    ):
        super().__init__()
        if label_table not in LABEL_TABLE_MODES:
            raise ConfigError(f"data.label_table={label_table!r}; choose one of {list(LABEL_TABLE_MODES)}")
        self.label_table = label_table
        bad = sorted(set(hide_splits) - set(SPLITS))
        if bad:
            raise ConfigError(f"hide_splits has unknown split(s) {bad}; use a subset of {list(SPLITS)}")
        if batch_size < 1 or eval_batch_size < 1:
            raise ConfigError(f"batch sizes must be >= 1, got batch_size={batch_size}, eval={eval_batch_size}")
        self.task_subset = list(tasks) if tasks else None
        self.derived: list[DerivedTask] = parse_derived(derived)  # malformed expressions fail here, before any data
        self.batch_size = batch_size
        self.eval_batch_size = eval_batch_size
        self.num_workers = num_workers
        self.missing_rate = missing_rate
        self.missing_mode = missing_mode
        self.hide_splits = list(hide_splits)
        self.seed = seed
        self.shuffle_seed = shuffle_seed
        self._resume_position: dict | None = None
        self.verbose = verbose
        self.splits: dict[str, SplitData] = {}
        self._tasks: list[str] = []
        self.transform: Callable[[torch.Tensor], torch.Tensor] | None = None
        self.train_transform: Callable[[torch.Tensor], torch.Tensor] | None = None

    # -- to implement -------------------------------------------------------------------------------
    def load_splits(self) -> tuple[list[str], dict[str, SplitData]]:
        """Return all task names and the train/val/test splits with their observed labels."""
        raise NotImplementedError

    # -- contract -----------------------------------------------------------------------------------
    @property
    def tasks(self) -> list[str]:
        self._require_setup()
        return list(self._tasks)

    @property
    def input_shape(self) -> tuple[int, ...]:
        self._require_setup()
        return tuple(self.splits["train"].x.shape[1:])

    def _require_setup(self) -> None:
        if not self.splits:
            self.setup()

    def setup(self, stage: str | None = None) -> None:
        if self.splits:
            return
        tasks, splits = self.load_splits()
        missing = [s for s in SPLITS if s not in splits]
        if missing:
            raise ConfigError(f"{type(self).__name__}.load_splits returned no {missing} split")
        if self.derived:
            tasks, splits = add_derived_tasks(self.derived, tasks, splits)
        if self.task_subset is not None:
            unknown = [t for t in self.task_subset if t not in tasks]
            if unknown:
                raise ConfigError(f"data.tasks names unknown task(s) {unknown}; this data set has {tasks}")
            cols = [tasks.index(t) for t in self.task_subset]
            splits = {k: v.select_tasks(cols) for k, v in splits.items()}
            tasks = list(self.task_subset)
        rates = task_rates(self.missing_rate, tasks)
        for i, name in enumerate(SPLITS):
            if name in self.hide_splits and float(rates.max()) > 0:
                gen = torch.Generator().manual_seed(self.seed * 7919 + 101 + i)
                sp = splits[name]
                mask = hide_labels(sp.mask, rates, self.missing_mode, gen)
                splits[name] = SplitData(sp.x, sp.y, mask, sp.ids, sp.uncertain)
        self._tasks, self.splits = tasks, splits
        if self.verbose:
            title = f"Labels of data set '{self.name}'"
            caption, full = self.label_table_caption(), self.label_table == "full"
            print_label_table(self.label_counts(), tasks, title=title, caption=caption, full=full)

    def label_table_caption(self) -> str | None:
        """A note printed under the label table (e.g. how uncertain cells were counted); none by default."""
        return None

    def label_counts(self) -> dict[str, dict[str, dict[str, int]]]:
        self._require_setup()
        return label_counts(self.splits, self._tasks)

    def sizes(self) -> dict[str, int]:
        self._require_setup()
        return {k: len(v) for k, v in self.splits.items()}

    # -- loaders ------------------------------------------------------------------------------------
    def dataset(self, split: str) -> MultiLabelDataset:
        self._require_setup()
        if split not in self.splits:
            raise ConfigError(f"unknown split {split!r}; choose one of {list(SPLITS)}")
        transform = self.train_transform if split == "train" and self.train_transform else self.transform
        return MultiLabelDataset(self.splits[split], transform)

    def _loader(self, split: str, shuffle: bool) -> DataLoader:
        """Loader of ``split`` for this process: sharded across processes (DDP) and resumable mid-epoch."""
        dataset = self.dataset(split)
        rank, world = process_rank_and_count(self.trainer)
        if split == "train":
            seed = torch.initial_seed() if self.shuffle_seed is None else self.shuffle_seed
            sampler = ShardedBatchSampler(EpochOrder(len(dataset), shuffle, seed), self.batch_size, rank, world)
            if self._resume_position is not None:
                sampler.resume(**self._resume_position)
                self._resume_position = None
        else:
            sampler = EvalShardSampler(len(dataset), self.eval_batch_size, rank, world)
        return ResumableDataLoader(
            dataset,
            batch_sampler=sampler,
            num_workers=self.num_workers,
            collate_fn=collate_batch,
            persistent_workers=self.num_workers > 0,
            generator=torch.Generator().manual_seed(self.seed),  # worker seeds, without drawing from the global RNG
        )

    # -- checkpoint state: where training stands, so that a resumed run continues mid-epoch -----------
    def state_dict(self) -> dict:
        position = training_position(self.trainer)
        return {"train_position": position} if position is not None else {}

    def load_state_dict(self, state_dict: dict) -> None:
        # Only a fit that continues from a checkpoint resumes mid-epoch. validate/test of a checkpoint also
        # restore this state; taking it then would make the next fit of this data module skip batches.
        trainer = self.trainer
        if trainer is not None and trainer.state.fn != "fit":
            return
        self._resume_position = state_dict.get("train_position")

    def train_dataloader(self) -> DataLoader:
        return self._loader("train", shuffle=True)

    def val_dataloader(self) -> DataLoader:
        return self._loader("val", shuffle=False)

    def test_dataloader(self) -> DataLoader:
        return self._loader("test", shuffle=False)

    def predict_dataloader(self) -> DataLoader:
        return self._loader("test", shuffle=False)
