"""The config is checked before any work: one line per bad value (key, value, accepted range), from a declarative
table that checks only the keys it knows; this machine's limits (GPU, checkpoint files, wandb key, a writable
folder); and Hydra's own errors about a command line, with the closest existing key."""

from __future__ import annotations

import zipfile
from pathlib import Path

import pytest
import torch
from hydra.errors import ConfigCompositionException, MissingConfigException, OverrideParseException
from omegaconf import OmegaConf, open_dict

from mtlkit.config import CONFIG_DIR
from mtlkit.config_checks import (
    SCHEMA,
    check_config,
    config_errors,
    either,
    flag,
    integer,
    key_homes,
    number,
    one_of,
    register,
)
from mtlkit.config_checks import environment as env
from mtlkit.config_checks.hydra_errors import describe_hydra_error, suggest_key
from mtlkit.config_checks.plugins import plugin_errors
from mtlkit.errors import ConfigError, user_error
from mtlkit.runtime import checkpoints
from tests.conftest import TINY
from tests.helpers import compose_config


# -- rules --------------------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "rule, good, bad, words",
    [
        (integer(1), [1, 7], [0, -5, "abc", 1.5, True, None, ""], "an integer >= 1"),
        (integer(-1, null=True, note="-1: no limit"), [-1, 0, None], [-2, "3"], "an integer >= -1, or null"),
        (number(0, 1, max_open=True), [0, 0.5, 0], [1, 1.0, -0.1, float("nan"), "x"], "a number in [0, 1)"),
        (number(0, min_open=True), [1e-9, 3], [0, -1], "a number > 0"),
        (flag(also=("warn",)), [True, False, "warn"], ["yes", 1, None], "true or false, or 'warn'"),
        (one_of("a", "b", null=True), ["a", None], ["c", 1], "one of: a, b, or null"),
        (either("an even number", lambda v: isinstance(v, int) and v % 2 == 0), [2], [3, "2"], "an even number"),
    ],
)
def test_a_rule_accepts_its_values_and_says_what_it_accepts(rule, good, bad, words):
    assert all(rule.accepts(v) for v in good), [v for v in good if not rule.accepts(v)]
    assert not any(rule.accepts(v) for v in bad), [v for v in bad if rule.accepts(v)]
    assert words in rule.describe()
    assert rule.error("k", bad[0]).startswith(f"k={bad[0]!r}: expected ") or rule.error("k", bad[0]).startswith("k=")


# -- the table on composed configs --------------------------------------------------------------------------------
def test_the_default_config_and_every_shipped_option_pass(tmp_path):
    options = [
        [],
        TINY,
        ["model=mlp"],
        ["data=table", "data.path=x.csv"],
        ["data=images", "data.path=x.csv"],
        ["data=noise"],
        ["data=fashion_grid"],
        ["approach=transfer"],
        ["approach=separate"],
        ["optimizer=sgd", "scheduler=cosine"],
        ["trainer=ddp_cpu"],
        ["logger=none", "callbacks=none"],
        *[[f"debug={p.stem}"] for p in sorted((Path(CONFIG_DIR) / "debug").glob("*.yaml"))],
    ]
    for overrides in options:
        assert config_errors(compose_config(overrides, tmp_path)) == [], overrides


def test_every_experiment_config_passes(tmp_path):
    for part in sorted((Path(CONFIG_DIR) / "experiment").glob("*.yaml")):
        assert config_errors(compose_config([f"experiment={part.stem}"], tmp_path)) == [], part.stem


@pytest.mark.parametrize(
    "override, line",
    [
        ("trainer.max_epochs=abc", "trainer.max_epochs='abc': expected an integer >= -1, or null (-1: no limit)"),
        ("model.width=0", "model.width=0: expected an integer >= 1"),
        ("model.width=", "model.width='' (empty): expected an integer >= 1"),
        ("model.width=null", "model.width=null (empty): expected an integer >= 1"),
        ("data.batch_size=-5", "data.batch_size=-5: expected an integer >= 1"),
        ("approach=transfer source.batch_size=0", "source.batch_size=0: expected an integer >= 1"),
        ("data.missing_rate=1.5", "data.missing_rate=1.5: expected a number in [0, 1], or a list or a mapping"),
        ("optimizer.lr=0", "optimizer.lr=0: expected a number > 0"),
        ("seed=-1", "seed=-1: expected an integer in [0, 4294967295]"),
        ("trainer.devices=0", "trainer.devices=0: expected a device count >= 1, -1 (all), 'auto'"),
        ("trainer.precision=17", "trainer.precision=17: expected one of: 64-true"),
        ("loss.normalization=exemples", "loss.normalization='exemples': expected one of: examples, labels"),
        ("callbacks.early_stopping.patience=-1", "callbacks.early_stopping.patience=-1: expected an integer >= 0"),
        ("trainer.fast_dev_run=maybe", "trainer.fast_dev_run='maybe': expected true, false or a number of batches"),
        ("data.relatedness=2", "data.relatedness=2: expected a number in [0, 1], or null"),
    ],
)
def test_a_bad_value_is_one_line_naming_key_value_and_range(tmp_path, override, line):
    errors = config_errors(compose_config(override.split(" "), tmp_path))
    assert len(errors) == 1 and errors[0].startswith(line), errors
    with pytest.raises(ConfigError) as err:
        check_config(compose_config(override.split(" "), tmp_path))
    assert "\n" not in str(err.value)


def test_every_bad_value_is_reported_at_once(tmp_path):
    cfg = compose_config(["trainer.max_epochs=abc", "model.width=0", "data.batch_size=-5"], tmp_path)
    with pytest.raises(ConfigError) as err:
        check_config(cfg)
    assert [line.split("=")[0] for line in str(err.value).splitlines()] == [
        "trainer.max_epochs",
        "model.width",
        "data.batch_size",
    ]


def test_keys_the_table_does_not_know_are_never_refused(tmp_path):
    cfg = compose_config(["+affinity_test.every=-3", "+model.new_knob=abc", "+trainer.detect_anomaly=true"], tmp_path)
    assert config_errors(cfg) == []
    assert config_errors(cfg, {"no.such.key": integer(1), "model.*.deep": integer(1)}) == []


def test_new_entries_can_be_registered_and_data_entries_apply_to_the_source_too(tmp_path):
    saved = dict(SCHEMA)
    try:
        register("data.num_workers", integer(0, 4))
        register("head.*", integer(0))  # wildcards: one key level
        overrides = ["approach=transfer", "data.num_workers=8", "source.num_workers=9", "head.hidden=-1"]
        cfg = compose_config(overrides, tmp_path)
        assert sorted(config_errors(cfg)) == [
            "data.num_workers=8: expected an integer in [0, 4]",
            "head.hidden=-1: expected an integer >= 0",
            "head.hidden=-1: expected an integer >= 1, or null",
            "source.num_workers=9: expected an integer in [0, 4]",
        ]
    finally:
        SCHEMA.clear()
        SCHEMA.update(saved)


def test_interpolations_are_checked_once_resolved(tmp_path):
    cfg = compose_config(["+x=-3", "data.batch_size=${x}"], tmp_path)
    assert config_errors(cfg) == ["data.batch_size=-3: expected an integer >= 1"]


# -- this machine -------------------------------------------------------------------------------------------------
@pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has a GPU")
def test_trainer_gpu_without_a_gpu_names_the_fix(tmp_path):
    line = env.accelerator_error(compose_config(["trainer=gpu"], tmp_path))
    assert "torch sees no CUDA GPU" in line and "trainer=cpu" in line and "CUDA build of torch" in line
    assert env.accelerator_error(compose_config([], tmp_path)) is None


def _zip_without_pickle(path: Path) -> Path:
    with zipfile.ZipFile(path, "w") as z:
        z.writestr("readme.txt", "hello")
    return path


@pytest.mark.parametrize(
    "content, words",
    [
        (b"epoch,loss\n1,0.5\n", "it looks like a text file"),
        (b'{"a": 1}', "it looks like JSON"),
        (b"", "an empty file"),
        (b"\x89HDF\r\n\x1a\n" + bytes(range(200)), "HDF5"),
        ("zip", "a zip archive without torch's data.pkl"),
    ],
)
def test_a_file_that_is_not_a_checkpoint_is_said_to_be_so(tmp_path, content, words):
    path = tmp_path / "model.ckpt"
    _zip_without_pickle(path) if content == "zip" else path.write_bytes(content)
    assert not checkpoints.is_torch_checkpoint(path)
    line = checkpoints.checkpoint_file_error("transfer.checkpoint", str(path))
    assert "is not a PyTorch checkpoint" in line and words in line and ".ckpt file written by mtlkit-train" in line
    cfg = compose_config(["approach=transfer", f"transfer.checkpoint={path}"], tmp_path)
    assert len(plugin_errors(cfg)) == 1
    [line] = plugin_errors(compose_config([f"ckpt_path={path}"], tmp_path))
    assert line.startswith(f"ckpt_path={path}: not a PyTorch checkpoint (") and words in line


def test_a_real_checkpoint_passes_and_a_missing_one_is_named(tmp_path):
    path = tmp_path / "real.ckpt"
    torch.save({"state_dict": {}}, path)
    assert (
        checkpoints.is_torch_checkpoint(path)
        and checkpoints.checkpoint_file_error("transfer.checkpoint", str(path)) is None
    )
    assert "does not exist" in checkpoints.checkpoint_file_error("transfer.checkpoint", str(tmp_path / "nope.ckpt"))
    cfg = compose_config([f"ckpt_path={tmp_path / 'nope.ckpt'}"], tmp_path)
    assert plugin_errors(cfg) == [f"ckpt_path={tmp_path / 'nope.ckpt'}: no such file; give a .ckpt file, "
                                          "`last` (this run folder's), or null"]  # fmt: skip


def test_wandb_online_without_a_key_is_refused_with_both_ways_out(tmp_path, monkeypatch):
    monkeypatch.delenv("WANDB_API_KEY", raising=False)
    monkeypatch.delenv("WANDB_MODE", raising=False)
    monkeypatch.setenv("NETRC", str(tmp_path / "no-netrc"))
    cfg = compose_config(["logger.wandb.offline=false"], tmp_path)
    line = env.wandb_error(cfg)
    assert "no wandb API key" in line and "`wandb login`" in line and "logger.wandb.offline=true" in line
    monkeypatch.setenv("WANDB_API_KEY", "x" * 40)
    monkeypatch.setattr(env, "wandb_unreachable", lambda timeout: None)  # no network here
    assert env.wandb_error(cfg) is None
    monkeypatch.delenv("WANDB_API_KEY")
    (tmp_path / "netrc").write_text("machine api.wandb.ai\n  login user\n  password " + "k" * 40 + "\n")
    monkeypatch.setenv("NETRC", str(tmp_path / "netrc"))
    assert env.wandb_error(cfg) is None
    assert env.wandb_error(compose_config([], tmp_path)) is None  # offline: no key needed
    assert env.wandb_timeout(cfg) <= 60  # a bounded wait, never wandb's silent default


def test_wandb_online_without_its_server_is_refused_within_seconds(tmp_path, monkeypatch):
    import socket
    import time

    with socket.socket() as s:  # a local port that nothing listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    monkeypatch.setenv("WANDB_BASE_URL", f"http://127.0.0.1:{port}")
    monkeypatch.setenv("WANDB_API_KEY", "a" * 40)
    monkeypatch.delenv("WANDB_MODE", raising=False)
    t0 = time.perf_counter()
    line = env.wandb_error(compose_config(["logger.wandb.offline=false"], tmp_path))
    assert time.perf_counter() - t0 < 15
    assert f"cannot be reached: http://127.0.0.1:{port}" in line and "logger.wandb.offline=true" in line


def test_a_run_folder_that_cannot_be_written_is_one_line_naming_the_settings(tmp_path):
    blocker = tmp_path / "a_file"
    blocker.write_text("")
    line = env.output_dir_error(blocker / "runs" / "x")
    assert line.startswith(f"cannot write the run folder {blocker / 'runs' / 'x'}")
    assert "MTLKIT_LOG_DIR=" in line and "hydra.run.dir=" in line
    assert env.output_dir_error(tmp_path / "ok") is None and (tmp_path / "ok").is_dir()
    assert list((tmp_path / "ok").iterdir()) == []  # the probe file is gone


def test_errors_of_the_users_setup_in_other_libraries_become_one_line():
    wandb_error = type("CommError", (Exception,), {"__module__": "wandb.errors.errors"})
    try:
        try:
            raise wandb_error("Run initialization has timed out after 60.0 sec.\nConsider increasing ...")
        except Exception as e:
            raise RuntimeError("in a logger") from e
    except RuntimeError as e:
        err = user_error(e)
    assert "wandb could not start online" in str(err) and "timed out after 60.0 sec" in str(err)
    assert "`wandb login`" in str(err) and "logger.wandb.offline=true" in str(err) and "\n" not in str(err)
    err = user_error(PermissionError(13, "Permission denied", "/ro/outputs/train"))
    assert "Permission denied: /ro/outputs/train" in str(err) and "MTLKIT_LOG_DIR" in str(err)
    assert user_error(RuntimeError("a bug")) is None and user_error(FileNotFoundError(2, "x")) is None


# -- Hydra's own errors -------------------------------------------------------------------------------------------
def _hydra_error(overrides: list[str], tmp_path) -> BaseException:
    with pytest.raises((ConfigCompositionException, MissingConfigException, OverrideParseException)) as err:
        compose_config(overrides, tmp_path)
    return err.value


@pytest.mark.parametrize(
    "args, line",
    [
        (["model.widht=16"], "model.widht=16: no such key; did you mean model.width=16?"),
        (["modle.width=16"], "modle.width=16: no such key; did you mean model.width=16?"),
        (["model=mlp", "model.dropuot=0.1"], "model.dropuot=0.1: no such key; did you mean model.dropout=0.1?"),
        (["debg=fdr"], "debg=fdr: no such key; did you mean debug=fdr? (a config group)"),
        (["approach=multitsak"], "approach=multitsak: no such option; did you mean approach=multitask?"),
        (["+model.width=3"], "+model.width=3: model.width exists already; set it without the +: model.width=3"),
        (["~model.foo"], "~model.foo: no such key to delete"),
        (["trainer.max_epochs=["], "cannot read the command line (no viable alternative at input '['"),
        (["seed=0,1"], "seed=0,1: a list is written seed=[0,1]"),
        (["model.zzzzzz=1"], "model.zzzzzz=1: no such key in model (its keys: _target_, depth, width)"),
    ],
)
def test_hydra_errors_are_one_line_with_the_closest_key(tmp_path, args, line):
    message = describe_hydra_error(_hydra_error(args, tmp_path), args)
    assert message.startswith(line), message
    assert "\n" not in message and "+model.widht" not in message


# Old spellings of keys that moved (issue 29): each strategy's options live in its conf/finetune/NAME.yaml,
# transfer's (and the source data, the finetune group) come only with approach=transfer.
@pytest.mark.parametrize(
    "args, line",
    [
        (
            ["approach=transfer", "finetune.k=2"],
            "finetune.k=2: finetune=full has no k; k is an option of finetune=last_k: choose finetune=last_k",
        ),
        (
            ["approach=transfer", "finetune=last_k", "finetune.unfreeze_epoch=3"],
            "finetune.unfreeze_epoch=3: finetune=last_k has no unfreeze_epoch; unfreeze_epoch is an option of "
            "finetune=gradual: choose finetune=gradual",
        ),
        (
            ["finetune.k=2"],
            "finetune.k=2: the finetune group comes only with approach=transfer; add approach=transfer (and "
            "finetune=last_k, which has k)",
        ),
        (["finetune=last_k"], "finetune=last_k: the finetune group comes only with approach=transfer; add approach="),
        (["data@source=noise"], "data@source=noise: the data@source group comes only with approach=transfer; add"),
        (["transfer.checkpoint=x.ckpt"], "transfer.checkpoint=x.ckpt: transfer.* comes only with approach=transfer;"),
        (["source.num_train=3"], "source.num_train=3: source.* comes only with approach=transfer; add approach="),
        (["finetune.head_layers=2"], "finetune.head_layers=2: finetune.* comes only with approach=transfer; add"),
        (["data=table", "data.grid=2"], "data.grid=2: data=table has no grid; grid is an option of data=driving"),
    ],
)
def test_a_moved_key_gets_one_line_naming_where_it_lives_now(tmp_path, args, line):
    message = describe_hydra_error(_hydra_error(args, tmp_path), args)
    assert message.startswith(line), message
    assert "\n" not in message


def test_a_moved_key_in_a_sweep_gets_the_spelling_that_sets_it_where_it_exists(tmp_path):
    args = ["source.num_train=256"]
    message = describe_hydra_error(_hydra_error(args, tmp_path), ["-m", "approach=multitask,transfer", *args])
    assert message == (
        "source.num_train=256: source.* comes only with approach=transfer; add approach=transfer; in a sweep whose "
        "jobs differ there, ++source.num_train=256 sets it where it exists and adds it elsewhere"
    )


def test_options_of_every_group_are_read_with_what_they_bring():
    by_choice = {o.choice: o for o in key_homes.options()}
    assert by_choice["approach=transfer"].is_global and set(by_choice["approach=transfer"].brings) == {
        "source",
        "finetune",
    }
    assert by_choice["finetune=last_k"].defines("k") and not by_choice["finetune=full"].defines("k")
    assert key_homes.bringers("transfer", "checkpoint") == ["approach=transfer"]
    assert key_homes.bringers("model") == [] and key_homes.defining_options("model", "widht") == []


def test_the_closest_key_is_searched_level_by_level(tmp_path):
    cfg = compose_config([], tmp_path)
    assert suggest_key("trainer.max_epoch", cfg)[0] == "trainer.max_epochs"
    assert suggest_key("optimizr.lr", cfg)[0] == "optimizer.lr"
    assert suggest_key("zzz.qqq", cfg)[0] is None


def test_check_config_on_a_config_without_hydra_runtime_skips_what_it_cannot_resolve(tmp_path):
    cfg = compose_config([], tmp_path)
    with open_dict(cfg):
        cfg.paths.output_dir = "${hydra:runtime.output_dir}"
        cfg.data.batch_size = "${hydra:runtime.nope}"
    assert config_errors(cfg) == []
    assert OmegaConf.select(cfg, "model.width") == 32
