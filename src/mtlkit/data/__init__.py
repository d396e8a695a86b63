"""mtlkit's data: the batch contract, the DataModule base class, and the data sets ``data=NAME`` chooses.

Here, the core every data set shares:

- ``base``: the batch contract and :class:`MultiLabelDataModule` (re-exported here);
- ``sampling``: sharded, resumable batch order; ``cache``: generated data sets kept on disk;
- ``hiding``: labels hidden on purpose (``data.missing_rate``); ``summary``: the table of label counts;
- ``augment``: batch image transforms (scaling, training augmentation).

Subpackages:

- ``files``: reading the user's files (tables, label cells, splits, images, checks) for ``data=table``/``images``;
- ``synthetic``: generators (road scenes and their object shapes);
- ``sources``: one module per ``data=NAME`` config (driving, noise, table, images, fashion).

Modules inside the package import from the defining module (``mtlkit.data.base``), never from a package
``__init__``, so that no import cycle appears.
"""

from mtlkit.data.base import SPLITS, MultiLabelDataModule, MultiLabelDataset, SplitData, collate_batch

__all__ = ["SPLITS", "MultiLabelDataModule", "MultiLabelDataset", "SplitData", "collate_batch"]
