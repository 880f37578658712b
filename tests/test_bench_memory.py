"""`make bench`'s memory measurement (benchmarks/memory.py) counts every process of the tree, concurrently."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from benchmarks.memory import Peak, measure

ROOT = Path(__file__).resolve().parent.parent

MB = 2**20
# A child that touches `n` MB (so they are resident), waits until its sibling has too (a file each in the
# working directory: on a loaded machine one may start seconds after the other), then holds them a while.
HOLD = """
import os, sys, time
b = bytearray(int(sys.argv[1]) * 2**20)
b[::4096] = b"x" * len(b[::4096])
open(f"ready-{os.getpid()}", "w").close()
end = time.monotonic() + 60
while len([f for f in os.listdir() if f.startswith("ready-")]) < 2 and time.monotonic() < end:
    time.sleep(0.05)
time.sleep(1.2)
"""


def test_peak_counts_concurrent_grandchildren(tmp_path: Path) -> None:
    """Two grandchildren of 120 MB at once: the tree's peak holds both, the largest process only one."""
    parent = (
        "import subprocess, sys\n"
        f"procs = [subprocess.Popen([sys.executable, '-c', {HOLD!r}, '120']) for _ in range(2)]\n"
        "sys.exit(max(p.wait() for p in procs))\n"
    )
    # Measured from a small fresh process, as `make bench` does: Linux carries a forked child's pre-exec RSS into
    # its ru_maxrss, so measuring from this (large) test process would count the test process itself.
    script = (
        "import json, os, sys; from benchmarks.memory import measure; "
        f"p = measure([sys.executable, '-c', {parent!r}], cwd={str(tmp_path)!r}, env=os.environ, interval=0.1); "
        "print(json.dumps(p.__dict__))"
    )
    result = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, check=True)
    peak = Peak(**json.loads(result.stdout.strip().splitlines()[-1]))
    assert peak.returncode == 0
    assert peak.tree_bytes >= 2 * 120 * MB
    assert 120 * MB <= peak.largest_bytes < 2 * 120 * MB
    assert peak.samples >= 3


def test_exit_status_is_reported(tmp_path: Path) -> None:
    peak = measure([sys.executable, "-c", "raise SystemExit(3)"], cwd=tmp_path, env=os.environ)
    assert peak.returncode == 3


def test_timeline_holds_every_sample_and_the_peak(tmp_path: Path) -> None:
    """The fresh-clone run attributes `make test`'s peak to a step from this timeline."""
    timeline: list[tuple[float, int]] = []
    peak = measure(
        [sys.executable, "-c", "import time; time.sleep(0.6)"],
        cwd=tmp_path,
        env=os.environ,
        interval=0.05,
        timeline=timeline,
    )
    assert len(timeline) == peak.samples >= 3
    assert [t for t, _ in timeline] == sorted(t for t, _ in timeline)
    assert max(b for _, b in timeline) == peak.tree_bytes > 0
