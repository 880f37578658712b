"""tools/mutation.py (`make mutation`): which modules it covers, with which tests, and how it sets up mutmut.

mutmut itself is not run here (minutes per module); this pins the set-up a run depends on."""

from __future__ import annotations

import ast
import json
import os
import re
import select
import signal
import subprocess
import sys
import time
import tomllib
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import ROOT
from tests.support.budget import assert_within_budget
from tools import mutation

# Every module mutmut would mutate, read once for this file's parametrizes (each call parses every file: about 0.1 s,
# paid by every xdist worker at collection).
ALL_MODULES = mutation.all_modules()


def test_every_lambda_module_and_the_pure_builders_are_covered() -> None:
    modules = mutation.all_modules()
    lambda_code = sorted(
        p.relative_to(ROOT).as_posix() for p in (ROOT / "lambda").rglob("*.py") if "def " in p.read_text()
    )
    assert lambda_code, "no Lambda code found"
    assert set(lambda_code) <= set(modules)
    assert {
        "config/loader.py",
        "constructs/workload/apps.py",
        "constructs/workload/routes.py",
        "constructs/workload/manifests.py",
        "constructs/controller/objects.py",
        "constructs/controller/policy.py",
        "constructs/controller/values.py",
        "constructs/smoke/checks.py",
    } <= set(modules)
    # Files without a function have nothing mutmut mutates: no run, no row.
    assert "lambda/crd_installer/__init__.py" not in modules


@pytest.mark.parametrize("module", ALL_MODULES)
def test_each_module_runs_its_own_existing_tests(module: str) -> None:
    files = [arg for arg in mutation.suite(module) if arg.endswith(".py")]
    assert files
    for f in files:
        assert (ROOT / f).is_file(), f
        assert f.startswith("tests/")


def test_longest_prefix_wins_and_new_test_files_join_by_name() -> None:
    assert mutation.suite("config/pipeline.py") == [
        "tests/test_pipeline.py",
        "tests/test_config_pipeline.py",
        "-k",
        "parse or cli_version",
    ]
    family = sorted(p.relative_to(ROOT).as_posix() for p in ROOT.glob("tests/lambda/test_crd_installer*.py"))
    assert "tests/lambda/test_crd_installer.py" in family
    assert mutation.suite("lambda/crd_installer/download.py") == family


def test_unmapped_module_is_a_clear_error() -> None:
    with pytest.raises(mutation.MutationError, match=r"^stacks/gateway_stack.py: no tests are mapped"):
        mutation.suite("stacks/gateway_stack.py")
    assert mutation.main(["stacks/gateway_stack.py", "--report"]) == 2
    assert mutation.main(["lambda/nope.py", "--report"]) == 2


def test_lambda_code_appears_as_src_so_module_names_match_imports() -> None:
    # mutmut drops a leading src/ from the path to name the module: src/smoke/handler.py -> smoke.handler,
    # which is how the tests (and the Lambda runtime) import it.
    assert mutation.work_path("lambda/smoke/handler.py") == "src/smoke/handler.py"
    assert mutation.work_path("constructs/workload/apps.py") == "constructs/workload/apps.py"


def test_work_directory_configures_one_module(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(mutation, "WORK", tmp_path)
    work = mutation.prepare("lambda/smoke/handler.py")
    assert work == tmp_path / "lambda.smoke.handler"
    assert (work / "src" / "smoke" / "handler.py").read_text() == (ROOT / "lambda/smoke/handler.py").read_text()
    for name in mutation.LINKED:
        assert (work / name).resolve() == (ROOT / name).resolve()
    settings = tomllib.loads((work / "pyproject.toml").read_text())["tool"]
    shared = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]
    assert settings["pytest"] == shared["pytest"]
    assert settings["mutmut"] == {
        **shared["mutmut"],
        "only_mutate": ["src/smoke/handler.py"],
        "pytest_add_cli_args_test_selection": mutation.suite("lambda/smoke/handler.py"),
    }
    # Every source root mutmut copies exists in the work directory; "-n 0": no xdist inside a mutant's run.
    assert all((work / p).is_dir() for p in settings["mutmut"]["source_paths"])
    assert settings["mutmut"]["pytest_add_cli_args"] == ["-n", "0"]
    # A second run starts from scratch.
    (work / "mutants").mkdir()
    mutation.prepare("lambda/smoke/handler.py")
    assert not (work / "mutants").exists()


def test_report_counts_and_threshold(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(mutation, "WORK", tmp_path)
    meta = tmp_path / "constructs.smoke.checks" / "mutants" / "constructs" / "smoke" / "checks.py.meta"
    meta.parent.mkdir(parents=True)
    codes = {f"constructs.smoke.checks.x_f__mutmut_{i}": 1 for i in range(1, 17)}
    codes |= {"constructs.smoke.checks.x_f__mutmut_17": 36, "constructs.smoke.checks.x_f__mutmut_18": 33}
    meta.write_text(json.dumps({"exit_code_by_key": codes}))
    monkeypatch.setattr(
        mutation,
        "describe",
        lambda _m, names: [mutation.Survivor(name=n, line=7, function="f", diff=[]) for n in names],
    )

    result = mutation.read_result("constructs/smoke/checks.py")
    assert result.counts == {mutation.KILLED: 16, mutation.TIMEOUT: 1, mutation.NO_TESTS: 1}
    assert result.score == pytest.approx(100 * 17 / 18)
    assert [s.name for s in result.survivors] == ["constructs.smoke.checks.x_f__mutmut_18"]
    text = mutation.render([result], fail_under=95)
    assert "constructs/smoke/checks.py:7  f  (constructs.smoke.checks.x_f__mutmut_18)" in text
    assert text.splitlines()[-1].split()[-3:] == ["94.4%", "<", "95%"]
    assert "<" not in mutation.render([result], fail_under=94).splitlines()[-1]
    assert mutation.main(["constructs/smoke/checks.py", "--report", "--fail-under", "95"]) == 1
    assert mutation.main(["constructs/smoke/checks.py", "--report", "--fail-under", "94"]) == 0


def test_missing_results_are_reported_not_a_traceback(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(mutation, "WORK", tmp_path)
    assert mutation.main(["constructs/smoke/checks.py", "--report"]) == 2


def test_every_file_a_suite_reads_from_the_repository_is_in_the_work_directory() -> None:
    """The class of fault behind two unrunnable suites (README.md for config/, package.json for the pipeline):
    a test reads `ROOT / "<name>"`, which the work directory lacks, so mutmut's first run fails for every mutant."""
    shared = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["mutmut"]
    copied = {*shared["source_paths"], *shared["also_copy"], "tests"}  # into mutants/<module>/mutants/
    for module in mutation.all_modules():
        for test_file in [
            ROOT / "tests" / "conftest.py",
            *(ROOT / a for a in mutation.suite(module) if a.endswith(".py")),
        ]:
            for name in re.findall(r'ROOT / "([^"/]+)', test_file.read_text()):
                if name != ".cache":  # conftest's fallback for the reference data, outside the repository
                    assert name in mutation.LINKED and name in copied, (module, test_file.name, name)


SYNTHESIZING_FIXTURES = frozenset({"synth", "variant", "two_stages", "one_stage"})


def _synthesizing_tests(path: Path) -> list[str]:
    """Test functions in `path` that use a synthesizing session fixture: as a parameter, through a fixture of the
    same file, or by name in a parametrize (for request.getfixturevalue)."""
    tree = ast.parse(path.read_text())
    functions = [n for n in ast.walk(tree) if isinstance(n, ast.FunctionDef)]
    synthesizing = set(SYNTHESIZING_FIXTURES)
    for _ in range(3):  # fixtures built on fixtures
        synthesizing |= {f.name for f in functions if {a.arg for a in f.args.args} & synthesizing}
    found = []
    for f in functions:
        if not f.name.startswith("test_"):
            continue
        strings = {c.value for d in f.decorator_list for c in ast.walk(d) if isinstance(c, ast.Constant)}
        if {a.arg for a in f.args.args} & synthesizing or strings & SYNTHESIZING_FIXTURES:
            found.append(f.name)
    return found


def _keyword_matcher(name: str) -> Callable[..., bool]:
    """pytest's `-k` matching for one test function: case-insensitive substrings of its name."""

    def matches(word: str, /, **_: str | int | bool | None) -> bool:
        return word.lower() in name.lower()

    return matches


@pytest.mark.parametrize("module", ALL_MODULES)
def test_no_suite_runs_a_test_that_synthesizes(module: str) -> None:
    """A synth inside mutmut's copy of the tree fails (asset bundling reads lambda/, shown there as src/), which
    stops the whole run; and it would cost seconds per mutant. Such tests are left out with `-k`."""
    from _pytest.mark.expression import Expression

    args = mutation.suite(module)
    keyword = args[args.index("-k") + 1] if "-k" in args else None
    for f in (a for a in args if a.endswith(".py")):
        for name in _synthesizing_tests(ROOT / f):
            selected = keyword is None or Expression.compile(keyword).evaluate(_keyword_matcher(name))
            assert not selected, f"{module}: its suite runs {f}::{name}, which synthesizes"


def test_the_synthesizing_tests_are_recognised() -> None:
    drain = _synthesizing_tests(ROOT / "tests/lambda/test_lattice_drain_cleanup.py")
    assert drain == [
        "test_the_waiter_gets_the_owner_the_controller_writes",
        "test_policy_allows_every_call_of_the_cleanup_and_no_delete_of_anything_else",
    ]
    assert "test_the_sweep_removes_only_the_gateway_stacks_records" in _synthesizing_tests(
        ROOT / "tests/test_dns_updates.py"
    )


@pytest.mark.parametrize("module", [m for m in ALL_MODULES if m.startswith("config/")])
def test_each_config_module_runs_the_tests_that_import_it(module: str) -> None:
    """Class test: a config module's own test files (tests/test_<name>*.py or tests/test_config_<name>*.py that
    import it) are in its suite (config/release.py's tests/test_release.py was outside the config/ suite)."""
    stem = Path(module).stem
    own = [*(ROOT / "tests").glob(f"test_{stem}*.py"), *(ROOT / "tests").glob(f"test_config_{stem}*.py")]
    importers = {
        p.relative_to(ROOT).as_posix()
        for p in own
        if re.search(
            rf"^\s*(from config\.{stem} import|import config\.{stem}\b|from config import .*\b{stem}\b)",
            p.read_text(),
            re.M,
        )
    }
    if not importers:
        return  # no test file of its own: the config/ suite's test_config*.py covers it
    suite = {
        q.relative_to(ROOT).as_posix() for arg in mutation.suite(module) if arg.endswith(".py") for q in ROOT.glob(arg)
    }
    assert importers & suite, (module, sorted(importers))


# One interpreter per worker imports only third-party packages every suite imports (pytest, boto3), checks that no
# module of this repository is loaded, and forks a fresh child per suite: each child holds exactly what a fresh
# interpreter would after importing its files, without paying for those imports again. After each child the parent
# reports its exit status, so a child that dies without a word (os._exit in a test file, a crash in an extension
# module) is a failure naming the files, not a wait for a line that never comes.
_PRELOAD = ["pytest", "boto3"]
_IMPORT_SUITES = """
import importlib, json, os, sys, traceback
root, pythonpath, preload = sys.argv[1], json.loads(sys.argv[2]), json.loads(sys.argv[3])
sys.path[:0] = [os.path.join(root, p) for p in pythonpath]
for name in preload:
    importlib.import_module(name)
venv = os.path.realpath(sys.prefix) + os.sep
ours = sorted(
    name
    for name, module in list(sys.modules.items())
    if (f := os.path.realpath(getattr(module, "__file__", None) or "/")).startswith(root + os.sep)
    and not f.startswith(venv)
)
print("READY", json.dumps(ours), flush=True)
for line in sys.stdin:
    files = json.loads(line)
    pid = os.fork()
    if pid == 0:
        try:
            for f in files:
                folder, _, name = f.rpartition("/")
                sys.path.insert(0, os.path.join(root, folder))  # pytest's prepend import mode: no __init__.py
                importlib.import_module(name.removesuffix(".py"))
            print("MODULES", json.dumps(sorted(sys.modules)), flush=True)
        except BaseException:
            print("FAILED", json.dumps(traceback.format_exc()), flush=True)
        finally:
            os._exit(0)  # no atexit handlers: they belong to the parent
    print("EXITED", os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1]), flush=True)
"""


class _SuiteImports:
    """`imported(files)`: the modules a fresh interpreter holds after importing `files` as pytest would (pyproject's
    pythonpath), each from a child forked off a parent holding only third-party packages. Each answer must come
    within `answer_seconds` (a suite's imports take seconds; the old one-interpreter-per-suite runs had 120 s)."""

    def __init__(self, stderr: Path, *, answer_seconds: float = 120.0) -> None:
        pythonpath = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["pytest"]["ini_options"]["pythonpath"]
        self._stderr_path = stderr
        self._stderr = stderr.open("w")
        self._answer_seconds = answer_seconds
        command = [sys.executable, "-I", "-B", "-c", _IMPORT_SUITES, str(ROOT.resolve())]
        self._parent = subprocess.Popen(
            [*command, json.dumps(pythonpath), json.dumps(_PRELOAD)],
            cwd=ROOT,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,  # bytes, unbuffered: read with select, so that a silence ends at a deadline
            stderr=self._stderr,
            bufsize=0,
            start_new_session=True,  # its own process group: close() ends a child left hanging along with it
        )
        self._pending = b""
        self._cache: dict[tuple[str, ...], frozenset[str]] = {}
        _, ready = self._line("READY", waiting_for="the parent to import " + ", ".join(_PRELOAD), seconds=120.0)
        assert ready == [], f"the parent of the forked imports already holds this repository's modules: {ready}"

    def _line(self, *kinds: str, waiting_for: str, seconds: float) -> tuple[str, Any]:
        """The next line of one of `kinds` (anything an import prints aside is skipped), within `seconds`."""
        assert self._parent.stdout is not None
        pipe = self._parent.stdout.fileno()
        deadline = time.monotonic() + seconds
        while True:
            while b"\n" not in self._pending:
                left = deadline - time.monotonic()
                if left <= 0 or not select.select([pipe], [], [], left)[0]:
                    self._kill()
                    raise AssertionError(
                        f"no answer within {seconds:g} s waiting for {waiting_for}{self._stderr_tail()}"
                    )
                chunk = os.read(pipe, 65536)
                if not chunk:
                    raise AssertionError(
                        f"the parent of the forked imports ended waiting for {waiting_for}{self._stderr_tail()}"
                    )
                self._pending += chunk
            line, _, self._pending = self._pending.partition(b"\n")
            kind, _, payload = line.decode().partition(" ")
            if kind in kinds:
                return kind, json.loads(payload)

    def _stderr_tail(self) -> str:
        tail = self._stderr_path.read_text()[-3000:]
        return f"; its stderr ends:\n{tail}" if tail else ""

    def imported(self, files: tuple[str, ...]) -> frozenset[str]:
        if files not in self._cache:
            assert self._parent.stdin is not None
            self._parent.stdin.write((json.dumps(files) + "\n").encode())
            self._parent.stdin.flush()
            waiting_for = f"the imports of {list(files)}"
            kind, value = self._line(
                "MODULES", "FAILED", "EXITED", waiting_for=waiting_for, seconds=self._answer_seconds
            )
            if kind == "EXITED":
                raise AssertionError(
                    f"the child importing {list(files)} exited with status {value} without a word{self._stderr_tail()}"
                )
            _, status = self._line(
                "EXITED", waiting_for=f"the end of the child that imported {list(files)}", seconds=self._answer_seconds
            )
            assert kind != "FAILED", value
            assert status == 0, f"the child importing {list(files)} exited with status {status} after answering"
            self._cache[files] = frozenset(value)
        return self._cache[files]

    def _kill(self) -> None:
        """The parent and the child it may be waiting for: one process group, this one's own."""
        if self._parent.poll() is None:
            os.killpg(self._parent.pid, signal.SIGKILL)
            self._parent.wait(timeout=60)

    def close(self) -> None:
        """Ends the parent (and any child it waits for) if still running: never left waiting on the tests' exit."""
        if self._parent.poll() is None:
            assert self._parent.stdin is not None
            self._parent.stdin.close()
            try:
                self._parent.wait(timeout=5)
            except subprocess.TimeoutExpired:  # waiting for a child that hangs
                self._kill()
        if self._parent.stdout is not None:
            self._parent.stdout.close()
        self._stderr.close()


@pytest.fixture(scope="module")
def suite_imports(tmp_path_factory: pytest.TempPathFactory) -> Iterator[_SuiteImports]:
    imports = _SuiteImports(tmp_path_factory.mktemp("suite-imports") / "stderr")
    yield imports
    imports.close()


def _import_name(module: str) -> str:
    """lambda/ is on sys.path (the Lambda runtime's layout): a module x/y.py under lambda/ is `x.y`; the rest from
    the root."""
    return module.removeprefix(mutation.LAMBDA).removesuffix(".py").replace("/", ".")


@pytest.mark.parametrize("module", ALL_MODULES)
def test_each_modules_suite_imports_it(module: str, suite_imports: _SuiteImports) -> None:
    """Class test: a module's mapped test files import it (lambda/lattice_metrics/health.py's tests live in
    tests/lambda/test_target_health.py, outside the lattice_metrics family: its score meant nothing)."""
    files = tuple(arg for arg in mutation.suite(module) if arg.endswith(".py"))
    assert _import_name(module) in suite_imports.imported(files), (module, files)


@pytest.mark.parametrize(
    ("source", "status"),
    [
        ("import os\nos._exit(3)\n", 3),  # a test file that ends the process
        ("import ctypes\nctypes.string_at(0)\n", -signal.SIGSEGV),  # a crash in an extension module
    ],
)
def test_a_suite_whose_import_ends_the_child_without_a_word_fails_naming_it(
    tmp_path: Path, source: str, status: int
) -> None:
    """Class test: a forked child that dies before answering is a failure naming its files and exit status, at once,
    not a wait for a line that never comes; the parent carries on with the next suite."""
    (tmp_path / "test_dies.py").write_text(source)
    (tmp_path / "test_lives.py").write_text("import json\n")
    imports = _SuiteImports(tmp_path / "stderr", answer_seconds=60.0)  # reached only if the exit went unnoticed
    try:
        with pytest.raises(AssertionError, match=rf"test_dies.py'\] exited with status {status} without a word"):
            imports.imported((f"{tmp_path}/test_dies.py",))
        assert "test_lives" in imports.imported((f"{tmp_path}/test_lives.py",))
    finally:
        imports.close()


def test_a_suite_whose_import_never_ends_fails_at_the_deadline(tmp_path: Path) -> None:
    """Class test: a child that hangs fails the test when the answer's deadline passes (a short one here), saying
    what it waited for, and neither the parent nor the child outlives it."""
    pid_file = tmp_path / "pid"
    (tmp_path / "test_hangs.py").write_text(
        f"import os, time\nopen({str(pid_file)!r}, 'w').write(str(os.getpid()))\ntime.sleep(3600)\n"
    )
    imports = _SuiteImports(tmp_path / "stderr", answer_seconds=1.0)
    started = time.monotonic()
    try:
        with pytest.raises(
            AssertionError, match=r"no answer within 1 s waiting for the imports of \[.*test_hangs.py'\]"
        ):
            imports.imported((f"{tmp_path}/test_hangs.py",))
        assert_within_budget(time.monotonic() - started, 1.0)
    finally:
        imports.close()
    assert imports._parent.returncode == -signal.SIGKILL
    assert _ends_within(int(pid_file.read_text()), seconds=10.0), "the hanging child lives on"


def _ends_within(pid: int, *, seconds: float) -> bool:
    """Whether process `pid` is gone or dead (a zombie, X) within `seconds`: a SIGKILL takes effect a moment after
    it is sent, and an orphan is reaped when its new parent gets to it."""
    stat = Path(f"/proc/{pid}/stat")
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            if stat.read_text().rsplit(")", 1)[1].split()[0] in {"Z", "X"}:
                return True
        except FileNotFoundError:
            return True
        time.sleep(0.01)
    return False
