"""Tests that need ../shared fail, never skip, in CI (CI=true, or CodeBuild's CODEBUILD_CI) when it is missing."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import NO_SEED_ENV, ROOT, find_reference, find_seed, running_in_ci

SEED_TEST = "tests/test_k8s_objects.py::test_tutorial_transcription_matches_the_seed_text"
REFERENCE_TESTS = "tests/test_controller_policy.py"


def run_without_shared_data(tmp_path: Path, **env: str) -> subprocess.CompletedProcess[str]:
    base = {k: v for k, v in os.environ.items() if k not in ("CI", "CODEBUILD_CI", NO_SEED_ENV)}
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-n", "0", "-q", "-rA", SEED_TEST, REFERENCE_TESTS],
        cwd=ROOT,
        env={**base, "EKS_LATTICE_SHARED": str(tmp_path), **env},
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


# End to end, twice: the conftest wiring under this project's CI, and the pipeline's one allowed skip.
def test_missing_shared_data_fails_under_ci_true_even_when_declared_absent(tmp_path: Path) -> None:
    result = run_without_shared_data(tmp_path, CI="true", **{NO_SEED_ENV: "declared, yet CI=true never skips"})
    summary = result.stdout.strip().splitlines()[-1]
    assert result.returncode == 1, result.stdout[-2000:]
    assert "skipped" not in summary
    assert "tutorial seed not found" in result.stdout
    assert "reference data not found" in result.stdout


def test_a_declared_absent_seed_skips_only_that_test(tmp_path: Path) -> None:
    """The pipeline's synth step (CodeBuild) declares the seed absent: that one test skips, with the reason;
    missing reference data (which `make reference` fetches) still fails."""
    result = run_without_shared_data(tmp_path, CODEBUILD_CI="true", **{NO_SEED_ENV: "no seeds in the clone"})
    assert result.returncode == 1, result.stdout[-2000:]
    assert "1 skipped" in result.stdout.strip().splitlines()[-1]
    assert f"declared absent by {NO_SEED_ENV} (no seeds in the clone)" in result.stdout
    assert "reference data not found" in result.stdout


# Every case of the rule, in this process (find_seed is what the fixture calls).
DECLARED = {NO_SEED_ENV: "no seeds in the clone"}


@pytest.mark.parametrize(
    ("environ", "outcome"),
    [
        ({"CI": "true"}, "fail"),
        ({"CI": "true", **DECLARED}, "fail"),
        ({"CODEBUILD_CI": "true"}, "fail"),
        ({"CI": "1"}, "fail"),
        ({"CODEBUILD_CI": "true", **DECLARED}, "skip"),
        ({"CI": "1", **DECLARED}, "skip"),
        (DECLARED, "skip"),
        ({}, "skip"),
        ({"CI": "false"}, "skip"),
    ],
)
def test_a_missing_seed_fails_in_ci_and_skips_elsewhere(tmp_path: Path, environ: dict[str, str], outcome: str) -> None:
    expected = pytest.fail.Exception if outcome == "fail" else pytest.skip.Exception
    with pytest.raises(expected, match="tutorial seed not found") as raised:
        find_seed(tmp_path, environ)
    message = str(raised.value)
    if outcome == "skip" and NO_SEED_ENV in environ:
        assert f"declared absent by {NO_SEED_ENV} (no seeds in the clone)" in message
    if outcome == "fail" and environ.get("CI") != "true":
        assert f"set {NO_SEED_ENV}=<why>" in message


def test_a_present_seed_is_read_in_ci_too(tmp_path: Path) -> None:
    (tmp_path / "seeds").mkdir()
    (tmp_path / "seeds" / "b.txt").write_text("second")
    (tmp_path / "seeds" / "a.txt").write_text("tutorial")
    assert find_seed(tmp_path, {"CI": "true"}) == "tutorial"


def test_missing_reference_data_fails_never_skips(tmp_path: Path) -> None:
    with pytest.raises(pytest.fail.Exception, match="reference data not found"):
        find_reference(tmp_path)
    (tmp_path / "reference").mkdir()
    (tmp_path / "reference" / "MANIFEST.md").write_text("x")
    assert find_reference(tmp_path) == tmp_path / "reference"


@pytest.mark.parametrize(
    ("environ", "expected"),
    [
        ({"CI": "true"}, True),
        ({"CODEBUILD_CI": "true"}, True),
        ({"CI": "1"}, True),
        ({"CI": "false"}, False),
        ({"CODEBUILD_CI": ""}, False),
        ({}, False),
    ],
)
def test_running_in_ci_means_either_variable(environ: dict[str, str], expected: bool) -> None:
    assert running_in_ci(environ) is expected
