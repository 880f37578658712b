"""Fixtures shared by the whole suite."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from tools.synth import cdk_json_context

if TYPE_CHECKING:
    from tests.test_pipeline import PipelineSynth

ROOT = Path(__file__).resolve().parent.parent
# ../shared beside the clone (developers, CI), else what `make reference` fetched (the pipeline's build).
_FETCHED = ROOT / ".cache" / "shared"
SHARED = Path(
    os.environ.get("EKS_LATTICE_SHARED")
    or (ROOT.parent / "shared" if (ROOT.parent / "shared").is_dir() or not _FETCHED.is_dir() else _FETCHED)
)

# jsii (in this process and in app.py subprocesses) must run on the virtualenv's Node >= 22, as under make.
os.environ["PATH"] = f"{ROOT / '.venv' / 'bin'}{os.pathsep}{os.environ.get('PATH', '')}"
os.environ.setdefault("JSII_SILENCE_WARNING_UNTESTED_NODE_VERSION", "1")


@pytest.fixture(scope="session")
def reference_dir() -> Path:
    """Upstream reference data (CRDs, chart values, IAM policy) from ../shared/reference.

    Tests that need it fail, never skip, when it is missing: CI lays ../shared beside the clone.
    """
    ref = SHARED / "reference"
    if not (ref / "MANIFEST.md").is_file():
        pytest.fail(f"reference data not found at {ref} (set EKS_LATTICE_SHARED to the shared/ folder)")
    return ref


@pytest.fixture
def mocked_aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """moto's in-memory AWS with throwaway credentials; yields the region (us-east-1)."""
    from moto import mock_aws

    region = "us-east-1"
    for name, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": region,
    }.items():
        monkeypatch.setenv(name, value)
    with mock_aws():
        yield region


@pytest.fixture(scope="session")
def seed_text() -> str:
    """The tutorial (../shared/seeds). Not an upstream release file, so `make reference` can't fetch it:
    missing, it fails under CI=true and is skipped elsewhere (e.g. the pipeline's synth step)."""
    seeds = sorted((SHARED / "seeds").glob("*.txt"))
    if not seeds:
        message = f"tutorial seed not found under {SHARED / 'seeds'}"
        in_ci = os.environ.get("CI") == "true"
        pytest.fail(message) if in_ci else pytest.skip(f"{message} (fails instead under CI=true)")
    return seeds[0].read_text()


# ---------------------------------------------------------------------------------------------- synthesis

TODAY = __import__("datetime").date(2026, 11, 28)  # fixed, so support-calendar checks don't drift


class Synthesized:
    """One synthesis of the app (as tools/synth.py builds it): templates by stack name, the cdk-nag report."""

    def __init__(self, outdir: Path, overrides: dict[str, object] | None = None) -> None:
        import json

        from tools.synth import build_app

        self.app, self.config = build_app(outdir, overrides, today=TODAY)
        self.assembly = self.app.synth()
        self.stacks = {s.stack_name: s for s in self.assembly.stacks}
        self.templates: dict[str, dict[str, Any]] = {
            s.stack_name: json.loads(Path(s.template_full_path).read_text()) for s in self.assembly.stacks
        }
        report = outdir / "validation-report.json"
        self.validation_report = json.loads(report.read_text()) if report.exists() else None
        self.outdir = outdir

    def stack(self, name: str) -> object:
        import aws_cdk as cdk

        for construct in self.app.node.find_all():
            if isinstance(construct, cdk.Stack) and construct.stack_name == name:
                return construct
        raise KeyError(name)


@pytest.fixture(scope="session")
def synth(tmp_path_factory: pytest.TempPathFactory) -> Synthesized:
    """The app with the defaults of cdk.json, synthesized once per test session."""
    return Synthesized(tmp_path_factory.mktemp("cdk.out"))


# Every non-default branch the tests exercise, in one more synthesis (each synth costs seconds).
EXTRA_ROUTE = {
    "name": "extra-route",
    "hostname": "extra.example.com",
    "rules": [{"pathPrefix": "/v1", "backends": [{"app": "demo-app-a"}]}],
}
VARIANT: dict[str, object] = {
    "serviceNetworkAuthType": "NONE",
    "clusterEndpointAccess": "PRIVATE",
    "latticeIpv6": True,
    "kubernetesVersion": "1.33",
    "nodeDesiredSize": 3,
    "routes": [*cdk_json_context()["routes"], EXTRA_ROUTE],
}


@pytest.fixture(scope="session")
def variant(tmp_path_factory: pytest.TempPathFactory) -> Synthesized:
    """The app synthesized once with VARIANT's overrides."""
    return Synthesized(tmp_path_factory.mktemp("cdk.out.variant"), VARIANT)


# The pipeline (tests/test_pipeline.py): a two-stage cross-account one, and the default one-stage one.
@pytest.fixture(scope="session")
def two_stages(tmp_path_factory: pytest.TempPathFactory) -> PipelineSynth:
    from tests.test_pipeline import TWO_STAGES, PipelineSynth

    return PipelineSynth(tmp_path_factory.mktemp("pipeline-two"), TWO_STAGES)


@pytest.fixture(scope="session")
def one_stage(tmp_path_factory: pytest.TempPathFactory) -> PipelineSynth:
    from tests.test_pipeline import ARN, REPO, PipelineSynth

    return PipelineSynth(tmp_path_factory.mktemp("pipeline-one"), {"connectionArn": ARN, "repository": REPO})
