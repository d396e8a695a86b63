"""``approach=transfer``: (a) a backbone from a :class:`~mtlkit.approaches.transfer_source.TransferSource`
(``transfer.source``: pre-train on ``source`` here, another run's checkpoint, or the model's own weights),
(b) fresh heads for the tasks of ``data`` on it, fine-tuned with the ``finetune`` strategy.

Stage (b) loads the backbone into a freshly built ``model``, puts newly initialised heads (``finetune.head_layers``
layers) for the target tasks on it, and trains with the ``finetune`` strategy (outputs in ``<run>/finetune/``, and
``<run>/probe/`` for lp_ft). results.json holds the target metrics, with the same keys as every approach, and what
the source was.
"""

from __future__ import annotations

import time
import warnings
from typing import Any

import pytorch_lightning as pl
from omegaconf import DictConfig, OmegaConf

from mtlkit.approaches.base import Approach, ApproachResult
from mtlkit.approaches.fit import FitResult, fit_and_evaluate
from mtlkit.approaches.stages import stage_config
from mtlkit.approaches.transfer_inputs import TARGET, config_side
from mtlkit.approaches.transfer_source import SourceBackbone, source_class
from mtlkit.build.backbone_weights import load_backbone
from mtlkit.build.builders import build_backbone, build_module, build_trainer
from mtlkit.config_checks.options import check_options
from mtlkit.config_checks.rules import integer
from mtlkit.console import get_console
from mtlkit.data.base import MultiLabelDataModule
from mtlkit.errors import ConfigError
from mtlkit.finetune.phases import fits, start_fit
from mtlkit.finetune.strategy import available_strategies, load_strategy
from mtlkit.models.module import MultiTaskModule
from mtlkit.runtime.loggers import finish_loggers


def finetune_settings(cfg: DictConfig) -> dict[str, Any]:
    settings = OmegaConf.to_container(cfg.finetune, resolve=True) if cfg.get("finetune") else None
    if not isinstance(settings, dict) or settings.get("_target_") is None:
        raise ConfigError(
            f"approach=transfer needs a finetune config group: finetune={'|'.join(available_strategies())}"
        )
    return settings


def strategy_name(settings: dict[str, Any]) -> str:
    """The strategy's name for the console: ``finetune.strategy``, else its class."""
    return str(settings.get("strategy") or str(settings["_target_"]).rsplit(".", 1)[-1])


def build_finetune_module(
    cfg: DictConfig, dm: MultiLabelDataModule, source: SourceBackbone, settings: dict[str, Any]
) -> MultiTaskModule:
    """``cfg.model`` with the source's backbone weights (None: the model's own pretrained weights) and freshly
    initialised heads for the tasks of ``dm``, built as the ``finetune`` settings every strategy shares say."""
    backbone = build_backbone(cfg.model, dm.input_shape)
    if source.state is not None:
        load_backbone(backbone, source.state, source.meta, cfg.model, source.file)
        saved_shape = source.meta.get("input_shape")
        if saved_shape and list(saved_shape) != list(dm.input_shape):
            get_console().print(
                f"[yellow]note: the backbone was trained on inputs of shape {list(saved_shape)}; "
                f"the target data has {list(dm.input_shape)}"
            )
    module = build_module(  # TaskHeads are created here: freshly initialised
        cfg,
        dm.input_shape,
        dm.tasks,
        backbone=backbone,
        meta={"stage": "finetune", "source_checkpoint": source.file},
        label_counts=dm.label_counts(),
        head_layers=int(settings.get("head_layers") or 1),
        head_hidden=settings.get("head_hidden"),
        backbone_lr_scale=float(settings.get("backbone_lr_scale", 1.0)),
        lr_decay=None if settings.get("lr_decay") is None else float(settings["lr_decay"]),
    )
    network = f" (network of task '{source.task}')" if source.task else ""
    get_console().print(
        f"transfer: backbone from {source.file}{network}; new heads for {dm.tasks}; strategy {strategy_name(settings)}",
        markup=False,
        highlight=False,
        soft_wrap=True,
    )
    return module


def fine_tune(
    cfg: DictConfig, module: MultiTaskModule, dm: MultiLabelDataModule, settings: dict[str, Any]
) -> tuple[FitResult, pl.Trainer, dict[str, Any]]:
    """Stage (b): the strategy the ``finetune`` settings name, one fit per group of its phases (lp_ft: probe, then
    finetune); the last fit's result and trainer, and what results.json keeps under ``finetune`` (its settings and
    every phase's record)."""
    strategy = load_strategy(settings)
    fast = bool(cfg.trainer.get("fast_dev_run"))
    groups = fits(strategy.phases(None if fast else cfg.trainer.get("max_epochs")))
    records: list[dict[str, Any]] = []
    out: FitResult | None = None
    trainer: pl.Trainer | None = None
    for i, fit_phases in enumerate(groups):
        started, schedule = start_fit(module, fit_phases)
        records += started
        last = i == len(groups) - 1
        epochs = fit_phases[0].epochs
        name = "finetune" if last else fit_phases[0].name
        stage = stage_config(cfg, name, trainer=None if epochs is None or fast else {"max_epochs": epochs})
        trainer = build_trainer(stage, extra_callbacks=[schedule] if schedule is not None else [])
        with warnings.catch_warnings():  # frozen blocks are in eval mode on purpose
            warnings.filterwarnings("ignore", message=r".*module\(s\) in eval mode at the start of training")
            out = fit_and_evaluate(trainer, module, dm)
        if schedule is not None:
            records += schedule.records
        if not last:
            records[-1]["metrics"] = out.metrics
            records[-1]["best_checkpoint"] = out.best_checkpoint
            finish_loggers(trainer)  # the best epoch's weights stay loaded for the next fit
    assert trainer is not None and out is not None
    return out, trainer, {**strategy.settings, "strategy": strategy.name, "phases": records}


class Transfer(Approach):
    """A backbone from ``transfer.source``, then fresh heads fine-tuned on ``dm`` with the ``finetune`` strategy."""

    def __init__(self, name: str = "transfer", sources: dict[str, str] | None = None):
        super().__init__(name)
        self.sources = dict(sources or {})

    @classmethod
    def preflight(cls, cfg: DictConfig) -> None:
        """Before any folder is touched: ``ckpt_path`` (the message names the alternative) and the source's own
        checks (its ``transfer.*`` keys, its checkpoint file, whether its inputs and the target's fit one backbone);
        the strategy checks itself (``finetune._target_``)."""
        if cfg.get("ckpt_path") not in (None, "last"):
            raise ConfigError(
                "ckpt_path resumes a single-stage run; approach=transfer has two stages. To skip pre-training, "
                "give its checkpoint as transfer.checkpoint=PATH"
            )
        finetune_settings(cfg)
        check_options("transfer.pretrain", cfg.transfer.get("pretrain") or {}, {"max_epochs": integer(1)})
        source_class(cfg).preflight(cfg)

    def run(self, cfg: DictConfig, dm: MultiLabelDataModule) -> ApproachResult:
        """(a) the source's backbone, (b) fresh heads on it, fine-tuned with the strategy (its phases within
        ``trainer.max_epochs`` were checked by :meth:`FinetuneStrategy.preflight` before anything ran)."""
        settings = finetune_settings(cfg)
        t0 = time.perf_counter()
        source = source_class(cfg)().backbone(cfg, config_side(cfg.data, "data", TARGET, dm.input_shape))
        pretrain_s = time.perf_counter() - t0
        pl.seed_everything(cfg.seed, workers=True, verbose=False)  # stage (b) is the same whether (a) ran here or not
        module = build_finetune_module(cfg, dm, source, settings)
        out, trainer, finetune = fine_tune(cfg, module, dm, settings)

        widest = max(finetune["phases"], key=lambda r: r["parameters"]["trainable"])["parameters"]
        return ApproachResult(
            fit=out,
            parameters=widest,
            trainer=trainer,
            extra={
                "transfer": {
                    "source": source.record,
                    "checkpoint": source.file,
                    "stage": source.stage,
                    "task": source.task,
                },
                "finetune": finetune,
                **out.task_gradients,  # of the last (fine-tuning) fit
            },
            timings={"pretrain_s": pretrain_s},
        )
