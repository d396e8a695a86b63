"""The table of config keys whose values mtlkit checks before any work: key -> accepted type and range.

To check a new key, add one line below (``"group.key": integer(min=1)``), or, from a plug-in or another module,
``mtlkit.config_checks.register("group.key", rule)``. Rules come from :mod:`mtlkit.config_checks.rules`:
``integer``, ``number``, ``flag``, ``text``, ``one_of`` and ``either`` (any test, with its description).

- Only keys listed here are checked, and only when the composed config has them: a key of another ``data=`` or
  ``model=`` option is simply absent otherwise. Unknown keys are never refused here; Hydra's struct mode already
  refuses a key that no config defines (with the closest existing key suggested by ``mtlkit-train``).
- A ``*`` stands for one key level: ``callbacks.*.patience`` checks every callback's ``patience``.
- Every ``data.*`` entry also applies to ``source.*``, the pre-training data of ``approach=transfer`` (``data@source``).
- Keep rules to a value's type and range. Whether values fit together is checked where they are used.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from mtlkit.config_checks.rules import LISTS, MAPPINGS, Rule, either, flag, integer, number, one_of, text

_PRECISIONS = (
    "64-true", "32-true", "16-mixed", "bf16-mixed", "16-true", "bf16-true", "transformer-engine",
    "transformer-engine-float16", "64", "32", "16", "bf16", 64, 32, 16,
)  # fmt: skip


def _devices(value: Any) -> bool:
    """Lightning's ``devices``: a count (>= 1, or -1 for all), ``auto``, a list of indices, or ``"0,1"``."""
    if isinstance(value, bool):
        return False
    if isinstance(value, int):
        return value >= 1 or value == -1
    if isinstance(value, str):
        parts = value.split(",")
        return value == "auto" or value == "-1" or all(p.strip().isdigit() for p in parts if p.strip())
    if isinstance(value, LISTS):
        return len(value) > 0 and all(isinstance(v, int) and not isinstance(v, bool) and v >= 0 for v in value)
    return False


def _batches(value: Any) -> bool:
    """``limit_*_batches``: a number of batches (int >= 0) or a fraction of them (float in [0, 1])."""
    if isinstance(value, bool):
        return False
    if isinstance(value, int):
        return value >= 0
    return isinstance(value, float) and 0.0 <= value <= 1.0


def _interval(value: Any) -> bool:
    """``val_check_interval``: every N training batches (int >= 1) or a fraction of an epoch (float in (0, 1])."""
    if isinstance(value, bool):
        return False
    if isinstance(value, int):
        return value >= 1
    return isinstance(value, float) and 0.0 < value <= 1.0


def _weights_file(value: Any) -> bool:
    """``model.pretrained``: an existing local file (never a hub name: nothing is downloaded)."""
    return isinstance(value, str) and Path(value).expanduser().is_file()


def _fast_dev_run(value: Any) -> bool:
    return isinstance(value, bool) or (isinstance(value, int) and value >= 0)


def _or_list(rule: Rule) -> Rule:
    """``rule``'s values, or a non-empty list of them (``model=logreg|rf``: a grid chosen per task on val)."""

    def accepts(value: Any) -> bool:
        if isinstance(value, LISTS):
            return len(value) > 0 and all(rule.accepts(v) for v in value)
        return rule.accepts(value)

    return either(f"{rule.describe()}, or a list of them (chosen per task on val)", accepts, null=rule.null)


SCHEMA: dict[str, Rule] = {
    # -- the run -------------------------------------------------------------------------------------------------
    "seed": integer(0, 2**32 - 1),
    "task_name": text(),
    "overwrite": flag(),
    "ckpt_path": text(null=True, note="'last', null, or the path of a .ckpt file"),
    "resume": text(null=True, note="a run folder"),
    # -- trainer (pytorch_lightning.Trainer arguments) -----------------------------------------------------------
    "trainer.max_epochs": integer(-1, null=True, note="-1: no limit"),
    "trainer.min_epochs": integer(0, null=True),
    "trainer.max_steps": integer(-1, note="-1: no limit"),
    "trainer.min_steps": integer(0, null=True),
    "trainer.devices": either("a device count >= 1, -1 (all), 'auto', a list of indices or '0,1'", _devices),
    "trainer.num_nodes": integer(1),
    "trainer.precision": one_of(*_PRECISIONS, null=True),
    "trainer.log_every_n_steps": integer(1),
    "trainer.check_val_every_n_epoch": integer(1, null=True),
    "trainer.val_check_interval": either(
        "an integer >= 1 (batches) or a number in (0, 1] (fraction of an epoch)", _interval, null=True
    ),
    "trainer.limit_train_batches": either("an integer >= 0 or a number in [0, 1]", _batches, null=True),
    "trainer.limit_val_batches": either("an integer >= 0 or a number in [0, 1]", _batches, null=True),
    "trainer.limit_test_batches": either("an integer >= 0 or a number in [0, 1]", _batches, null=True),
    "trainer.overfit_batches": either("an integer >= 0 or a number in [0, 1]", _batches),
    "trainer.accumulate_grad_batches": integer(1),
    "trainer.gradient_clip_val": number(0, null=True),
    "trainer.gradient_clip_algorithm": one_of("norm", "value", null=True),
    "trainer.deterministic": flag(null=True, also=("warn",)),
    "trainer.benchmark": flag(null=True),
    "trainer.fast_dev_run": either("true, false or a number of batches >= 0", _fast_dev_run),
    "trainer.enable_model_summary": flag(null=True),
    "trainer.enable_progress_bar": flag(null=True),
    "trainer.enable_checkpointing": flag(null=True),
    "trainer.use_distributed_sampler": flag(),
    "trainer.sync_batchnorm": flag(),
    "trainer.num_sanity_val_steps": integer(-1, null=True, note="-1: all"),
    # -- model, heads, loss, optimisation ------------------------------------------------------------------------
    "model.width": integer(1),
    "model.pretrained": either(
        "null or the path of a local weights file (nothing is downloaded; README, 'Fine-tuning a pretrained network')",
        _weights_file,
        null=True,
    ),
    "model.in_chans": integer(1, null=True),
    "model.drop_rate": number(0, 1, max_open=True),
    "model.drop_path_rate": number(0, 1, max_open=True, null=True),
    "model.depth": integer(1),
    "model.dropout": number(0, 1, max_open=True),
    "model.input_dropout": number(0, 1, max_open=True),
    "model.C": _or_list(number(0, min_open=True)),  # model=logreg (approach=classical)
    "model.penalty": _or_list(one_of("l2", "l1", "none")),
    "model.max_iter": _or_list(integer(1)),
    "model.class_weight": _or_list(one_of("balanced", "balanced_subsample", null=True)),
    "model.n_estimators": _or_list(integer(1)),  # model=rf (approach=classical)
    "model.max_depth": _or_list(integer(1, null=True)),
    "model.min_samples_leaf": _or_list(integer(1)),
    "model.n_jobs": integer(-1, note="-1: every core; not 0"),
    "head.layers": integer(1),
    "head.hidden": integer(1, null=True),
    "loss.normalization": one_of("examples", "labels"),
    "loss.unknown": one_of("ignore", "negative"),
    "optimizer.lr": number(0, min_open=True),
    "optimizer.weight_decay": number(0),
    "optimizer.momentum": number(0, 1),
    "optimizer.nesterov": flag(),
    "scheduler.pct_start": number(0, 1, min_open=True, max_open=True),
    "scheduler.eta_min": number(0),
    "weighting.log_every": integer(0, null=True, note="null: once per epoch, 0: never"),
    # -- grouping (affinity=tag) ---------------------------------------------------------------
    "affinity.every": integer(1, note="measure every N training steps"),
    "affinity.lr": number(0, min_open=True, null=True, note="null: the optimizer's learning rate"),
    # -- callbacks -----------------------------------------------------------------------------------------------
    "callbacks.last_checkpoint.every_n_train_steps": integer(1, null=True, note="null: at epoch ends only"),
    "callbacks.*.patience": integer(0),
    # -- loggers -------------------------------------------------------------------------------------------------
    "logger.wandb.offline": flag(),
    # -- data (also source.*) ------------------------------------------------------------------------------------
    "data.num_train": integer(1),
    "data.num_val": integer(1),
    "data.num_test": integer(1),
    "data.batch_size": integer(1),
    "data.eval_batch_size": integer(1),
    "data.num_workers": integer(0),
    "data.seed": integer(0, 2**32 - 1),
    "data.class_seed": integer(0),
    "data.image_size": integer(1, null=True, passes=LISTS),
    "data.channels": one_of(1, 3, null=True),
    "data.grid": integer(1),
    "data.num_classes": integer(1),
    "data.num_tasks": integer(1),
    "data.max_objects": integer(1, null=True),
    "data.min_garments": integer(0),
    "data.max_garments": integer(0),
    "data.prevalence": number(0, 1),
    "data.distractor_rate": number(0, 1),
    "data.noise": number(0),
    "data.min_scale": number(0, 1, min_open=True),
    "data.missing_rate": number(0, 1, passes=LISTS + MAPPINGS, note="a list per task, or {task: rate}"),
    "data.missing_mode": one_of("random", "annotator"),
    "data.val_fraction": number(0, 1, max_open=True),
    "data.test_fraction": number(0, 1, max_open=True),
    "data.val_source_fraction": number(0, 1, min_open=True, max_open=True),
    "data.stratify": flag(),
    "data.uncertain": one_of("ignore", "zeros", "ones"),
    "data.uncertain_eval": one_of("ignore", "zeros", "ones", null=True),
    "data.standardize": flag(),
    "data.categorical": one_of("onehot", "error"),
    "data.max_categories": integer(1),
    "data.resize": one_of("stretch", "crop", "pad"),
    "data.normalize": one_of("data", "model"),
    "data.in_memory": flag(),
    "data.skip_bad_images": flag(),
    "data.shift": number(0, 1),
    "data.relatedness": number(0, 1, null=True, note="null: the road objects"),
    "data.threads": integer(0),
    "data.features": one_of("ecfp", "ecfp_counts", "descriptors", "ecfp+descriptors", "ecfp_counts+descriptors"),
    "data.ecfp_radius": integer(0),
    "data.ecfp_size": integer(1),
    "data.split": one_of("random", "scaffold", "scaffold_balanced"),
    "data.skip_bad_rows": flag(),
    "data.label_table": one_of("summary", "full"),
}

# data@source (approach=transfer's pre-training data) has the keys of any data= option
SCHEMA.update({"source." + k[len("data.") :]: r for k, r in list(SCHEMA.items()) if k.startswith("data.")})


def register(key: str, rule: Rule) -> None:
    """Check ``key`` (dotted, ``*`` for one level) with ``rule`` from now on; a ``data.`` key applies to
    ``source.`` too. Replaces an earlier rule for the same key."""
    SCHEMA[key] = rule
    if key.startswith("data."):
        SCHEMA["source." + key[len("data.") :]] = rule
