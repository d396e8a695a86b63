"""The README's "Bring your own data" commands run as written on the files shipped under examples/, and the error
message it quotes is the one the command prints."""

import json
import re
import shlex

import pytest

from tests.conftest import REPO
from tests.helpers import results_files, run_cli


def _readme_commands(prefix: str) -> list[str]:
    text = (REPO / "README.md").read_text()
    section = text.split("## Bring your own data", 1)[1].split("\n## ", 1)[0]
    return [line for line in re.findall(r"^mtlkit-train .*$", section, flags=re.M) if line.startswith(prefix)]


@pytest.mark.slow
@pytest.mark.parametrize("kind", ["table", "images"])
def test_readme_example_runs_as_written(tmp_path, monkeypatch, kind):
    commands = _readme_commands(f"mtlkit-train data={kind} data.path=examples/")
    assert len(commands) == 1, commands
    args = shlex.split(commands[0])[1:]
    monkeypatch.chdir(REPO)  # the README's paths are relative to the repository root
    proc = run_cli([*args, "trainer.max_epochs=1", "logger=csv", "callbacks.rich_progress_bar=null"], tmp_path)
    assert proc.returncode == 0, proc.stderr[-3000:]
    res = json.loads(results_files(tmp_path)[0].read_text())
    assert res["data"]["name"] == kind and set(res["metrics"]) == {"val", "test"}


@pytest.mark.slow
def test_the_readme_quotes_the_message_a_typo_gets(tmp_path):
    text = (REPO / "README.md").read_text()
    command, message = re.search(r"`(mtlkit-train [^`]+)` gives\n`([^`]+)`", text).groups()
    proc = run_cli(shlex.split(command)[1:], tmp_path)
    assert proc.returncode == 2 and proc.stderr.strip() == message
    assert not results_files(tmp_path)
