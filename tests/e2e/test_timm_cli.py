"""A pretrained timm network through the CLI: transfer from the model's own weights (no pre-training stage),
data.normalize=model, the usual results.json, mtlkit-predict on the run, and one-line errors before any data."""

from __future__ import annotations

import json
import shutil

import pytest
import torch

from tests.conftest import REPO
from tests.helpers import read_csv_rows, results_files, run_cli

timm = pytest.importorskip("timm")

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def weights(tmp_path_factory):
    torch.manual_seed(0)
    model = timm.create_model("test_resnet", pretrained=False)
    file = tmp_path_factory.mktemp("weights") / "test_resnet.pth"
    torch.save(model.state_dict(), file)
    return file, model.state_dict()


def test_transfer_from_a_pretrained_timm_model_on_the_image_example(weights, tmp_path):
    file, saved = weights
    args = [
        "model=timm", "model.name=test_resnet", f"model.pretrained={file}",
        "approach=transfer", "transfer.source=pretrained", "finetune=last_k", "finetune.k=1",
        "data=images", f"data.path={REPO / 'examples/images/labels.csv'}", "data.normalize=model",
        "data.batch_size=32", "trainer.max_epochs=2", "logger=csv", "callbacks.rich_progress_bar=null",
    ]  # fmt: skip
    proc = run_cli(args, tmp_path / "out")
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "data.normalize=model: mean [0.5, 0.5, 0.5] std [0.5, 0.5, 0.5], as test_resnet's pretrained" in proc.stdout
    assert "backbone blocks (input to output): frozen frozen frozen train" in proc.stdout
    (result,) = results_files(tmp_path / "out")
    res = json.loads(result.read_text())
    assert res["status"] == "completed" and res["approach"] == "transfer"
    assert {"metrics", "parameters", "transfer", "finetune", "timings"} <= set(res)
    assert set(res["metrics"]) == {"val", "test"} and "macro" in res["metrics"]["test"]
    assert res["transfer"]["source"]["pretrained_weights"] == str(file)
    assert res["transfer"]["source"]["pretrained_here"] is False and "pretrain_s" in res["timings"]
    blocks = res["finetune"]["phases"][0]["parameters"]["blocks"]
    assert [b["trainable"] > 0 for b in blocks] == [False, False, False, True]
    # the frozen stages are the file's weights, BatchNorm statistics included; the trained stage moved
    ckpt = torch.load(res["best_checkpoint"], map_location="cpu", weights_only=False)
    state = {k.removeprefix("backbone.model."): v for k, v in ckpt["state_dict"].items() if k.startswith("backbone.")}
    for key in ("conv1.0.weight", "bn1.running_mean", "layer1.0.conv1.weight", "layer3.0.bn2.running_var"):
        assert torch.equal(state[key], saved[key]), key
    assert not torch.equal(state["layer4.0.conv1.weight"], saved["layer4.0.conv1.weight"])
    assert ckpt["mtlkit"]["config"]["data"]["mean"] == [0.5, 0.5, 0.5]  # kept: predict and resume use these

    # mtlkit-predict rebuilds the model from the checkpoint alone: the weights file is no longer needed
    moved = file.with_suffix(".moved")
    shutil.move(file, moved)
    try:
        out = tmp_path / "pred.csv"
        pred = run_cli([str(result.parent), "--output", str(out)], tmp_path / "p", module="mtlkit.cli.predict")
    finally:
        shutil.move(moved, file)
    assert pred.returncode == 0, pred.stderr[-3000:]
    rows = read_csv_rows(out)
    assert len(rows) == res["data"]["sizes"]["test"] and all(0 <= float(r["prob_car"]) <= 1 for r in rows)


def test_wrong_pretrained_setups_fail_in_one_line_before_any_data(weights, tmp_path):
    file, _ = weights
    cases = [
        (["approach=transfer", "transfer.source=pretrained"], "transfer.source=pretrained needs a model with its own"),
        (["model=timm", "model.name=test_resnet", f"model.pretrained={file}.missing"], "model.pretrained"),
        (["model=timm", "model.name=resnet_18"], "model.name='resnet_18' is not a timm architecture"),
        (
            [
                "model=timm",
                f"model.pretrained={file}",
                "approach=transfer",
                "transfer.source=pretrained",
                f"transfer.checkpoint={file}",
            ],
            "give one of them",
        ),  # fmt: skip
    ]
    for args, message in cases:
        proc = run_cli([*args, "logger=csv", "data.num_train=64"], tmp_path / "o", timeout=120)
        assert proc.returncode != 0 and message in proc.stderr, (args, proc.stderr[-1500:])
        assert "Traceback" not in proc.stderr
    assert not results_files(tmp_path / "o")
