"""The README's config-group table against conf/: every group and every option there, none that does not exist,
the default marked (mtlkit.config.config_groups reads conf/; mtlkit-train --help lists the same)."""

from __future__ import annotations

import re

import pytest

from mtlkit.config import config_groups
from tests.conftest import REPO

GROUPS = {group.name: group for group in config_groups()}
SUMMARISED = "experiment"  # dozens of presets: the README names some and points at experiments/conf/experiment/


def readme_table() -> dict[str, str]:
    """The group table's rows after the ``config-groups`` marker: group -> its options cell."""
    text = (REPO / "README.md").read_text()
    table = text.split("<!-- config-groups:", 1)[1].split("\n\n", 1)[0]
    rows = re.findall(r"^\| `([^`]+)` \| (.*?) \| .* \|$", table, flags=re.M)
    assert len(rows) == len({name for name, _ in rows}), "a group listed twice"
    return dict(rows)


README = readme_table()


def test_the_table_lists_every_group_of_conf_and_no_other():
    assert set(README) == set(GROUPS)


@pytest.mark.parametrize("name", sorted(GROUPS))
def test_the_row_names_every_option_of_the_group_and_only_those(name):
    group, cell = GROUPS[name], README[name]
    named = {n for n in re.findall(r"`([^`]+)`", cell) if "=" not in n}  # `approach=transfer` is a command
    referenced = {n for n in named if n in GROUPS and n not in group.options}  # "any `data` option"
    options = set(group.options).union(*(GROUPS[r].options for r in referenced))
    if name == SUMMARISED:
        assert f"experiments/conf/{name}/" in named
        presets = named - {f"experiments/conf/{name}/"}
        assert presets and all(p in options or any(o.startswith(p.rstrip(".")) for o in options) for p in presets)
        return
    assert named - referenced == options & named, f"options that do not exist: {named - referenced - options}"
    assert referenced or options <= named, f"missing from the README: {options - named}"


@pytest.mark.parametrize("name", sorted(n for n, g in GROUPS.items() if g.default))
def test_the_row_marks_the_default(name):
    default, cell = GROUPS[name].default, README[name]
    assert re.search(rf"`{re.escape(default)}` \([^)]*default|default `{re.escape(default)}`", cell), cell


def _own_options(path) -> list[str]:
    """A strategy config's own options: its keys besides ``_target_`` and ``strategy`` (the shared ones, head_layers
    ... lr_decay, come from conf/approach/transfer.yaml; gradual also sets backbone_lr_scale)."""
    from omegaconf import OmegaConf

    shared = set(OmegaConf.load(REPO / "conf/approach/transfer.yaml").finetune)
    return [k for k in OmegaConf.load(path) if k not in {"_target_", "strategy", *shared}]


@pytest.mark.parametrize("path", sorted((REPO / "conf/finetune").glob("*.yaml")), ids=lambda p: p.stem)
def test_each_strategys_own_options_are_named_where_the_docs_say_they_live(path):
    """The README's finetune row (`last_k`: `k`) and docs/transfer.md's table (`finetune.k` ... conf/finetune/
    last_k.yaml) name exactly the options each conf/finetune/NAME.yaml has of its own."""
    row = (REPO / "README.md").read_text().split("| `finetune` |", 1)[1].split("\n", 1)[0]
    own_part = row.split("its own", 1)[1]
    in_readme = re.findall(rf"`{path.stem}`: ((?:`\w+`(?!:),? ?)+)", own_part)
    docs = (REPO / "docs/transfer.md").read_text()
    in_docs = [line for line in docs.splitlines() if f"| conf/finetune/{path.stem}.yaml |" in line]
    own = _own_options(path)
    if not own:
        assert not in_readme and not in_docs
        return
    assert len(in_readme) == 1 and re.findall(r"`(\w+)`", in_readme[0]) == own, row
    assert len(in_docs) == 1 and re.findall(r"`finetune\.(\w+)`", in_docs[0]) == own, in_docs
