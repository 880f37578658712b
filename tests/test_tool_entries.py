"""The tools' entry points as make and the pipeline call them (`python tools/<tool>.py ...`): each script path
exists and runs its command line, also where the tool is a package (tools/impact/, tools/cost/,
tools/deployer_policy/) behind a same-named script; and no module in tools/ is over 500 lines (issue 28)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import ROOT

MAX_LINES = 500
# `python tools/<tool>.py` in the Makefile and in the pipeline's commands (a string, or a list such as
# ["python", "tools/impact.py", ...] joined by shlex: constructs/pipeline/impact.py).
_SCRIPT = re.compile(r"""python3?\s+(tools/[\w/]+\.py)|"python",\s*"(tools/[\w/]+\.py)\"""")


def _scripts(*paths: Path) -> set[str]:
    found: set[str] = set()
    for path in paths:
        for match in _SCRIPT.finditer(path.read_text()):
            found.add(match.group(1) or match.group(2))
    return found


def _pipeline_sources() -> list[Path]:
    return sorted({*(ROOT / "constructs").rglob("*.py"), *(ROOT / "stacks").rglob("*.py")})


MAKEFILE_SCRIPTS = _scripts(ROOT / "Makefile")
PIPELINE_SCRIPTS = _scripts(*_pipeline_sources())
# Tools that are a package with a script of the same name beside it, for the callers' unchanged `tools/<name>.py`.
PACKAGED = sorted(
    p.parent.name for p in (ROOT / "tools").glob("*/__init__.py") if (p.parent.parent / f"{p.parent.name}.py").is_file()
)


def _offline_env() -> dict[str, str]:
    """No AWS credentials or profile: a tool that would call AWS says so in a line instead."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_") and k not in {"E2E_ACCOUNT", "DRY_RUN"}}
    return {**env, "AWS_CONFIG_FILE": os.devnull, "AWS_SHARED_CREDENTIALS_FILE": os.devnull}


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, *args], cwd=ROOT, env=_offline_env(), capture_output=True, text=True, timeout=120, check=False
    )


def test_the_callers_are_found() -> None:
    """The scan sees the calls it is meant to check: make's tools, the pipeline's impact, stranded and smoke steps."""
    assert {"tools/impact.py", "tools/cost.py", "tools/deployer_policy.py", "tools/e2e/run.py"} <= MAKEFILE_SCRIPTS
    assert {"tools/impact.py", "tools/stranded.py", "tools/smoke.py"} <= PIPELINE_SCRIPTS
    assert PACKAGED == ["cost", "deployer_policy", "impact"]


@pytest.mark.parametrize("script", sorted((MAKEFILE_SCRIPTS | PIPELINE_SCRIPTS) - {"tools/e2e/run.py"}))
def test_each_called_script_runs_its_command_line(script: str) -> None:
    """--help through the script path: a script that only defines its command line, or imports a package that no
    longer has it, prints no usage."""
    done = _run(script, "--help")
    assert (done.returncode, done.stderr) == (0, "")
    assert done.stdout.startswith("usage: ")


def test_the_e2e_script_runs_its_main() -> None:
    """make e2e's script (it takes CDK arguments, no --help): without credentials it refuses in one line, exit 2."""
    done = _run("tools/e2e/run.py")
    assert done.returncode == 2
    assert (done.stdout + done.stderr).strip().splitlines() == [
        "e2e: no AWS credentials (set AWS_PROFILE or log in); nothing was deployed"
    ]


@pytest.mark.parametrize("name", PACKAGED)
def test_a_packaged_tool_is_the_same_command_by_script_and_by_module(name: str) -> None:
    """`python tools/<name>.py` and `python -m tools.<name>` print the same usage, and an import finds the package
    (a module beside a package of its name is never imported: the package comes first)."""
    by_script, by_module = _run(f"tools/{name}.py", "--help"), _run("-m", f"tools.{name}", "--help")
    assert by_script.returncode == by_module.returncode == 0
    assert by_script.stdout == by_module.stdout
    # What `import tools.<name>` would load, found by the same import machinery without running the package.
    found = _run("-c", f"import importlib.util; print(importlib.util.find_spec('tools.{name}').origin)")
    assert Path(found.stdout.strip()) == ROOT / "tools" / name / "__init__.py"


def test_no_module_in_tools_is_over_500_lines() -> None:
    over = {
        str(path.relative_to(ROOT)): n
        for path in sorted((ROOT / "tools").rglob("*.py"))
        if (n := len(path.read_text().splitlines())) > MAX_LINES
    }
    assert over == {}
