"""Bad configuration through the real entry points (app.main() as the CLI runs it, and the pinned CDK CLI):
one readable line, non-zero exit, no templates."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

from tests.conftest import ROOT, cdk_json_context


def run_app(tmp_path: Path, capsys: pytest.CaptureFixture[str], **overrides: object) -> tuple[int, str]:
    """app.main() in this process, with the context the CLI would merge from cdk.json and `-c` (None: absent)."""
    import aws_cdk as cdk

    import app

    context = {k: v for k, v in {**cdk_json_context(), **overrides}.items() if v is not None}
    status = app.main(cdk.App(context=context, outdir=str(tmp_path)))
    return status, capsys.readouterr().err


@pytest.mark.parametrize(
    ("overrides", "line"),
    [
        ({"clusterVpcCidr": "10.1.0.0/99"}, "clusterVpcCidr: '10.1.0.0/99' is not an IPv4 CIDR block"),
        ({"routes": "[{oops"}, "routes: expected JSON (list)"),
        ({"kubernetesVersion": "1.30"}, "kubernetesVersion: '1.30' is not supported here"),
    ],
)
def test_app_py_rejects_bad_config_cleanly(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    overrides: dict[str, object],
    line: str,
) -> None:
    status, stderr = run_app(tmp_path, capsys, **overrides)
    assert status == 2
    (only_line,) = stderr.strip().splitlines()
    assert only_line.startswith(f"eks-lattice-gateway: invalid configuration: {line}")
    assert list(tmp_path.iterdir()) == []  # nothing written


def test_cdk_cli_synth_fails_cleanly(tmp_path: Path) -> None:
    """Through the pinned CDK CLI, as a user runs it: `cdk synth -c key=value`."""
    cdk = ROOT / "node_modules" / ".bin" / "cdk"
    if not cdk.exists():
        pytest.fail("node_modules/.bin/cdk missing: run `make setup`")
    env = {**os.environ, "PATH": f"{ROOT / '.venv' / 'bin'}{os.pathsep}{os.environ['PATH']}"}
    env.update(AWS_EC2_METADATA_DISABLED="true", CDK_DISABLE_VERSION_CHECK="1")
    env.pop("CDK_DEFAULT_ACCOUNT", None)
    result = subprocess.run(
        [str(cdk), "synth", "--no-notices", "-o", str(tmp_path / "out"), "-c", "serviceNetworkName=Bad_Name"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode != 0
    assert "serviceNetworkName: 'Bad_Name' is not a valid Lattice service network name" in result.stderr
    assert "Traceback" not in result.stderr
    assert not list((tmp_path / "out").glob("*.template.json"))


def test_bad_pipeline_config_is_one_line_too(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    status, stderr = run_app(tmp_path, capsys, pipeline='{"repository": "owner/repo"}')
    assert status == 2
    (only_line,) = stderr.strip().splitlines()
    assert only_line == "eks-lattice-gateway: invalid configuration: pipeline.connectionArn: is required"
    assert list(tmp_path.iterdir()) == []


def test_two_stages_in_one_account_and_region_are_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Dev and Prod without accounts both land in the pipeline's account and region: refused before synthesis."""
    pipeline = {
        "connectionArn": f"arn:aws:codeconnections:us-east-1:111111111111:connection/{'0' * 8}-{'0000-' * 3}{'0' * 12}",
        "repository": "owner/repo",
        "account": "111111111111",
        "region": "us-east-1",
        "stages": [{"name": "Dev"}, {"name": "Prod", "production": True}],
    }
    status, stderr = run_app(tmp_path, capsys, pipeline=json.dumps(pipeline))
    assert status == 2
    (only_line,) = stderr.strip().splitlines()
    assert only_line.startswith(
        "eks-lattice-gateway: invalid configuration: pipeline.stages[1]: stage 'Prod' deploys to account "
        "111111111111 in us-east-1, like stage 'Dev' (pipeline.stages[0])"
    )
    assert list(tmp_path.iterdir()) == []

    # The same configuration deployed earlier (the synth step's environment, no key in cdk.json): refused alike.
    from config.pipeline import DEPLOYED_ENV

    monkeypatch.setenv(DEPLOYED_ENV, json.dumps(pipeline))
    status, stderr = run_app(tmp_path, capsys, pipeline=None)
    assert status == 2
    assert "pipeline.stages[1]: stage 'Prod'" in stderr


def test_several_problems_are_one_line_each(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    status, stderr = run_app(tmp_path, capsys, nodeMaxSize="0", privateZoneName="localhost")
    assert status == 2
    assert stderr.strip().splitlines() == [
        "eks-lattice-gateway: invalid configuration: nodeMaxSize: 0 is out of range 1..100",
        "eks-lattice-gateway: invalid configuration: privateZoneName: 'localhost' is not a valid lowercase DNS name "
        "(at least two labels, like example.com)",
    ]
    assert list(tmp_path.iterdir()) == []
