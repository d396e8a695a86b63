"""``transfer.source=pretrained``: the model's own weights (``model=timm model.pretrained=FILE``), no pre-training
stage; the backbone loads them itself when it is built."""

from __future__ import annotations

from omegaconf import DictConfig, OmegaConf

from mtlkit.approaches.transfer_inputs import InputSide
from mtlkit.approaches.transfer_source import SourceBackbone, TransferSource
from mtlkit.errors import ConfigError


class PretrainedWeights(TransferSource):
    """The weights file of ``model.pretrained``."""

    @classmethod
    def preflight(cls, cfg: DictConfig) -> None:
        """One origin at a time, and a model that has weights of its own."""
        if cfg.transfer.get("checkpoint") is not None:
            raise ConfigError(
                "transfer.source=pretrained starts from the model's own weights, transfer.checkpoint from another "
                "run's: give one of them (drop transfer.checkpoint, or set transfer.source=data)"
            )
        if cfg.model.get("pretrained") is None:
            raise ConfigError(
                "transfer.source=pretrained needs a model with its own weights: model=timm model.name=NAME "
                "model.pretrained=FILE (README, 'Fine-tuning a pretrained network')"
            )

    def backbone(self, cfg: DictConfig, target: InputSide) -> SourceBackbone:
        weights = str(cfg.model.pretrained)
        model = OmegaConf.to_container(cfg.model, resolve=True)
        record = {"pretrained_here": False, "pretrained_weights": weights, "model_config": model}
        return SourceBackbone(None, weights, {}, record)
