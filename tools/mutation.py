#!/usr/bin/env python3
"""`make mutation`: mutmut over the Lambda code, config/ and the pure builders in constructs/, a module at a time.

Each module runs on its own, in mutants/<module>/, against only its own tests (SUITES): its score says how
well *those* tests pin it, and one module reruns in minutes:

    python tools/mutation.py [MODULE ...] [--jobs N] [--fail-under 85] [--report]

Prints a table (mutants, killed, timeout, survived, no tests, score per module) and every surviving mutant
as `path:line function` with the changed line. Exit status 1 when a module scores below --fail-under
(0 turns that off), 2 when mutmut itself fails (its log is printed). --report reprints the last results.

Why a work directory per module: mutmut names a mutant after its file's path and activates it only inside
the module of that name. The Lambda code is imported as top-level packages (`crd_installer.handler`:
lambda/ is on sys.path, as in the Lambda runtime), so the work directory shows lambda/ as `src/`, the
layout whose prefix mutmut drops. It also gives each module its own [tool.mutmut] settings (which file to
mutate, which tests to run) on top of the shared ones in pyproject.toml, and its own mutmut cache.
Everything else (tests/, tools/, ...) is linked in and copied by mutmut into mutants/<module>/mutants/.
"""

from __future__ import annotations

import argparse
import ast
import json
import os
import shutil
import subprocess
import sys
import time
import tomllib
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

# mutmut's own readers of its results (pinned in requirements-dev.txt); they read mutants/ from the cwd.
from mutmut.mutation.diff_apply import get_diff_for_mutant
from mutmut.utils.format_utils import orig_function_and_class_names_from_key

ROOT = Path(__file__).resolve().parent.parent
WORK = ROOT / "mutants"
SCORES = WORK / "scores.json"
LAMBDA = "lambda/"
# What the tests import besides the mutated sources; linked into each work directory.
LINKED = (
    "tests",
    "tools",
    "config",
    "constructs",
    "stacks",
    "app.py",
    "cdk.json",
    "README.md",
    "package.json",
    "docs",
    "VERSION",
    "CHANGELOG.md",
    "LICENSE",
    "Makefile",  # tests/conftest.py reads the variables a caller sets, to clear them
)

# Module (path or folder prefix; the longest match wins) -> the pytest arguments that select its own tests.
SUITES: dict[str, tuple[str, ...]] = {
    "lambda/consumer_link/": ("tests/lambda/test_consumer_link*.py",),
    "lambda/controller_credentials/": ("tests/lambda/test_controller_credentials*.py",),
    "lambda/crd_installer/": ("tests/lambda/test_crd_installer*.py",),
    "lambda/finalizer_guard/": ("tests/lambda/test_finalizer_guard*.py",),
    "lambda/k8s_api/": ("tests/lambda/test_k8s_api*.py",),
    "lambda/lattice_dns/": ("tests/lambda/test_lattice_dns*.py",),
    # The waiter's template tests synthesize the app, whose asset bundling reads lambda/ (shown as src/ here).
    "lambda/lattice_drain/": (
        "tests/lambda/test_lattice_drain*.py",
        "-k",
        "not waiter_gets_the_owner and not policy_allows_every_call",
    ),
    "lambda/lattice_metrics/": ("tests/lambda/test_lattice_metrics*.py",),
    # The target-health publisher has its own test family, not the metrics handler's.
    "lambda/lattice_metrics/health.py": ("tests/lambda/test_target_health*.py",),
    "lambda/ram_share_wait/": ("tests/lambda/test_ram_share_wait*.py",),
    "lambda/smoke/": ("tests/lambda/test_smoke*.py",),
    "lambda/stack_removal/": ("tests/lambda/test_stack_removal*.py",),
    # tests/test_dns_updates.py replays the synthesized stacks: every test there needs a synth (see above).
    "lambda/zone_sweep/": ("tests/lambda/test_zone_sweep*.py",),
    "config/": ("tests/test_config*.py",),
    # VERSION's reader: its own tests but those that synthesize, run make, or read the documents.
    "config/release.py": (
        "tests/test_config*.py",
        "tests/test_release.py",
        "-k",
        "not (synthesized or make_version or synthesis_reads or changelog or licence or readme)",
    ),
    # The pipeline's parser; the rest of test_pipeline.py synthesizes pipelines (seconds per mutant).
    # test_config_pipeline*.py synthesizes nothing; its tests' names all say "parse".
    "config/pipeline.py": ("tests/test_pipeline.py", "tests/test_config_pipeline*.py", "-k", "parse or cli_version"),
    "constructs/workload/apps.py": ("tests/test_k8s_objects*.py",),
    "constructs/workload/routes.py": ("tests/test_k8s_objects*.py",),
    "constructs/workload/manifests.py": ("tests/test_k8s_objects*.py",),
    "constructs/controller/objects.py": ("tests/test_k8s_objects*.py",),
    "constructs/controller/policy.py": ("tests/test_controller_policy*.py",),
    "constructs/controller/values.py": ("tests/test_controller_values*.py",),
    "constructs/smoke/checks.py": ("tests/test_smoke_checks*.py", "-k", "not the_synth_has"),
}

# mutmut exit codes (mutmut.stats.status_by_exit_code) -> how this report counts them.
KILLED, TIMEOUT, SURVIVED, NO_TESTS = "killed", "timeout", "survived", "no tests"
STATUS = {1: KILLED, 3: KILLED, 36: TIMEOUT, -24: TIMEOUT, 24: TIMEOUT, 152: TIMEOUT, 255: TIMEOUT}
STATUS |= {0: SURVIVED, 5: NO_TESTS, 33: NO_TESTS}


class MutationError(Exception):
    """mutmut could not run a module (exit status 2)."""


@dataclass(kw_only=True)
class Survivor:
    name: str
    line: int | None
    function: str
    diff: list[str]


@dataclass(kw_only=True)
class Result:
    module: str
    counts: dict[str, int] = field(default_factory=dict)
    survivors: list[Survivor] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def total(self) -> int:
        return sum(self.counts.values())

    @property
    def score(self) -> float | None:
        caught = self.counts.get(KILLED, 0) + self.counts.get(TIMEOUT, 0)
        return 100.0 * caught / self.total if self.total else None


def all_modules() -> list[str]:
    """Every Python file a suite covers that defines a function (mutmut mutates function bodies only)."""
    found: set[str] = set()
    for prefix in SUITES:
        paths = [ROOT / prefix] if prefix.endswith(".py") else sorted((ROOT / prefix).rglob("*.py"))
        for path in paths:
            if any(
                isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef) for n in ast.walk(ast.parse(path.read_text()))
            ):
                found.add(path.relative_to(ROOT).as_posix())
    return sorted(found)


def suite(module: str) -> list[str]:
    """The module's pytest arguments, globs expanded (relative to the repository)."""
    prefixes = [p for p in SUITES if module == p or (p.endswith("/") and module.startswith(p))]
    if not prefixes:
        raise MutationError(f"{module}: no tests are mapped to it in tools/mutation.py SUITES")
    args: list[str] = []
    for arg in SUITES[max(prefixes, key=len)]:
        if "*" in arg:
            matches = sorted(p.relative_to(ROOT).as_posix() for p in ROOT.glob(arg))
            if not matches:
                raise MutationError(f"{module}: no test file matches {arg}")
            args += matches
        else:
            args.append(arg)
    return args


def work_path(module: str) -> str:
    """Where the module sits inside its work directory: lambda/ is shown as src/ (see the module docstring)."""
    return "src/" + module.removeprefix(LAMBDA) if module.startswith(LAMBDA) else module


def work_dir(module: str) -> Path:
    return WORK / module.removesuffix(".py").replace("/", ".")


SYNTH_CACHE_ENV = "EKS_LATTICE_SYNTH_CACHE"  # tests/conftest.py's switch for its synthesis cache


def shared_dir() -> Path:
    """Where tests/conftest.py finds ../shared; the copied tests live one level deeper, so say it explicitly."""
    if "EKS_LATTICE_SHARED" in os.environ:
        return Path(os.environ["EKS_LATTICE_SHARED"])
    fetched = ROOT / ".cache" / "shared"
    beside = ROOT.parent / "shared"
    return beside if beside.is_dir() or not fetched.is_dir() else fetched


def toml_table(name: str, values: dict[str, Any]) -> str:
    # JSON strings, numbers, booleans and arrays of them are valid TOML values.
    return f"[{name}]\n" + "".join(f"{key} = {json.dumps(value)}\n" for key, value in values.items())


def prepare(module: str) -> Path:
    """A fresh work directory: sources and tests linked in, a pyproject.toml for this module alone."""
    work = work_dir(module)
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    (work / "src").symlink_to(os.path.relpath(ROOT / "lambda", work))
    for name in LINKED:
        (work / name).symlink_to(os.path.relpath(ROOT / name, work))
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]
    settings = {
        **project["mutmut"],
        "only_mutate": [work_path(module)],
        "pytest_add_cli_args_test_selection": suite(module),
    }
    (work / "pyproject.toml").write_text(
        toml_table("tool.pytest.ini_options", project["pytest"]["ini_options"]) + toml_table("tool.mutmut", settings)
    )
    return work


def mutmut_env() -> dict[str, str]:
    """mutmut's environment: ../shared named, and the synthesis cache off (its key is of the clone's files, not
    of the mutant mutmut loads)."""
    return {**os.environ, "EKS_LATTICE_SHARED": str(shared_dir()), SYNTH_CACHE_ENV: "off"}


def run_module(module: str, *, jobs: int) -> Result:
    work = prepare(module)
    mutmut = Path(sys.executable).with_name("mutmut")
    env = mutmut_env()
    started = time.monotonic()
    log = work / "mutmut.log"
    with log.open("w") as out:
        code = subprocess.call(  # noqa: S603 - the virtualenv's mutmut, fixed arguments
            [str(mutmut), "run", "--max-children", str(jobs)], cwd=work, env=env, stdout=out, stderr=subprocess.STDOUT
        )
    if code != 0:
        tail = log.read_text(errors="replace").replace("\r", "\n").splitlines()[-40:]
        raise MutationError(f"{module}: mutmut exited with {code}; the end of {log}:\n" + "\n".join(tail))
    result = read_result(module)
    result.seconds = time.monotonic() - started
    return result


def read_result(module: str) -> Result:
    work = work_dir(module)
    meta = work / "mutants" / (work_path(module) + ".meta")
    if not meta.is_file():
        raise MutationError(f"{module}: no results in {meta}; run it first")
    codes: dict[str, int | None] = json.loads(meta.read_text())["exit_code_by_key"]
    result = Result(module=module)
    statuses = {name: STATUS.get(code, "other") if code is not None else "not run" for name, code in codes.items()}
    for status in statuses.values():
        result.counts[status] = result.counts.get(status, 0) + 1
    survivors = sorted(name for name, status in statuses.items() if status in (SURVIVED, NO_TESTS))
    result.survivors = describe(module, survivors)
    return result


def describe(module: str, names: Sequence[str]) -> list[Survivor]:
    """Each surviving mutant's changed lines, and the source line it changed."""
    source = (ROOT / module).read_text().splitlines()
    spans = function_spans(ROOT / module)
    survivors = []
    cwd = Path.cwd()
    os.chdir(work_dir(module))
    try:
        for name in names:
            diff = get_diff_for_mutant(name, path=work_path(module)).splitlines()
            changed = [line for line in diff[2:] if line[:1] in "-+" and not line.startswith("@@")]
            function, cls = orig_function_and_class_names_from_key(name)
            qualified = f"{cls}.{function}" if cls else function
            start, end = spans.get(qualified, (1, len(source)))
            removed = [line[1:].strip() for line in changed if line.startswith("-")]
            line_no = next(
                (n for n in range(start, end + 1) if removed and source[n - 1].strip() == removed[0]),
                None,
            )
            survivors.append(Survivor(name=name, line=line_no, function=qualified, diff=changed))
    finally:
        os.chdir(cwd)
    return sorted(survivors, key=lambda s: (s.line or 0, int(s.name.rpartition("_")[2])))


def function_spans(path: Path) -> dict[str, tuple[int, int]]:
    spans: dict[str, tuple[int, int]] = {}
    tree = ast.parse(path.read_text())
    for node in tree.body:
        members = node.body if isinstance(node, ast.ClassDef) else [node]
        for member in members:
            if isinstance(member, ast.FunctionDef | ast.AsyncFunctionDef):
                name = f"{node.name}.{member.name}" if isinstance(node, ast.ClassDef) else member.name
                spans[name] = (member.lineno, member.end_lineno or member.lineno)
    return spans


def render(results: Sequence[Result], *, fail_under: float) -> str:
    out: list[str] = []
    for result in results:
        for s in result.survivors:
            out.append(f"{result.module}:{s.line or '?'}  {s.function}  ({s.name})")
            out += [f"    {line}" for line in s.diff]
    if out:
        out = ["Surviving mutants (no test failed with this change):", *out, ""]
    header = f"{'module':<40} {'mutants':>7} {'killed':>7} {'timeout':>7} {'survived':>8} {'no tests':>8} {'score':>7}"
    out += [header, "-" * len(header)]
    for r in results:
        score = f"{r.score:.1f}%" if r.score is not None else "-"
        flag = "" if r.score is None or r.score >= fail_under else "  < " + f"{fail_under:g}%"
        c = r.counts
        out.append(
            f"{r.module:<40} {r.total:>7} {c.get(KILLED, 0):>7} {c.get(TIMEOUT, 0):>7} "
            f"{c.get(SURVIVED, 0):>8} {c.get(NO_TESTS, 0):>8} {score:>7}{flag}"
        )
    return "\n".join(out)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("modules", nargs="*", help="e.g. lambda/smoke/handler.py (default: every module)")
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 1, help="mutants tested in parallel")
    parser.add_argument("--fail-under", type=float, default=85.0, help="exit 1 below this score (0: never)")
    parser.add_argument("--report", action="store_true", help="print the last results without running")
    args = parser.parse_args(argv)
    try:
        known = all_modules()
        modules = [m.removeprefix("./") for m in args.modules] or known
        for module in modules:
            if not (ROOT / module).is_file():
                raise MutationError(f"{module}: no such file")
            suite(module)
        results = []
        for module in modules:
            if args.report:
                results.append(read_result(module))
                continue
            print(f"mutation: {module} ({' '.join(suite(module))}) ...", flush=True)
            result = run_module(module, jobs=args.jobs)
            print(f"mutation: {module}: {result.total} mutants in {result.seconds:.0f} s", flush=True)
            results.append(result)
    except MutationError as e:
        print(f"mutation: {e}", file=sys.stderr)
        return 2
    print(render(results, fail_under=args.fail_under))
    if not args.report:
        previous = json.loads(SCORES.read_text()) if SCORES.is_file() else {}
        previous.update({r.module: {**asdict(r), "score": r.score} for r in results})
        SCORES.write_text(json.dumps(previous, indent=2, sort_keys=True) + "\n")
    below = [r.module for r in results if r.score is not None and r.score < args.fail_under]
    return 1 if below else 0


if __name__ == "__main__":
    sys.exit(main())
