"""Read what mtlkit wrote: find a run's checkpoint, read it, and tell a checkpoint file from anything else (the
whole model is rebuilt by :func:`mtlkit.build.module_from_checkpoint`; which weights a transfer takes out of it is
the module class's :meth:`~mtlkit.models.module.MultiTaskModule.transferable_backbone`).

Every checkpoint mtlkit writes carries ``checkpoint["mtlkit"]``: the resolved config of the run, the tasks,
the input shape, the feature width, the head shape and the architecture that wrote it.
"""

from __future__ import annotations

import json
import zipfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import torch

from mtlkit.errors import CheckpointError

# Classes that moved when the package was laid out by axis: checkpoints written before still name the old paths.
MOVED_TARGETS = {
    "mtlkit.data.driving.": "mtlkit.data.sources.driving.",
    "mtlkit.data.noise.": "mtlkit.data.sources.noise.",
    "mtlkit.data.table.": "mtlkit.data.sources.table.",
    "mtlkit.data.images.": "mtlkit.data.sources.images.",
    "mtlkit.data.fashion.": "mtlkit.data.sources.fashion.",
    "mtlkit.models.backbones.CNN": "mtlkit.models.backbones.cnn.CNN",
    "mtlkit.models.backbones.MLP": "mtlkit.models.backbones.mlp.MLP",
    "mtlkit.callbacks.": "mtlkit.runtime.last_checkpoint.",
}
APPROACH_TARGETS = {  # approach configs written before approaches were chosen by _target_
    "multitask": "mtlkit.approaches.multitask.Multitask",
    "separate": "mtlkit.approaches.separate.Separate",
    "transfer": "mtlkit.approaches.transfer.Transfer",
}


def upgrade_config(config: Any) -> Any:
    """A checkpoint's stored config with the class paths of older mtlkit versions replaced by today's."""
    if isinstance(config, Mapping):
        out = {k: upgrade_config(v) for k, v in config.items()}
        target = out.get("_target_")
        if isinstance(target, str):
            for old, new in MOVED_TARGETS.items():
                if target.startswith(old):
                    out["_target_"] = new + target[len(old) :]
                    break
        approach = out.get("approach")
        if isinstance(approach, dict) and "_target_" not in approach and approach.get("name") in APPROACH_TARGETS:
            out["approach"] = {"_target_": APPROACH_TARGETS[approach["name"]], **approach}
        return out
    if isinstance(config, list):
        return [upgrade_config(v) for v in config]
    return config


def resolve_checkpoint(path: str | Path) -> Path:
    """``path`` itself if it is a file; for a run directory, its best checkpoint (from results.json) or last one."""
    path = Path(path).expanduser()
    if path.is_file():
        return path
    if not path.exists():
        raise CheckpointError(
            f"checkpoint {path} does not exist; give a .ckpt file or the run directory of an mtlkit run"
        )
    candidates: list[Path] = []
    results = path / "results.json"
    if results.is_file():
        best = json.loads(results.read_text()).get("best_checkpoint")
        if best:
            candidates.append(Path(best))
    candidates += [path / "checkpoints" / "last.ckpt", path / "finetune" / "checkpoints" / "last.ckpt"]
    for c in candidates:
        if c.is_file():
            return c
    raise CheckpointError(
        f"no checkpoint found in run directory {path} (looked for {[str(c) for c in candidates]}); "
        "give the .ckpt file itself, or a run that kept its checkpoints (callbacks=default)"
    )


ZIP_HEADER = b"PK\x03\x04"  # torch.save's format is a zip archive, whose directory is written last


def truncated_checkpoint(path: str | Path) -> str | None:
    """What is wrong with ``path`` when it starts like a checkpoint (a zip archive) but its end is missing, or None."""
    path = Path(path)
    try:
        with path.open("rb") as f:
            starts_like_zip = f.read(len(ZIP_HEADER)) == ZIP_HEADER
    except OSError:
        return None
    if not starts_like_zip or zipfile.is_zipfile(path):
        return None
    return (
        f"{path} is cut short: it starts like a PyTorch checkpoint but its end (the zip directory) is missing, so it "
        "is truncated or still being written; re-copy it, or use an earlier checkpoint"
    )


def load_checkpoint(path: str | Path) -> tuple[dict[str, Any], Path]:
    """The checkpoint dict and its file; fails unless mtlkit wrote it."""
    file = resolve_checkpoint(path)
    try:
        ckpt = torch.load(file, map_location="cpu", weights_only=False)
    except Exception as err:  # any unreadable file gets the same clear message
        raise CheckpointError(truncated_checkpoint(file) or f"cannot read checkpoint {file}: {err}") from err
    if not isinstance(ckpt, dict) or "state_dict" not in ckpt:
        raise CheckpointError(f"{file} is not a Lightning checkpoint (no 'state_dict'); give a .ckpt that mtlkit wrote")
    if "mtlkit" not in ckpt:
        raise CheckpointError(
            f"{file} was not written by mtlkit (no 'mtlkit' entry with the config, tasks and input shape); "
            "give a checkpoint of an mtlkit-train run"
        )
    if isinstance(ckpt["mtlkit"].get("config"), Mapping):
        ckpt["mtlkit"]["config"] = upgrade_config(ckpt["mtlkit"]["config"])
    return ckpt, file


# torch.save's legacy (non-zip) format starts with a pickled magic number
_LEGACY_TORCH_MAGIC = b"\x80\x02\x8a\x0a\x6c\xfc\x9c\x46\xf9\x20\x6a\xa8\x50\x19"
_CHECKPOINT_HELP = "a .ckpt file written by mtlkit-train (RUN_DIR/checkpoints/*.ckpt) or an mtlkit run folder"


def is_torch_checkpoint(path: str | Path) -> bool:
    """Whether ``path`` is a file that ``torch.load`` can read: torch.save's zip format (a ``data.pkl`` inside) or
    its legacy pickle format. Only the file's header is read."""
    path = Path(path)
    try:
        if zipfile.is_zipfile(path):
            with zipfile.ZipFile(path) as z:
                return any(name.endswith("data.pkl") for name in z.namelist())
        with path.open("rb") as f:
            return f.read(len(_LEGACY_TORCH_MAGIC)) == _LEGACY_TORCH_MAGIC
    except OSError:
        return False


def _looks_like(path: Path) -> str:
    try:
        head = path.read_bytes()[:64] if path.stat().st_size else b""
    except OSError as e:
        return f"unreadable: {e.strerror}"
    if not head:
        return "an empty file"
    if zipfile.is_zipfile(path):
        return "a zip archive without torch's data.pkl"
    stripped = head.lstrip()
    if stripped[:1] in (b"{", b"["):
        return "it looks like JSON"
    if stripped.startswith(b"\x89HDF"):
        return "it looks like an HDF5 (Keras) file"
    if all(32 <= c < 127 or c in (9, 10, 13) for c in head):
        return "it looks like a text file"
    return f"it starts with {head[:8]!r}"


def checkpoint_file_error(key: str, value: str) -> str | None:
    """One line when ``value`` (given as ``key=``) is not a PyTorch checkpoint file or a run folder that holds one."""
    try:
        file = resolve_checkpoint(value)
    except CheckpointError as e:
        return f"{key}={value}: {e}"
    if truncated_checkpoint(file):
        return f"{key}={value}: {truncated_checkpoint(file)}"
    if not is_torch_checkpoint(file):
        return f"{key}={value}: {file} is not a PyTorch checkpoint ({_looks_like(file)}); give {_CHECKPOINT_HELP}"
    return None


def ckpt_path_error(ckpt: Any) -> str | None:
    """One line when ``ckpt_path=`` (continue one fit) is not ``last``, null, or a PyTorch checkpoint file."""
    if ckpt in (None, "", "null", "last"):
        return None
    path = Path(str(ckpt)).expanduser()
    if not path.is_file():
        return f"ckpt_path={ckpt}: no such file; give a .ckpt file, `last` (this run folder's), or null"
    if truncated_checkpoint(path):
        return f"ckpt_path={ckpt}: {truncated_checkpoint(path)}"
    if not is_torch_checkpoint(path):
        return f"ckpt_path={ckpt}: not a PyTorch checkpoint ({_looks_like(path)}); give {_CHECKPOINT_HELP}"
    return None
