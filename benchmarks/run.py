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
from config.pipeline import SYNTH_COMPUTE_TYPE, SYNTH_MEMORY_GB  # noqa: E402
from tools import critical_path, synth  # noqa: E402

BIN = ROOT / ".venv" / "bin"
PYTHON = BIN / "python" if (BIN / "python").exists() else Path(sys.executable)
SYNTH_TARGET = 1.5  # full synth <= 1.5 x the bare cluster
TESTS_TARGET = 2.0  # test suite <= 2 x one full synth
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
    print(f"  synth, bare aws_eks_v2 cluster app : {bare_s:7.2f} s   {', '.join(f'{t:.2f}' for t in bare)}")
    print(f"  synth, full app (app.py)           : {full_s:7.2f} s   {', '.join(f'{t:.2f}' for t in full)}")
    print(f"  full / bare = {synth_ratio:.2f}x (target <= {SYNTH_TARGET}x): {verdict(synth_ratio, SYNTH_TARGET)}")
    if not args.skip_tests:
        suite = [timed([str(PYTHON), "-m", "pytest", "-q", "-p", "no:randomly"], _env()) for _ in range(runs)]
        suite_s = statistics.median(suite)
        tests_ratio = suite_s / full_s
        print(f"  test suite (pytest -q)             : {suite_s:7.2f} s   {', '.join(f'{t:.2f}' for t in suite)}")
        print(
            f"  tests / full synth = {tests_ratio:.2f}x (target <= {TESTS_TARGET}x): "
            f"{verdict(tests_ratio, TESTS_TARGET)}"
        )

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
