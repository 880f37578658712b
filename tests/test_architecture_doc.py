"""docs/architecture.md against the code (issue 28 rebuilt the layout and the page kept the old one): the
repository layout block lists exactly the real top-level folders and every package of constructs/, lambda/ and
tools/, and the diagram's capability nodes are constructs/'s packages, each λ node carrying the packages its
function ships (the `packages=` tuple its construct passes) and hanging off the package whose construct makes it."""

from __future__ import annotations

import re
import subprocess

import pytest

from tests.conftest import ROOT
from tests.support import docs, lambda_assets

PAGE = "architecture.md"
_NODE = re.compile(r"""\b(\w+)\["(\w+): [^"]*"\]""")
_LAMBDA = re.compile(r"""\b(\w+)\(\["([^"]*?) λ \(([\w +]+)\)"\]\)""")
_EDGE = re.compile(r"^\s*(\w+) --> (\w+)", flags=re.M)


def _packages(folder: str) -> set[str]:
    return {p.parent.name for p in (ROOT / folder).glob("*/__init__.py")}


def _block(text: str, after: str, opening: str) -> str:
    start = text.index(opening, text.index(after)) + len(opening)
    return text[start : text.index("\n```", start)]


def layout(text: str) -> dict[str, set[str]]:
    """The layout block's folders: each top-level folder with the sub-folders indented under it."""
    folders: dict[str, set[str]] = {}
    current = ""
    for line in _block(text, "## Repository layout", "```\n").splitlines():
        m = re.match(r"^( *)([\w.]+)/(?:\s|$)", line)
        if m and not m.group(1):
            current = m.group(2)
            folders[current] = set()
        elif m and current:
            folders[current].add(m.group(2))
    return folders


def diagram(text: str) -> tuple[set[str], set[tuple[str, str]]]:
    """The diagram's capability packages, and (package, shipped packages) for each edge into a λ node."""
    block = text[text.index("flowchart LR\n  subgraph platform") :]
    block = block[: block.index("\n```")]
    nodes = {m.group(1): m.group(2) for m in _NODE.finditer(block)}
    functions = {m.group(1): m.group(3) for m in _LAMBDA.finditer(block)}
    edges = {(nodes[a], functions[b]) for a, b in _EDGE.findall(block) if a in nodes and b in functions}
    return set(nodes.values()), edges


def _real_top_folders() -> set[str]:
    listed = subprocess.run(["git", "ls-files"], cwd=ROOT, capture_output=True, text=True, check=True).stdout
    return {name.split("/")[0] for name in listed.split() if "/" in name}


def _layout_faults(text: str) -> list[str]:
    found = layout(text)
    faults = []
    if set(found) != _real_top_folders():
        faults.append(f"top-level folders {sorted(set(found) ^ _real_top_folders())}")
    for folder in ("constructs", "lambda", "tools"):
        if found.get(folder, set()) != _packages(folder):
            faults.append(f"{folder}/ packages {sorted(found.get(folder, set()) ^ _packages(folder))}")
    return faults


def _diagram_faults(text: str) -> list[str]:
    packages, edges = diagram(text)
    shipped = {
        (str(path.parts[1]), " + ".join(names))
        for path, tuples in lambda_assets.shipped_packages().items()
        for names in tuples
    }
    faults = []
    if packages != _packages("constructs"):
        faults.append(f"package nodes {sorted(packages ^ _packages('constructs'))}")
    if edges != shipped:
        faults.append(f"λ edges drawn, not made: {sorted(edges - shipped)}; made, not drawn: {sorted(shipped - edges)}")
    return faults


def test_the_layout_block_lists_the_real_folders_and_packages() -> None:
    assert not _layout_faults(docs.page(PAGE).read_text())


def test_the_diagram_draws_each_package_and_each_function_with_what_it_ships() -> None:
    packages, edges = diagram(docs.page(PAGE).read_text())
    assert len(packages) >= 10 and len(edges) >= 10, (packages, edges)
    assert not _diagram_faults(docs.page(PAGE).read_text())


@pytest.mark.parametrize(
    ("old", "new"),
    [
        ("  access/ ", "  gone/   "),  # a package the layout misses
        ("benchmarks/ ", "bench/      "),  # a folder that is not there
        (
            'p_lattice --> drain(["drain waiter λ (lattice_drain + stack_removal)"])',
            'p_lattice --> drain(["drain waiter λ (lattice_drain)"])',
        ),
        ("g_lattice --> lsweep", "g_work --> lsweep"),  # the sweep drawn under workload, as the old page had it
        ('    g_access["access: ', '    g_access["accessx: '),
    ],
    ids=["package-missing", "folder-wrong", "tuple-wrong", "wrong-package", "node-wrong"],
)
def test_a_stale_layout_or_diagram_is_found(old: str, new: str) -> None:
    """Class test, on the faults the page had: each change to a correct page is caught."""
    text = docs.page(PAGE).read_text()
    assert old in text
    changed = text.replace(old, new, 1)
    assert _layout_faults(changed) or _diagram_faults(changed)
