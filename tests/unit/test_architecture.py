"""The layout's boundaries: no import cycle under src/mtlkit, plug-ins never reach up into approaches or the
run/build layer, a data source never imports another, and every ``data=NAME`` is one file under data/sources/."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from tests.helpers import compose_config

REPO = Path(__file__).resolve().parents[2]
SRC = REPO / "src"
PLUGINS = (
    "mtlkit.objective",
    "mtlkit.models",
    "mtlkit.data",
    "mtlkit.finetune",
    "mtlkit.evaluation",
    "mtlkit.grouping",
)
UPPER = ("mtlkit.approaches", "mtlkit.build", "mtlkit.run", "mtlkit.cli")
LOOSE_AT_TOP = {"errors", "console", "config", "run", "torchvision_compat"}


def module_name(path: Path) -> str:
    parts = list(path.relative_to(SRC).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {module_name(p): p for p in (SRC / "mtlkit").rglob("*.py")}


def imported(name: str) -> set[str]:
    """The mtlkit modules ``name`` imports anywhere in its file (top level or inside functions)."""
    tree = ast.parse(MODULES[name].read_text())
    out: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out |= {a.name for a in node.names if a.name.startswith("mtlkit")}
        elif isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("mtlkit") and not node.level:
            for alias in node.names:
                sub = f"{node.module}.{alias.name}"
                out.add(sub if sub in MODULES else node.module)
    return {m for m in out if m in MODULES and m != name}


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components of more than one node (Tarjan), each a list of modules."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph.get(v, ())):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return found


GRAPH = {name: imported(name) for name in MODULES}


def test_the_cycle_finder_finds_cycles():
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert cycles({"a": {"b"}, "b": set()}) == []


def test_no_import_cycle_under_src_mtlkit():
    assert cycles(GRAPH) == []


def package(name: str) -> str:
    """The top-level package of a module (``mtlkit.runtime.resume`` -> ``mtlkit.runtime``); loose: itself."""
    return ".".join(name.split(".")[:2])


def test_no_import_cycle_between_packages():
    """A package that imports another is never imported back by it, through any chain (cli -> report, not both)."""
    packages: dict[str, set[str]] = {}
    for name, deps in GRAPH.items():
        packages.setdefault(package(name), set()).update(package(d) for d in deps if package(d) != package(name))
    assert cycles(packages) == []
    assert cycles({"mtlkit.a": {"mtlkit.b"}, "mtlkit.b": {"mtlkit.a"}}) == [["mtlkit.a", "mtlkit.b"]]


@pytest.mark.parametrize("plugin", PLUGINS)
def test_plugin_packages_never_import_the_approaches_or_the_run_layer(plugin):
    bad = {
        f"{name} imports {dep}"
        for name, deps in GRAPH.items()
        if name == plugin or name.startswith(plugin + ".")
        for dep in deps
        if any(dep == upper or dep.startswith(upper + ".") for upper in UPPER)  # mtlkit.run, not mtlkit.runtime
    }
    assert not bad


def test_a_data_source_never_imports_another():
    sources = [n for n in MODULES if n.startswith("mtlkit.data.sources.")]
    assert len(sources) >= 5
    bad = {f"{n} imports {d}" for n in sources for d in GRAPH[n] if d in sources}
    assert not bad


def test_every_data_option_is_one_file_under_data_sources(tmp_path):
    for file in sorted((REPO / "conf" / "data").glob("*.yaml")):
        target = compose_config([f"data={file.stem}"], tmp_path).data._target_
        module = target.rsplit(".", 1)[0]
        assert module.startswith("mtlkit.data.sources.") and module in MODULES, (file.name, target)


def test_only_a_handful_of_modules_stand_loose_at_the_top():
    loose = {p.stem for p in (SRC / "mtlkit").glob("*.py") if p.stem != "__init__"}
    assert loose <= LOOSE_AT_TOP, loose - LOOSE_AT_TOP


def test_every_package_lists_its_public_names():
    for init in (SRC / "mtlkit").rglob("__init__.py"):
        tree = ast.parse(init.read_text())
        names = [
            t.id
            for node in tree.body
            if isinstance(node, ast.Assign | ast.AnnAssign)
            for t in (node.targets if isinstance(node, ast.Assign) else [node.target])
            if isinstance(t, ast.Name)
        ]
        assert "__all__" in names and ast.get_docstring(tree), f"{init.relative_to(SRC)}: docstring and __all__"
