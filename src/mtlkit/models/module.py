"""The LightningModule: a backbone, the task heads, the objective (masked per-task loss + weighting) and metrics.

A training step hands the per-task losses of the global batch to the weighting (:mod:`mtlkit.objective`), the one
place that decides what is backpropagated. A loss weighting trains with Lightning's automatic optimisation; a
gradient method (``weighting.uses_task_gradients``) switches the module to manual optimisation, where the step
takes the per-task Jacobian of the shared parameters, the weighting's direction, gradient clipping, the
optimizer and the scheduler in that order.

At the steps ``weighting.log_every`` chooses, a :class:`~mtlkit.objective.task_gradient_monitor.TaskGradientMonitor`
measures the per-task gradient norms and cosines of the shared parameters and the task weights (logged as
``train/grad_norm/*``, ``train/grad_cos/*``, ``train/weight/*``; summarised in results.json). It never changes what
is trained, and its state is in every checkpoint.

Evaluation (val/test metrics, ``eval.threshold``, what each epoch logs) belongs to the module's
:class:`~mtlkit.evaluation.evaluator.Evaluator`; how parameters are optimised to its
:class:`~mtlkit.models.optimization.Optimization`. The training loss is logged as ``train/loss_step`` at the steps the
loggers write and ``train/loss_epoch`` once an epoch, accumulated on the device (:mod:`mtlkit.models.train_loss`).
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import pytorch_lightning as pl
import torch
from pytorch_lightning.trainer.states import TrainerFn
from torch import nn

from mtlkit.errors import CheckpointError, ConfigError
from mtlkit.evaluation.evaluator import Evaluator
from mtlkit.evaluation.thresholds import CHECKPOINT_KEY
from mtlkit.models.heads import TaskHeads
from mtlkit.models.lr_decay import layer_decay_groups
from mtlkit.models.optimization import Optimization
from mtlkit.models.train_loss import TrainLoss
from mtlkit.objective.masked_task_loss import MaskedTaskLoss
from mtlkit.objective.representation_gradients import gather_columns, representation_gradients
from mtlkit.objective.sharding import world_size
from mtlkit.objective.task_gradient_monitor import TaskGradientMonitor
from mtlkit.objective.task_gradients import linear_surrogate, set_gradients
from mtlkit.objective.task_losses import TaskLosses
from mtlkit.objective.weighting.base import Weighting
from mtlkit.objective.weighting.ew import EqualWeighting

MONITOR_KEY = "task_gradient_monitor"  # where checkpoints keep the monitor's state

# Epoch-level metrics are computed from states gathered from every process (torchmetrics), so each process logs
# the same value: Lightning's advice to add sync_dist=True (one all-reduce per logged value) does not apply.
warnings.filterwarnings("ignore", message=r".*when logging on epoch level in distributed setting.*")


class MultiTaskModule(pl.LightningModule):
    """``logits = heads(backbone(x))``: one logit per task, trained with the masked seed loss and a weighting.

    Args, by concern:
        backbone, tasks: the network (a :class:`mtlkit.models.backbones.Backbone`, input -> features of
            ``feature_dim``) and the task names, in the data module's order.
        optimizer: an :class:`~mtlkit.models.optimization.Optimization` (optimizer, scheduler, backbone learning-
            rate scale and layer decay, a gradient method's clipping), or just a partial ``torch.optim`` constructor.
        head_layers / head_hidden: depth and width of each task head.
        loss_normalization / loss_unknown / pos_weight: the masked loss (see
            :func:`mtlkit.objective.masked_bce.masked_bce`; ``pos_weight``: ``[T]`` weights of the positive entries,
            ``loss.pos_weight``, None: 1).
        weighting: turns the per-task losses into what is backpropagated (default: equal weighting, the seed
            formula); see :mod:`mtlkit.objective.weighting.base`.
        evaluator: val/test metrics and decision thresholds (``eval.*``; default: ``eval.threshold=0.5``).
        meta: stored in every checkpoint under ``"mtlkit"`` (config, tasks, input shape).
    """

    architecture = "shared"  # what checkpoints record: one backbone (keys backbone.*)
    per_task_divisors = False  # the seed formula: one divisor for all tasks

    def __init__(
        self,
        backbone: nn.Module,
        tasks: Sequence[str],
        optimizer: Optimization | Callable[..., torch.optim.Optimizer],
        head_layers: int = 1,
        head_hidden: int | None = None,
        loss_normalization: str = "examples",
        loss_unknown: str = "ignore",
        pos_weight: torch.Tensor | None = None,
        weighting: Weighting | None = None,
        evaluator: Evaluator | None = None,
        meta: dict | None = None,
    ):
        super().__init__()
        self.backbone = backbone
        self.tasks = list(tasks)
        self.heads = TaskHeads(backbone.feature_dim, self.tasks, layers=head_layers, hidden=head_hidden)
        self.optimization = Optimization.of(optimizer)
        self.objective = MaskedTaskLoss(loss_normalization, loss_unknown, per_task=self.per_task_divisors)
        self.weighting = weighting if weighting is not None else EqualWeighting(self.tasks)
        if list(self.weighting.tasks) != self.tasks:
            raise ValueError(f"the weighting is for tasks {self.weighting.tasks}, the heads for {self.tasks}")
        self.register_buffer("pos_weight", None if pos_weight is None else torch.as_tensor(pos_weight).float())
        self.automatic_optimization = not self.weighting.uses_task_gradients
        if getattr(self.weighting, "jacobian", "parameters") == "representation" and self.architecture != "shared":
            raise ConfigError(
                f"weighting.jacobian=representation needs one shared backbone; approach with architecture "
                f"{self.architecture!r}: use weighting.jacobian=parameters"
            )
        self.meta = dict(meta or {})
        self.evaluator = evaluator if evaluator is not None else Evaluator(self.tasks)
        if self.evaluator.tasks != self.tasks:
            raise ValueError(f"the evaluator is for tasks {self.evaluator.tasks}, the heads for {self.tasks}")
        self.train_loss = TrainLoss()
        self._epoch_loss_logged = True  # whether this epoch's train/loss_epoch is logged (set at each epoch's start)
        self.task_gradient_monitor = TaskGradientMonitor(self.tasks, self.weighting.log_every)

    @property
    def results(self) -> dict[str, dict]:
        """The last val and test epochs' results (per-task, macro, example-based metrics, thresholds)."""
        return self.evaluator.results

    @property
    def last_train_loss(self) -> torch.Tensor | None:
        """The last training step's loss (the global batch's), detached, on the device: no sync to read it."""
        return self.train_loss.last

    @property
    def loss_normalization(self) -> str:
        return self.objective.normalization

    @property
    def loss_unknown(self) -> str:
        return self.objective.unknown

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.heads(self.backbone(x))

    def task_losses(self, batch: dict[str, torch.Tensor]) -> TaskLosses:
        """The per-task losses of the global batch whose share this process holds (one all-reduce under DDP).

        Every head is in the graph even where its task has no label in this batch (masked entries give zero
        gradients), so DDP never sees an unused parameter.
        """
        features = self.backbone(batch["x"])
        losses = self.objective.task_losses(self.heads(features), batch["y"], batch["mask"], self.pos_weight)
        losses.features = features
        losses.shared_parameters = self.shared_parameters()
        if self._trainer is not None:
            losses.step, losses.epoch = self.global_step, self.current_epoch
        return losses

    @staticmethod
    def make_backbone(factory: Callable[[], nn.Module], tasks: Sequence[str], groups: Any = None) -> nn.Module:
        """The backbone of this architecture from ``factory`` (one call: one backbone shared by ``tasks``;
        ``groups`` is for architectures with one network per group of tasks)."""
        return factory()

    @classmethod
    def transferable_backbone(
        cls, state_dict: Mapping[str, torch.Tensor], meta: Mapping[str, Any], task: str | None, file: object
    ) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
        """The backbone weights to transfer out of a checkpoint this class wrote (keys relative to the backbone),
        and what to record about them; ``task`` (``transfer.task``) picks a network where there are several."""
        if task is not None:
            raise ConfigError(
                f"transfer.task={task!r} only applies to checkpoints of approach=separate; {file} has one shared "
                "backbone: drop transfer.task"
            )
        prefix = "backbone."
        backbone = {k[len(prefix) :]: v for k, v in state_dict.items() if k.startswith(prefix)}
        if not backbone:
            raise CheckpointError(f"{file} has no backbone weights (no key starts with {prefix!r})")
        return backbone, {}

    def shared_parameters(self) -> list[nn.Parameter]:
        """The trainable parameters every task's loss depends on (a gradient method aggregates their gradients)."""
        return [p for p in self.backbone.parameters() if p.requires_grad]

    def training_step(self, batch: dict[str, torch.Tensor], batch_idx: int) -> torch.Tensor | None:
        losses = self.task_losses(batch)
        self.train_loss.add(losses.value(), len(batch["y"]) if world_size() == 1 else losses.examples)
        if self.automatic_optimization:
            self._pending_after_step = (batch, losses)  # for weighting.after_step, once the optimizer has stepped
            loss = self.weighting(losses)
            self._monitor_task_gradients(losses)
            return loss
        self._gradient_method_step(losses)
        self._monitor_task_gradients(losses)  # the step's Jacobian is cached: no extra backward pass
        self.weighting.after_step(self, batch, losses)
        return None

    def _monitor_task_gradients(self, losses: TaskLosses) -> None:
        """At the steps ``weighting.log_every`` chooses: measure and log the task gradients and weights (epoch means
        of the measurements, so that no logger drops them between its ``log_every_n_steps``)."""
        monitor = self.task_gradient_monitor
        if not monitor.due(losses.step, losses.epoch):
            return
        measurement = monitor.measure(losses, self.weighting.weights())
        for name, value in monitor.scalars(measurement).items():
            self.log(name, value, on_step=False, on_epoch=True, batch_size=1)

    def task_gradient_record(self) -> dict[str, Any]:
        """The monitor's results.json entries (``task_gradients``, ``task_weights``) of the current fit."""
        return self.task_gradient_monitor.record()

    def on_train_epoch_start(self) -> None:
        self.train_loss.reset()
        self._epoch_loss_logged = False

    def on_train_batch_end(self, outputs: Any, batch: Any, batch_idx: int) -> None:
        """``train/loss_step`` at the steps the loggers write (Lightning's own test; this hook runs after every
        callback's, so a stop requested during the step is seen), shown on the progress bar too; after the epoch's
        last batch, the epoch's loss (so that callbacks see it at the epoch's end, before this module's hook)."""
        if self.train_loss.last is None:
            return
        if self.trainer._logger_connector.should_update_logs:
            self.log("train/loss_step", self.train_loss.last, on_step=True, on_epoch=False, prog_bar=True)
        if self.trainer.fit_loop.epoch_loop._is_training_done:  # last batch, limit_train_batches or max_steps
            self._log_epoch_loss()

    def on_train_epoch_end(self) -> None:
        if not self._epoch_loss_logged:  # an epoch stopped early (trainer.should_stop)
            self._log_epoch_loss()

    def _log_epoch_loss(self) -> None:
        """``train/loss_epoch``, the epoch's mean weighted by examples (and ``train/loss``, not sent to loggers, for
        callbacks that monitor it)."""
        mean = self.train_loss.epoch_mean()
        if mean is not None:
            self.log("train/loss_epoch", mean, on_step=False, on_epoch=True, prog_bar=True, batch_size=1)
            self.log("train/loss", mean, on_step=False, on_epoch=True, logger=False, batch_size=1)
        self._epoch_loss_logged = True

    def setup(self, stage: str) -> None:
        if stage == "fit":  # before a resumed fit restores the monitor (on_load_checkpoint)
            self.task_gradient_monitor.reset()

    def optimizer_step(self, *args: Any, **kwargs: Any) -> None:
        """Lightning's step (which runs ``training_step`` and the backward pass in its closure), then the weighting's
        ``after_step``: before any callback sees the batch end, so that a checkpoint saved then holds the
        weighting's state after this step (what an exact resume needs)."""
        super().optimizer_step(*args, **kwargs)
        pending, self._pending_after_step = getattr(self, "_pending_after_step", None), None
        if pending is not None:
            self.weighting.after_step(self, *pending)

    def _aggregate(self, jacobian: torch.Tensor, losses: TaskLosses) -> torch.Tensor:
        """The weighting's direction, in fp32 outside autocast: under bf16-mixed a Gramian J J^T would be computed
        in bf16 (and torchjd's projections hand it to numpy, which has no bf16)."""
        with torch.autocast(device_type=jacobian.device.type, enabled=False):
            return self.weighting.aggregate(jacobian.float(), losses)

    def _gradient_method_step(self, losses: TaskLosses) -> None:
        """One manual optimisation step of a gradient method (see the module docstring).

        ``weighting.jacobian=parameters``: T backward passes, one per task, give the Jacobian of the shared
        parameters and the other parameters' (heads') gradient of ``losses.combine()``; a backward of a scalar
        linear in the parameters (:func:`~mtlkit.objective.task_gradients.linear_surrogate`, no pass through the
        network) then lets DDP average the heads' gradients, and the direction replaces the shared ones.
        ``representation``: the Jacobian of the shared features is aggregated and the direction backpropagated
        through the backbone in that same backward."""
        optimizer = self.optimizers()
        shared = list(losses.shared_parameters)
        if not shared:
            optimizer.zero_grad()
            self.manual_backward(self.weighting(losses))  # only the heads train
        else:
            ids = {id(p) for p in shared}
            rest = [p for p in self.parameters() if p.requires_grad and id(p) not in ids]
            if getattr(self.weighting, "jacobian", "parameters") == "representation":
                self._representation_backward(losses, optimizer, rest)
            else:
                jacobian, rest_grads = losses.task_gradients(rest)
                direction = self._aggregate(jacobian, losses)
                optimizer.zero_grad()
                self.manual_backward(linear_surrogate(rest + shared, rest_grads + [None] * len(shared)))
                set_gradients(shared, direction)
        clip = self.optimization
        self.configure_gradient_clipping(optimizer, clip.gradient_clip_val, clip.gradient_clip_algorithm)
        optimizer.step()
        scheduler = self.lr_schedulers()
        if scheduler is not None:
            scheduler.step()

    def _representation_backward(self, losses: TaskLosses, optimizer: Any, rest: list[torch.Tensor]) -> None:
        """``weighting.jacobian=representation``: aggregate the Jacobian of the global batch's features (gathered
        over the processes) and backpropagate this process's columns of the direction, times N (DDP averages),
        through the backbone, with the heads' gradients, in one backward."""
        if self.task_gradient_monitor.due(losses.step, losses.epoch):
            losses.jacobian()  # the monitor measures the shared parameters' gradients: before the graph is freed
        features = losses.features
        local, rest_grads = representation_gradients(losses.shares(), features, rest)
        jacobian, own = gather_columns(local.float())
        direction = self._aggregate(jacobian, losses)[own].view_as(features) * losses.processes
        optimizer.zero_grad()
        surrogate = (features * direction.to(features.dtype)).sum()
        if rest:
            surrogate = surrogate + linear_surrogate(rest, rest_grads)
        self.manual_backward(surrogate)

    def _eval_step(self, split: str, batch: dict[str, torch.Tensor]) -> None:
        logits = self(batch["x"])
        value, weight = self.objective.eval_value(logits, batch["y"], batch["mask"], self.pos_weight)
        self.evaluator.update(split, logits, batch["y"], batch["mask"], value, weight)

    def validation_step(self, batch: dict[str, torch.Tensor], batch_idx: int) -> None:
        self._eval_step("val", batch)

    def test_step(self, batch: dict[str, torch.Tensor], batch_idx: int) -> None:
        self._eval_step("test", batch)

    def predict_step(self, batch: dict[str, torch.Tensor], batch_idx: int) -> dict[str, torch.Tensor]:
        return {"index": batch["index"], "probs": torch.sigmoid(self(batch["x"]))}

    def _eval_epoch_end(self, split: str) -> None:
        # The evaluator's states are gathered from every process, so every process logs the same values (and,
        # with eval.threshold=val_f1, every process chooses the same thresholds).
        sanity = self.trainer.sanity_checking
        logged = self.evaluator.epoch_end(split, choose_thresholds=not sanity)
        if sanity:
            return
        for name, (value, prog_bar) in logged.items():
            self.log(name, value, prog_bar=prog_bar)

    def on_validation_epoch_end(self) -> None:
        self._eval_epoch_end("val")

    def on_test_epoch_end(self) -> None:
        self._eval_epoch_end("test")

    def parameter_groups(self) -> list[dict]:
        """Trainable parameters: backbone (one group per block with ``lr_decay``), heads and the weighting's own,
        each in a group (per-group learning rates)."""
        lr_scale, lr_decay = self.optimization.backbone_lr_scale, self.optimization.lr_decay
        if lr_decay is not None:
            backbone = layer_decay_groups(self.backbone, float(lr_decay), lr_scale)
        else:
            backbone = [
                {
                    "name": "backbone",
                    "params": [p for p in self.backbone.parameters() if p.requires_grad],
                    "lr_scale": lr_scale,
                }
            ]
        groups = [
            *backbone,
            {"name": "heads", "params": [p for p in self.heads.parameters() if p.requires_grad], "lr_scale": 1.0},
            {
                "name": "weighting",
                "params": [p for p in self.weighting.parameters() if p.requires_grad],
                "lr_scale": self.weighting.lr_scale,
            },
        ]
        return [g for g in groups if g["params"]]

    def configure_optimizers(self) -> Any:
        return self.optimization.configure(
            self.parameter_groups(), lambda: int(self.trainer.estimated_stepping_batches)
        )

    def on_save_checkpoint(self, checkpoint: dict[str, Any]) -> None:
        checkpoint["mtlkit"] = {
            "architecture": self.architecture,
            **self.meta,
            "tasks": self.tasks,
            "head_layers": self.heads.layers,
            "head_hidden": self.heads.hidden,
            "feature_dim": self.heads.in_features,
        }
        thresholds = self.evaluator.checkpoint_entry()
        if thresholds is not None:  # what test was (or will be) scored with; mtlkit-predict uses them
            checkpoint["mtlkit"][CHECKPOINT_KEY] = thresholds
        checkpoint[MONITOR_KEY] = self.task_gradient_monitor.state_dict()

    def on_load_checkpoint(self, checkpoint: dict[str, Any]) -> None:
        """A resumed fit continues the monitor's means and history; evaluating a checkpoint (``validate`` and
        ``test`` with the best one) leaves the training record as it is."""
        fitting = self._trainer is None or self.trainer.state.fn == TrainerFn.FITTING
        if MONITOR_KEY in checkpoint and fitting:
            self.task_gradient_monitor.load_state_dict(checkpoint[MONITOR_KEY])
        self.evaluator.restore((checkpoint.get("mtlkit") or {}).get(CHECKPOINT_KEY))
