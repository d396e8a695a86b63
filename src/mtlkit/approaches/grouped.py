"""``approach=grouped``: one shared network per group of tasks, trained side by side in one run on the same batches.

``approach.groups=[[a,b],[c]]`` names the groups; ``approach.groups=auto`` takes the best grouping into
``approach.k`` networks from a task-affinity measurement: the one in ``approach.affinity_from`` (a multitask run
trained with ``affinity=tag``), else a short multitask pre-run on the same data (``<run>/affinity/``; its choice is
kept in ``<run>/affinity/grouping.json``, so a resumed run trains the same groups).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, ClassVar

import pytorch_lightning as pl
from omegaconf import DictConfig, OmegaConf, open_dict

from mtlkit.approaches.base import Approach, ApproachResult
from mtlkit.approaches.fit import fit_and_evaluate
from mtlkit.approaches.stages import stage_config
from mtlkit.build.builders import build_module, build_trainer
from mtlkit.config_checks.rules import Rule, integer
from mtlkit.console import get_console
from mtlkit.data.base import MultiLabelDataModule
from mtlkit.errors import ConfigError
from mtlkit.grouping.affinity import TaskAffinity, affinity_matrix
from mtlkit.grouping.files import read_affinity
from mtlkit.grouping.outputs import finish_affinity, grouping_record, override_line
from mtlkit.grouping.search import best_grouping
from mtlkit.models.grouped import GroupedModule, check_groups
from mtlkit.models.trainable import print_trainable
from mtlkit.runtime.loggers import finish_loggers

AUTO = "auto"
CHOICE_FILE = "grouping.json"


class Grouped(Approach):
    """One network per group of ``groups`` (lists of task names, or ``"auto"``; see the module docstring)."""

    option_rules: ClassVar[dict[str, Rule]] = {
        "k": integer(1, note="approach.groups=auto: the number of networks"),
        "pre_run_epochs": integer(1),
        "every": integer(1),
    }

    def __init__(
        self,
        name: str,
        groups: Any = None,
        k: int = 2,
        affinity_from: str | None = None,
        pre_run_epochs: int = 1,
        every: int = 5,
    ):
        super().__init__(name)
        self.groups, self.k, self.affinity_from = groups, k, affinity_from
        self.pre_run_epochs, self.every = pre_run_epochs, every

    def check(self, cfg: DictConfig) -> None:
        """The grouping's form (and its tasks, when ``data.tasks`` names them) before any data is built."""
        super().check(cfg)
        if self.groups is None:
            raise ConfigError(
                "approach=grouped needs its groups: approach.groups=[[car,stop_sign],[pedestrian]] (every task in "
                "exactly one group), or approach.groups=auto approach.k=2 (from a task-affinity measurement)"
            )
        if self.groups == AUTO:
            if not isinstance(self.k, int) or self.k < 1:
                raise ConfigError(f"approach.k must be an integer >= 1 (the number of networks), got {self.k!r}")
            if self.affinity_from is not None:
                read_affinity(self.affinity_from)  # a missing or wrong folder fails now, not after the data
            elif not isinstance(self.pre_run_epochs, int) or self.pre_run_epochs < 1:
                raise ConfigError(f"approach.pre_run_epochs must be an integer >= 1, got {self.pre_run_epochs!r}")
            return
        tasks = (cfg.data.get("tasks") if cfg.get("data") else None) or None
        if tasks is not None:
            check_groups(self.groups, [str(t) for t in tasks])
        else:
            check_groups(self.groups, [str(t) for g in _as_lists(self.groups) for t in g])

    def run(self, cfg: DictConfig, dm: MultiLabelDataModule) -> ApproachResult:
        chosen: dict[str, Any] = {"source": "approach.groups"}
        if self.groups == AUTO:
            chosen = self.choose(cfg, dm)
            groups = chosen["groups"]
            pl.seed_everything(cfg.seed, workers=True, verbose=False)  # the grouped run as if the groups were given
        else:
            groups = check_groups(self.groups, dm.tasks)
        module = build_module(
            cfg, dm.input_shape, dm.tasks, GroupedModule, label_counts=dm.label_counts(), groups=groups
        )
        trainer = build_trainer(cfg)
        params = print_trainable(module, f"grouped ({len(groups)} networks: {groups})")
        params["networks"] = len(groups)
        params["per_network"] = [
            sum(p.numel() for p in net.parameters()) + module.heads_parameters_of(group)
            for net, group in zip(module.backbone.networks, groups)
        ]
        fit = fit_and_evaluate(trainer, module, dm, ckpt_path=cfg.get("ckpt_path"))
        extra = {**fit.task_gradients, "groups": groups, "grouping": chosen}
        return ApproachResult(fit=fit, parameters=params, trainer=trainer, extra=extra)

    def choose(self, cfg: DictConfig, dm: MultiLabelDataModule) -> dict[str, Any]:
        """The best grouping into ``k`` networks from the affinity (read, or measured in a pre-run)."""
        if not 1 <= self.k <= len(dm.tasks):
            raise ConfigError(f"approach.k={self.k}: choose 1 <= k <= {len(dm.tasks)} (the number of tasks)")
        choice_file = Path(str(cfg.paths.output_dir)) / "affinity" / CHOICE_FILE
        if self.affinity_from is None and choice_file.is_file():  # a resumed run: the groups it chose before
            chosen = json.loads(choice_file.read_text())
            get_console().print(f"groups=auto: the grouping chosen before ({choice_file}): {chosen['groups']}")
            return chosen
        if self.affinity_from is not None:
            record, source = read_affinity(self.affinity_from), str(self.affinity_from)
        else:
            record, source = self.pre_run(cfg, dm), str(choice_file.parent)
        tasks, z = affinity_matrix(record)
        if sorted(tasks) != sorted(dm.tasks):
            raise ConfigError(
                f"the affinity in {source} is for tasks {tasks}, this data has {dm.tasks}: measure it on the same "
                "tasks (affinity=tag on a multitask run of this data)"
            )
        order = [tasks.index(t) for t in dm.tasks]
        z = z[order][:, order]
        grouping = best_grouping(dm.tasks, z, self.k)
        chosen = {"source": source, **grouping_record(grouping)}
        get_console().print(
            f"groups=auto (k={self.k}, {grouping.method} search, score {grouping.score:+.3g}): {chosen['groups']}; "
            f"the same by hand: {override_line(chosen['groups'])}",
            markup=False,  # [[a,b],[c]] is not rich markup
            highlight=False,
            soft_wrap=True,
        )
        if self.affinity_from is None:
            choice_file.parent.mkdir(parents=True, exist_ok=True)
            choice_file.write_text(json.dumps(chosen, indent=2))
        return chosen

    def pre_run(self, cfg: DictConfig, dm: MultiLabelDataModule) -> dict[str, Any]:
        """A short multitask run with ``affinity=tag`` on the same data; its affinity record."""
        stage = stage_config(cfg, "affinity", trainer={"max_epochs": self.pre_run_epochs})
        with open_dict(stage):
            stage.approach = OmegaConf.create({"name": "multitask"})
            stage.ckpt_path = None
        get_console().print(
            f"groups=auto: measuring task affinity in a {self.pre_run_epochs}-epoch multitask pre-run "
            f"(every {self.every} steps; outputs in {stage.paths.output_dir})"
        )
        module = build_module(
            stage, dm.input_shape, dm.tasks, label_counts=dm.label_counts(), meta={"stage": "affinity"}
        )
        callback = TaskAffinity(every=self.every)
        trainer = build_trainer(stage, extra_callbacks=[callback])
        trainer.fit(module, datamodule=dm)
        finish_loggers(trainer)
        return finish_affinity(callback, stage.paths.output_dir, title=f"task affinity on {dm.name} (pre-run)")[
            "affinity"
        ]


def _as_lists(groups: Any) -> list[list[Any]]:
    try:
        return [list(g) for g in groups if not isinstance(g, str)]
    except TypeError:
        return []
