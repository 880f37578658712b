#!/usr/bin/env python3
"""`make bench`: issue 29's three ratios on this machine, each with its median and spread, where the time goes,
the peak memory of `make test` on a fresh clone, and the deploy's critical path.

1. full synth / bare synth: the bare aws_eks_v2 cluster app (benchmarks/bare_cluster_app.py) and the full app
   (app.py), both as `python <file>` subprocesses with CDK_OUTDIR and CDK_CONTEXT_JSON from cdk.json (the same
   Python and jsii start-up), alternated; the ratio of each pair, then their median [min..max].
2. warm `make test` / one full `make synth`: the two alternated in this checkout, the ratio of each pair.
3. fresh clone, empty pip/npm/jsii caches: `make synth` + `make test` / one bare synth
   (benchmarks/fresh_clone.py: every install, the first synth, mypy cold, pytest, attributed per step). One run by
   default (it installs everything: minutes); --fresh-runs N for more. Its `make test` peak memory is reported
   against the synth step's CodeBuild compute type, so growth is seen here before CodeBuild kills the build.

Ratios are printed against their targets (PASS/MISS); the run never fails on a MISS. A measured command that
exits non-zero (a failed run is short, so it would land under target) makes its figure FAILED, with no ratio, and
`make bench` exit 1 once everything is printed.

    python benchmarks/run.py [--runs 3] [--fresh-runs 1] [--skip-tests] [--skip-phases] [--skip-fresh]
                             [--skip-memory | --memory-only]
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
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from benchmarks import fresh_clone  # noqa: E402
from benchmarks.fresh_clone import shared_dir  # noqa: E402
from benchmarks.memory import Peak, measure  # noqa: E402
from benchmarks.synth_phases import profile_synth  # noqa: E402
from config.pipeline import SYNTH_COMPUTE_TYPE, SYNTH_MEMORY_GB  # noqa: E402
from tools import critical_path, synth  # noqa: E402

BIN = ROOT / ".venv" / "bin"
PYTHON = BIN / "python" if (BIN / "python").exists() else Path(sys.executable)
SYNTH_TARGET = 1.4  # full synth <= 1.4 x the bare cluster (issue 29)
TESTS_TARGET = 5.0  # warm `make test` <= 5 x one full `make synth` (issue 29)
FRESH_TARGET = 40.0  # fresh clone `make synth` + `make test` <= 40 x one bare synth (issue 29)
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
    env = {k: v for k, v in os.environ.items() if k not in ("MAKEFLAGS", "MAKELEVEL", "MFLAGS")}
    env["PATH"] = f"{BIN}{os.pathsep}{env.get('PATH', '')}"
    env.setdefault("JSII_SILENCE_WARNING_UNTESTED_NODE_VERSION", "1")
    if outdir is not None:
        env["CDK_OUTDIR"] = str(outdir)
        env["CDK_CONTEXT_JSON"] = json.dumps(synth.cdk_json_context())
    return env


@dataclass(frozen=True)
class Timed:
    """One measured run: its wall time, and what it exited with (a failed run's time measures nothing)."""

    seconds: float
    status: int
    command: str


def timed(command: Sequence[str], env: dict[str, str]) -> Timed:
    start = time.perf_counter()
    result = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, check=False)
    elapsed = time.perf_counter() - start
    if result.returncode != 0:
        tail = "\n".join((result.stdout + result.stderr).strip().splitlines()[-15:])
        print(f"error: {' '.join(command)} exited {result.returncode}:\n{tail}", file=sys.stderr)
    return Timed(elapsed, result.returncode, " ".join(command))


def synth_once(script: str, outdir: Path) -> Timed:
    return timed([str(PYTHON), script], _env(outdir))


def failures(runs: Sequence[Timed]) -> list[str]:
    """The failed runs, each as '<command> exited N'."""
    return [f"{run.command} exited {run.status}" for run in runs if run.status != 0]


def seconds(runs: Sequence[Timed]) -> list[float]:
    return [run.seconds for run in runs]


def spread(values: Sequence[float]) -> str:
    """median [min..max] of several runs."""
    return f"{statistics.median(values):7.2f} [{min(values):.2f}..{max(values):.2f}]"


def ratios(numerators: Sequence[float], denominators: Sequence[float]) -> list[float]:
    """The ratio of each side-by-side pair (run i of one against run i of the other)."""
    if len(numerators) != len(denominators) or not numerators:
        raise ValueError(f"pairs needed: {len(numerators)} against {len(denominators)}")
    return [n / d for n, d in zip(numerators, denominators, strict=True)]


FAILED = "FAILED"


def ratio_line(name: str, values: Sequence[float], target: float, note: str = "", failed: Sequence[str] = ()) -> str:
    """One of issue 29's ratios: the median of the side-by-side pairs, their spread, and the verdict; FAILED and no
    ratio if any measured run failed."""
    if failed:
        return f"  {name}: {FAILED}, no ratio ({'; '.join(dict.fromkeys(failed))})"
    median = statistics.median(values)
    runs = f"{len(values)} run{'s' if len(values) != 1 else ''}"
    return (
        f"  {name}: {median:.2f} [{min(values):.2f}..{max(values):.2f}] over {runs}{note} "
        f"(target <= {target:g}): {verdict(median, target)}"
    )


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


def memory_line(peak: Peak) -> list[str]:
    if peak.returncode != 0:  # a failed make test stops early: its peak says nothing about a passing one
        return [f"  peak memory: {FAILED}, no figure (make test exited {peak.returncode})"]
    ratio = peak.tree_bytes / (SYNTH_MEMORY_GB * GB)
    return [
        f"  peak memory, whole process tree (PSS)   : {peak.tree_bytes / GB:7.2f} GB  ({peak.samples} samples)",
        f"  peak RSS of the largest process         : {peak.largest_bytes / GB:7.2f} GB",
        f"  synth step {SYNTH_COMPUTE_TYPE} ({SYNTH_MEMORY_GB} GB): {ratio:.0%} used "
        f"(target <= {MEMORY_TARGET:.0%}): {verdict(ratio, MEMORY_TARGET)}",
    ]


def report_fresh(work: Path, runs: int) -> str:
    """Ratio 3 and the setup attribution: `make synth` + `make test` on fresh clones, empty caches, each run
    against a bare synth timed right after it. Returns the ratio's line."""
    results: list[fresh_clone.FreshClone] = []
    after: list[Timed] = []
    for index in range(runs):
        results.append(fresh_clone.run(work / f"fresh{index}", shared_dir()))
        after.append(synth_once("benchmarks/bare_cluster_app.py", work / f"bare-fresh{index}"))
    note = " (the default is 1 run: --fresh-runs N for more)" if runs == 1 else ""
    print(f"fresh clone of HEAD, empty pip/npm/jsii caches, {runs} run{'s' if runs > 1 else ''}{note}:")
    failed = failures(after)
    for result in results:
        for target, status in (("synth", result.synth_status), ("test", result.test_status)):
            if status:
                failed.append(f"fresh clone make {target} exited {status}")
                print(f"  error: make {target} exited {status} (logs: {result.logs})")
    print(f"  make synth (installs included)          : {spread([r.synth_seconds for r in results])} s")
    print(f"  make test (checkov's virtualenv incl.)  : {spread([r.test_seconds for r in results])} s")
    print("  setup attribution (seconds, median [min..max]; peak memory of make test's tree during the step):")
    labels = list(dict.fromkeys(label for r in results for label in r.steps))
    for label in labels:
        peaks = [r.peaks[label] for r in results if label in r.peaks]
        shared_with = list(dict.fromkeys(other for r in results for other in r.shared.get(label, [])))
        peak = fresh_clone.peak_text(max(peaks) if peaks else None, shared_with)
        print(f"    {label:45s} {spread([r.steps.get(label, 0.0) for r in results])}{peak}")
    print("make test on that fresh clone (cold mypy cache, no __pycache__, real installs):")
    test_peaks = [r.peak for r in results if r.peak]
    # A failed make test's figure is FAILED: any failed run's is shown, else the highest peak.
    shown = next((p for p in test_peaks if p.returncode), None) or max(test_peaks, key=lambda p: p.tree_bytes)
    for line in memory_line(shown):
        print(line)
    note = f"; bare synth {spread(seconds(after))} s, right after each run"
    return ratio_line(
        "3. fresh clone make synth + make test / one bare synth",
        ratios([r.total for r in results], seconds(after)),
        FRESH_TARGET,
        note,
        failed,
    )


def report_memory(work: Path) -> bool:
    """`make test`'s memory on a clone with linked installs; False if that make test failed."""
    status = ["git", "status", "--porcelain"]
    dirty = subprocess.run(status, cwd=ROOT, capture_output=True, text=True, check=False).stdout
    peak, log = fresh_clone_make_test(work)
    print(f"make test on a fresh clone of HEAD{' (uncommitted changes not included)' if dirty.strip() else ''}:")
    if peak.returncode != 0:
        tail = "\n".join(log.read_text().strip().splitlines()[-15:])
        print(f"  warning: exited {peak.returncode} (log: {log}):\n{tail}")
    print(f"  wall time                               : {peak.seconds:7.1f} s")
    for line in memory_line(peak):
        print(line)
    return peak.returncode == 0


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Synthesis and test-suite benchmarks, and the critical path.")
    parser.add_argument("--runs", type=int, default=3, help="runs of each measurement; the median is kept")
    parser.add_argument("--skip-tests", action="store_true", help="don't time the test suite")
    parser.add_argument("--skip-phases", action="store_true", help="don't profile the synthesis phases")
    parser.add_argument(
        "--fresh-runs", type=int, default=1, help="fresh-clone runs (each installs everything: minutes)"
    )
    parser.add_argument(
        "--skip-fresh", action="store_true", help="no fresh-clone run (ratio 3): memory from a linked clone instead"
    )
    memory = parser.add_mutually_exclusive_group()
    memory.add_argument(
        "--skip-memory", action="store_true", help="don't run `make test` on a fresh clone (no ratio 3 either)"
    )
    memory.add_argument(
        "--memory-only", action="store_true", help="only `make test`'s memory, on a clone with linked installs"
    )
    args = parser.parse_args(argv)
    runs = max(1, args.runs)

    work = Path(tempfile.mkdtemp(prefix="bench."))
    if args.memory_only:
        return 0 if report_memory(work) else 1
    bare: list[Timed] = []
    full: list[Timed] = []
    full_out = work / "full"
    for index in range(runs):  # interleaved, so drift on a shared machine hits both alike
        bare.append(synth_once("benchmarks/bare_cluster_app.py", work / f"bare{index}"))
        full.append(synth_once("app.py", full_out if index == 0 else work / f"full{index}"))
    print(f"runs: {runs} (seconds: median [min..max])")
    print(f"  synth, bare aws_eks_v2 cluster app : {spread(seconds(bare))} s")
    print(f"  synth, full app (app.py)           : {spread(seconds(full))} s")
    lines = [
        ratio_line(
            "1. full synth / bare synth",
            ratios(seconds(full), seconds(bare)),
            SYNTH_TARGET,
            failed=failures(bare + full),
        )
    ]
    if not args.skip_phases:
        report_synth_phases(work, runs)
    if not args.skip_tests:
        make_synth: list[Timed] = []
        make_test: list[Timed] = []
        per_run: list[dict[str, float]] = []
        for index in range(runs):  # alternated: one `make synth`, then one warm `make test`
            make_synth.append(timed(["make", "synth"], _env()))
            folder = work / f"pytest-phases{index}"
            folder.mkdir()
            env = _env()
            env["BENCH_PHASES_DIR"] = str(folder)
            env["PYTEST_ADDOPTS"] = f"{env.get('PYTEST_ADDOPTS', '')} -p benchmarks.pytest_phases".strip()
            make_test.append(timed(["make", "test"], env))
            per_run.append(suite_phases(folder))
        print(f"  make synth (full, CDK CLI)         : {spread(seconds(make_synth))} s")
        print(f"  make test (warm)                   : {spread(seconds(make_test))} s")
        lines.append(
            ratio_line(
                "2. warm make test / one make synth",
                ratios(seconds(make_test), seconds(make_synth)),
                TESTS_TARGET,
                failed=failures(make_synth + make_test),
            )
        )
        print(f"test-suite phases (seconds of worker time, median [min..max] of {runs}):")
        for name in per_run[0]:
            print(f"  {name:60s} {spread([p.get(name, 0.0) for p in per_run])}")
    else:
        lines.append("  2. warm make test / one make synth: not measured (--skip-tests)")
    if not (args.skip_fresh or args.skip_memory):
        lines.append(report_fresh(work, max(1, args.fresh_runs)))
    else:
        skipped = "--skip-memory" if args.skip_memory else "--skip-fresh"
        lines.append(f"  3. fresh clone make synth + make test / one bare synth: not measured ({skipped})")
    print("issue 29's ratios (median [min..max] of side-by-side pairs):")
    print("\n".join(lines))

    if (full_out / "manifest.json").exists():
        assembly = synth.read_assembly(full_out)
        print("\n".join(critical_path.render(critical_path.critical_path(assembly.templates, assembly.dependencies))))
        assets = critical_path.lambda_assets(assembly.outdir, assembly.templates)
        print(f"Lambda assets ({len(assets)}):")
        for name, asset, size in assets:
            print(f"  {size / 1024:>9.1f} KiB  {asset}  ({name})")
    else:
        print("critical path: the full app did not synthesize (see the warning above)")
    memory_ok = True
    if args.skip_fresh and not args.skip_memory:  # else the fresh clone's `make test` reported its memory
        memory_ok = report_memory(work)
    if not memory_ok or any(f": {FAILED}" in line for line in lines):
        print(f"make bench: {FAILED}: a measured command exited non-zero (above)", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
