"""The experiment configs (experiments/conf/experiment/*.yaml) behind the mission's claims C1-C8 (experiments/plan.md).

Every part composes and sweeps at least 3 seeds; the sweeps are those the plan fixes; parts of one experiment
agree on data and budget; transfer parts load checkpoints that their pre-training part writes, and record its data
as their `source`; experiments/scripts/run_experiments.sh runs the parts in order and its report arguments give every
configuration a baseline; and one job of each part runs end to end, in-process, cut to a tiny size.
"""

from __future__ import annotations

import copy
import functools
import os
import subprocess
from pathlib import Path
from typing import Any

import pytest
from hydra import compose, initialize_config_dir
from hydra.core.global_hydra import GlobalHydra
from omegaconf import OmegaConf, open_dict
from tests.conftest import TINY

from experiments.tests.conftest import SCRIPTS
from mtlkit.config import CONFIG_DIR, EXPERIMENTS_CONFIG_DIR
from mtlkit.report.collect import canonical, sweep_jobs

EXPERIMENT_DIR = EXPERIMENTS_CONFIG_DIR / "experiment"
PARTS = sorted(p.stem for p in EXPERIMENT_DIR.glob("*.yaml"))
NAMES = sorted({p.split("__")[0] for p in PARTS})
CLAIMS = [
    "c1_partial_labels",
    "c2_mtl_vs_separate",
    "c3_capacity",
    "c4_many_tasks",
    "c5_transfer_data_size",
    "c6_reversed_sizes",
    "c7_finetune_strategies",
    "c8_unrelated_source",
]
ROOT = "/sweeps/root"  # MTLKIT_SWEEP_ROOT while composing
FOCUS = ["obj095", "obj096", "obj097", "obj098", "obj099"]
ROAD = ["pedestrian", "car", "stop_sign", "traffic_light"]


@pytest.fixture(autouse=True)
def _sweep_root(monkeypatch):
    monkeypatch.setenv("MTLKIT_SWEEP_ROOT", ROOT)


@functools.cache
def _composed(overrides: tuple[str, ...], hydra_node: bool):
    GlobalHydra.instance().clear()
    with initialize_config_dir(config_dir=str(CONFIG_DIR), version_base="1.3"):
        cfg = compose(config_name="train", overrides=list(overrides), return_hydra_config=hydra_node)
    with open_dict(cfg):
        cfg.paths.output_dir = "/run"  # what ${hydra:runtime.output_dir} gives in a run
    return cfg


def _compose(overrides: list[str], hydra_node: bool = True):
    """The composed config (a copy: composing takes ~0.1 s, so each one is composed once per session)."""
    return copy.deepcopy(_composed(tuple(overrides), hydra_node))


def _jobs(part: str) -> list[dict[str, Any]]:
    cfg = _compose([f"experiment={part}"])
    return sweep_jobs(OmegaConf.to_container(cfg.hydra.sweeper.params) or {})


def _args(job: dict[str, Any]) -> list[str]:
    return [f"{k}={v}" for k, v in job.items()]


def _job_cfg(part: str, job: dict[str, Any], *more: str, hydra_node: bool = True):
    return _compose([f"experiment={part}", *_args(job), *more], hydra_node)


def _resolved(node) -> Any:
    return OmegaConf.to_container(node, resolve=True)


def _parts_of(name: str) -> list[str]:
    """The parts of an experiment in the driver's order: pre-training parts first, then the others (name order)."""
    parts = [p for p in PARTS if p == name or p.startswith(f"{name}__")]
    return sorted(p for p in parts if "pretrain" in p) + sorted(p for p in parts if "pretrain" not in p)


def _subdir(cfg, index: int) -> str:
    """The folder of a job in its sweep: hydra.sweep.subdir (e.g. seed_0), or the job number by default."""
    raw = OmegaConf.to_container(cfg.hydra.sweep)["subdir"]
    return str(index) if "hydra.job.num" in str(raw) else str(cfg.hydra.sweep.subdir)


def _is_transfer(cfg) -> bool:
    return cfg.approach.name == "transfer"


# ------------------------------------------------------------------------------------------------ composition


def test_every_claim_has_its_experiment():
    assert NAMES == CLAIMS
    driver = (SCRIPTS / "run_experiments.sh").read_text()
    assert all(name in driver for name in CLAIMS)


@pytest.mark.parametrize("part", PARTS)
def test_every_part_sweeps_at_least_three_seeds_and_its_jobs_compose_and_resolve(part):
    jobs = _jobs(part)
    assert len({canonical(j.get("seed")) for j in jobs}) >= 3, f"{part} sweeps fewer than 3 seeds"
    for job in (jobs[0], jobs[-1]):
        cfg = _job_cfg(part, job)
        assert cfg.seed == job["seed"]
        resolved = {k: OmegaConf.select(cfg, k) for k in cfg if k != "hydra"}
        resolved = {k: _resolved(v) if OmegaConf.is_config(v) else v for k, v in resolved.items()}
        assert resolved["data"]["seed"] == job["seed"] or "pretrain" in part  # the data follow the seed
        assert list(resolved["logger"]) == ["csv"] and cfg.callbacks.rich_progress_bar is None


# The sweeps of experiments/plan.md: part -> number of jobs.
JOB_COUNTS = {
    "c1_partial_labels": 30,
    "c2_mtl_vs_separate": 12,
    "c3_capacity": 30,
    "c4_many_tasks": 15,
    "c4_many_tasks__separate": 3,
    "c5_transfer_data_size__pretrain": 3,
    "c5_transfer_data_size": 12,
    "c5_transfer_data_size__scratch": 12,
    "c6_reversed_sizes__pretrain": 6,
    "c6_reversed_sizes": 6,
    "c6_reversed_sizes__scratch": 3,
    "c7_finetune_strategies__pretrain": 3,
    "c7_finetune_strategies": 24,
    "c7_finetune_strategies__last_k": 24,
    "c7_finetune_strategies__scratch": 12,
    "c8_unrelated_source__pretrain_noise": 3,
    "c8_unrelated_source__pretrain_related": 3,
    "c8_unrelated_source": 9,
    "c8_unrelated_source__related": 9,
    "c8_unrelated_source__scratch": 9,
}


def test_the_sweeps_are_those_of_the_plan():
    assert {p: len(_jobs(p)) for p in PARTS} == JOB_COUNTS

    def values(part, key):
        return sorted({j[key] for j in _jobs(part)})

    assert values("c2_mtl_vs_separate", "approach") == ["multitask", "separate"]
    assert values("c2_mtl_vs_separate", "data.num_train") == [1000, 5000]
    assert values("c3_capacity", "model.width") == [2, 4, 8, 16, 32]
    assert values("c4_many_tasks", "c4_other_labels") == [0, 100, 1000, 5000, 10000]
    assert values("c5_transfer_data_size", "data.num_train") == [50, 200, 1000, 5000]
    assert values("c6_reversed_sizes__pretrain", "data.num_train") == [100, 1000]
    assert values("c6_reversed_sizes", "source.num_train") == [100, 1000]
    assert values("c7_finetune_strategies", "finetune") == ["full", "head_only"]
    assert values("c7_finetune_strategies__last_k", "finetune.k") == [1, 2]
    assert values("c8_unrelated_source", "data@source") == ["noise"]
    assert values("c8_unrelated_source__related", "data@source") == ["driving_source"]
    assert values("c8_unrelated_source", "data.num_train") == [50, 200, 1000]

    c2 = _job_cfg("c2_mtl_vs_separate", _jobs("c2_mtl_vs_separate")[0])
    assert (c2.trainer.max_steps, c2.trainer.max_epochs, c2.trainer.val_check_interval) == (300, -1, 25)
    assert c2.trainer.check_val_every_n_epoch is None and c2.data.missing_rate == 0.5 and c2.data.num_val == 1000
    c3 = _job_cfg("c3_capacity", _jobs("c3_capacity")[0])
    assert (c3.data.num_classes, c3.data.num_train, c3.trainer.max_epochs) == (8, 5000, 6)
    c4 = _job_cfg("c4_many_tasks", _jobs("c4_many_tasks")[0])
    assert (c4.data.num_classes, c4.data.prevalence, c4.data.num_test, c4.trainer.max_steps) == (100, 0.05, 4000, 500)
    pre = _job_cfg("c5_transfer_data_size__pretrain", _jobs("c5_transfer_data_size__pretrain")[0])
    assert list(pre.data.tasks) == [f"obj{i:03d}" for i in range(4, 24)] and pre.data.num_classes == 24
    assert (pre.data.num_train, pre.data.missing_rate, pre.trainer.max_epochs) == (20000, 0.0, 5)
    noise = _job_cfg("c8_unrelated_source__pretrain_noise", _jobs("c8_unrelated_source__pretrain_noise")[0])
    assert noise.data._target_.endswith("NoiseDataModule")
    assert (noise.data.num_train, noise.data.num_tasks, noise.data.prevalence) == (20000, 20, 0.4)
    for part in ("c5_transfer_data_size", "c6_reversed_sizes", "c7_finetune_strategies", "c8_unrelated_source"):
        b = _job_cfg(part, _jobs(part)[0])
        assert (b.data.missing_rate, b.data.num_val, b.data.num_test, b.trainer.max_steps) == (0.0, 1000, 2000, 300)
        assert list(b.data.tasks or ROAD) == ROAD and b.data.num_classes == 4


def test_c1_sweeps_missing_rate_by_loss_by_seed():
    jobs = _jobs("c1_partial_labels")
    assert len(jobs) == 5 * 2 * 3
    assert sorted({j["data.missing_rate"] for j in jobs}) == [0, 0.25, 0.5, 0.75, 0.9]
    assert {j["loss.unknown"] for j in jobs} == {"ignore", "negative"}
    cfg = _compose(["experiment=c1_partial_labels", "seed=2"])
    assert cfg.data.seed == 2 and cfg.data.num_train == 5000 and cfg.trainer.max_epochs == 6
    assert cfg.data.hide_splits == ["train"]  # val and test keep every label
    assert "csv" in cfg.logger and cfg.callbacks.rich_progress_bar is None


def test_c4_keeps_1000_focus_labels_and_c4_other_labels_labels_of_every_other_task():
    for job in _jobs("c4_many_tasks"):
        cfg = _job_cfg("c4_many_tasks", job)
        rates = _resolved(cfg.data.missing_rate)
        n = cfg.data.num_train
        assert round((1 - rates.pop("*")) * n) == job["c4_other_labels"]
        assert rates == dict.fromkeys(FOCUS, 0.9) and round((1 - 0.9) * n) == 1000
    sep = _job_cfg("c4_many_tasks__separate", _jobs("c4_many_tasks__separate")[0])
    assert list(sep.data.tasks) == FOCUS and sep.data.missing_rate == 0.9 and sep.approach.name == "separate"


def _shared_settings(cfg, swept: set[str]) -> dict[str, Any]:
    """What parts of one experiment must share: data (but the keys a part sweeps), model, optimiser, budget."""
    out = {k: _resolved(cfg[k]) for k in ("model", "optimizer", "scheduler", "trainer", "loss", "head", "callbacks")}
    out["data"] = {k: v for k, v in _resolved(cfg.data).items() if f"data.{k}" not in swept}
    return out


@pytest.mark.parametrize("name", [n for n in NAMES if len(_parts_of(n)) > 1])
def test_the_parts_of_an_experiment_share_data_and_budget(name):
    """Baseline parts repeat the main part's settings: same data, model, optimiser, steps and validation."""
    parts = [p for p in _parts_of(name) if "pretrain" not in p]
    swept = {k for p in parts for k in _jobs(p)[0]}
    first = {p: _jobs(p)[0] for p in parts}
    shared = {k: v for k, v in first[parts[0]].items() if all(first[p].get(k) == v for p in parts)}
    reference = _shared_settings(_job_cfg(parts[0], shared), swept)
    for part in parts[1:]:
        assert _shared_settings(_job_cfg(part, shared), swept) == reference, part


@pytest.mark.parametrize("part", [p for p in PARTS if "pretrain" not in p and p.split("__")[0] in CLAIMS[4:]])
def test_transfer_parts_load_what_their_pretraining_part_writes_and_record_its_data(part):
    """Each transfer job's checkpoint is <root>/<pretrain part>/<subdir of one of its jobs>/checkpoints/last.ckpt,
    and the job's `source` is exactly that pre-training job's data; source and target never share a data seed."""
    name = part.split("__")[0]
    pretrain = {p: _jobs(p) for p in _parts_of(name) if "pretrain" in p}
    written: dict[str, Any] = {}
    for p, jobs in pretrain.items():
        for i, job in enumerate(jobs):
            cfg = _job_cfg(p, job)
            written[f"{ROOT}/{p}/{_subdir(cfg, i)}/checkpoints/last.ckpt"] = _resolved(cfg.data)
    transfer_jobs = 0
    jobs = _jobs(part)
    picks = ("seed", "source.num_train")  # the keys in the checkpoint paths; the others do not change them
    for job in [j for j in jobs if all(j[k] == jobs[0][k] for k in j if k not in picks)]:
        cfg = _job_cfg(part, job)
        if not _is_transfer(cfg):
            assert cfg.approach.name == "multitask"  # a from-scratch baseline
            continue
        transfer_jobs += 1
        checkpoint = cfg.transfer.checkpoint
        assert checkpoint in written, f"{part} {job}: {checkpoint} is written by no pre-training job"
        assert _resolved(cfg.source) == written[checkpoint]
        assert {3 * cfg.source.seed + i for i in range(3)}.isdisjoint({3 * s + i for s in range(3) for i in range(3)})
    assert transfer_jobs or part.endswith("__scratch")


# ------------------------------------------------------------------------------------------------ the driver


def _dry_run(tmp_path: Path, *names: str) -> list[str]:
    env = {**os.environ, "DRY_RUN": "1", "MTLKIT_LOG_DIR": str(tmp_path / "logs"), "DOCS_DIR": str(tmp_path / "d")}
    proc = subprocess.run(
        ["bash", str(SCRIPTS / "run_experiments.sh"), *names],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert not (tmp_path / "logs").exists() and not (tmp_path / "d").exists()  # a dry run writes nothing
    return [line[2:].split() for line in proc.stdout.splitlines() if line.startswith("+ ")]


def test_the_driver_runs_pretraining_parts_first_and_reports_on_the_others(tmp_path):
    commands = _dry_run(tmp_path)
    trains = [c for c in commands if "mtlkit.cli.train" in c]
    reports = {c[c.index("--title") + 1]: c for c in commands if "mtlkit.report" in c}
    assert sorted(reports) == CLAIMS
    order = [next(a for a in c if a.startswith("experiment=")).split("=", 1)[1] for c in trains]
    assert order == [p for n in CLAIMS for p in _parts_of(n)]
    for name, cmd in reports.items():
        dirs = cmd[cmd.index("mtlkit.report") + 1 : cmd.index("--out")]
        assert [Path(d).name for d in dirs] == [p for p in _parts_of(name) if "pretrain" not in p]
        root = {Path(d).parent for d in dirs}
        assert len(root) == 1  # one sweep root per experiment: MTLKIT_SWEEP_ROOT


def _write_fake_runs(sweep: Path, part: str, tasks: list[str]) -> None:
    """The files a real sweep of ``part`` leaves (config, group choices, overrides, multirun.yaml), with equal
    metrics everywhere: what the report reads to group runs and match them with their baseline."""
    from tests.helpers.reports import write_multirun_yaml, write_run

    jobs = _jobs(part)
    cfg = _job_cfg(part, jobs[0])
    choices = {k: v for k, v in _resolved(cfg.hydra.runtime.choices).items() if not k.startswith("hydra")}
    config = OmegaConf.to_container(cfg)
    config.pop("hydra")
    params = {k: str(v) for k, v in OmegaConf.to_container(cfg.hydra.sweeper.params).items()}
    write_multirun_yaml(sweep, [f"experiment={part}"], params)
    for i, job in enumerate(jobs):
        metrics = {t: {"auroc": 0.8} for t in job.get("data.tasks") or tasks}
        write_run(sweep / str(i), {**job, "experiment": part}, metrics, choices=choices, config=copy.deepcopy(config))


@pytest.mark.parametrize("name", CLAIMS)
def test_the_report_of_each_experiment_finds_a_baseline_for_every_configuration(name, tmp_path):
    """mtlkit-report with the driver's arguments on run folders laid out as each experiment's sweeps leave them."""
    from mtlkit.report import BaselineSpec, Options, build_report
    from mtlkit.report.command import parser

    (cmd,) = [c for c in _dry_run(tmp_path, name) if "mtlkit.report" in c]
    report_args = cmd[cmd.index("--title") + 2 :]
    parts = [Path(d).name for d in cmd[cmd.index("mtlkit.report") + 1 : cmd.index("--out")]]
    args = parser().parse_args([*parts, *report_args])
    tasks = list(args.tasks or ROAD)
    for part in parts:
        _write_fake_runs(tmp_path / part, part, tasks)
    options = Options(baseline=BaselineSpec.parse(args.baseline, args.ignore), tasks=tuple(args.tasks or ()) or None)
    report = build_report([tmp_path / p for p in parts], options)
    assert not report.collection.failed and not report.collection.missing
    assert len(report.collection.runs) == sum(JOB_COUNTS[p] for p in parts)
    assert report.has_deltas
    for row in report.rows:
        assert row.baseline is not None, f"{row.group.label}: {row.why_no_baseline}"
        assert row.deltas[args.metric].n >= 3
    groups = {g.label for g in report.groups}
    assert len(groups) == sum(JOB_COUNTS[p] for p in parts) // 3  # every configuration has its 3 seeds


# ------------------------------------------------------------------------------------------------ end to end


def _tiny(cfg) -> list[str]:
    """TINY, without the keys this config does not have (data=noise has no grid)."""
    return [o for o in TINY if OmegaConf.select(cfg, o.split("=", 1)[0], default="<absent>") != "<absent>"]


@pytest.mark.slow
@pytest.mark.parametrize("name", CLAIMS)
def test_one_job_of_each_part_runs_end_to_end(name, tmp_path, monkeypatch):
    """The first job of every part, in the driver's order, cut to TINY: pre-training parts train 4 steps and write
    the checkpoints the later parts load; the other parts run with trainer.fast_dev_run."""
    from mtlkit.run import train

    monkeypatch.setenv("MTLKIT_SWEEP_ROOT", str(tmp_path))
    for part in _parts_of(name):
        job = _jobs(part)[0]
        cfg = _job_cfg(part, job)
        pretrain = "pretrain" in part
        out = tmp_path / part / _subdir(cfg, 0)
        cfg = _job_cfg(part, job, *_tiny(cfg), *([] if pretrain else ["trainer.fast_dev_run=true"]), hydra_node=False)
        with open_dict(cfg):
            cfg.paths.output_dir = str(out)
        results = train(cfg)
        assert results["status"] == "completed" and results["seed"] == job["seed"]
        assert results["approach"] == cfg.approach.name
        if pretrain:
            assert (out / "checkpoints" / "last.ckpt").is_file()
        if _is_transfer(cfg):
            assert results["transfer"]["checkpoint"] == cfg.transfer.checkpoint
            assert Path(cfg.transfer.checkpoint).is_relative_to(tmp_path)
        assert (out / "results.json").is_file()


@pytest.mark.slow
def test_experiment_driver_runs_a_present_config_skips_absent_ones_and_reports(tmp_path):
    """experiments/scripts/run_experiments.sh on C1, cut to 2 tiny jobs through EXTRA (command-line values replace the
    sweep's)."""
    import os
    import subprocess
    import sys

    extra = ["seed=0", "loss.unknown=ignore", "data.missing_rate=0,0.5", *TINY]
    env = {
        **os.environ,
        "PYTHON": sys.executable,
        "MTLKIT_LOG_DIR": str(tmp_path / "logs"),
        "DOCS_DIR": str(tmp_path / "docs"),
        "EXTRA": " ".join(extra),
    }
    cmd = ["bash", str(SCRIPTS / "run_experiments.sh"), "c1_partial_labels", "c9_not_written_yet"]
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=600)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert "skip c9_not_written_yet" in proc.stdout
    from tests.helpers import read_csv_rows
    from tests.helpers.reports import is_png

    report = tmp_path / "docs" / "c1_partial_labels"
    summary = read_csv_rows(report / "summary.csv")
    assert [r["data.missing_rate"] for r in summary] == ["0", "0.5"]
    assert "c1_partial_labels | 2 |" in (tmp_path / "docs" / "timings.md").read_text()
    assert is_png(report / "plots" / "auroc_vs_data.missing_rate.png")
