"""`make bench`'s fresh-clone run (benchmarks/fresh_clone.py) and issue 29's ratios (benchmarks/run.py).

The fresh-clone run times a real `make synth` and `make test` through benchmarks/timed_shell.sh (make's SHELL), so
these tests run real make: the shell must time every recipe line without changing what it runs or its exit status,
and every line the Makefile runs for `make synth` + `make test` must be attributed to a named step."""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

import pytest

from benchmarks import fresh_clone
from benchmarks.run import ratio_line, ratios

ROOT = Path(__file__).resolve().parent.parent
SHELL = ROOT / "benchmarks" / "timed_shell.sh"

MAKEFILE = """\
SHELL := /bin/bash
all: first second
first:
\t@echo "one $$((1 + 1))" > out.txt
\techo a \\
\t  b >> out.txt
second:
\t@exit 3
"""


def _timed_make(folder: Path, log: Path, *flags: str, check: bool) -> subprocess.CompletedProcess[str]:
    """make in `folder` with timed_shell.sh as its SHELL, logging recipe lines to `log`, nothing else inherited."""
    return subprocess.run(
        ["make", *flags, f"SHELL={SHELL}"],
        cwd=folder,
        env={"PATH": "/usr/bin:/bin", "BENCH_STEPS_LOG": str(log)},
        capture_output=True,
        text=True,
        check=check,
    )


def test_timed_shell_logs_each_recipe_line_and_keeps_its_status(tmp_path: Path) -> None:
    (tmp_path / "Makefile").write_text(MAKEFILE)
    log = tmp_path / "steps.tsv"
    result = _timed_make(tmp_path, log, "-k", check=False)
    assert result.returncode != 0  # the failing line still fails make
    assert (tmp_path / "out.txt").read_text() == "one 2\na b\n"  # bash ran each line as written
    steps = fresh_clone.parse_steps(log.read_text())
    assert [(s.status, s.command) for s in steps] == [
        (0, 'echo "one $((1 + 1))" > out.txt'),
        (0, "echo a \\   b >> out.txt"),  # a continued line stays one line of the log
        (3, "exit 3"),
    ]
    assert all(s.end >= s.start for s in steps)


def test_timed_shell_times_sub_makes_but_not_a_make_the_tests_start(tmp_path: Path) -> None:
    """`$(MAKE)` lines keep the timing (make test's side-by-side sub-make); a make started by anything else (pytest
    running `make synth` in a test) runs unchanged: no SHELL override in its MAKEFLAGS, nothing logged."""
    (tmp_path / "Makefile").write_text("all:\n\t$(MAKE) -s sub\n\t@bash -c 'make -s -f inner.mk'\nsub:\n\t@echo sub\n")
    (tmp_path / "inner.mk").write_text('x:\n\t@echo "inner [$$MAKEFLAGS] [$${BENCH_STEPS_LOG-unset}]"\n')
    log = tmp_path / "steps.tsv"
    result = _timed_make(tmp_path, log, "-s", check=True)
    inner = next(line for line in result.stdout.splitlines() if line.startswith("inner"))
    assert "timed_shell" not in inner and inner.endswith("[]"), inner
    commands = [s.command for s in fresh_clone.parse_steps(log.read_text())]
    assert commands == ["echo sub", "make -s sub", "bash -c 'make -s -f inner.mk'"]


def test_every_line_of_make_synth_and_make_test_has_its_step(tmp_path: Path) -> None:
    """A dry run of the Makefile's own recipes (-B: as on a fresh clone, everything to do): each install, the
    synth, ruff, mypy and pytest land in their step, and nothing that takes time in "other"."""
    env = {k: v for k, v in os.environ.items() if k not in ("MAKEFLAGS", "MAKELEVEL", "MFLAGS")}
    command = ["make", "--no-print-directory", "-n", "-B", "synth", "test"]
    result = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, check=True)
    labels = {line: fresh_clone.classify(line) for line in result.stdout.splitlines() if line.strip()}
    other = [line for line, label in labels.items() if label.startswith("other")]
    assert all(line.split()[0] in {"touch", "echo", "@touch", "@echo"} for line in other), other
    found = set(labels.values())
    for step in (
        "main virtualenv: create",
        "main virtualenv: pip install",
        "node_modules: npm ci",
        "checkov virtualenv: create",
        "checkov virtualenv: pip install",
        "first synth (cdk synth)",
        "ruff check",
        "ruff format --check",
    ):
        assert step in found, (step, labels)
    assert {"mypy (cold)", "pytest"} <= found or "mypy (cold) with pytest, concurrently" in found, labels


def test_attribute_sums_steps_and_takes_each_steps_peak() -> None:
    steps = fresh_clone.parse_steps(
        "10.0\t20.0\t0\tx/.venv/bin/python -m pip install -r requirements-dev.txt -c constraints.txt\n"
        "20.0\t25.0\t0\tx/.venv/bin/mypy\n"
        "25.0\t40.0\t1\tx/.venv/bin/python -m pytest\n"
    )
    timeline = [(12.0, 100), (21.0, 900), (24.0, 700), (30.0, 500), (50.0, 9999)]
    seconds, peaks, shared = fresh_clone.attribute(steps, timeline)
    assert seconds == {"main virtualenv: pip install": 10.0, "mypy (cold)": 5.0, "pytest": 15.0}
    assert peaks == {"main virtualenv: pip install": 100, "mypy (cold)": 900, "pytest": 500}
    assert shared == {}  # one after the other: each peak is that step's own


def test_attribute_marks_the_peak_of_steps_that_ran_side_by_side_as_shared() -> None:
    """make test's -j2 sub-make: mypy and checkov's install overlap, so the tree's peak while either ran holds both;
    it is reported as shared between them, not as either one's. The sub-make line enclosing them, and pytest after
    it, overlap nothing."""
    steps = fresh_clone.parse_steps(
        "10.0\t12.0\t0\t.venv/bin/python3 -m venv .venv-checkov\n"
        "12.0\t30.0\t0\t.venv-checkov/bin/python -m pip install -r requirements-scan.txt\n"
        "10.0\t40.0\t0\tx/.venv/bin/mypy\n"
        "10.0\t40.0\t0\tmake --no-print-directory -j2 --output-sync=target typecheck .venv-checkov/.installed\n"
        "40.0\t60.0\t0\tx/.venv/bin/python -m pytest\n"
    )
    timeline = [(11.0, 300), (20.0, 3000), (35.0, 2800), (50.0, 4000)]
    _, peaks, shared = fresh_clone.attribute(steps, timeline)
    assert shared == {
        "checkov virtualenv: create": ["mypy (cold)"],
        "checkov virtualenv: pip install": ["mypy (cold)"],
        "mypy (cold)": ["checkov virtualenv: create", "checkov virtualenv: pip install"],
    }
    assert peaks["checkov virtualenv: pip install"] == peaks["mypy (cold)"] == 3000
    shown = fresh_clone.peak_text(peaks["mypy (cold)"], shared["mypy (cold)"])
    assert "shared with: checkov virtualenv: create, checkov virtualenv: pip install" in shown
    assert "shared" not in fresh_clone.peak_text(peaks["pytest"], shared.get("pytest", []))


def test_ratios_pair_side_by_side_runs() -> None:
    assert ratios([10.0, 30.0, 12.0], [2.0, 3.0, 4.0]) == [5.0, 10.0, 3.0]
    with pytest.raises(ValueError, match="pairs"):
        ratios([1.0, 2.0], [1.0])
    with pytest.raises(ValueError, match="pairs"):
        ratios([], [])


def test_ratio_line_gives_median_spread_runs_and_verdict() -> None:
    assert ratio_line("r", [5.0, 10.0, 3.0], 5.0) == "  r: 5.00 [3.00..10.00] over 3 runs (target <= 5): PASS"
    assert ratio_line("r", [41.0], 40.0, " (one)") == "  r: 41.00 [41.00..41.00] over 1 run (one) (target <= 40): MISS"


def test_clean_env_empties_every_cache_and_drops_the_virtualenv(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PATH", f"{ROOT / '.venv' / 'bin'}:/usr/bin")
    monkeypatch.setenv("MAKEFLAGS", "-j4")
    monkeypatch.setenv("EKS_LATTICE_SHARED", "/elsewhere")
    env = fresh_clone.clean_env(tmp_path)
    assert env["PATH"] == "/usr/bin"
    assert "MAKEFLAGS" not in env and "EKS_LATTICE_SHARED" not in env
    assert env["PIP_NO_CACHE_DIR"] == "1"
    for variable in ("npm_config_cache", "JSII_RUNTIME_PACKAGE_CACHE_ROOT", "XDG_CACHE_HOME"):
        cache = Path(env[variable])
        assert cache.is_dir() and cache.is_relative_to(tmp_path) and not any(cache.iterdir())


def test_bench_flags_are_all_there() -> None:
    """`make bench ARGS=...`: the documented flags (docs/benchmarks.md) parse, and the memory pair stays exclusive."""
    result = subprocess.run(
        [str(ROOT / ".venv" / "bin" / "python"), "benchmarks/run.py", "--help"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    )
    flags_sentence = (ROOT / "docs" / "benchmarks.md").read_text().split("flags via `ARGS`:", 1)[1].split(")", 1)[0]
    documented = set(re.findall(r"`(--[a-z-]+)", flags_sentence))
    flags = set(re.findall(r"(--[a-z-]+)", result.stdout)) - {"--help"}
    assert flags == documented
    both = subprocess.run(
        [str(ROOT / ".venv" / "bin" / "python"), "benchmarks/run.py", "--skip-memory", "--memory-only"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert both.returncode == 2 and "not allowed with" in both.stderr
