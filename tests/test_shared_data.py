"""Tests that need ../shared fail, never skip, under CI=true when it is missing."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from tests.conftest import ROOT


def test_missing_shared_data_fails_under_ci(tmp_path: Path) -> None:
    env = {**os.environ, "CI": "true", "EKS_LATTICE_SHARED": str(tmp_path)}
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-n",
            "0",
            "-q",
            "-rA",
            "tests/test_k8s_objects.py::test_tutorial_transcription_matches_the_seed_text",
            "tests/test_controller_policy.py",
        ],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    summary = result.stdout.strip().splitlines()[-1]
    assert result.returncode == 1, result.stdout[-2000:]
    assert "skipped" not in summary
    assert "tutorial seed not found" in result.stdout
    assert "reference data not found" in result.stdout
