"""mtlkit: multi-task, transfer and separate-network learning on partially labelled multi-label data.

The layout is by axis (CONTRIBUTING.md has a recipe for each):

- ``cli/``: the console scripts; ``run.py``: ``train(cfg)``; ``build/``: configuration -> objects, in one place;
- ``approaches/``: multitask, separate, transfer (``approach=``); ``finetune/``: strategies (``finetune=``);
- ``objective/``: the masked per-task loss, its DDP sharding, and the weighting seam (``weighting=``);
- ``models/``: backbones (``model=``), heads, LightningModules; ``data/``: the batch contract, sources (``data=``);
- ``evaluation/``: metrics, results.json, predictions; ``runtime/``: launch, resume, checkpoints;
  ``sweeps/``: multirun callbacks; ``report/``: ``mtlkit-report``.
"""

__version__ = "0.1.0"
__all__ = ["__version__"]
