"""Trainer, launcher and logger configs compose; bad distributed setups and resumes fail early and clearly."""

import json
import sys

import pytest
import torch
import yaml
from hydra.core.utils import JobReturn, JobStatus
from omegaconf import OmegaConf, open_dict

from mtlkit.config_checks.plugins import plugin_errors
from mtlkit.errors import CheckpointError, ConfigError
from mtlkit.runtime.launch import check_distributed_launch
from mtlkit.runtime.resume import _EXPANDED_ENV, check_same_config, expand_resume_argument, resolve_ckpt_path
from mtlkit.sweeps.failed_jobs import RecordFailedJob
from tests.helpers import compose_config


@pytest.mark.parametrize(
    "overrides, expected",
    [
        (["trainer=cpu"], {"accelerator": "cpu", "devices": 1, "num_nodes": 1}),
        (["trainer=gpu", "trainer.precision=bf16-mixed"], {"accelerator": "gpu", "precision": "bf16-mixed"}),
        (
            ["trainer=ddp", "trainer.devices=4", "trainer.num_nodes=2"],
            {"accelerator": "gpu", "devices": 4, "num_nodes": 2, "strategy": "ddp", "sync_batchnorm": True},
        ),
        (["trainer=ddp_cpu"], {"accelerator": "cpu", "devices": 2, "strategy": "ddp", "sync_batchnorm": False}),
    ],
)
def test_trainer_configs_compose(tmp_path, overrides, expected):
    cfg = compose_config(overrides, tmp_path)
    trainer = OmegaConf.to_container(cfg.trainer, resolve=True)
    assert {k: trainer[k] for k in expected} == expected
    assert trainer["use_distributed_sampler"] is False  # mtlkit's loaders shard the data themselves
    check_distributed_launch(cfg)  # outside a Hydra app: nothing is launched


@pytest.mark.parametrize(
    "overrides, message",
    [
        (["trainer=ddp_cpu", "trainer.sync_batchnorm=true"], "SyncBatchNorm does not run on CPU"),
        (["trainer=ddp_cpu", "trainer.strategy=ddp_spawn"], "use trainer.strategy=ddp"),
        (["trainer.use_distributed_sampler=true"], "set it to false"),
        (["trainer=ddp_cpu", "approach=transfer", "finetune=gradual"], "under DDP use finetune=lp_ft"),
        (["trainer=ddp", "trainer.devices=4", "approach=transfer", "finetune=gradual"], "finetune=gradual"),
    ],
)
def test_unworkable_distributed_setups_fail_before_anything_starts(tmp_path, overrides, message):
    """(``finetune=gradual`` on one process is fine: see the next test.)"""
    with pytest.raises(ConfigError, match=message):
        _check_launch(compose_config(overrides, tmp_path))


def _check_launch(cfg) -> None:
    """The launch checks, then the chosen plug-ins' own (``finetune=gradual`` refuses several processes itself)."""
    check_distributed_launch(cfg)
    errors = plugin_errors(cfg)
    if errors:
        raise ConfigError("\n".join(errors))


def test_gradual_on_one_process_is_allowed(tmp_path):
    _check_launch(compose_config(["approach=transfer", "finetune=gradual"], tmp_path))


def test_slurm_launcher_takes_nodes_and_gpus_from_the_trainer(tmp_path):
    pytest.importorskip("hydra_plugins.hydra_submitit_launcher")
    from hydra import compose, initialize_config_dir
    from hydra.core.global_hydra import GlobalHydra

    from mtlkit.config import CONFIG_DIR

    GlobalHydra.instance().clear()
    with initialize_config_dir(config_dir=str(CONFIG_DIR), version_base="1.3"):
        overrides = ["hydra/launcher=slurm", "trainer=ddp", "trainer.devices=4", "trainer.num_nodes=2"]
        cfg = compose(config_name="train", overrides=overrides, return_hydra_config=True)
    launcher = cfg.hydra.launcher
    assert launcher._target_.endswith("SlurmLauncher")
    assert (launcher.nodes, launcher.tasks_per_node, launcher.gpus_per_node) == (2, 4, 4)
    assert launcher.max_num_timeout > 0  # requeued on timeout, then continued from last.ckpt
    with open_dict(cfg):
        cfg.trainer.accelerator = "cpu"
    assert cfg.hydra.launcher.gpus_per_node is None  # no GPU asked for a CPU job


@pytest.mark.parametrize("launcher, fails", [("basic", False), ("submitit_local", True)])
def test_relaunching_ddp_in_a_multirun_needs_the_basic_launcher(monkeypatch, launcher, fails):
    pytest.importorskip("hydra_plugins.hydra_submitit_launcher")
    from hydra import compose, initialize_config_dir
    from hydra.core.global_hydra import GlobalHydra
    from hydra.core.hydra_config import HydraConfig
    from hydra.types import RunMode

    from mtlkit.config import CONFIG_DIR

    for key in ("LOCAL_RANK", "SLURM_NTASKS"):
        monkeypatch.delenv(key, raising=False)
    GlobalHydra.instance().clear()
    with initialize_config_dir(config_dir=str(CONFIG_DIR), version_base="1.3"):
        overrides = [f"hydra/launcher={launcher}", "trainer=ddp_cpu"]
        cfg = compose(config_name="train", overrides=overrides, return_hydra_config=True)
    with open_dict(cfg):
        cfg.hydra.mode = RunMode.MULTIRUN
    HydraConfig.instance().set_config(cfg)
    try:
        if fails:
            with pytest.raises(ConfigError, match="only works with Hydra's basic launcher"):
                check_distributed_launch(cfg)
        else:
            check_distributed_launch(cfg)
    finally:
        HydraConfig.instance().cfg = None


def test_wandb_logger_is_offline_and_named_by_hydra(tmp_path):
    cfg = compose_config(["logger=wandb"], tmp_path)
    wandb_cfg = OmegaConf.to_container(cfg.logger.wandb, resolve=True)
    assert wandb_cfg["offline"] is True
    assert wandb_cfg["group"] is None and wandb_cfg["name"] is None  # outside a Hydra run: wandb's defaults


# -- resume=RUN_DIR and ckpt_path=last -------------------------------------------------------------------------
def _fake_run(tmp_path, overrides):
    run = tmp_path / "run"
    (run / ".hydra").mkdir(parents=True)
    (run / ".hydra" / "overrides.yaml").write_text(yaml.safe_dump(overrides))
    return run


def test_resume_reruns_the_runs_command_in_its_folder(tmp_path, monkeypatch):
    monkeypatch.delenv(_EXPANDED_ENV, raising=False)
    run = _fake_run(tmp_path, ["model.width=16", "+callbacks.x._target_=a.B", "ckpt_path=null", "resume=old"])
    argv = expand_resume_argument(["mtlkit-train", f"resume={run}", "trainer.max_epochs=20"])
    assert argv == [
        "mtlkit-train",
        "model.width=16",
        "+callbacks.x._target_=a.B",
        "trainer.max_epochs=20",
        f"resume={run}",
        "ckpt_path=last",
        f"hydra.run.dir={run}",
    ]
    # DDP re-launches this command line in child processes: they must not expand it again
    assert expand_resume_argument(argv) == argv


@pytest.mark.parametrize(
    "args, message",
    [
        (["resume=/no/such/run"], "give the folder of a run"),
        (["-m", "resume=RUN"], "cannot be swept"),
        (["resume=a", "resume=b"], "given 2 times"),
    ],
)
def test_resume_mistakes_name_the_fix(tmp_path, monkeypatch, args, message):
    monkeypatch.delenv(_EXPANDED_ENV, raising=False)
    run = _fake_run(tmp_path, [])
    args = [a.replace("RUN", str(run)) for a in args]
    with pytest.raises(ConfigError, match=message):
        expand_resume_argument(["mtlkit-train", *args])


def test_ckpt_path_last_is_this_runs_last_checkpoint_when_there_is_one(tmp_path):
    cfg = compose_config([], tmp_path)
    assert cfg.ckpt_path == "last"
    assert resolve_ckpt_path(cfg) is None  # a fresh run folder: start afresh
    with open_dict(cfg):
        cfg.resume = str(tmp_path)
    with pytest.raises(CheckpointError, match="stopped before its first checkpoint"):
        resolve_ckpt_path(cfg)  # resume= asks for a checkpoint: its absence is an error
    last = tmp_path / "checkpoints" / "last.ckpt"
    last.parent.mkdir()
    torch.save({"mtlkit": {"config": OmegaConf.to_container(cfg, resolve=True)}}, last)
    assert resolve_ckpt_path(cfg) == str(last)
    with open_dict(cfg):
        cfg.ckpt_path = str(tmp_path / "nope.ckpt")
    with pytest.raises(CheckpointError, match="no such file"):
        resolve_ckpt_path(cfg)


def test_a_checkpoint_of_another_configuration_is_refused(tmp_path):
    saved = compose_config(["model.width=16", "loss.normalization=labels"], tmp_path)
    path = tmp_path / "last.ckpt"
    torch.save({"mtlkit": {"config": OmegaConf.to_container(saved, resolve=True)}}, path)
    check_same_config(path, compose_config(["model.width=16", "loss.normalization=labels", "logger=csv"], tmp_path))
    with pytest.raises(CheckpointError, match=r"trainer\.max_epochs: 8 in the checkpoint, 20 now"):
        check_same_config(  # training longer in place: its schedule spans the configured length
            path, compose_config(["model.width=16", "loss.normalization=labels", "trainer.max_epochs=20"], tmp_path)
        )
    with pytest.raises(CheckpointError, match=r"model\.width: 16 in the checkpoint, 32 now") as err:
        check_same_config(path, compose_config([], tmp_path))
    assert "loss.normalization" in str(err.value) and "ckpt_path=null" in str(err.value)
    path.write_bytes(b"truncated")
    with pytest.raises(CheckpointError, match="cannot read"):
        check_same_config(path, compose_config([], tmp_path))


# -- a failed job leaves a record ------------------------------------------------------------------------------
def test_failed_job_is_recorded_without_losing_earlier_results(tmp_path):
    try:
        raise RuntimeError("out of memory")
    except RuntimeError as e:
        error = e
    ret = JobReturn(
        overrides=["seed=3"],
        cfg=OmegaConf.create({"seed": 3, "approach": {"name": "multitask"}}),
        hydra_cfg=OmegaConf.create({"hydra": {"runtime": {"output_dir": str(tmp_path)}}}),
        status=JobStatus.FAILED,
    )
    ret.return_value = error
    ret.status = JobStatus.FAILED
    RecordFailedJob().on_job_end(OmegaConf.create(), ret)
    record = json.loads((tmp_path / "results.json").read_text())
    assert record["status"] == "failed" and record["seed"] == 3 and record["overrides"] == ["seed=3"]
    assert record["error"]["type"] == "RuntimeError" and "out of memory" in record["error"]["traceback"]
    RecordFailedJob().on_job_end(OmegaConf.create(), ret)  # again: results.json is kept, failure.json added
    assert json.loads((tmp_path / "results.json").read_text()) == record
    assert json.loads((tmp_path / "failure.json").read_text())["status"] == "failed"
    assert "wandb" not in sys.modules or sys.modules["wandb"].run is None
