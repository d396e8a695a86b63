"""``model=timm``: any timm architecture by name (``model.name=resnet18``), its weights from a local file.

Nothing is ever downloaded: ``model.pretrained=PATH`` loads a file (a ``state_dict`` saved from timm, or a
checkpoint holding one under ``state_dict``/``model``), ``null`` starts from random weights, and anything that
would need the model hub is refused in one line that says how to make such a file. timm drops the file's
classifier (``num_classes=0``: the backbone ends at the pooled features) and adapts the first convolution to
the data's channels (``in_chans``; grey images sum the RGB filters).

The blocks ``finetune=last_k``, ``finetune=blocks`` and ``finetune.lr_decay`` act on are timm's own coarse
parameter groups (``group_matcher(coarse=True)``: a ResNet's ``layer1..layer4``, a ConvNeXt's four stages, a
ViT's transformer blocks), without the stem, which stays on the input side; modules after the last group (a final
norm) belong to the last block. timm needs torchvision: ``pip install "mtlkit[timm]"`` (README).
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import torch
from torch import nn

from mtlkit.errors import ConfigError
from mtlkit.models.backbones.base import Backbone

HOW_TO_GET_WEIGHTS = (
    'on a machine with internet: python -c "import timm, torch; '
    "torch.save(timm.create_model('{name}', pretrained=True).state_dict(), '{name}.pth')\", "
    "then model.pretrained=/path/to/{name}.pth"
)


def import_timm() -> Any:
    """The ``timm`` module, or a one-line error saying how to install it."""
    try:
        import timm
    except ImportError as err:
        raise ConfigError(
            f'model=timm needs timm and torchvision ({err}); install them with: pip install -e ".[timm]" '
            "(with torch's matching torchvision build)"
        ) from err
    return timm


def check_name(timm: Any, name: str) -> None:
    if not isinstance(name, str) or not timm.is_model(name):
        close = difflib.get_close_matches(str(name), timm.list_models(), n=5, cutoff=0.7) if name else []
        hint = f"; close: {close}" if close else '; list them with python -c "import timm; print(timm.list_models())"'
        raise ConfigError(f"model.name={name!r} is not a timm architecture{hint}")


def weights_file(pretrained: Any, name: str) -> Path | None:
    """``model.pretrained`` as an existing file, None for random weights, or a one-line error."""
    if pretrained is None or pretrained is False:
        return None
    if pretrained is True or (isinstance(pretrained, str) and pretrained.lower() in {"true", "hub", "imagenet"}):
        raise ConfigError(
            f"model.pretrained={pretrained}: mtlkit never downloads weights; pass a local file. To make one, "
            + HOW_TO_GET_WEIGHTS.format(name=name)
        )
    file = Path(str(pretrained)).expanduser()
    if not file.is_file():
        raise ConfigError(
            f"model.pretrained={pretrained}: no such file; give the path of a weights file for {name} ("
            + HOW_TO_GET_WEIGHTS.format(name=name)
            + ")"
        )
    return file


def _patterns(spec: Any) -> list[str]:
    if spec is None:
        return []
    if isinstance(spec, str):
        return [spec]
    return [s[0] if isinstance(s, (tuple, list)) else s for s in spec]


def block_module_names(model: nn.Module) -> list[list[str]]:
    """timm's coarse groups as lists of module names, input to output, the stem left out and the modules after
    the last group joined to it; [] when the model has no group matcher."""
    from timm.models import group_modules

    try:
        matcher = model.group_matcher(coarse=True)
    except (AttributeError, NotImplementedError):
        return []
    if not isinstance(matcher, Mapping):
        return []
    stem = [re.compile(p) for p in _patterns(matcher.get("stem"))]
    body = [re.compile(p) for key, spec in matcher.items() if key != "stem" for p in _patterns(spec)]
    group_of = group_modules(model, matcher, reverse=True)  # module (with parameters) -> group id
    is_stem = {n: any(p.match(n) for p in stem) for n in group_of}
    tail = [n for n in group_of if not is_stem[n] and not any(p.match(n) for p in body)]
    stem_groups = {g for n, g in group_of.items() if is_stem[n]}
    by_group: dict[int, set[str]] = {}
    for n, g in group_of.items():
        if g not in stem_groups and n not in tail:
            by_group.setdefault(g, set()).add(n)
    groups = [by_group[g] for g in sorted(by_group)]
    if not groups:
        return []
    groups[-1].update(tail)
    return [_outermost(names, group_of) for names in groups]


def _outermost(names: set[str], group_of: Mapping[str, int]) -> list[str]:
    """The fewest modules covering ``names``: climb to a parent while every module with parameters under it is in
    ``names`` (so a block's dropout and activations come along)."""

    def pure(prefix: str) -> bool:
        return all(n in names for n in group_of if n == prefix or n.startswith(prefix + "."))

    tops = set()
    for name in names:
        while "." in name and pure(name.rsplit(".", 1)[0]):
            name = name.rsplit(".", 1)[0]
        tops.add(name)
    return sorted(t for t in tops if not any(t.startswith(o + ".") for o in tops))


class TimmBackbone(Backbone):
    """A timm model without its classifier (``num_classes=0``): images -> pooled features."""

    def __init__(
        self,
        input_shape: Sequence[int],
        name: str = "resnet18",
        pretrained: str | None = None,
        in_chans: int | None = None,
        drop_rate: float = 0.0,
        drop_path_rate: float | None = None,
    ):
        super().__init__()
        if len(input_shape) != 3:
            raise ConfigError(
                f"model=timm needs image inputs [C, H, W], got input shape {tuple(input_shape)}; "
                "use model=mlp for tabular data"
            )
        timm = import_timm()
        check_name(timm, name)
        channels = int(input_shape[0])
        if in_chans is not None and int(in_chans) != channels:
            raise ConfigError(
                f"model.in_chans={in_chans} but the data has {channels} channel(s); leave model.in_chans=null "
                "(taken from the data) or change data.channels"
            )
        file = weights_file(pretrained, name)
        kwargs: dict[str, Any] = {"num_classes": 0, "in_chans": channels, "drop_rate": drop_rate}
        if drop_path_rate is not None:
            kwargs["drop_path_rate"] = drop_path_rate
        default_cfg = timm.get_pretrained_cfg(name)
        if default_cfg is not None and default_cfg.fixed_input_size:  # ViTs: position embeddings for this size
            kwargs["img_size"] = tuple(int(s) for s in input_shape[1:])
        try:
            if file is None:
                model = timm.create_model(name, pretrained=False, **kwargs)
            else:
                model = timm.create_model(name, pretrained=True, pretrained_cfg_overlay={"file": str(file)}, **kwargs)
        except RuntimeError as err:
            if file is None:
                raise
            first = next((line.strip() for line in str(err).splitlines()[1:] if line.strip()), str(err))
            raise ConfigError(
                f"model.pretrained={file} does not fit timm's {name} ({first}); give a file saved from "
                f"timm.create_model('{name}').state_dict(), or the model.name it was saved from"
            ) from err
        self.model = model
        self.name = name
        self.pretrained_file = None if file is None else str(file)
        self.feature_dim = int(getattr(model, "head_hidden_size", None) or model.num_features)
        self._block_names = block_module_names(model)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.model(x)

    def block_list(self) -> list[nn.Module]:
        """timm's coarse groups (stages or transformer blocks), input to output; see the module docstring."""
        return [nn.ModuleList([self.model.get_submodule(n) for n in names]) for names in self._block_names]

    @classmethod
    def pretrained_input(cls, name: str = "resnet18", **_: Any) -> Mapping[str, Any] | None:
        """The mean, std and input size timm's pretrained weights for ``name`` expect."""
        timm = import_timm()
        check_name(timm, name)
        cfg = timm.get_pretrained_cfg(name)
        if cfg is None:
            return None
        return {"mean": list(cfg.mean), "std": list(cfg.std), "input_size": list(cfg.input_size)}
