"""`make bench` never passes a figure whose measured command failed (benchmarks/run.py).

A failed `make synth`, `make test` or synth is short, so its time would land under target: every measured command
(both synths of ratio 1, `make synth` and `make test` of ratio 2, the fresh clone's two make runs and the bare synth
after them for ratio 3, and the memory figure's `make test`) is stubbed here to exit non-zero in turn, and its figure
must read FAILED with no ratio and `make bench` exit non-zero; with every command passing, neither."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import pytest

from benchmarks import run
from benchmarks.fresh_clone import FreshClone
from benchmarks.memory import Peak

PASSING = Peak(returncode=0, seconds=1.0, tree_bytes=2**30, largest_bytes=2**29, samples=3)


def _bench(
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    args: list[str],
    *,
    failing: str = "",
    fresh_status: tuple[int, int] = (0, 0),
    memory_status: int = 0,
) -> tuple[int, str]:
    """run.main with each measuring call stubbed: `failing` names the command (its last word) that exits 2."""

    def timed(command: Sequence[str], env: Mapping[str, str]) -> run.Timed:
        return run.Timed(1.0 if command[-1] == failing else 5.0, 2 if command[-1] == failing else 0, " ".join(command))

    def fresh(work: Path, shared: Path, **_: Any) -> FreshClone:
        synth_status, test_status = fresh_status
        test_peak = Peak(**{**PASSING.__dict__, "returncode": test_status})
        return FreshClone(
            synth_seconds=1.0, test_seconds=1.0, synth_status=synth_status, test_status=test_status, peak=test_peak
        )

    def measure(command: Sequence[str], **_: Any) -> Peak:
        assert command[-1] == "test", command
        return Peak(**{**PASSING.__dict__, "returncode": memory_status})

    monkeypatch.setattr(run, "timed", timed)
    monkeypatch.setattr(run.fresh_clone, "run", fresh)
    monkeypatch.setattr(run, "measure", measure)
    status = run.main(["--runs", "2", "--skip-phases", *args])
    return status, capsys.readouterr().out


def _failed(out: str) -> set[str]:
    """Which figures read FAILED: "1", "2", "3" (the ratios) and "memory"."""
    found = {m.group(1) for m in re.finditer(r"^  ([123])\. [^:]+: FAILED, no ratio", out, re.M)}
    if re.search(r"^  peak memory: FAILED, no figure", out, re.M):
        found.add("memory")
    return found


def test_every_figure_passes_when_every_command_does(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    status, out = _bench(monkeypatch, capsys, [])
    assert status == 0 and "FAILED" not in out, out
    assert re.search(r"^  1\. .*: (PASS|MISS)$", out, re.M), out


@pytest.mark.parametrize(
    ("failing", "fresh_status", "figures"),
    [
        ("benchmarks/bare_cluster_app.py", (0, 0), {"1", "3"}),  # ratio 1's denominator, and ratio 3's
        ("app.py", (0, 0), {"1"}),
        ("synth", (0, 0), {"2"}),  # make synth
        ("test", (0, 0), {"2"}),  # warm make test
        ("", (2, 0), {"3"}),  # the fresh clone's make synth
        ("", (0, 2), {"3", "memory"}),  # the fresh clone's make test: also the memory figure
    ],
    ids=["bare-synth", "full-synth", "make-synth", "make-test", "fresh-synth", "fresh-test"],
)
def test_a_failed_measured_command_fails_its_figure_and_the_run(
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    failing: str,
    fresh_status: tuple[int, int],
    figures: set[str],
) -> None:
    status, out = _bench(monkeypatch, capsys, [], failing=failing, fresh_status=fresh_status)
    assert status != 0
    assert _failed(out) == figures, out


@pytest.mark.parametrize("args", [["--skip-fresh", "--skip-tests"], ["--memory-only"]])
def test_a_failed_make_test_fails_the_memory_figure(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], args: list[str]
) -> None:
    status, out = _bench(monkeypatch, capsys, args, memory_status=2)
    assert status != 0
    assert _failed(out) == {"memory"}, out
    assert "% used" not in out  # no ratio against the compute type from a failed run
