"""mtlkit: multi-task, transfer and separate-network learning on partially labelled multi-label data.

The layout is by axis (CONTRIBUTING.md has a recipe for each):

- ``cli/``: the console scripts; ``run.py``: ``train(cfg)``; ``build/``: configuration -> objects, in one place;
- ``approaches/``: multitask, separate, transfer (``approach=``); ``finetune/``: strategies (``finetune=``);
- ``objective/``: the masked per-task loss, its DDP sharding, and the weighting seam (``weighting=``);
- ``models/``: backbones (``model=``), heads, LightningModules; ``data/``: the batch contract, sources (``data=``);
- ``evaluation/``: metrics, results.json, predictions; ``runtime/``: launch, resume, checkpoints;
  ``sweeps/``: multirun callbacks; ``report/``: ``mtlkit-report``.
"""

from mtlkit.torchvision_compat import install as _install_torchvision_hook

__version__ = "0.1.0"
__all__ = ["__version__"]

# A torchvision built for another torch (e.g. a CUDA wheel beside a CPU torch) would break every command, since
# torchmetrics, Lightning and timm import it: an import hook, free until torchvision is looked up, makes it import and
# says once how to fix the install (mtlkit.torchvision_compat).
_install_torchvision_hook()
