"""``experiment=NAME`` finds the evidence's presets in experiments/conf/experiment/ of a source checkout (a Hydra
search-path plugin adds that folder after mtlkit's conf/), from any working directory; Hydra apps of other
projects keep their own search path; without the folder, the error is one line that says where the presets are."""

from __future__ import annotations

import pytest
from hydra.core.config_search_path import ConfigSearchPath
from hydra.errors import ConfigCompositionException

from hydra_plugins.mtlkit_experiments.searchpath import EXPERIMENTS_CONF, MtlkitExperimentsSearchPath
from mtlkit.config import CONFIG_DIR, EXPERIMENTS_CONFIG_DIR, NO_EXPERIMENTS, compose_train, config_groups
from mtlkit.config_checks.hydra_errors import describe_hydra_error


def _search_path(primary: str) -> ConfigSearchPath:
    from hydra._internal.config_search_path_impl import ConfigSearchPathImpl

    path = ConfigSearchPathImpl()
    path.append("hydra", "pkg://hydra.conf")
    path.append("main", primary)
    return path


def test_the_plugin_and_mtlkit_name_the_same_folder_and_it_holds_the_presets():
    assert EXPERIMENTS_CONF == EXPERIMENTS_CONFIG_DIR
    assert (EXPERIMENTS_CONFIG_DIR / "experiment" / "c1_partial_labels.yaml").is_file()


def test_the_presets_folder_comes_after_mtlkits_conf_and_only_for_mtlkit():
    ours = _search_path(f"file://{CONFIG_DIR}")
    MtlkitExperimentsSearchPath().manipulate_search_path(ours)
    assert [e.path for e in ours.get_path()][1:] == [f"file://{CONFIG_DIR}", f"file://{EXPERIMENTS_CONFIG_DIR}"]
    other = _search_path("file:///some/other/app/conf")
    MtlkitExperimentsSearchPath().manipulate_search_path(other)
    assert [e.path for e in other.get_path()] == ["pkg://hydra.conf", "file:///some/other/app/conf"]


def test_a_preset_composes_from_any_working_directory(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    cfg = compose_train(["experiment=c1_partial_labels"])
    assert cfg.task_name == "c1_partial_labels" and cfg.data.num_train == 5000
    nested = compose_train(["experiment=r2_c9/end_to_end"])
    assert nested.task_name == "r2_c9_end_to_end"


def test_mtlkit_train_help_lists_the_presets_of_the_checkout():
    (group,) = [g for g in config_groups() if g.name == "experiment"]
    assert "c1_partial_labels" in group.options and "r2_c9/pipeline" in group.options
    assert not any(g.name == "experiment" for g in config_groups(more=()))  # an installed mtlkit: no such group


def test_without_the_presets_experiment_is_one_line_naming_where_they_are(tmp_path):
    """Composing mtlkit's conf/ alone (as installed: no experiments/ folder) and describing Hydra's error."""
    from hydra import compose, initialize_config_dir
    from hydra.core.global_hydra import GlobalHydra

    conf = tmp_path / "conf"
    conf.symlink_to(CONFIG_DIR, target_is_directory=True)  # another path: the plugin leaves it alone
    GlobalHydra.instance().clear()
    with initialize_config_dir(config_dir=str(conf), version_base="1.3"):
        with pytest.raises(ConfigCompositionException) as caught:
            compose(config_name="train", overrides=["experiment=c1_partial_labels"])
    GlobalHydra.instance().clear()
    line = describe_hydra_error(caught.value, ["experiment=c1_partial_labels"])
    assert line == f"experiment=c1_partial_labels: {NO_EXPERIMENTS}"
    assert "\n" not in line and "experiments/conf/experiment/" in line and "pip install -e ." in line
