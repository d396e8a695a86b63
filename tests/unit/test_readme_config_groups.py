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
