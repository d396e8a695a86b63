"""The real command line, in a subprocess, as a user runs it."""

import json
import re

import pytest

from mtlkit.config import config_groups
from tests.conftest import TINY
from tests.helpers import results_files, run_cli
from tests.helpers.subprocess_runs import train


def test_cli_run_writes_results_json_and_prints_tables(tmp_path):
    proc = run_cli([*TINY, "data.missing_rate=0.8", "model.width=16", "trainer.max_epochs=2"], tmp_path)
    assert proc.returncode == 0, proc.stderr[-3000:]
    files = results_files(tmp_path)
    assert len(files) == 1
    res = json.loads(files[0].read_text())
    assert res["epochs"] == 2
    run_dir = files[0].parent
    assert (run_dir / ".hydra" / "config.yaml").exists()
    assert (run_dir / "checkpoints" / "last.ckpt").exists()
    assert list((run_dir / "csv").rglob("metrics.csv"))
    assert "Labels of data set 'driving'" in proc.stdout and "macro" in proc.stdout
    # train.log holds what the console showed: the label table, trainable parameters, per-epoch lines, the tables
    log = (run_dir / "train.log").read_text()
    for words in ("Labels of data set 'driving'", "trainable", "[mtlkit] epoch 2/2 done", "macro", "GPU available"):
        assert words in log, words
    assert "\x1b[" not in log
    unknown = sum(c["unknown"] for c in res["label_counts"]["train"].values())
    assert 0.75 < unknown / (256 * 4) < 0.85


def test_cli_unknown_key_fails_with_a_clear_message(tmp_path):
    proc = run_cli([*TINY, "model.widht=16"], tmp_path)
    assert proc.returncode == 2
    assert proc.stderr.strip() == "mtlkit-train: error: model.widht=16: no such key; did you mean model.width=16?"
    assert not results_files(tmp_path)


def test_cli_unknown_task_fails_with_one_line_naming_the_known_tasks(tmp_path):
    proc = run_cli([*TINY, "data.tasks=[bus]"], tmp_path)
    assert proc.returncode == 2
    assert "mtlkit-train: error: data.tasks names unknown task(s) ['bus']" in proc.stderr
    assert "pedestrian" in proc.stderr and "Traceback" not in proc.stderr


def test_cli_bad_value_inside_a_constructor_is_one_line_too(tmp_path):
    proc = run_cli([*TINY, "model.depth=0"], tmp_path)
    assert proc.returncode == 2
    assert "model.depth" in proc.stderr and "Traceback" not in proc.stderr


# A battery of malformed commands: each gets one line naming the problem and its fix, exit code 2, before any
# work (no data built, no logger started) and without creating any folder.
MALFORMED = {
    "type error": (["trainer.max_epochs=abc"], "trainer.max_epochs='abc': expected an integer >= -1"),
    "empty value": (["model.width="], "model.width='' (empty): expected an integer >= 1"),
    "range": (["model.width=0"], "model.width=0: expected an integer >= 1"),
    "negative batch": (["data.batch_size=-5"], "data.batch_size=-5: expected an integer >= 1"),
    "typo in a key": (["modle.width=8"], "modle.width=8: no such key; did you mean model.width=8?"),
    "typo in an option": (["approach=multitsak"], "did you mean approach=multitask?"),
    "typo in a group": (["debg=fdr"], "did you mean debug=fdr?"),
    "a sweep without -m": (["seed=0,1"], "needs -m (--multirun)"),
    "gpu on a cpu machine": (["trainer=gpu"], "use trainer=cpu, or on a GPU machine install the CUDA build"),
    "not a checkpoint": (["approach=transfer", "transfer.checkpoint=README.md"], "is not a PyTorch checkpoint"),
    "wandb online, no key": (["logger=wandb", "logger.wandb.offline=false"], "`wandb login`"),
    "resume of nothing": (["resume=/no/such/run"], "give the folder of a run"),
    "a strategy's option under another": (
        ["approach=transfer", "finetune=full", "finetune.k=2"],
        "finetune.k=2: finetune=full has no k; k is an option of finetune=last_k: choose finetune=last_k",
    ),
    "a transfer key without transfer": (
        ["transfer.checkpoint=x.ckpt"],
        "transfer.checkpoint=x.ckpt: transfer.* comes only with approach=transfer; add approach=transfer",
    ),
    "a strategy without transfer": (
        ["finetune=last_k"],
        "finetune=last_k: the finetune group comes only with approach=transfer; add approach=transfer",
    ),
}


@pytest.mark.parametrize("args, words", MALFORMED.values(), ids=MALFORMED.keys())
def test_a_malformed_command_gets_one_line_and_writes_nothing(tmp_path, args, words):
    if args == ["trainer=gpu"]:
        import torch

        if torch.cuda.is_available():
            pytest.skip("this machine has a GPU")
    env = {"WANDB_API_KEY": "", "NETRC": str(tmp_path / "no-netrc"), "WANDB_MODE": "online"}
    proc = train([*TINY, *args], tmp_path / "logs", **env)  # wandb online only if the config asks for it
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    assert proc.returncode == 2, proc.stderr[-3000:]
    assert len(lines) == 1 and lines[0].startswith("mtlkit-train: error: ") and words in lines[0], proc.stderr
    assert "Labels of data set" not in proc.stdout, "refused after the data was built"
    assert not (tmp_path / "logs").exists(), "a refused command created a folder"


def test_an_unwritable_log_folder_is_one_line_naming_the_settings(tmp_path):
    blocker = tmp_path / "a_file"
    blocker.write_text("")  # a folder cannot be made under a file, even by root
    proc = run_cli(TINY, blocker / "logs")
    assert proc.returncode == 2, proc.stderr[-3000:]
    assert proc.stderr.count("\n") == 1 and "cannot write the run folder" in proc.stderr
    assert "MTLKIT_LOG_DIR=" in proc.stderr and "hydra.run.dir=" in proc.stderr and "Traceback" not in proc.stderr


@pytest.fixture(scope="module")
def help_run(tmp_path_factory):
    """``mtlkit-train --help``, run once for the tests of its page."""
    return run_cli(["--help"], tmp_path_factory.mktemp("help"))


@pytest.mark.xdist_group("help_run")
def test_help_is_mtlkits_own_short_page(help_run):
    proc = help_run
    assert proc.returncode == 0, proc.stderr[-3000:]
    text = proc.stdout
    assert len(text.splitlines()) < 80, "no config dump"
    for words in (
        "mtlkit-train: train one approach",
        "The five most common overrides",
        "trainer.max_epochs=20",
        "MTLKIT_LOG_DIR",
        "overwrite=true",
        'eval "$(mtlkit-train -sc install=bash)"',
    ):
        assert words in text, words


@pytest.mark.xdist_group("help_run")
def test_help_lists_every_config_group_of_conf_once_with_all_its_options(help_run):
    text = help_run.stdout
    listed = re.findall(r"^  (\S+) +\S.*\n((?: {17}\S.*\n)+)", text, flags=re.M)  # name + purpose, option lines
    groups = config_groups()
    assert len(groups) >= 17 and [name for name, _ in listed] == [g.name for g in groups]  # each once, none missing
    for group, (_, block) in zip(groups, listed, strict=True):
        words = set(re.findall(r"[\w/]+", block))
        named = group.options if group.name != "experiment" else (group.options[0], group.options[-1])
        assert set(named) <= words, (group.name, block)
        assert group.default is None or f"{group.default} (default)" in block
