"""A pytest plugin for `make bench` (`-p benchmarks.pytest_phases`): where the test suite's time goes.

Each process (the controller and every xdist worker) writes one JSON file into $BENCH_PHASES_DIR at its end:
collection time, each fixture's setup time by name and scope, each test's setup/call/teardown time by file, and
the span of its busy time, so that benchmarks/run.py can sum them by category and see each worker's tail.
"""

from __future__ import annotations

import json
import os
import time
from collections import defaultdict
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

_DIR = os.environ.get("BENCH_PHASES_DIR")
_state: dict[str, Any] = {
    "collection": 0.0,
    "fixtures": defaultdict(lambda: [0.0, 0, ""]),  # name -> [seconds, setups, scope]
    "files": defaultdict(lambda: [0.0, 0.0, 0.0, 0]),  # file -> [setup, call, teardown, tests]
    "first": None,
    "last": None,
}
_stack: list[list[float]] = []


@pytest.hookimpl(hookwrapper=True)
def pytest_collection(session: pytest.Session) -> Iterator[None]:
    start = time.perf_counter()
    yield
    _state["collection"] += time.perf_counter() - start


@pytest.hookimpl(hookwrapper=True)
def pytest_fixture_setup(fixturedef: pytest.FixtureDef[Any], request: pytest.FixtureRequest) -> Iterator[None]:
    """Exclusive time: a fixture's own setup, less the fixtures it set up meanwhile (counted under theirs)."""
    frame = [time.perf_counter(), 0.0]
    _stack.append(frame)
    yield
    _stack.pop()
    elapsed = time.perf_counter() - frame[0]
    if _stack:
        _stack[-1][1] += elapsed
    entry = _state["fixtures"][fixturedef.argname]
    entry[0] += elapsed - frame[1]
    entry[1] += 1
    entry[2] = fixturedef.scope


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_protocol(item: pytest.Item, nextitem: pytest.Item | None) -> Iterator[None]:
    now = time.time()
    _state["first"] = _state["first"] or now
    yield
    _state["last"] = time.time()


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    entry = _state["files"][report.nodeid.split("::", 1)[0]]
    entry[("setup", "call", "teardown").index(report.when)] += report.duration
    if report.when == "call":
        entry[3] += 1


def pytest_sessionfinish(session: pytest.Session) -> None:
    if not _DIR:
        return
    worker = os.environ.get("PYTEST_XDIST_WORKER", "controller")
    out = {
        "worker": worker,
        "collection": _state["collection"],
        "fixtures": {k: {"seconds": v[0], "setups": v[1], "scope": v[2]} for k, v in _state["fixtures"].items()},
        "files": {
            k: {"setup": v[0], "call": v[1], "teardown": v[2], "tests": v[3]} for k, v in _state["files"].items()
        },
        "first": _state["first"],
        "last": _state["last"],
    }
    Path(_DIR, f"{worker}.json").write_text(json.dumps(out))
