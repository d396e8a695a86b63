"""The data sets ``data=NAME`` chooses, one module per config in conf/data/ (none imports another).

``driving`` (``data=driving`` and ``data=driving_source``), ``noise``, ``table``, ``images`` and ``fashion``
(``data=fashion_grid``); each defines one :class:`~mtlkit.data.base.MultiLabelDataModule` subclass.
"""

from mtlkit.data.sources.driving import DrivingDataModule
from mtlkit.data.sources.fashion import FashionGridDataModule
from mtlkit.data.sources.images import ImageDataModule
from mtlkit.data.sources.noise import NoiseDataModule
from mtlkit.data.sources.table import TableDataModule

__all__ = ["DrivingDataModule", "FashionGridDataModule", "ImageDataModule", "NoiseDataModule", "TableDataModule"]
