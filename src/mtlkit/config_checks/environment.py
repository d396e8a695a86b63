"""What this machine cannot do as configured, found before any work: one line each, naming the fix.

- ``trainer=gpu`` (or ``trainer.accelerator=gpu|cuda|mps``) where torch sees no such device;
- wandb online (``logger.wandb.offline=false``) with no API key on this machine;
- a run folder that cannot be written (:func:`output_dir_error`, called last: it creates the folder).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from omegaconf import DictConfig, OmegaConf


def _select(cfg: DictConfig, key: str, default: Any = None) -> Any:
    try:
        return OmegaConf.select(cfg, key, default=default)
    except Exception:
        return default


# -- accelerators -------------------------------------------------------------------------------------------------
def accelerator_error(cfg: DictConfig) -> str | None:
    accelerator = str(_select(cfg, "trainer.accelerator", "auto")).lower()
    if accelerator not in ("gpu", "cuda", "mps"):
        return None
    import torch

    if accelerator == "mps":
        if torch.backends.mps.is_available():
            return None
        return "trainer.accelerator=mps: torch sees no Apple GPU (MPS) here; use trainer=cpu"
    if not torch.cuda.is_available():
        build = f"torch {torch.__version__}" + ("" if torch.version.cuda else ", a CPU-only build")
        return (
            f"trainer.accelerator={accelerator} (trainer=gpu/ddp): torch sees no CUDA GPU on this machine ({build}); "
            "use trainer=cpu, or on a GPU machine install the CUDA build of torch (README, 'GPU machine')"
        )
    devices = _select(cfg, "trainer.devices", 1)
    count = torch.cuda.device_count()
    if isinstance(devices, int) and not isinstance(devices, bool) and devices > count:
        return f"trainer.devices={devices}: torch sees {count} GPU(s) here; set trainer.devices={count} (or -1: all)"
    return None


# -- wandb --------------------------------------------------------------------------------------------------------
WANDB_INIT_TIMEOUT_S = 60  # wandb's own default is 90 s; conf/logger/wandb.yaml sets settings.init_timeout


def wandb_is_online(cfg: DictConfig) -> bool:
    wandb_cfg = _select(cfg, "logger.wandb")
    if not wandb_cfg or "_target_" not in wandb_cfg or _select(cfg, "logger.wandb.offline") is not False:
        return False
    if os.environ.get("WANDB_MODE", "").lower() in ("offline", "dryrun", "disabled"):
        return False
    return os.environ.get("WANDB_DISABLED", "").lower() not in ("true", "1", "yes")


def wandb_has_key() -> bool:
    """Whether wandb will find an API key here: ``WANDB_API_KEY``, or ``wandb login``'s entry in the netrc file."""
    if os.environ.get("WANDB_API_KEY"):
        return True
    import netrc
    from urllib.parse import urlparse

    host = urlparse(os.environ.get("WANDB_BASE_URL") or "https://api.wandb.ai").hostname or "api.wandb.ai"
    path = Path(os.environ.get("NETRC") or Path.home() / ".netrc")
    try:
        return bool(path.is_file() and netrc.netrc(str(path)).authenticators(host))
    except (OSError, netrc.NetrcParseError):
        return False


WANDB_WAYS_OUT = "run `wandb login` with a valid key (wandb.ai/authorize), or log offline: logger.wandb.offline=true"


def wandb_unreachable(timeout: float) -> str | None:
    """Why wandb's server cannot be reached within ``timeout`` seconds (a TCP connection, nothing sent), or None.

    wandb itself can wait for minutes without a word when its server cannot be reached (its ``init_timeout`` does
    not bound every step of its start-up), hence this bounded look first."""
    import socket
    from urllib.parse import urlparse

    url = urlparse(os.environ.get("WANDB_BASE_URL") or "https://api.wandb.ai")
    host, port = url.hostname or "api.wandb.ai", url.port or (443 if url.scheme == "https" else 80)
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return None
    except OSError as e:
        return f"{url.scheme}://{host}:{port} ({e.strerror or type(e).__name__ or e})"


def wandb_error(cfg: DictConfig) -> str | None:
    if not wandb_is_online(cfg):
        return None
    if not wandb_has_key():
        return f"logger.wandb.offline=false but there is no wandb API key on this machine: {WANDB_WAYS_OUT}"
    unreachable = wandb_unreachable(min(10.0, wandb_timeout(cfg)))
    if unreachable:
        return f"logger.wandb.offline=false but wandb's server cannot be reached: {unreachable}; {WANDB_WAYS_OUT}"
    return None


def wandb_timeout(cfg: DictConfig) -> float:
    settings = _select(cfg, "logger.wandb.settings") or {}
    value = settings.get("init_timeout") if hasattr(settings, "get") else None
    return float(value or os.environ.get("WANDB_INIT_TIMEOUT") or 90)


# -- output folder ------------------------------------------------------------------------------------------------
def output_dir_error(run_dir: str | Path) -> str | None:
    """One line when the run folder cannot be created or written. Creates the folder (as Hydra would next)."""
    run_dir = Path(run_dir)
    probe = run_dir / f".mtlkit-write-test-{os.getpid()}"
    try:
        run_dir.mkdir(parents=True, exist_ok=True)
        probe.write_bytes(b"")
        probe.unlink()
    except OSError as e:
        where = e.filename or run_dir
        return (
            f"cannot write the run folder {run_dir} ({e.strerror or e}: {where}): write runs elsewhere with "
            "MTLKIT_LOG_DIR=<a writable folder> (where runs go) or hydra.run.dir=<a writable folder>"
        )
    return None


def environment_errors(cfg: DictConfig) -> list[str]:
    """Accelerator and wandb: one line per problem (the run folder is checked separately; checkpoint files by the
    plug-ins that read them: the approach for ``ckpt_path``, the transfer source for ``transfer.checkpoint``)."""
    return [e for e in (accelerator_error(cfg), wandb_error(cfg)) if e]
