"""Tests that need ../shared fail, never skip, in CI (CI=true, or CodeBuild's CODEBUILD_CI) when it is missing."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import NO_SEED_ENV, ROOT, running_in_ci

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


@pytest.mark.parametrize(
    "ci",
    [{"CI": "true"}, {"CODEBUILD_CI": "true"}, {"CI": "true", NO_SEED_ENV: "declared, yet CI=true never skips"}],
    ids=["CI", "CODEBUILD_CI", "CI-with-declaration"],
)
def test_missing_shared_data_fails_in_ci(tmp_path: Path, ci: dict[str, str]) -> None:
    result = run_without_shared_data(tmp_path, **ci)
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
