"""The order of a `make e2e` run and its safety rules, independent of AWS (tests/test_e2e.py drives it
with fakes).

Phases run in order: deploy, smoke, update, live-facts; the first that fails (a check that fails, an error, the
time ceiling) ends them. Then, always, destroy and audit, also after Ctrl-C, unless `keep`: then neither runs
and the exact destroy command is printed. The ceiling bounds the phases before destroy (each gets what is left
of it); destroy and audit get their own budget, since stopping a destroy halfway leaves more behind.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Protocol, TextIO

FORWARD = ("deploy", "smoke", "update", "live-facts")
CLEANUP = ("destroy", "audit")
PHASES = FORWARD + CLEANUP
CLEANUP_BUDGET_SECONDS = 3600.0  # deleting the cluster, the node group and Lattice's associations: ~20 minutes


class RefusedError(Exception):
    """The run does not start (no credentials, wrong account, bad configuration): one line, exit 2."""


class PhaseTimeoutError(Exception):
    """A phase outlived what was left of the time ceiling."""


@dataclass(frozen=True)
class Check:
    name: str
    ok: bool
    detail: str = ""
    assumed_by: tuple[str, ...] = ()  # the offline tests (node ids) that assumed this fact


@dataclass
class PhaseResult:
    name: str
    status: str  # passed | failed | timed out | interrupted | skipped
    seconds: float = 0.0
    checks: list[Check] = field(default_factory=list)
    error: str = ""


class Steps(Protocol):
    """What each phase does; `budget`: seconds it may take (subprocess timeouts)."""

    def run(self, phase: str, budget: float) -> list[Check]: ...

    def destroy_command(self) -> str: ...


@dataclass
class Outcome:
    phases: list[PhaseResult]
    interrupted: bool = False
    kept: bool = False

    @property
    def passed(self) -> bool:
        return not self.interrupted and all(p.status in {"passed", "skipped"} for p in self.phases) and not self.kept

    def phase(self, name: str) -> PhaseResult | None:
        return next((p for p in self.phases if p.name == name), None)


def _run_phase(steps: Steps, name: str, budget: float, clock: Callable[[], float]) -> PhaseResult:
    start = clock()
    try:
        checks = steps.run(name, budget)
    except PhaseTimeoutError as err:
        return PhaseResult(name, "timed out", clock() - start, error=str(err))
    except KeyboardInterrupt:
        raise
    except Exception as err:  # any failure of the phase: one line in the report, then cleanup
        return PhaseResult(name, "failed", clock() - start, error=f"{type(err).__name__}: {err}")
    status = "passed" if all(c.ok for c in checks) else "failed"
    return PhaseResult(name, status, clock() - start, checks)


def execute(
    steps: Steps,
    *,
    keep: bool,
    ceiling_seconds: float,
    out: TextIO,
    clock: Callable[[], float] = time.monotonic,
    cleanup_budget: float = CLEANUP_BUDGET_SECONDS,
    before_cleanup: Callable[[], None] | None = None,
) -> Outcome:
    """`before_cleanup`: what must read the stacks before they are deleted (the creation times); its failure is
    one line, never a reason to skip the destroy."""
    results: list[PhaseResult] = []
    started = clock()
    interrupted = False
    current = ""
    try:
        for name in FORWARD:
            current = name
            left = ceiling_seconds - (clock() - started)
            if left <= 0:
                results.append(PhaseResult(name, "timed out", 0.0, error="the time ceiling was reached before it"))
                break
            print(f"e2e: {name} ...", file=out, flush=True)
            result = _run_phase(steps, name, left, clock)
            results.append(result)
            _say(result, out)
            if result.status != "passed":
                break
    except KeyboardInterrupt:
        interrupted = True
        results.append(PhaseResult(current, "interrupted", 0.0, error="Ctrl-C"))
        print(f"e2e: interrupted during {current}", file=out, flush=True)
    done = {r.name for r in results}
    results += [PhaseResult(n, "skipped") for n in FORWARD if n not in done]
    if keep:
        results += [PhaseResult(n, "skipped", error="KEEP=1") for n in CLEANUP]
        print(f"e2e: KEEP=1: the stacks stay. Destroy them with:\n  {steps.destroy_command()}", file=out, flush=True)
        return Outcome(results, interrupted=interrupted, kept=True)
    if before_cleanup is not None:
        try:
            before_cleanup()
        except KeyboardInterrupt:  # a Ctrl-C there skips the measurement, never the destroy
            interrupted = True
            print("e2e: interrupted before destroy; destroying", file=out, flush=True)
        except Exception as err:  # the destroy matters more than a measurement
            print(f"e2e: before destroy: {type(err).__name__}: {err}", file=out, flush=True)
    for name in CLEANUP:
        print(f"e2e: {name} ...", file=out, flush=True)
        try:
            result = _run_phase(steps, name, cleanup_budget, clock)
        except KeyboardInterrupt:
            results.append(PhaseResult(name, "interrupted", 0.0, error="Ctrl-C"))
            rest = [n for n in CLEANUP if n not in {r.name for r in results}]
            results += [PhaseResult(n, "skipped") for n in rest]
            print(f"e2e: interrupted during {name}; finish with:\n  {steps.destroy_command()}", file=out, flush=True)
            return Outcome(results, interrupted=True)
        results.append(result)
        _say(result, out)
    return Outcome(results, interrupted=interrupted)


def _say(result: PhaseResult, out: TextIO) -> None:
    print(f"e2e: {result.name} {result.status} in {result.seconds:.0f} s{': ' + result.error if result.error else ''}",
          file=out, flush=True)  # fmt: skip
    for check in result.checks:
        if not check.ok:
            print(f"  FAIL {check.name}: {check.detail}", file=out, flush=True)


def failing(checks: Sequence[Check]) -> list[Check]:
    return [c for c in checks if not c.ok]
