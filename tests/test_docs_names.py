"""Module and file names the documentation shows in backticks (issue 28 moved and renamed modules, and a page
kept naming `k8s_objects` and `controller_policy` after they became constructs/workload/ and
constructs/controller/ modules): each names a file, package or module of this repository, or one on the small
allowlist of upstream and generated names below."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

from tests.conftest import ROOT
from tests.support import docs

TOP = ("constructs", "config", "tools", "lambda", "stacks", "tests", "docs", "benchmarks", "examples")
# Not this repository's, each with where it lives: paths of the controller's repository (aws-application-networking-k8s
# docs/guides/), names of aws-cdk-lib (`aws_eks_v2`) and of Python's resource module (`ru_maxrss`), and files the
# synthesis writes into a function's asset (lattice_dns/records.json, smoke/checks.json: constructs/dns/records.py,
# constructs/smoke/functions.py).
ALLOWED = ("docs/guides/", "aws_eks_v2", "ru_maxrss", "lattice_dns/records.json", "smoke/checks.json")
_SNAKE = re.compile(r"^[a-z][a-z0-9]*(?:_[a-z0-9]+)+$")
_PATH = re.compile(r"^[\w.-]+(?:/[\w.*-]*)+$")
_FENCE = re.compile(r"^```.*?^```", flags=re.S | re.M)


def _tracked() -> list[Path]:
    listed = subprocess.run(["git", "ls-files"], cwd=ROOT, capture_output=True, text=True, check=True).stdout
    return [Path(name) for name in listed.split()]


def module_names() -> set[str]:
    """Every Python module's and package's name in the repository (file stems and folder names)."""
    tracked = _tracked()
    return {p.stem for p in tracked if p.suffix == ".py"} | {part for p in tracked for part in p.parts[:-1]}


def _path_exists(word: str) -> bool:
    bases = (ROOT, ROOT / "lambda", ROOT / "constructs")
    if "*" in word:
        return any(any(base.glob(word)) for base in bases)
    return any((base / word.rstrip("/")).exists() or (base / f"{word}.py").exists() for base in bases)


def unknown_names(text: str, modules: set[str]) -> list[str]:
    """Backticked names (outside fenced code) that claim to be this repository's and are not: a path starting at
    one of its folders or Lambda or construct packages, or a bare snake_case name (what a module is called)."""
    roots = {*TOP, *(p.name for p in (ROOT / "lambda").iterdir()), *(p.name for p in (ROOT / "constructs").iterdir())}
    found = []
    for span in re.findall(r"`([^`\n]+)`", _FENCE.sub("", text)):
        for word in (w.strip("(),;:'\"") for w in span.split()):
            if "<" in word or word.startswith(ALLOWED):
                continue
            if _PATH.match(word) and word.split("/")[0] in roots and not _path_exists(word):
                found.append(word)
        if _SNAKE.match(span) and span not in modules and span not in ALLOWED:
            found.append(span)
    return found


@pytest.mark.parametrize(
    ("text", "unknown"),
    [
        ("the pure builders (`k8s_objects`, `controller_policy`)", ["k8s_objects", "controller_policy"]),
        ("see `constructs/versions.py`", ["constructs/versions.py"]),
        (
            "see `lambda/smoke/no_such.py` and `tests/lambda/test_nothing_*.py`",
            ["lambda/smoke/no_such.py", "tests/lambda/test_nothing_*.py"],
        ),
        ("`constructs/workload/routes.py`, `k8s_api`, `smoke/spec.py`, `tests/lambda/test_crd_installer_*.py`", []),
        ("`mutants/<module>/`, `docs/guides/https.md`, `aws_eks_v2`, `AWS/VpcLattice`", []),
        ("```\nmake x  # `k8s_objects`\n```", []),
    ],
    ids=["old-modules", "moved-file", "missing-file-and-glob", "real", "allowed", "fenced"],
)
def test_the_check_finds_a_name_that_is_not_there(text: str, unknown: list[str]) -> None:
    """Class test, on the fault it is there for (docs/development.md's old module names)."""
    assert unknown_names(text, module_names()) == unknown


def test_every_backticked_module_or_file_name_on_a_page_exists() -> None:
    modules = module_names()
    missing = {page.name: unknown_names(page.read_text(encoding="utf-8"), modules) for page in docs.pages()}
    assert not {page: names for page, names in missing.items() if names}
