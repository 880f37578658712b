"""Class test: a test that times a budget-bounded call in real time checks the time through
tests/support/budget.py's assert_within_budget (budget + a fixed slack), never against a constant of its own.

The fault: the slow-API tests' budgets were scaled from 1.5 s to 0.3 s while their bound stayed at 2.5 s, so a
client overrunning its budget by up to 2.2 s passed."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from tests.support.budget import SLACK_SECONDS, assert_within_budget

HERE = Path(__file__).parent
CLOCKS = {"monotonic", "perf_counter", "time"}


def _is_clock_difference(node: ast.AST | None) -> bool:
    """`time.monotonic() - x` (or perf_counter, time): a time measured in real time (a fake clock's is not)."""
    return (
        isinstance(node, ast.BinOp)
        and isinstance(node.op, ast.Sub)
        and isinstance(node.left, ast.Call)
        and isinstance(node.left.func, ast.Attribute)
        and isinstance(node.left.func.value, ast.Name)
        and node.left.func.value.id == "time"
        and node.left.func.attr in CLOCKS
    )


def elapsed_comparisons(source: str) -> list[int]:
    """Lines comparing a measured elapsed time directly: a clock difference, a name bound to one, or the part of a
    tuple that a function of the file returns as one (`elapsed, result = timed(...)`)."""
    tree = ast.parse(source)
    returns: dict[str, set[int | None]] = {}  # function -> the positions of its returned tuple that are timings
    for function in ast.walk(tree):
        if isinstance(function, ast.FunctionDef):
            for node in ast.walk(function):
                if isinstance(node, ast.Return) and _is_clock_difference(node.value):
                    returns.setdefault(function.name, set()).add(None)
                elif isinstance(node, ast.Return) and isinstance(node.value, ast.Tuple):
                    timed_at = {i for i, item in enumerate(node.value.elts) if _is_clock_difference(item)}
                    returns.setdefault(function.name, set()).update(timed_at)
    timed: set[str] = set()
    for node in ast.walk(tree):
        if not isinstance(node, ast.Assign):
            continue
        called = (
            node.value.func.id if isinstance(node.value, ast.Call) and isinstance(node.value.func, ast.Name) else ""
        )
        for target in node.targets:
            if isinstance(target, ast.Name) and (_is_clock_difference(node.value) or None in returns.get(called, ())):
                timed.add(target.id)
            elif isinstance(target, ast.Tuple):
                timed |= {
                    t.id for i, t in enumerate(target.elts) if isinstance(t, ast.Name) and i in returns.get(called, ())
                }
    return sorted(
        node.lineno
        for node in ast.walk(tree)
        if isinstance(node, ast.Compare)
        and any(
            _is_clock_difference(side) or (isinstance(side, ast.Name) and side.id in timed)
            for side in [node.left, *node.comparators]
        )
    )


@pytest.mark.parametrize("path", sorted(HERE.glob("test_*.py")), ids=lambda p: p.name)
def test_no_lambda_test_bounds_a_measured_time_by_a_constant_of_its_own(path: Path) -> None:
    assert elapsed_comparisons(path.read_text()) == [], f"{path.name}: use assert_within_budget(elapsed, budget)"


@pytest.mark.parametrize(
    "source",
    [
        "assert time.monotonic() - started < 2.5",  # the fault, as it was written
        "def timed():\n    return time.monotonic() - t0, 1\nelapsed, result = timed()\nassert elapsed < 1.5",
        "def timed():\n    return time.monotonic() - t0\nelapsed = timed()\nassert elapsed < 1.5",
        "took = time.perf_counter() - t0\nassert 0.1 <= took",
    ],
)
def test_the_scan_finds_a_bound_of_its_own(source: str) -> None:
    assert elapsed_comparisons(source) != []


def test_the_scan_lets_deadline_and_fake_clock_checks_through() -> None:
    fake = "def run():\n    return 'x', env.clock.now - started\nmessage, elapsed = run()\nassert elapsed < 300"
    assert elapsed_comparisons(fake) == []  # a fake clock's time is exact: its tests bound it as they please
    assert elapsed_comparisons("assert time.monotonic() < end\nassert clock.now - started <= 30") == []


def test_the_bound_is_the_budget_plus_a_fixed_slack() -> None:
    assert_within_budget(0.3 + SLACK_SECONDS, 0.3)
    with pytest.raises(AssertionError, match=r"took 0\.600 s with a budget of 0\.3 s"):
        assert_within_budget(0.6, 0.3)  # twice the budget: what the 2.5 s bound let through
    with pytest.raises(AssertionError, match="would pass a call that takes twice its budget"):
        assert_within_budget(0.1, 0.1)  # a budget no larger than the slack cannot tell
