#!/usr/bin/env python3
"""Fresh clone, empty caches: `make synth` then `make test`, timed step by step (issue 29's third ratio).

A clone of HEAD with `../shared` beside it, nothing installed, and every download cache empty: pip's disabled
(PIP_NO_CACHE_DIR), npm's and jsii's runtime package cache (JSII_RUNTIME_PACKAGE_CACHE_ROOT) in new empty folders,
XDG_CACHE_HOME too. make runs with SHELL=benchmarks/timed_shell.sh, which times each recipe line without changing
it, so the two real make runs are attributed per step: each install, the first synth, ruff, mypy (cold), pytest.
`make test`'s peak memory is sampled as in benchmarks/memory.py, and attributed to the step it fell in (marked
shared where steps ran side by side: the sample is the whole tree's).

Packages come from wherever this machine's pip and npm configuration points (a local index here; PyPI in CI).

    python benchmarks/fresh_clone.py [--runs 1] [--keep]
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from benchmarks.memory import Peak, measure  # noqa: E402

TIMED_SHELL = ROOT / "benchmarks" / "timed_shell.sh"
# Recipe line -> step, first match wins (a line is matched on all of its substrings).
# make test runs mypy and checkov's install side by side in a sub-make: that line's wall time is a step of its own,
# and the two lines inside it are attributed as well (so the steps add up to more than the wall time).
STEPS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("mypy and checkov virtualenv, side by side (wall)", ("-j2", "typecheck", ".venv-checkov/.installed")),
    ("checkov virtualenv: create", ("-m venv .venv-checkov",)),
    ("checkov virtualenv: pip install", (".venv-checkov/bin/python -m pip install",)),
    ("main virtualenv: create", ("-m venv .venv",)),
    ("main virtualenv: pip install", ("pip install", "requirements-dev.txt")),
    ("node_modules: npm ci", ("npm ci",)),
    ("first synth (cdk synth)", ("cdk synth",)),
    ("reference data", ("fetch_reference.py",)),
    ("mypy (cold) with pytest, concurrently", ("mypy", "pytest")),
    ("ruff check", ("ruff check",)),
    ("ruff format --check", ("ruff format",)),
    ("mypy (cold)", ("/mypy",)),
    ("pytest", ("-m pytest",)),
)


@dataclass(frozen=True, kw_only=True)
class Step:
    start: float
    end: float
    status: int
    command: str

    @property
    def seconds(self) -> float:
        return self.end - self.start


@dataclass(kw_only=True)
class FreshClone:
    synth_seconds: float
    test_seconds: float
    synth_status: int
    test_status: int
    steps: dict[str, float] = field(default_factory=dict)  # step -> seconds
    peaks: dict[str, int] = field(default_factory=dict)  # step -> peak bytes of make test's tree while it ran
    shared: dict[str, list[str]] = field(default_factory=dict)  # step -> steps that ran beside it (shared peak)
    peak: Peak | None = None
    logs: Path | None = None

    @property
    def total(self) -> float:
        return self.synth_seconds + self.test_seconds


def classify(command: str) -> str:
    for label, parts in STEPS:
        if all(part in command for part in parts):
            return label
    return "other (stamps, checks)"


def parse_steps(text: str) -> list[Step]:
    """benchmarks/timed_shell.sh's log: start, end, status, command (tab-separated, one line each)."""
    steps = []
    for line in text.splitlines():
        start, end, status, command = line.split("\t", 3)
        steps.append(Step(start=float(start), end=float(end), status=int(status), command=command))
    return steps


def _overlaps(a: Step, b: Step) -> bool:
    return a.start < b.end and b.start < a.end


def attribute(
    steps: Sequence[Step], timeline: Sequence[tuple[float, int]]
) -> tuple[dict[str, float], dict[str, int], dict[str, list[str]]]:
    """Seconds per step; the tree's peak memory while each step ran; and, per step, the steps that ran at the same
    time (make test's -j2 sub-make runs mypy beside checkov's install). The sampled peak is the whole tree's, so a
    step that overlapped others shares its peak with them: it is not that step's own memory. A recursive make line
    encloses the lines it runs, so it is not counted as overlapping them."""
    seconds: dict[str, float] = {}
    peaks: dict[str, int] = {}
    shared: dict[str, list[str]] = {}
    lines = [step for step in steps if not step.command.startswith("make ")]
    for step in steps:
        label = classify(step.command)
        seconds[label] = seconds.get(label, 0.0) + step.seconds
        during = [b for t, b in timeline if step.start <= t <= step.end]
        if during:
            peaks[label] = max(peaks.get(label, 0), *during)
        if step.command.startswith("make "):
            continue
        for other in lines:
            other_label = classify(other.command)
            if other is not step and other_label != label and _overlaps(step, other):
                shared.setdefault(label, [])
                if other_label not in shared[label]:
                    shared[label].append(other_label)
    return seconds, peaks, shared


def peak_text(peak: int | None, shared_with: Sequence[str]) -> str:
    """A step's peak for the attribution table: the tree's, and whose it is too when other steps ran beside it."""
    if not peak:
        return ""
    text = f"  peak {peak / 2**30:.2f} GB"
    return text + (f" (whole tree, shared with: {', '.join(shared_with)})" if shared_with else "")


def clean_env(caches: Path) -> dict[str, str]:
    """The environment of a first run: no virtualenv on PATH, every download cache empty, pip's disabled."""
    env = {k: v for k, v in os.environ.items() if k not in ("VIRTUAL_ENV", "MAKEFLAGS", "MAKELEVEL", "MFLAGS")}
    venv_bin = str(ROOT / ".venv" / "bin")
    env["PATH"] = os.pathsep.join(p for p in env.get("PATH", "").split(os.pathsep) if p and p != venv_bin)
    env.pop("EKS_LATTICE_SHARED", None)  # the clone finds ../shared beside it, as a developer's does
    env.pop("EKS_LATTICE_DEPLOYED_PIPELINE", None)
    env["PIP_NO_CACHE_DIR"] = "1"
    caches_by_variable = (
        ("npm", "npm_config_cache"),
        ("jsii", "JSII_RUNTIME_PACKAGE_CACHE_ROOT"),
        ("xdg", "XDG_CACHE_HOME"),
    )
    for name, variable in caches_by_variable:
        (caches / name).mkdir(parents=True, exist_ok=True)
        env[variable] = str(caches / name)
    # jsii 1.142.0's runtime (jsii/_embedded/jsii/lib__program.js in the wheel, read 2026-12-05): the package cache
    # is on unless JSII_RUNTIME_PACKAGE_CACHE is something other than "enabled"; JSII_RUNTIME_PACKAGE_CACHE_ROOT
    # moves it. Stated here, so the cache is in play, and empty.
    env["JSII_RUNTIME_PACKAGE_CACHE"] = "enabled"
    return env


def _make(
    target: str,
    *,
    clone: Path,
    env: Mapping[str, str],
    log: Path,
    steps_log: Path,
    timeline: list[tuple[float, int]] | None = None,
) -> Peak:
    env = dict(env)
    env["BENCH_STEPS_LOG"] = str(steps_log)
    with log.open("w") as out:
        return measure(["make", f"SHELL={TIMED_SHELL}", target], cwd=clone, env=env, output=out, timeline=timeline)


def run(work: Path, shared: Path, *, keep: bool = False) -> FreshClone:
    """One fresh clone of HEAD: `make synth`, then `make test`, each a real make run."""
    base = work / f"fresh-{time.time_ns()}"
    clone = base / "main"
    subprocess.run(["git", "clone", "--quiet", str(ROOT), str(clone)], check=True)
    (base / "shared").symlink_to(shared.resolve(), target_is_directory=True)
    env = clean_env(base / "caches")
    steps_log = base / "steps.tsv"
    synth = _make("synth", clone=clone, env=env, log=base / "make-synth.log", steps_log=steps_log)
    timeline: list[tuple[float, int]] = []
    test = _make("test", clone=clone, env=env, log=base / "make-test.log", steps_log=steps_log, timeline=timeline)
    seconds, peaks, beside = attribute(parse_steps(steps_log.read_text()), timeline)
    result = FreshClone(
        synth_seconds=synth.seconds,
        test_seconds=test.seconds,
        synth_status=synth.returncode,
        test_status=test.returncode,
        steps=seconds,
        peaks=peaks,
        shared=beside,
        peak=test,
        logs=base,
    )
    if not keep:
        for name in (".venv", ".venv-checkov", "node_modules", "cdk.out", ".cache", ".mypy_cache"):
            shutil.rmtree(clone / name, ignore_errors=True)
    return result


def shared_dir() -> Path:
    """The shared test data the suite reads (as tests/conftest.py resolves it), for a clone elsewhere."""
    if os.environ.get("EKS_LATTICE_SHARED"):
        return Path(os.environ["EKS_LATTICE_SHARED"])
    beside = ROOT.parent / "shared"
    return beside if beside.is_dir() else ROOT / ".cache" / "shared"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=1)
    parser.add_argument("--keep", action="store_true", help="keep each clone's installs (for inspection)")
    args = parser.parse_args(argv)
    work = Path(tempfile.mkdtemp(prefix="fresh."))
    failed = False
    for _ in range(max(1, args.runs)):
        result = run(work, shared_dir(), keep=args.keep)
        print(
            f"make synth {result.synth_seconds:.1f} s (exit {result.synth_status}), "
            f"make test {result.test_seconds:.1f} s (exit {result.test_status}); logs in {result.logs}"
        )
        for label, seconds in result.steps.items():
            peak = result.peaks.get(label)
            print(f"  {label:45s} {seconds:7.1f} s{peak_text(peak, result.shared.get(label, []))}")
        failed = failed or bool(result.synth_status or result.test_status)
    return 1 if failed else 0  # a failed run's times measure nothing


if __name__ == "__main__":
    sys.exit(main())
