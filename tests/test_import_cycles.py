"""No import cycles in product code: app.py, stacks/, constructs/, config/, tools/ and each Lambda package.

The module graph is read statically (ast), so it sees every import a file holds: module level, inside functions
(a lazy import is how a cycle usually hides) and under `if TYPE_CHECKING:` (no cycle at run time, but still two
modules that each need the other to be read or type-checked). Modules are named as Python finds them: from the
repository root (`config.model`, `constructs.lattice.service`), and a Lambda package's from lambda/, which the
runtime (and pytest's pythonpath) puts on sys.path (`k8s_api.client`). The walk takes whatever files are there,
so a folder that becomes subpackages (constructs/, a namespace extension of the jsii `constructs` library without
a top-level __init__.py) is covered as it is. An import of a module outside these trees (a library, the jsii
`constructs` itself) is no edge.

Each strongly connected component of more than one module is a cycle; the failure names one loop through it with
the file and line of each import.
"""

from __future__ import annotations

import ast
from collections.abc import Iterable, Mapping
from pathlib import Path

import pytest

from tests.conftest import ROOT

# (folder or file, the directory module names are relative to)
PRODUCT = ("app.py", "stacks", "constructs", "config", "tools")
SKIPPED_DIRS = {"__pycache__", "node_modules", "cdk.out", ".venv"}

Edge = tuple[str, str, int]  # (importer's file, imported module, line)


def product_files(root: Path) -> dict[str, Path]:
    """Module name -> file, for every product module under `root`."""
    found: dict[str, Path] = {}
    trees = [(root / p, root) for p in PRODUCT]
    lambda_dir = root / "lambda"
    if lambda_dir.is_dir():
        trees += [(p, lambda_dir) for p in sorted(lambda_dir.iterdir()) if p.is_dir() and p.name not in SKIPPED_DIRS]
    for tree, base in trees:
        files = [tree] if tree.is_file() else sorted(tree.rglob("*.py")) if tree.is_dir() else []
        for file in files:
            if SKIPPED_DIRS & set(file.relative_to(base).parts):
                continue
            parts = list(file.relative_to(base).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts.pop()
            elif (file.with_suffix("") / "__init__.py").is_file():
                # A script beside its same-named package (tools/impact.py, kept for `python tools/impact.py`):
                # an import finds the package, so the script is run, never imported; its own imports still count.
                parts[-1] += ":script"
            found[".".join(parts)] = file
    return found


def _package(module: str, file: Path) -> str:
    """The package a relative import in `module` is resolved against."""
    return module if file.name == "__init__.py" else module.rpartition(".")[0]


def _known(name: str, modules: Iterable[str]) -> str | None:
    """`name` or its longest prefix that is a product module (import a.b.c runs a.b.c; a.b.c.X is a name)."""
    known = set(modules)
    parts = name.split(".")
    for end in range(len(parts), 0, -1):
        if (candidate := ".".join(parts[:end])) in known:
            return candidate
    return None


def import_graph(root: Path) -> dict[str, list[Edge]]:
    """Module -> the product modules it imports (file, module, line), read from every import statement."""
    files = product_files(root)
    graph: dict[str, list[Edge]] = {m: [] for m in files}
    for module, file in files.items():
        where = file.relative_to(root).as_posix()
        for node in ast.walk(ast.parse(file.read_text(), filename=str(file))):
            if not isinstance(node, ast.Import | ast.ImportFrom):
                continue
            targets: list[str] = []
            if isinstance(node, ast.Import):
                targets = [alias.name for alias in node.names]
            else:
                base = node.module or ""
                if node.level:
                    package = _package(module, file).split(".")
                    package = package[: len(package) - (node.level - 1)] if node.level > 1 else package
                    base = ".".join([*package, *([base] if base else [])])
                # `from pkg import name` imports the submodule pkg.name when there is one, else a name of pkg.
                subs = [f"{base}.{alias.name}" for alias in node.names]
                targets = [s for s in subs if s in files] + ([base] if any(s not in files for s in subs) else [])
            for target in targets:
                imported = _known(target, files) if target else None
                if imported is not None and imported != module:
                    graph[module].append((where, imported, node.lineno))
    return graph


def strongly_connected(graph: Mapping[str, list[Edge]]) -> list[list[str]]:
    """Tarjan's components of more than one module (iterative: no recursion limit on a deep graph)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    on_stack: set[str] = set()
    stack: list[str] = []
    found: list[list[str]] = []
    for start in sorted(graph):
        if start in index:
            continue
        work = [(start, iter(sorted({e[1] for e in graph[start]})))]
        index[start] = low[start] = len(index)
        stack.append(start)
        on_stack.add(start)
        while work:
            node, successors = work[-1]
            for nxt in successors:
                if nxt not in index:
                    index[nxt] = low[nxt] = len(index)
                    stack.append(nxt)
                    on_stack.add(nxt)
                    work.append((nxt, iter(sorted({e[1] for e in graph[nxt]}))))
                    break
                if nxt in on_stack:
                    low[node] = min(low[node], index[nxt])
            else:
                work.pop()
                if work:
                    low[work[-1][0]] = min(low[work[-1][0]], low[node])
                if low[node] == index[node]:
                    component = []
                    while True:
                        member = stack.pop()
                        on_stack.discard(member)
                        component.append(member)
                        if member == node:
                            break
                    if len(component) > 1:
                        found.append(sorted(component))
    return sorted(found)


def describe_cycle(graph: Mapping[str, list[Edge]], component: list[str]) -> str:
    """One loop through the component, each step with the import that makes it: a -> b (file:line) -> ... -> a."""
    members = set(component)
    start = component[0]
    # Breadth-first from start's successors back to start, inside the component: the shortest loop.
    came_from: dict[str, tuple[str, Edge] | None] = {start: None}
    frontier = [start]
    while frontier:
        following: list[str] = []
        for node in frontier:
            for edge in graph[node]:
                if edge[1] not in members:
                    continue
                if edge[1] == start:
                    steps = [edge]
                    back = node
                    while (prev := came_from[back]) is not None:
                        back, step = prev
                        steps.append(step)
                    steps.reverse()
                    text = start
                    for file, target, line in steps:
                        text += f" -> {target} ({file}:{line})"
                    return text
                if edge[1] not in came_from:
                    came_from[edge[1]] = (node, edge)
                    following.append(edge[1])
        frontier = following
    raise AssertionError(f"{component} is no cycle")


def cycle_report(root: Path) -> list[str]:
    graph = import_graph(root)
    return [describe_cycle(graph, c) for c in strongly_connected(graph)]


def test_product_code_has_no_import_cycles() -> None:
    graph = import_graph(ROOT)
    # The walk found the trees it is meant to cover (a renamed folder would make this test vacuous).
    for module in ("app", "config.model", "config.errors", "stacks", "tools.impact", "k8s_api"):
        assert module in graph, module
    assert any(m.startswith("constructs.") for m in graph)
    assert sum(len(edges) for edges in graph.values()) > 100
    found = strongly_connected(graph)
    assert [describe_cycle(graph, c) for c in found] == []


def _tree(root: Path, files: Mapping[str, str]) -> Path:
    for name, text in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text)
    return root


@pytest.mark.parametrize(
    ("files", "expected"),
    [
        pytest.param(  # the shape config/ had: a lazy import back, inside a function
            {
                "config/__init__.py": "",
                "config/model.py": "def f():\n    from config.names import g\n",
                "config/names.py": "from config import model\n",
            },
            "config.model -> config.names (config/model.py:2) -> config.model (config/names.py:1)",
            id="lazy-from-package-import-submodule",
        ),
        pytest.param(  # an annotation-only import still ties the two modules together
            {
                "config/__init__.py": "",
                "config/a.py": "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from config.b import B\n",
                "config/b.py": "import config.a\n",
            },
            "config.a -> config.b (config/a.py:3) -> config.a (config/b.py:1)",
            id="type-checking",
        ),
        pytest.param(  # relative imports in a Lambda package, named as the runtime imports them
            {
                "lambda/probe/__init__.py": "from .handler import run\n",
                "lambda/probe/handler.py": "from . import checks\n",
                "lambda/probe/checks.py": "from ..probe import handler\n",
            },
            "probe.checks -> probe.handler (lambda/probe/checks.py:1) -> probe.checks (lambda/probe/handler.py:1)",
            id="lambda-relative",
        ),
        pytest.param(  # subpackages inside the namespace folder constructs/ (no top-level __init__.py)
            {
                "constructs/lattice/__init__.py": "from constructs.lattice.service import Service\n",
                "constructs/lattice/service.py": "from constructs.dns import Records\n",
                "constructs/dns/__init__.py": "from constructs.dns.records import Records\n",
                "constructs/dns/records.py": "from constructs.lattice import Service\n",
            },
            "constructs.dns -> constructs.dns.records (constructs/dns/__init__.py:1) -> constructs.lattice "
            "(constructs/dns/records.py:1) -> constructs.lattice.service (constructs/lattice/__init__.py:1) -> "
            "constructs.dns (constructs/lattice/service.py:1)",
            id="constructs-subpackages",
        ),
        pytest.param(  # tools and the app across trees
            {"app.py": "from tools import synth\n", "tools/synth.py": "import app\n"},
            "app -> tools.synth (app.py:1) -> app (tools/synth.py:1)",
            id="across-trees",
        ),
    ],
)
def test_a_cycle_is_found_and_named(tmp_path: Path, files: dict[str, str], expected: str) -> None:
    assert cycle_report(_tree(tmp_path, files)) == [expected]


def test_imports_without_a_cycle_pass(tmp_path: Path) -> None:
    root = _tree(
        tmp_path,
        {
            "config/__init__.py": "from config.model import AppConfig\n",
            "config/errors.py": "class ConfigError(ValueError): ...\n",
            "config/model.py": (
                "from config.errors import ConfigError\nfrom config import errors\nimport config.errors as e\n"
            ),
            # A library of another name, and the jsii library our constructs/ extends: no edges.
            "constructs/cluster.py": "from constructs import Construct\nimport aws_cdk\nfrom config import model\n",
            "lambda/probe/handler.py": "from k8s_api import KubeClient\n",
        },
    )
    graph = import_graph(root)
    assert {m: sorted({e[1] for e in edges}) for m, edges in graph.items()} == {
        "config": ["config.model"],
        "config.errors": [],
        "config.model": ["config.errors"],
        "constructs.cluster": ["config.model"],
        "probe.handler": [],
    }
    assert cycle_report(root) == []
