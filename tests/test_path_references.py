"""Paths the project's own text names (issue 28 moved constructs, config, tools, Lambda packages and tests, and
comments kept naming the old places): every `constructs/...`, `config/...`, `tools/...`, `lambda/...`,
`stacks/...`, `tests/...`, `docs/...` or `benchmarks/...` token in a tracked Python, Markdown, text or YAML file,
or the Makefile, names a file or folder that exists (a module may be named with an attribute,
`constructs/workload/routes.route_object`, or without `.py`)."""

from __future__ import annotations

import io
import re
import subprocess
import tokenize
from pathlib import Path

import pytest

from tests.conftest import ROOT

TOKEN = re.compile(r"(?<![\w./$-])((?:constructs|config|tools|lambda|stacks|tests|docs|benchmarks)/[\w./-]*\w)")
# Paths inside upstream repositories that the text cites by their own path, each with the repository: the
# controller's docs (aws-application-networking-k8s docs/guides/, docs/api-types/, docs/faq.md), the Gateway API's
# CRDs (kubernetes-sigs/gateway-api config/crd/), awslabs/aws-c-auth's SigV4 suite (tests/aws-signing-test-suite/).
UPSTREAM = ("docs/guides", "docs/api-types", "docs/faq.md", "config/crd", "tests/aws-signing-test-suite")
SUFFIXES = {".py", ".md", ".txt", ".yml", ".yaml"}


def _exists(token: str) -> bool:
    if (ROOT / token).exists() or (ROOT / f"{token}.py").exists():
        return True
    module, dot, _attribute = token.partition(".")  # constructs/workload/routes.route_object
    return bool(dot) and (ROOT / f"{module}.py").is_file()


def _prose(path: str, text: str) -> str:
    """What a reader reads: a test module's comments and docstrings only (its other strings build fake trees in
    tmp_path, such as a `config/<module>.py` of their own); everything else whole; of CHANGELOG.md the part above
    the first entry (the entries are history, naming paths as they were)."""
    if path == "CHANGELOG.md":
        return text.split("\n## ", 1)[0]
    if not (path.startswith("tests/") and path.endswith(".py")):
        return text
    tokens = [t for t in tokenize.generate_tokens(io.StringIO(text).readline) if t.type != tokenize.NL]
    kept = [t.string for t in tokens if t.type == tokenize.COMMENT]
    code = [t for t in tokens if t.type != tokenize.COMMENT]
    for before, token, after in zip(code, code[1:], code[2:], strict=False):
        # a docstring: a string that is a statement of its own
        if token.type == tokenize.STRING and before.type in {tokenize.NEWLINE, tokenize.INDENT, tokenize.DEDENT}:
            kept += [token.string] if after.type == tokenize.NEWLINE else []
    if code and code[0].type == tokenize.STRING:
        kept.append(code[0].string)  # the module's docstring
    return "\n".join(kept)


def missing_paths(path: str, text: str) -> list[str]:
    found, prose = [], _prose(path, text)
    for number, line in enumerate(prose.splitlines(), 1):
        for m in TOKEN.finditer(line):
            token = m.group(1)
            if line[m.end() : m.end() + 1] in {"<", "*", "{"} or token.startswith(UPSTREAM):
                continue  # a pattern (docs/<page>.md, lambda/*/), or an upstream repository's path
            if not _exists(token):
                found.append(f"{path}:{number}: {token}" if prose == text else f"{path}: {token}")
    return found


def _tracked() -> list[str]:
    listed = subprocess.run(["git", "ls-files"], cwd=ROOT, capture_output=True, text=True, check=True).stdout
    return [
        name
        for name in listed.split()
        if "__snapshots__" not in name and (Path(name).suffix in SUFFIXES or Path(name).name == "Makefile")
    ]


@pytest.mark.parametrize(
    ("path", "text"),
    [
        ("requirements.txt", "# (see stacks/../constructs/versions.py for the version -> layer map)\n"),
        ("tools/e2e/orchestrate.py", '"""The order of a run (tests/test_e2e_orchestrate.py drives it)."""\n'),
        ("tests/test_x.py", "# built by constructs/workload/k8s_objects.py\nX = 1\n"),
        ("CHANGELOG.md", "# Changelog\nSee constructs/versions.py.\n\n## [1.0]\n"),
    ],
    ids=["stale-relative", "renamed-test", "test-comment", "changelog-preamble"],
)
def test_a_stale_path_is_found(path: str, text: str) -> None:
    """Class test, on the faults it is there for: paths that moved in issue 28 and were still named."""
    assert missing_paths(path, text), text


def test_what_is_not_a_stale_path() -> None:
    assert not missing_paths("tests/test_x.py", 'def test() -> None:\n    tmp = "config/a.py"\n')  # a fake tree
    assert not missing_paths("CHANGELOG.md", "# Changelog\n\n## [0.1.0]\nmoved constructs/versions.py\n")  # history
    assert not missing_paths("x.py", "# constructs/workload/routes.route_object, docs/<page>.md, docs/faq.md\n")


def test_every_path_the_projects_text_names_exists() -> None:
    files = _tracked()
    assert len(files) > 200, len(files)
    missing = [m for name in files for m in missing_paths(name, (ROOT / name).read_text(encoding="utf-8"))]
    assert not missing, missing
