"""approach=grouped end to end: the two equivalences on the default data, groups=auto, balancing inside groups,
and a grouped checkpoint rebuilt for predictions."""

from __future__ import annotations

import json

import pytest
import torch

from mtlkit.build.from_checkpoint import module_from_checkpoint
from mtlkit.errors import ConfigError
from mtlkit.run import train
from tests.conftest import TINY
from tests.helpers import compose_config

pytestmark = pytest.mark.xdist_group("grouped_runs")  # pytest-xdist: `runs` trains once, on one worker
CLIP = ["+trainer.gradient_clip_val=0.5"]  # clipping by norm is per network: covered by the equivalences


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    out = tmp_path_factory.mktemp("grouped")
    tasks = train(compose_config([*TINY, *CLIP], out / "multitask"))["tasks"]
    singletons = "[" + ",".join(f"[{t}]" for t in tasks) + "]"
    one = "[[" + ",".join(tasks) + "]]"
    return {
        "tasks": tasks,
        "dir": out,
        "multitask": json.loads((out / "multitask" / "results.json").read_text()),
        "separate": train(compose_config([*TINY, *CLIP, "approach=separate"], out / "separate")),
        "singletons": train(
            compose_config([*TINY, *CLIP, "approach=grouped", f"approach.groups={singletons}"], out / "g1")
        ),
        "one": train(compose_config([*TINY, *CLIP, "approach=grouped", f"approach.groups={one}"], out / "g2")),
    }


def test_singleton_groups_give_exactly_what_separate_gives(runs):
    assert runs["singletons"]["metrics"] == runs["separate"]["metrics"]
    assert runs["singletons"]["parameters"]["total"] == runs["separate"]["parameters"]["total"]


def test_one_group_gives_exactly_what_multitask_gives(runs):
    assert runs["one"]["metrics"] == runs["multitask"]["metrics"]
    assert runs["one"]["parameters"]["total"] == runs["multitask"]["parameters"]["total"]
    assert runs["one"]["groups"] == [runs["tasks"]]


def test_a_grouped_checkpoint_predicts_what_the_run_evaluated(runs, tmp_path):
    tasks = runs["tasks"]
    groups = [tasks[:3], tasks[3:]]
    text = "[" + ",".join("[" + ",".join(g) + "]" for g in groups) + "]"
    res = train(compose_config([*TINY, "approach=grouped", f"approach.groups={text}"], tmp_path))
    assert res["groups"] == groups and res["parameters"]["networks"] == 2
    assert sum(res["parameters"]["per_network"]) == res["parameters"]["total"]
    ckpt = torch.load(res["best_checkpoint"], map_location="cpu", weights_only=False)
    module = module_from_checkpoint(ckpt)
    assert module.groups == groups and module.architecture == "grouped"
    state = ckpt["state_dict"]
    assert all(torch.equal(module.state_dict()[k], v) for k, v in state.items())


def test_groups_auto_from_an_affinity_run(runs, tmp_path):
    tasks = runs["tasks"]
    train(compose_config([*TINY, "affinity=tag", "affinity.every=1"], tmp_path / "tag"))
    chosen = json.loads((tmp_path / "tag" / "results.json").read_text())
    best_k2 = next(g for g in chosen["groupings"] if g["k"] == 2)["groups"]
    res = train(
        compose_config(
            [
                *TINY,
                "approach=grouped",
                "approach.groups=auto",
                "approach.k=2",
                f"approach.affinity_from={tmp_path}/tag",
            ],
            tmp_path / "auto",
        )
    )
    assert res["groups"] == best_k2 and res["grouping"]["source"].endswith("tag")
    assert sorted(t for g in res["groups"] for t in g) == sorted(tasks)


def test_groups_auto_with_a_pre_run_is_kept_for_a_resumed_run(tmp_path):
    overrides = [*TINY, "approach=grouped", "approach.groups=auto", "approach.k=2", "approach.every=2"]
    res = train(compose_config(overrides, tmp_path))
    choice = tmp_path / "affinity" / "grouping.json"
    assert choice.is_file() and (tmp_path / "affinity" / "affinity.csv").is_file()
    assert json.loads(choice.read_text())["groups"] == res["groups"] and len(res["groups"]) == 2
    planted = [res["tasks"][:1], res["tasks"][1:]]
    resumed = tmp_path / "resumed"  # a run folder whose pre-run already chose (as a resumed run finds it)
    (resumed / "affinity").mkdir(parents=True)
    (resumed / "affinity" / "grouping.json").write_text(json.dumps({"source": "test", "groups": planted}))
    assert train(compose_config(overrides, resumed))["groups"] == planted
    assert not (resumed / "affinity" / "affinity.csv").exists()  # no second pre-run


@pytest.mark.parametrize("method", ["famo", "upgrad"])
def test_balancing_inside_groups(method, tmp_path):
    res = train(
        compose_config(
            [
                *TINY,
                "approach=grouped",
                "approach.groups=[[pedestrian],[car,stop_sign,traffic_light]]",
                f"weighting={method}",
            ],
            tmp_path,
        )
    )
    assert res["metrics"]["test"]["macro"]["auroc"] is not None
    if method == "famo":  # weights normalised inside each group: pedestrian alone weighs 1, the others share 1
        tasks, history = res["task_weights"]["tasks"], res["task_weights"]["weights"]
        assert history
        for weights in history:
            w = dict(zip(tasks, weights))
            assert w["pedestrian"] == pytest.approx(1.0)
            assert w["car"] + w["stop_sign"] + w["traffic_light"] == pytest.approx(1.0)
        ckpt = torch.load(res["best_checkpoint"], map_location="cpu", weights_only=False)
        assert {"weighting.inner.0.logits", "weighting.inner.1.logits"} <= set(ckpt["state_dict"])


@pytest.mark.parametrize(
    "groups, message",
    [
        ("[[car,stop_sign,traffic_light],[pedestrian,bus]]", "unknown task 'bus'"),
        ("[[car,stop_sign],[car,pedestrian,traffic_light]]", "'car' is in approach.groups twice"),
        ("[[car,stop_sign],[pedestrian]]", r"\['traffic_light'\] are in no group"),
        ("null", "approach=grouped needs its groups"),
    ],
)
def test_a_bad_grouping_is_one_line_before_any_data(groups, message, tmp_path, monkeypatch):
    import mtlkit.run

    monkeypatch.setattr(mtlkit.run, "build_datamodule", lambda *_: pytest.fail("data built before the check"))
    with pytest.raises(ConfigError, match=message):
        train(
            compose_config(
                [
                    *TINY,
                    "approach=grouped",
                    f"approach.groups={groups}",
                    "data.tasks=[pedestrian,car,stop_sign,traffic_light]",
                ],
                tmp_path,
            )
        )


def test_a_grouped_run_is_a_transfer_source_for_the_network_of_a_tasks_group(tmp_path):
    from mtlkit.errors import CheckpointError
    from mtlkit.models.grouped import GroupedModule

    groups = "[[pedestrian],[car,stop_sign,traffic_light]]"
    res = train(compose_config([*TINY, "approach=grouped", f"approach.groups={groups}"], tmp_path / "src"))
    ckpt = torch.load(res["best_checkpoint"], map_location="cpu", weights_only=False)
    state, info = GroupedModule.transferable_backbone(ckpt["state_dict"], ckpt["mtlkit"], "stop_sign", "ckpt")
    assert info["group"] == ["car", "stop_sign", "traffic_light"]
    assert all(torch.equal(v, ckpt["state_dict"][f"backbone.networks.1.{k}"]) for k, v in state.items())
    with pytest.raises(CheckpointError, match="transfer.task=<one of"):
        GroupedModule.transferable_backbone(ckpt["state_dict"], ckpt["mtlkit"], None, "ckpt")
    out = train(
        compose_config(
            [*TINY, "approach=transfer", f"transfer.checkpoint={tmp_path / 'src'}", "transfer.task=car"],
            tmp_path / "transfer",
        )
    )
    assert out["metrics"]["test"]["macro"]["auroc"] is not None
