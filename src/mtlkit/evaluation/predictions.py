"""Per-example, per-task probabilities of a trained model, written to a CSV (what ``mtlkit-predict`` does).

CHECKPOINT is a .ckpt file or the run directory of any mtlkit run (multitask, separate or transfer). The data
are those the model was trained on (its saved data config) unless overrides change them: ``data.KEY=VALUE``
edits the saved config, ``data=NAME ...`` composes conf/data/NAME.yaml instead, as ``mtlkit-train`` would.
The CSV has one row per example of the split: ``id``, ``prob_<task>`` for every task of the model, and
``label_<task>`` (1, 0, or empty where the label is unknown or the data have no such task), and with decision
thresholds (``mtlkit-predict --decisions``) ``pred_<task>``: 1 where ``prob_<task>`` > the task's threshold, else 0
(:func:`mtlkit.evaluation.thresholds.checkpoint_thresholds` says which thresholds).

A file (``data=table``, ``data=images``) is turned into inputs with what the run fitted on its train rows, kept in
the checkpoint (:func:`use_run_preprocessing`): columns by name, the run's standardisation, categories, image size
and normalisation, whatever the order of the columns or the other rows of the file. ``--split all`` predicts every
row of the file (the default for a file other than the run's own); label columns are optional.
"""

from __future__ import annotations

import csv
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import torch
from omegaconf import DictConfig, OmegaConf

from mtlkit.config import CONFIG_DIR
from mtlkit.data.base import MultiLabelDataModule, collate_batch
from mtlkit.data.cache import default_cache_dir
from mtlkit.data.files.labelled_file import PREPROCESSING_KEY, LabelledFileDataModule
from mtlkit.errors import CheckpointError, ConfigError, DataError
from mtlkit.evaluation.example_metrics import decide


def data_config(saved: dict[str, Any] | None, overrides: Sequence[str]) -> DictConfig:
    """The data config to predict on: the checkpoint's own, edited by ``data.*`` overrides, or a new ``data=NAME``."""
    bad = [o for o in overrides if not o.lstrip("+~").startswith("data")]
    if bad:
        raise ConfigError(f"mtlkit-predict only takes data overrides (data=NAME, data.KEY=VALUE), got {bad}")
    if any(o.startswith("data=") for o in overrides):
        from hydra import compose, initialize_config_dir
        from hydra.core.global_hydra import GlobalHydra
        from hydra.errors import HydraException

        GlobalHydra.instance().clear()
        try:
            with initialize_config_dir(config_dir=str(CONFIG_DIR), version_base="1.3"):
                cfg = compose(config_name="train", overrides=list(overrides))
        except HydraException as err:
            raise ConfigError(f"bad data override in {list(overrides)}: {err}") from err
        return OmegaConf.create(OmegaConf.to_container(cfg.data, resolve=True))
    if not saved:
        raise ConfigError("the checkpoint has no saved data config; name one with data=NAME (and data.KEY=VALUE)")
    cfg = OmegaConf.create(saved)
    if "cache_dir" in cfg:  # the saved path is the training machine's; use this machine's cache
        cfg.cache_dir = str(default_cache_dir())
    OmegaConf.set_struct(cfg, True)
    try:
        cfg.merge_with_dotlist([o[len("data.") :] for o in overrides])
    except Exception as err:
        raise ConfigError(f"bad data override in {list(overrides)}: {err}") from err
    return cfg


ALL_ROWS = "all"  # --split all: every row of a file, in file order


def is_other_file(dm: MultiLabelDataModule, saved_data: Mapping[str, Any] | None) -> bool:
    """Whether ``dm`` reads a file other than the one its run was trained on (``data.path`` changed)."""
    if not isinstance(dm, LabelledFileDataModule):
        return False
    saved = (saved_data or {}).get("path")
    return saved is None or _resolved(dm.path) != _resolved(saved)


def use_run_preprocessing(
    dm: MultiLabelDataModule, ckpt: Mapping[str, Any], split: str, other_file: bool, file: Path | str
) -> str | None:
    """Before setup: give a file data module the preprocessing its run fitted, from the checkpoint, so that any
    file becomes the model's inputs by column name (``split`` ``all``: every row of the file).

    A checkpoint written before mtlkit kept it is refused for another file or ``all`` (its features would be
    refitted on that file: wrong probabilities); on the run's own file the features are refitted on the same train
    rows, as in training, and the returned warning line says so. Other data need nothing (None).
    """
    if not isinstance(dm, LabelledFileDataModule):
        if split == ALL_ROWS:
            raise ConfigError(
                f"--split all predicts every row of a file (data=table or data=images); data '{dm.name}' has its "
                "own splits: choose --split train, val or test"
            )
        return None
    saved = (ckpt.get(type(dm).__qualname__) or {}).get(PREPROCESSING_KEY)
    if saved is None:
        if other_file or split == ALL_ROWS:
            raise CheckpointError(
                f"{file} was written before mtlkit kept a run's fitted preprocessing (feature statistics, "
                f"categories) with it, so {dm.path} would get features refitted on itself and wrong probabilities; "
                "predict the run's own file with --split train|val|test, or train the run again with this version"
            )
        return (
            f"warning: {file} predates the fitted preprocessing kept with runs; the features of the run's own file "
            "are refitted on its train rows, as in training (train again to predict other files)"
        )
    if not other_file and not Path(dm.path).expanduser().exists() and Path(saved["file"]).is_file():
        dm.path = saved["file"]  # the run's own file, saved relative to where it was trained
    dm.use_fitted(saved, whole_file=split == ALL_ROWS)
    return None


def _resolved(path: str | Path) -> Path:
    return Path(path).expanduser().resolve()


def predict(module: torch.nn.Module, dm: MultiLabelDataModule, split: str, device: str = "cpu") -> dict[str, Any]:
    """Probabilities [N, T] of ``module`` on ``split`` of ``dm`` (``all``: the whole file, which
    :func:`use_run_preprocessing` put in the test split), with the split's ids, labels and masks."""
    split = "test" if split == ALL_ROWS else split
    dataset = dm.dataset(split)
    loader = torch.utils.data.DataLoader(dataset, batch_size=dm.eval_batch_size, collate_fn=collate_batch)
    module = module.to(device).eval()
    probs = []
    with torch.inference_mode():
        for batch in loader:
            try:
                probs.append(torch.sigmoid(module(batch["x"].to(device))).float().cpu())
            except RuntimeError as err:
                raise DataError(
                    f"the model does not accept inputs of shape {list(dm.input_shape)} from data '{dm.name}': {err}"
                ) from err
    split_data = dm.splits[split]
    return {"ids": split_data.ids, "probs": torch.cat(probs), "y": split_data.y, "mask": split_data.mask}


def write_csv(
    path: Path,
    tasks: Sequence[str],
    data_tasks: Sequence[str],
    pred: dict[str, Any],
    thresholds: Mapping[str, float] | None = None,
) -> int:
    """One row per example: id, prob_<task> per model task, label_<task> (1, 0 or empty), and with ``thresholds``
    ({task: t}) pred_<task>: the 0/1 decision ``prob > t``."""
    columns = {t: data_tasks.index(t) for t in tasks if t in data_tasks}
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    decisions = None if thresholds is None else decide(pred["probs"], [thresholds[t] for t in tasks]).int().tolist()
    with tmp.open("w", newline="") as f:
        writer = csv.writer(f)
        header = ["id", *[f"prob_{t}" for t in tasks], *[f"label_{t}" for t in tasks]]
        writer.writerow(header + ([f"pred_{t}" for t in tasks] if decisions is not None else []))
        probs, y, mask = pred["probs"].tolist(), pred["y"], pred["mask"]
        for i, example in enumerate(pred["ids"]):
            labels = []
            for t in tasks:
                c = columns.get(t)
                labels.append("" if c is None or not bool(mask[i, c]) else int(y[i, c]))
            row = [example, *[f"{p:.6f}" for p in probs[i]], *labels]
            writer.writerow(row + (decisions[i] if decisions is not None else []))
    tmp.replace(path)
    return len(pred["ids"])
