"""Every CDK CLI command the Makefile runs takes each flag it is given: checked against the pinned CLI's own
`cdk <command> --help`, for each target and stack selection, so a flag one command lacks (`diff --all`) fails
here instead of in a user's shell."""

from __future__ import annotations

import datetime as dt
import functools
import json
import os
import re
import shlex
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import ROOT

CDK = ROOT / "node_modules" / ".bin" / "cdk"
# Every target that runs the CDK CLI itself, and the command it runs (`destroy` runs it through tools/destroy.py:
# tests/test_destroy.py checks its commands' flags against the same registry).
TARGETS = {"synth": "synth", "bootstrap": "bootstrap", "diff": "diff", "deploy": "deploy"}
STACK_SELECTIONS = {"default": {}, "named": {"STACKS": "EksLatticeGateway-Gateway"}}
# yargs prints each option as `  --name, -n   description`.
_OPTION = re.compile(r"^\s+(--[a-z0-9-]+)(?:,\s+(-[a-zA-Z]))?\s", re.MULTILINE)


# The CLI builds its argument parser from this registry of every command's options (aws-cdk 2.1000+); reading it
# costs nothing, where `cdk <command> --help` costs a Node start per command. One --help run below proves that
# the registry is what the pinned CLI offers.
REGISTRY = ROOT / "node_modules" / "aws-cdk" / "lib" / "cli" / "cli-type-registry.json"


@functools.cache
def _registry() -> dict[str, Any]:
    if not REGISTRY.is_file():
        pytest.fail(f"{REGISTRY.relative_to(ROOT)} missing: run `make setup`")
    registry: dict[str, Any] = json.loads(REGISTRY.read_text())
    return registry


def cli_options(command: str) -> frozenset[str]:
    """Every flag `cdk <command>` takes: global and command options with their aliases."""
    registry = _registry()
    options = {**registry["globalOptions"], **registry["commands"][command].get("options", {})}
    flags = set()
    for name, spec in options.items():
        aliases = spec.get("alias") or []
        for flag in [name, *([aliases] if isinstance(aliases, str) else aliases)]:
            flags.add(f"-{flag}" if len(flag) == 1 else f"--{flag}")
    return frozenset(flags)


def help_options(command: str) -> frozenset[str]:
    if not CDK.exists():
        pytest.fail("node_modules/.bin/cdk missing: run `make setup`")
    result = subprocess.run(
        [str(CDK), command, "--help"], cwd=ROOT, capture_output=True, text=True, timeout=120, check=True
    )
    options = {flag for match in _OPTION.finditer(result.stdout) for flag in match.groups() if flag}
    assert "--app" in options, result.stdout[:500]  # the parse found the option list
    return frozenset(options)


def test_the_registry_is_what_the_cli_offers() -> None:
    """Every flag `cdk deploy --help` prints is in the registry (yargs' own --help/--version aside; it prints
    `--no-<flag>` for booleans that default to true, and cuts names longer than its column)."""
    registry = cli_options("deploy")
    assert {"--require-approval", "--concurrency", "--all", "-c", "--app"} <= registry
    builtin = {"--help", "--version"}
    unknown = [
        flag
        for flag in help_options("deploy") - builtin
        if re.sub(r"^--no-", "--", flag) not in registry and not any(r.startswith(flag) for r in registry)
    ]
    assert unknown == []


def cdk_invocation(target: str, variables: dict[str, str]) -> list[str]:
    """The CDK command line `make <target>` would run (make -n: printed, not run)."""
    result = subprocess.run(
        ["make", "-n", target, *(f"{k}={v}" for k, v in variables.items())],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    lines = [shlex.split(line) for line in result.stdout.splitlines() if str(CDK) in line]
    assert len(lines) == 1, result.stdout
    (words,) = lines
    return words[words.index(str(CDK)) + 1 :]


@pytest.mark.parametrize("selection", STACK_SELECTIONS)
@pytest.mark.parametrize("target", TARGETS)
def test_each_target_passes_only_flags_its_cli_command_takes(target: str, selection: str) -> None:
    command, *args = cdk_invocation(target, STACK_SELECTIONS[selection])
    assert command == TARGETS[target]
    known = cli_options(command)
    # yargs takes --no-<flag> for every boolean --<flag>.
    flags = [re.sub(r"^--no-", "--", arg.split("=", 1)[0]) for arg in args if arg.startswith("-")]
    assert [flag for flag in flags if flag not in known] == []


@pytest.mark.parametrize("target", ["diff", "deploy"])
def test_stack_selection(target: str) -> None:
    """By default every stack (deploy needs --all; diff compares every stack when none is named);
    STACKS names them instead."""
    _, *default = cdk_invocation(target, {})
    stacks = [arg for arg in default if not arg.startswith("-")]
    if target == "diff":
        assert stacks == [] and "--all" not in default
    else:
        assert "--all" in default
    _, *named = cdk_invocation(target, {"STACKS": "EksLatticeGateway-Gateway"})
    assert "--all" not in named and named[-1] == "EksLatticeGateway-Gateway"


def _args_tools() -> dict[str, str]:
    """make target -> the tool it runs with $(ARGS) (the user passes the tool's flags as ARGS="...")."""
    found: dict[str, str] = {}
    target = None
    for line in (ROOT / "Makefile").read_text().splitlines():
        if m := re.match(r"([a-z-]+):", line):
            target = m.group(1)
        elif target and (m := re.search(r"python (\S+\.py)\b.*\$\(ARGS\)", line)):
            found[target] = m.group(1)
    return found


def test_every_flag_a_make_run_tool_tells_the_user_to_pass_shows_the_args_form() -> None:
    """Class test (issue 27 item 6: make smoke's missing-region error said only "pass --region"): a tool run by a make
    target with $(ARGS) that tells the user to pass a flag says how through make, ARGS="--flag ...", in the same
    message."""
    tools = _args_tools()
    assert {"smoke", "dashboard", "cost", "impact"} <= set(tools)
    for target, path in tools.items():
        source = (ROOT / path).read_text()
        # Each message (a string literal or an f-string's adjacent parts) that says "pass --flag".
        for m in re.finditer(r"pass --([a-z-]+)[^\n]*(?:\n[^\n]*){0,1}", source):
            if "add_argument" in m.group(0) or m.group(0).lstrip().startswith("#"):
                continue
            assert 'ARGS="--' in m.group(0), f"make {target} ({path}): {m.group(0).strip()}"


def _make_variable(name: str, cwd: Path, env: dict[str, str] | None = None) -> str:
    script = f"show-variable: ; @echo '$({name})'"
    result = subprocess.run(
        ["make", "-s", "-f", str(ROOT / "Makefile"), "--eval", script, "show-variable"],
        cwd=cwd, capture_output=True, text=True, check=True, env=env,
    )  # fmt: skip
    return result.stdout.strip()


def test_make_test_fetches_the_reference_data_only_where_none_is_beside_the_clone(tmp_path: Path) -> None:
    """Issue 27 item 6: the quick start's `make test` sets everything up, the reference data included: with no
    ../shared/reference (a fresh clone elsewhere) the test target depends on fetching it; beside ../shared, or with
    EKS_LATTICE_SHARED, it does not."""
    clone = tmp_path / "clone"
    clone.mkdir()
    env = {k: v for k, v in os.environ.items() if k != "EKS_LATTICE_SHARED"}
    assert _make_variable("REFERENCE", clone, env) == ".cache/shared/reference/MANIFEST.md"
    assert _make_variable("REFERENCE", clone, {**env, "EKS_LATTICE_SHARED": str(tmp_path)}) == ""
    (tmp_path / "shared" / "reference").mkdir(parents=True)
    (tmp_path / "shared" / "reference" / "MANIFEST.md").write_text("x")
    assert _make_variable("REFERENCE", clone, env) == ""
    test_rule = next(line for line in (ROOT / "Makefile").read_text().splitlines() if line.startswith("test:"))
    assert "$(REFERENCE)" in test_rule


def test_make_help_lists_user_and_maintainer_targets_apart() -> None:
    """Issue 27 item 6: `make help` groups what a user runs to deploy and operate the app apart from what a
    maintainer runs; every documented target is in exactly one group."""
    out = subprocess.run(["make", "-s", "help"], cwd=ROOT, capture_output=True, text=True, check=True).stdout
    user, _, maintainer = out.partition("Develop (maintainers):")
    listed = lambda text: set(re.findall(r"^  make (\S+)", text, flags=re.M))  # noqa: E731
    assert {"deploy", "destroy", "smoke", "cost", "impact", "deployer-policy", "version"} <= listed(user)
    maintainers = {
        "test",
        "typecheck",
        "lint",
        "schema",
        "docs",
        "snapshot-update",
        "mutation",
        "fuzz",
        "bench",
        "reference",
    }
    assert maintainers == listed(maintainer)
    documented = set(re.findall(r"^([a-z0-9-]+):[^#\n]*##", (ROOT / "Makefile").read_text(), flags=re.M))
    assert listed(user) | listed(maintainer) == documented and not listed(user) & listed(maintainer)


# A replica of the Makefile's recipes: the same SHELL, CDK_ARGS expanded unquoted into a bash command line, as
# `$(CDK) deploy ... $(CDK_ARGS)` does; it prints the argv the command would get.
REPLICA = """SHELL := /bin/bash
CDK_ARGS ?=
argv:
\t@{python} -c 'import json, sys; print(json.dumps(sys.argv[1:]))' $(CDK_ARGS)
"""


def _documented_make_commands() -> list[str]:
    """Every `make ... CDK_ARGS=...` command in README.md and docs/: lines of fenced code (backslash continuations
    joined) and inline code spans (which may wrap)."""
    found: list[str] = []
    for doc in [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]:
        text = doc.read_text()
        fences = re.findall(r"^```[^\n]*\n(.*?)^```", text, re.S | re.M)
        for block in fences:
            for line in block.replace("\\\n", " ").splitlines():
                if re.search(r"\bmake \S+.*CDK_ARGS=", line):
                    found.append(line[line.index("make ") :])
        prose = re.sub(r"^```[^\n]*\n.*?^```", "", text, flags=re.S | re.M)
        for span in re.findall(r"`([^`]*\bmake [^`]*CDK_ARGS=[^`]*)`", prose):
            one_line = span.replace("\n", " ")
            found.append(one_line[one_line.index("make ") :])
    return found


def _context_pairs(argv: list[str]) -> list[tuple[str, str]]:
    pairs = [argv[i + 1] for i, a in enumerate(argv[:-1]) if a in ("-c", "--context")]
    return [(key, value) for key, _, value in (p.partition("=") for p in pairs)]


def test_every_documented_cdk_args_command_survives_makes_shell(tmp_path: Path) -> None:
    """Class test: each `make ... CDK_ARGS=...` line in the README and docs/, split as the user's shell splits it,
    run through a replica of the Makefile's recipe; every `-c key=value` the command then receives is valid
    configuration (config.loader). Lines with a <placeholder> are checked for their shell quoting only (bash
    would read `<` as a redirection in the recipe)."""
    from config.loader import ConfigError, parse_context
    from tools.synth import cdk_json_context

    makefile = tmp_path / "Makefile"
    makefile.write_text(REPLICA.format(python=sys.executable))
    commands = _documented_make_commands()
    checked: set[str] = set()
    for command in commands:
        words = shlex.split(command, comments=True)  # the user's shell: fails on unbalanced quotes
        (value,) = [w.removeprefix("CDK_ARGS=") for w in words if w.startswith("CDK_ARGS=")]
        if "<" in value:
            continue
        run = subprocess.run(
            ["make", "-s", "-f", str(makefile), "argv", f"CDK_ARGS={value}"],
            check=False,
            capture_output=True,
            text=True,
        )
        assert run.returncode == 0, (command, run.stderr)
        for key, raw in _context_pairs(json.loads(run.stdout)):
            context = {**cdk_json_context(), key: raw}
            try:
                parse_context(context, today=dt.date(2026, 12, 5))
            except ConfigError as e:
                pytest.fail(f"{command}\n  -c {key}={raw} -> {e}")
            checked.add(key)
    # The README's kubectl-access, access-entry and consumer lines are among them: the test cannot pass empty.
    assert {"clusterAdminRoleArns", "consumers", "nodeDesiredSize"} <= checked, checked


def test_the_replica_catches_json_quotes_lost_in_makes_shell(tmp_path: Path) -> None:
    makefile = tmp_path / "Makefile"
    makefile.write_text(REPLICA.format(python=sys.executable))
    (value,) = shlex.split("""make deploy CDK_ARGS='-c clusterAdminRoleArns=["arn:x"]'""")[2:]
    run = subprocess.run(
        ["make", "-s", "-f", str(makefile), "argv", value], check=False, capture_output=True, text=True
    )
    assert _context_pairs(json.loads(run.stdout)) == [("clusterAdminRoleArns", "[arn:x]")]  # not JSON any more


def _usage(script: str) -> str:
    done = subprocess.run([sys.executable, script, "--help"], cwd=ROOT, capture_output=True, text=True, check=False)
    return done.stdout


def test_every_tool_that_takes_context_gets_cdk_args() -> None:
    """Class test: a Makefile recipe that runs a tool taking `-c/--context` (it synthesizes the app) passes
    $(CDK_ARGS), so `make <target> CDK_ARGS="-c key=value"` describes that configuration; deployer-policy did not."""
    recipes = re.findall(r"^\t.*?tools/(\w+)\.py(.*)$", (ROOT / "Makefile").read_text(), re.M)
    # Whether it takes -c, from its usage: the parser may be built in a package or a shared module (tools/tool_args.py).
    takes = {t for t in {t for t, _ in recipes} if "--context KEY=VALUE" in _usage(f"tools/{t}.py")}
    assert {"impact", "deployer_policy", "audit", "stranded"} <= takes, takes
    for tool, rest in recipes:
        if tool in takes:
            assert "$(CDK_ARGS)" in rest, tool


def _side_by_side_line() -> str:
    """The test recipe's line that runs mypy and checkov's install together (a sub-make)."""
    lines = (ROOT / "Makefile").read_text().split("\ntest:", 1)[1].split("\n\n", 1)[0].splitlines()
    (line,) = [line for line in lines if "typecheck" in line]
    return line


@pytest.mark.parametrize("failing", ["typecheck", "$(SCAN_STAMP)"])
def test_make_test_side_by_side_step_fails_if_either_fails_and_prints_both_whole(tmp_path: Path, failing: str) -> None:
    """Issue 29: mypy runs beside checkov's install. The real recipe line, in a replica whose two targets interleave
    their output over time: make fails when either fails, and each one's output comes out whole."""

    def recipe(name: str, status: int) -> str:
        return "".join(f"\t@echo {name} {i}; sleep 0.2\n" for i in range(3)) + f"\t@exit {status}\n"

    (tmp_path / "Makefile").write_text(
        "SHELL := /bin/bash\nSCAN_STAMP := scan.stamp\n.PHONY: test typecheck\n"
        f"test:\n{_side_by_side_line()}\n\t@echo pytest runs\n"
        f"typecheck:\n{recipe('mypy', int(failing == 'typecheck'))}"
        f"$(SCAN_STAMP):\n{recipe('checkov', int(failing != 'typecheck'))}"
    )
    env = {k: v for k, v in os.environ.items() if k not in ("MAKEFLAGS", "MAKELEVEL", "MFLAGS")}
    result = subprocess.run(["make", "test"], cwd=tmp_path, env=env, capture_output=True, text=True, check=False)
    assert result.returncode != 0 and "pytest runs" not in result.stdout
    lines = [line for line in result.stdout.splitlines() if line.startswith(("mypy", "checkov"))]
    assert sorted(lines) == [f"checkov {i}" for i in range(3)] + [f"mypy {i}" for i in range(3)]
    assert lines in (sorted(lines), sorted(lines, key=lambda line: not line.startswith("mypy")))  # not interleaved


def test_make_test_runs_mypy_beside_checkovs_install_then_pytest() -> None:
    """The side-by-side sub-make builds both, on two jobs, before pytest; the test target's prerequisites still set
    up the main environment and the reference data first."""
    line = _side_by_side_line()
    assert re.search(r"\$\(MAKE\) .*-j2 .*--output-sync=target typecheck \$\(SCAN_STAMP\)$", line), line
    test_rule = (ROOT / "Makefile").read_text().split("\ntest:", 1)[1].split("\n\n", 1)[0]
    assert test_rule.index("typecheck $(SCAN_STAMP)") < test_rule.index("-m pytest")
    assert re.search(r"^typecheck: \| \$\(PY_STAMP\) ###.*\n\t\$\(BIN\)/mypy$", (ROOT / "Makefile").read_text(), re.M)
