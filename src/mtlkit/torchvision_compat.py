"""A torchvision whose compiled extension cannot load against the installed torch still imports, with one warning.

pip pairs a CPU build of torch with PyPI's CUDA build of torchvision when the two come from different indexes (on
this project's machines the only torchvision accepting torch 2.13 is such a wheel). ``import torchvision`` then dies
with ``operator torchvision::nms does not exist``, and so do torchmetrics, Lightning and timm, which import it
whenever it is installed: every mtlkit command would fail.

``import mtlkit`` calls :func:`install`, which only adds an import hook (no torch import, nothing else). Just before
torchvision is first looked up, the hook tries to load torchvision's compiled extension; only if it cannot load are
the two operators that torchvision's own import needs (``nms``, ``qnms``) declared, so that the import succeeds
(classification models work; detection, box and video operators stay unavailable), and one warning names the
mismatch and the fix. It prints once per command: the processes a command starts (DDP ranks, mtlkit-advise's jobs)
inherit :data:`WARNED_ENV` and stay quiet. Where torchvision works or is absent, nothing happens.
"""

from __future__ import annotations

import importlib.abc
import importlib.machinery
import importlib.util
import os
import sys
from pathlib import Path

WARNED_ENV = "MTLKIT_TORCHVISION_WARNED"
_MISSING_OPS = (
    "nms(Tensor dets, Tensor scores, float iou_threshold) -> Tensor",
    "qnms(Tensor dets, Tensor scores, float iou_threshold) -> Tensor",
)
_LIBRARIES: list[object] = []  # keeps the torch.library.Library that holds the declarations alive


def extension_load_error() -> str | None:
    """Why torchvision's compiled extension cannot load against this torch, or None if it loads or torchvision is
    not installed. Loading it is what torchvision's own import does first; a second load is a no-op."""
    spec = importlib.util.find_spec("torchvision")
    if spec is None or not spec.submodule_search_locations:
        return None
    folder = Path(next(iter(spec.submodule_search_locations)))
    extensions = [folder / f"_C{suffix}" for suffix in importlib.machinery.EXTENSION_SUFFIXES]
    extensions = [path for path in extensions if path.is_file()]
    if not extensions:
        return f"no compiled extension _C in {folder}"
    import torch

    errors = []
    for extension in extensions:
        try:
            torch.ops.load_library(str(extension))
            return None
        except OSError as e:
            cause = e.__cause__ or e  # torch wraps the loader's own message (e.g. a missing libc10_cuda.so)
            errors.append(str(cause).strip().splitlines()[0])
    return errors[0]


def declare_missing_ops() -> None:
    """Declare the operator schemas torchvision's import registers fake kernels for (no kernels: calling them fails)."""
    import torch

    library = torch.library.Library("torchvision", "FRAGMENT")
    for schema in _MISSING_OPS:
        try:
            library.define(schema)
        except RuntimeError:  # already declared (by the extension or an earlier call)
            pass
    _LIBRARIES.append(library)


def mismatch_message(reason: str) -> str:
    """The one-line warning: the versions, why, what still works, and the proper fix."""
    import importlib.metadata

    import torch

    torchvision_version = importlib.metadata.version("torchvision")
    index = "cpu" if torch.version.cuda is None else "cu" + torch.version.cuda.replace(".", "")
    return (
        f"mtlkit: warning: torchvision {torchvision_version} does not match torch {torch.__version__}: its compiled "
        f"extension cannot load ({reason}); mtlkit declared the operators torchvision's import needs, so model=timm "
        "works but torchvision's detection/box operators do not. Fix: install the torchvision built for this torch "
        f"from torch's own index (pip install torchvision=={torchvision_version} --index-url "
        f"https://download.pytorch.org/whl/{index}), or `pip uninstall torchvision` if you do not use model=timm."
    )


def make_torchvision_importable() -> bool:
    """If torchvision is installed but its extension cannot load: declare the missing operators and warn (once per
    command); True if so. A no-op (False) where torchvision works or is absent."""
    reason = extension_load_error()
    if reason is None:
        return False
    declare_missing_ops()
    if not os.environ.get(WARNED_ENV):
        os.environ[WARNED_ENV] = "1"  # inherited by the processes this command starts: they stay quiet
        print(mismatch_message(reason), file=sys.stderr)
    return True


class _TorchvisionImportHook(importlib.abc.MetaPathFinder):
    """Runs :func:`make_torchvision_importable` just before torchvision is first looked up, then steps aside."""

    def find_spec(self, fullname: str, path: object = None, target: object = None) -> None:
        if fullname == "torchvision":
            uninstall()
            make_torchvision_importable()
        return None  # the normal finders import it


def install() -> None:
    """Add the import hook once per process (nothing if torchvision is already imported). Imports nothing."""
    if "torchvision" in sys.modules or any(isinstance(f, _TorchvisionImportHook) for f in sys.meta_path):
        return
    sys.meta_path.insert(0, _TorchvisionImportHook())


def uninstall() -> None:
    """Remove the import hook (tests; the hook removes itself once it has run)."""
    sys.meta_path[:] = [f for f in sys.meta_path if not isinstance(f, _TorchvisionImportHook)]
