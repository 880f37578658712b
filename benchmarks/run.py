#!/usr/bin/env python3
"""`make bench`: synthesis and test-suite timings on this machine, the peak memory of `make test` on a fresh
clone, and the deploy's critical path.

In one run: synthesis of the bare aws_eks_v2 cluster app (benchmarks/bare_cluster_app.py), synthesis of the
full app (app.py) — both as `python <file>` subprocesses with CDK_OUTDIR and CDK_CONTEXT_JSON from cdk.json,
so both pay the same Python and jsii start-up — and the whole test suite. Prints the median of N runs, the
ratios against the targets (PASS/MISS; never fails the run), the critical path of the full app's deploy and
the size of each Lambda asset.

Then, once, `make test` on a fresh clone of HEAD (what the pipeline's synth step runs: cold mypy cache, no
__pycache__), with the virtualenv and node_modules linked rather than reinstalled, and its peak memory
against the synth step's CodeBuild compute type, so growth is seen here before CodeBuild kills the build.

    python benchmarks/run.py [--runs 3] [--skip-tests] [--skip-memory | --memory-only]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from benchmarks.memory import Peak, measure  # noqa: E402
from benchmarks.synth_phases import profile_synth  # noqa: E402
from config.pipeline import SYNTH_COMPUTE_TYPE, SYNTH_MEMORY_GB  # noqa: E402
from tools import critical_path, synth  # noqa: E402

BIN = ROOT / ".venv" / "bin"
PYTHON = BIN / "python" if (BIN / "python").exists() else Path(sys.executable)
SYNTH_TARGET = 1.4  # full synth <= 1.4 x the bare cluster (issue 29)
TESTS_TARGET = 5.0  # warm test suite <= 5 x one full synth (issue 29)
# The session's synthesis fixtures (tests/conftest.py): their setup is "shared synths"; any other fixture whose
# setup took a second or more is counted as a variant synth (the suite's other fixtures take milliseconds).
SHARED_SYNTHS = {
    "synth",
    "variant",
    "namespaced",
    "protocols",
    "protocols_consumers",
    "two_stages",
    "one_stage",
    "largest",
}
# Test files whose tests run a scanner over synthesized templates (cfn-lint, checkov, cdk-nag's report).
SCANNER_FILES = ("test_checkov.py", "test_scans.py", "test_compliance.py")
MEMORY_TARGET = 0.75  # fresh-clone `make test` peak <= 75 % of the synth step's memory
GB = 1024**3


def _env(outdir: Path | None = None) -> dict[str, str]:
    env = dict(os.environ)
    env["PATH"] = f"{BIN}{os.pathsep}{env.get('PATH', '')}"
    env.setdefault("JSII_SILENCE_WARNING_UNTESTED_NODE_VERSION", "1")
    if outdir is not None:
        env["CDK_OUTDIR"] = str(outdir)
        env["CDK_CONTEXT_JSON"] = json.dumps(synth.cdk_json_context())
    return env


def timed(command: Sequence[str], env: dict[str, str]) -> float:
    start = time.perf_counter()
    result = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, check=False)
    elapsed = time.perf_counter() - start
    if result.returncode != 0:
        tail = "\n".join((result.stdout + result.stderr).strip().splitlines()[-15:])
        print(f"warning: {' '.join(command)} exited {result.returncode}:\n{tail}", file=sys.stderr)
    return elapsed


def synth_once(script: str, outdir: Path) -> float:
    return timed([str(PYTHON), script], _env(outdir))


def spread(values: Sequence[float]) -> str:
    """median [min..max] of several runs."""
    return f"{statistics.median(values):7.2f} [{min(values):.2f}..{max(values):.2f}]"


def report_synth_phases(work: Path, runs: int) -> None:
    """Each synthesis's phases (benchmarks/synth_phases.py), medians over `runs` runs of each app."""
    for which, label in (("bare", "bare aws_eks_v2 cluster app"), ("app", "full app (app.py)")):
        samples = [
            profile_synth(which, work / f"phases-{which}{i}", work / f"prof-{which}{i}", _env()) for i in range(runs)
        ]
        print(f"synth phases, {label} (seconds, median [min..max] of {runs}):")
        print(f"  {'whole process':55s} {spread([s['wall'] for s in samples])}")
        for name in samples[0]["python"]:
            print(f"  python: {name:47s} {spread([s['python'].get(name, 0.0) for s in samples])}")
        names = sorted(
            {n for s in samples for n in s["kernel"]},
            key=lambda n: -statistics.median([s["kernel"].get(n, 0.0) for s in samples]),
        )
        for name in names:
            print(f"  node:   {name:47s} {spread([s['kernel'].get(name, 0.0) for s in samples])}")


def suite_phases(folder: Path) -> dict[str, float]:
    """One pytest run's phases from benchmarks/pytest_phases.py's files (summed over the xdist workers)."""
    phases: dict[str, float] = {}
    fixtures: dict[str, float] = {}
    files: dict[str, float] = {}
    spans: list[float] = []
    paths = sorted(folder.glob("*.json"))
    if len(paths) > 1:  # under xdist the controller sees every worker's reports again: count the workers'
        paths = [p for p in paths if p.stem != "controller"]
    for path in paths:
        data = json.loads(path.read_text())
        phases["collection (summed over workers)"] = (
            phases.get("collection (summed over workers)", 0.0) + data["collection"]
        )
        for name, entry in data["fixtures"].items():
            fixtures[name] = fixtures.get(name, 0.0) + entry["seconds"]
        for name, entry in data["files"].items():
            files[name] = files.get(name, 0.0) + entry["setup"] + entry["call"] + entry["teardown"]
        if data["first"] and data["last"]:
            spans.append(data["last"] - data["first"])
    shared = sum(v for k, v in fixtures.items() if k in SHARED_SYNTHS)
    variant = sum(v for k, v in fixtures.items() if k not in SHARED_SYNTHS and v >= 1.0)
    small = sum(v for k, v in fixtures.items() if k not in SHARED_SYNTHS and v < 1.0)
    scanners = sum(v for k, v in files.items() if k.endswith(SCANNER_FILES))
    total = sum(files.values())
    phases["shared synths (session fixtures)"] = shared
    phases["other fixtures >= 1 s (mostly per-file synths)"] = variant
    phases["other fixtures"] = small
    phases["scanner test files (fixture setup inside them included)"] = scanners
    phases["everything else in tests (less fixtures)"] = max(0.0, total - shared - variant - small - scanners)
    if len(spans) > 1:
        phases["xdist tail: busiest worker - idlest worker"] = max(spans) - min(spans)
    for name, seconds in sorted(fixtures.items(), key=lambda kv: -kv[1])[:8]:
        phases[f"  fixture {name}"] = seconds
    for name, seconds in sorted(files.items(), key=lambda kv: -kv[1])[:10]:
        phases[f"  file {name}"] = seconds
    return phases


def verdict(ratio: float, target: float) -> str:
    return "PASS" if ratio <= target else "MISS"


def shared_dir() -> Path:
    """The shared test data the suite reads (as tests/conftest.py resolves it), for a clone elsewhere."""
    if os.environ.get("EKS_LATTICE_SHARED"):
        return Path(os.environ["EKS_LATTICE_SHARED"])
    beside = ROOT.parent / "shared"
    return beside if beside.is_dir() else ROOT / ".cache" / "shared"


def fresh_clone_make_test(work: Path) -> tuple[Peak, Path]:
    """`make test` in a fresh clone of HEAD; the environment is linked, and make told not to reinstall it."""
    clone = work / "clone"
    subprocess.run(["git", "clone", "--quiet", str(ROOT), str(clone)], check=True)
    for name in (".venv", "node_modules"):
        (clone / name).symlink_to((ROOT / name).resolve(), target_is_directory=True)
    env = _env()
    env["EKS_LATTICE_SHARED"] = str(shared_dir())
    for name in ("EKS_LATTICE_DEPLOYED_PIPELINE", "MAKEFLAGS", "MAKELEVEL"):
        env.pop(name, None)
    log = work / "make-test.log"
    with log.open("w") as out:
        # -o: treat the install stamps as up to date (a fresh clone's pin files are newer than them).
        command = ["make", "-o", ".venv/.installed", "-o", "node_modules/.installed", "test"]
        peak = measure(command, cwd=clone, env=env, output=out)
    shutil.rmtree(clone)  # unlinks the .venv/node_modules links, never what they point to
    return peak, log


def report_memory(work: Path) -> None:
    status = ["git", "status", "--porcelain"]
    dirty = subprocess.run(status, cwd=ROOT, capture_output=True, text=True, check=False).stdout
    peak, log = fresh_clone_make_test(work)
    print(f"make test on a fresh clone of HEAD{' (uncommitted changes not included)' if dirty.strip() else ''}:")
    if peak.returncode != 0:
        tail = "\n".join(log.read_text().strip().splitlines()[-15:])
        print(f"  warning: exited {peak.returncode} (log: {log}):\n{tail}")
    print(f"  wall time                               : {peak.seconds:7.1f} s")
    print(f"  peak memory, whole process tree (PSS)   : {peak.tree_bytes / GB:7.2f} GB  ({peak.samples} samples)")
    print(f"  peak RSS of the largest process         : {peak.largest_bytes / GB:7.2f} GB")
    ratio = peak.tree_bytes / (SYNTH_MEMORY_GB * GB)
    print(
        f"  synth step {SYNTH_COMPUTE_TYPE} ({SYNTH_MEMORY_GB} GB): {ratio:.0%} used "
        f"(target <= {MEMORY_TARGET:.0%}): {verdict(ratio, MEMORY_TARGET)}"
    )


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Synthesis and test-suite benchmarks, and the critical path.")
    parser.add_argument("--runs", type=int, default=3, help="runs of each measurement; the median is kept")
    parser.add_argument("--skip-tests", action="store_true", help="don't time the test suite")
    parser.add_argument("--skip-phases", action="store_true", help="don't profile the synthesis phases")
    memory = parser.add_mutually_exclusive_group()
    memory.add_argument("--skip-memory", action="store_true", help="don't run `make test` on a fresh clone")
    memory.add_argument("--memory-only", action="store_true", help="only the fresh-clone `make test` memory")
    args = parser.parse_args(argv)
    runs = max(1, args.runs)

    work = Path(tempfile.mkdtemp(prefix="bench."))
    if args.memory_only:
        report_memory(work)
        return 0
    bare: list[float] = []
    full: list[float] = []
    full_out = work / "full"
    for index in range(runs):  # interleaved, so drift on a shared machine hits both alike
        bare.append(synth_once("benchmarks/bare_cluster_app.py", work / f"bare{index}"))
        full.append(synth_once("app.py", full_out if index == 0 else work / f"full{index}"))
    bare_s, full_s = statistics.median(bare), statistics.median(full)
    synth_ratio = full_s / bare_s
    print(f"runs: {runs} (median)")
    print(f"  synth, bare aws_eks_v2 cluster app : {spread(bare)} s")
    print(f"  synth, full app (app.py)           : {spread(full)} s")
    print(f"  full / bare = {synth_ratio:.2f}x (target <= {SYNTH_TARGET}x): {verdict(synth_ratio, SYNTH_TARGET)}")
    if not args.skip_phases:
        report_synth_phases(work, runs)
    if not args.skip_tests:
        suite: list[float] = []
        per_run: list[dict[str, float]] = []
        for index in range(runs):
            folder = work / f"pytest-phases{index}"
            folder.mkdir()
            env = _env()
            env["BENCH_PHASES_DIR"] = str(folder)
            command = [str(PYTHON), "-m", "pytest", "-q", "-p", "no:randomly", "-p", "benchmarks.pytest_phases"]
            suite.append(timed(command, env))
            per_run.append(suite_phases(folder))
        suite_s = statistics.median(suite)
        tests_ratio = suite_s / full_s
        print(f"  test suite (pytest -q)             : {spread(suite)} s")
        print(
            f"  tests / full synth = {tests_ratio:.2f}x (target <= {TESTS_TARGET}x): "
            f"{verdict(tests_ratio, TESTS_TARGET)}"
        )
        print(f"test-suite phases (seconds of worker time, median [min..max] of {runs}):")
        for name in per_run[0]:
            print(f"  {name:60s} {spread([p.get(name, 0.0) for p in per_run])}")

    if (full_out / "manifest.json").exists():
        assembly = synth.read_assembly(full_out)
        print("\n".join(critical_path.render(critical_path.critical_path(assembly.templates, assembly.dependencies))))
        assets = critical_path.lambda_assets(assembly.outdir, assembly.templates)
        print(f"Lambda assets ({len(assets)}):")
        for name, asset, size in assets:
            print(f"  {size / 1024:>9.1f} KiB  {asset}  ({name})")
    else:
        print("critical path: the full app did not synthesize (see the warning above)")
    if not args.skip_memory:
        report_memory(work)
    return 0


if __name__ == "__main__":
    sys.exit(main())
