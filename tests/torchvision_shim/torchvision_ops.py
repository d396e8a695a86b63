"""Test-environment shim: lets a torchvision wheel whose C extension cannot load against the installed torch import.

On the development and CI machines, torch is a CPU build and the only torchvision that accepts it on the package
index is a CUDA build whose ``_C`` extension fails to load. torchvision then dies at import with ``operator
torchvision::nms does not exist`` and, because torchmetrics and Lightning import torchvision whenever it is
installed, so do they (../shared/docs/ENVIRONMENT.md). timm needs torchvision, and mtlkit's timm tests need timm.

:func:`install` adds an import hook: the first ``import torchvision`` first tries to load torchvision's ``_C``
extension; only if that fails are the schemas of the two operators that torchvision's import registers fake kernels
for (``nms``, ``qnms``) declared, so the import succeeds. Detection, box and video operators stay unavailable
(timm's classification models do not use them). On a machine where torchvision works, the hook does nothing.

This belongs to the test environment only (tests/conftest.py installs it in the pytest process and puts the
sitecustomize.py beside this file on PYTHONPATH for its subprocesses); the mtlkit package never imports it.
"""

from __future__ import annotations

import importlib.abc
import importlib.util
import sys
from pathlib import Path

_LIBRARIES: list = []  # keeps the torch.library.Library object alive
_FLAG = "_mtlkit_torchvision_shim_installed"


def declare_missing_ops() -> bool:
    """Declare ``torchvision::nms``/``qnms`` if torchvision is installed but its extension cannot load; True if so."""
    spec = importlib.util.find_spec("torchvision")
    if spec is None or not spec.submodule_search_locations:
        return False
    extensions = sorted(Path(next(iter(spec.submodule_search_locations))).glob("_C*.so")) + sorted(
        Path(next(iter(spec.submodule_search_locations))).glob("_C*.pyd")
    )
    import torch

    for extension in extensions:
        try:
            torch.ops.load_library(str(extension))
            return False  # a working torchvision: nothing to do
        except OSError:
            pass
    library = torch.library.Library("torchvision", "DEF")
    library.define("nms(Tensor dets, Tensor scores, float iou_threshold) -> Tensor")
    library.define("qnms(Tensor dets, Tensor scores, float iou_threshold) -> Tensor")
    _LIBRARIES.append(library)
    return True


class _TorchvisionImportHook(importlib.abc.MetaPathFinder):
    """Runs :func:`declare_missing_ops` just before the first ``import torchvision``, then steps aside."""

    def find_spec(self, fullname, path, target=None):  # noqa: ANN001, ANN201 (importlib's signature)
        if fullname == "torchvision":
            if self in sys.meta_path:
                sys.meta_path.remove(self)
            declare_missing_ops()
        return None  # the normal finders import it


def install() -> None:
    """Install the import hook once per process (a no-op if torchvision is already imported)."""
    if getattr(sys, _FLAG, False) or "torchvision" in sys.modules:
        return
    setattr(sys, _FLAG, True)
    sys.meta_path.insert(0, _TorchvisionImportHook())
