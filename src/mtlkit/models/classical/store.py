"""A classical run's model file (``classical.joblib`` in the run folder): the fitted estimators per task and what
``mtlkit-predict`` needs besides, laid out like a checkpoint: ``"mtlkit"`` (config, tasks, input shape, decision
thresholds) and the data module's state under its class name (a file's fitted preprocessing)."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from mtlkit.errors import CheckpointError

MODEL_FILE = "classical.joblib"
ESTIMATORS_KEY = "estimators"


def model_file(path: str | Path) -> Path | None:
    """The classical model file ``path`` names (the file, or a run folder holding one), or None."""
    path = Path(path).expanduser()
    if path.is_dir():
        path = path / MODEL_FILE
    return path if path.name.endswith(".joblib") and path.is_file() else None


def save_model(path: Path, content: Mapping[str, Any]) -> Path:
    """Write ``content`` (``"mtlkit"`` meta, ``"estimators"`` {task: fitted classifier}, ...) atomically."""
    import joblib

    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    joblib.dump(dict(content), tmp)
    tmp.replace(path)
    return path


def load_model(path: Path) -> dict[str, Any]:
    """What :func:`save_model` wrote; one line when the file cannot be read (scikit-learn missing, cut short)."""
    try:
        import joblib

        content = joblib.load(path)
    except ModuleNotFoundError as err:
        raise CheckpointError(f'{path} holds scikit-learn estimators: pip install -e ".[classical]" ({err})') from err
    except Exception as err:
        raise CheckpointError(f"cannot read the classical model file {path}: {err}") from err
    if not isinstance(content, dict) or ESTIMATORS_KEY not in content or "mtlkit" not in content:
        raise CheckpointError(f"{path} is not a model file of an approach=classical run")
    return content
