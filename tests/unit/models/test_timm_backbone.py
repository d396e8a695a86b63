"""model=timm: weights from a local file (nothing downloaded), channels from the data, timm's own blocks, and a
one-line error for every wrong input. Tiny timm test architectures with random weights, saved by the test."""

from __future__ import annotations

import pytest
import torch

from mtlkit.errors import ConfigError
from mtlkit.models.backbones.base import ordered_blocks
from mtlkit.models.backbones.timm_backbone import TimmBackbone

timm = pytest.importorskip("timm")  # the dev extra installs it; tests/conftest.py makes it importable here


def _weights(tmp_path, name: str = "test_resnet", seed: int = 0):
    torch.manual_seed(seed)
    model = timm.create_model(name, pretrained=False)
    file = tmp_path / f"{name}.pth"
    torch.save(model.state_dict(), file)
    return model.state_dict(), file


def test_weights_come_from_the_file_without_the_classifier(tmp_path):
    saved, file = _weights(tmp_path)
    backbone = TimmBackbone([3, 32, 32], name="test_resnet", pretrained=str(file))
    own = backbone.model.state_dict()
    assert set(own) == {k for k in saved if not k.startswith("fc.")}  # classifier dropped: features out
    assert all(torch.equal(own[k], saved[k]) for k in own)
    assert backbone.feature_dim == backbone.model.num_features == 96
    assert backbone(torch.randn(2, 3, 32, 32)).shape == (2, 96)
    assert backbone.pretrained_file == str(file)
    fresh = TimmBackbone([3, 32, 32], name="test_resnet")  # null: random weights, not the file's
    assert not torch.equal(fresh.model.layer1[0].conv1.weight, saved["layer1.0.conv1.weight"])


def test_grey_images_get_the_rgb_filters_summed(tmp_path):
    saved, file = _weights(tmp_path)
    backbone = TimmBackbone([1, 32, 32], name="test_resnet", pretrained=str(file))
    first = backbone.model.conv1[0].weight
    assert first.shape[1] == 1
    torch.testing.assert_close(first, saved["conv1.0.weight"].sum(dim=1, keepdim=True))
    assert torch.equal(backbone.model.layer4[0].conv1.weight, saved["layer4.0.conv1.weight"])
    with pytest.raises(ConfigError, match=r"model.in_chans=3 but the data has 1 channel"):
        TimmBackbone([1, 32, 32], name="test_resnet", in_chans=3)


@pytest.mark.parametrize(
    ("name", "blocks", "last"),
    [
        ("test_resnet", [["layer1"], ["layer2"], ["layer3"], ["layer4"]], ["layer4"]),
        ("test_convnext", None, ["head", "stages.3"]),  # the final norm joins the last stage
        ("test_vit", None, ["blocks.5", "norm"]),
    ],
)
def test_blocks_are_timms_stages_input_to_output_without_the_stem(name, blocks, last):
    backbone = TimmBackbone([3, 32, 32], name=name)
    names = backbone._block_names
    if blocks is not None:
        assert names == blocks
    assert names[-1] == last
    listed = ordered_blocks(backbone)
    assert len(listed) == len(names) and len(names) in (4, 6)
    in_blocks = {id(p) for b in listed for p in b.parameters()}
    outside = [n for n, p in backbone.named_parameters() if id(p) not in in_blocks]
    stem = {"conv1", "bn1", "stem", "patch_embed", "cls_token", "pos_embed"}
    assert outside and all(n.split(".")[1] in stem for n in outside)
    assert len(in_blocks) + len(outside) == len(list(backbone.parameters()))  # each parameter in one place


def test_a_vit_takes_the_datas_image_size():
    backbone = TimmBackbone([3, 48, 48], name="test_vit")
    assert backbone(torch.randn(2, 3, 48, 48)).shape == (2, backbone.feature_dim)


def test_wrong_inputs_fail_in_one_line_naming_the_fix(tmp_path):
    _, resnet18 = _weights(tmp_path, "resnet18")
    with pytest.raises(ConfigError, match=r"does not fit timm's test_resnet \(size mismatch for .*model.name it was"):
        TimmBackbone([3, 32, 32], name="test_resnet", pretrained=str(resnet18))
    with pytest.raises(ConfigError, match=r"never downloads weights; pass a local file.*torch.save\(timm.create_model"):
        TimmBackbone([3, 32, 32], name="test_resnet", pretrained=True)
    with pytest.raises(ConfigError, match=r"no such file"):
        TimmBackbone([3, 32, 32], name="test_resnet", pretrained=str(tmp_path / "missing.pth"))
    with pytest.raises(ConfigError, match=r"model.name='resnet_18' is not a timm architecture; close: \["):
        TimmBackbone([3, 32, 32], name="resnet_18")
    with pytest.raises(ConfigError, match=r"needs image inputs"):
        TimmBackbone([12], name="test_resnet")


def test_pretrained_input_is_timms_config():
    stats = TimmBackbone.pretrained_input(name="resnet18")
    assert stats == {"mean": [0.485, 0.456, 0.406], "std": [0.229, 0.224, 0.225], "input_size": [3, 224, 224]}
