"""Peak memory of a command and all its descendants, for `make bench`'s fresh-clone `make test`.

Two figures, because CodeBuild's limit is the build container's total while `/usr/bin/time -v` reports one
process: the peak of the whole process tree's memory (sampled from /proc: PSS where readable, so pages the
pytest-xdist workers or jsii's Node processes share are counted once; else RSS), and the largest single
process's peak RSS (the kernel's own ru_maxrss over the waited-for tree, via wait4).
"""

from __future__ import annotations

import os
import subprocess
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO

PROC = Path("/proc")


@dataclass(frozen=True, kw_only=True)
class Peak:
    returncode: int
    seconds: float
    tree_bytes: int  # peak sum over the process tree (sampled)
    largest_bytes: int  # peak RSS of the largest single process (wait4 ru_maxrss)
    samples: int


def _parents() -> dict[int, int]:
    """pid -> parent pid of every process (from /proc/<pid>/stat; /proc/.../children needs a kernel option)."""
    parents: dict[int, int] = {}
    for entry in PROC.iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        # "pid (comm) state ppid ...": comm may hold spaces and parentheses, so split after the last ')'.
        parents[int(entry.name)] = int(stat[stat.rindex(")") + 2 :].split()[1])
    return parents


def _memory(pid: int) -> int:
    """PSS of one process in bytes (smaps_rollup), else RSS (status); 0 once it is gone."""
    for name, key in (("smaps_rollup", "Pss:"), ("status", "VmRSS:")):
        try:
            for line in (PROC / str(pid) / name).read_text().splitlines():
                if line.startswith(key):
                    return int(line.split()[1]) * 1024
        except (OSError, ValueError):
            continue
    return 0


def tree_memory(root: int) -> int:
    """Current memory of `root` and every descendant."""
    children: dict[int, list[int]] = {}
    for pid, parent in _parents().items():
        children.setdefault(parent, []).append(pid)
    total, pending = 0, [root]
    while pending:
        pid = pending.pop()
        total += _memory(pid)
        pending += children.get(pid, [])
    return total


def measure(
    command: Sequence[str],
    *,
    cwd: Path,
    env: Mapping[str, str],
    interval: float = 0.25,
    output: IO[str] | None = None,
    timeline: list[tuple[float, int]] | None = None,
) -> Peak:
    """Run `command` to completion; its exit status, wall time and peak memory. `timeline`, if given, receives
    each sample as (time.time(), tree bytes), so a caller can attribute the peak to a step."""
    start = time.perf_counter()
    process = subprocess.Popen(command, cwd=cwd, env=dict(env), stdout=output, stderr=subprocess.STDOUT)
    peak, samples = 0, 0
    done = threading.Event()

    def sample() -> None:
        nonlocal peak, samples
        while not done.is_set():
            current = tree_memory(process.pid)
            peak = max(peak, current)
            samples += 1
            if timeline is not None:
                timeline.append((time.time(), current))
            done.wait(interval)

    sampler = threading.Thread(target=sample, name="memory-sampler", daemon=True)
    sampler.start()
    # wait4 (not Popen.wait): its rusage covers the child and every descendant it waited for.
    _, status, usage = os.wait4(process.pid, 0)
    done.set()
    sampler.join()
    process.returncode = os.waitstatus_to_exitcode(status)
    return Peak(
        returncode=process.returncode,
        seconds=time.perf_counter() - start,
        tree_bytes=peak,
        largest_bytes=usage.ru_maxrss * 1024,  # kilobytes on Linux
        samples=samples,
    )
