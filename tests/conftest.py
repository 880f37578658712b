"""Fixtures shared by the whole suite."""

from __future__ import annotations

import contextlib
import fcntl
import functools
import json
import os
import re
import shutil
import sys
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest

from tools.synth import cdk_json_context

ROOT = Path(__file__).resolve().parent.parent
# Bytecode for this process (each xdist worker; not the subprocesses tests start), written beside the sources as
# Python does by default, even where the shell sets PYTHONDONTWRITEBYTECODE=1, which otherwise makes every run
# compile and assertion-rewrite all ~260 test and support modules again: about half of collection's CPU (measured
# 2026-12-06: 9.5 s -> 4.8 s per process). No sys.pycache_prefix: it would make every process ignore the
# virtualenv's and the standard library's existing __pycache__ and compile them again (8 s per process on a fresh
# clone; tests/test_bytecode.py). Asset folders leave __pycache__ out (constructs/python_function.py). A module's
# .pyc is used only while its source's mtime and size match (CPython 3.11 importlib/_bootstrap_external.py
# _validate_timestamp_pyc), a rewritten test module's only while its source's hash does (pytest 9.2.0
# _pytest/assertion/rewrite.py _read_pyc); both read 2026-12-06.
sys.dont_write_bytecode = False
# ../shared beside the clone (developers, CI), else what `make reference` fetched (the pipeline's build).
_FETCHED = ROOT / ".cache" / "shared"
SHARED = Path(
    os.environ.get("EKS_LATTICE_SHARED")
    or (ROOT.parent / "shared" if (ROOT.parent / "shared").is_dir() or not _FETCHED.is_dir() else _FETCHED)
)

# jsii (in this process and in app.py subprocesses) must run on the virtualenv's Node >= 22, as under make.
os.environ["PATH"] = f"{ROOT / '.venv' / 'bin'}{os.pathsep}{os.environ.get('PATH', '')}"
os.environ.setdefault("JSII_SILENCE_WARNING_UNTESTED_NODE_VERSION", "1")
# The pipeline's synth step runs `make test` with the deployed pipeline configuration in its environment; app.py
# would synthesize that pipeline. Tests synthesize what they ask for.
os.environ.pop("EKS_LATTICE_DEPLOYED_PIPELINE", None)
# What the app and aws-cdk-lib read from the environment while synthesizing (app.py environment(); aws-cdk-lib
# 2.273.0 core/lib/app.js reads cx-api's CONTEXT_ENV, CONTEXT_OVERFLOW_LOCATION_ENV and OUTDIR_ENV, read
# 2026-12-05): cleared before jsii starts, so a developer's shell cannot change what a test synthesizes, nor what
# the synthesis cache keeps under a key that does not name them. tests/test_synth_cache.py scans the app for more.
SYNTH_ENVIRONMENT = (
    "CDK_DEFAULT_ACCOUNT",
    "CDK_DEFAULT_REGION",
    "CDK_CONTEXT_JSON",
    "CONTEXT_OVERFLOW_LOCATION_ENV",
    "CDK_OUTDIR",
    "EKS_LATTICE_DEPLOYED_PIPELINE",
)
for _name in SYNTH_ENVIRONMENT:
    os.environ.pop(_name, None)
# How the outer make was run reaches every make a test starts: GNU make exports its flags to child processes in
# MAKEFLAGS/MFLAGS and its depth in MAKELEVEL, and `make -C dir test` turns on -w there, so a nested `make -s x`
# printed "make[1]: Entering directory ..." around its output (GNU make manual, "The --print-directory Option":
# -w is on automatically with -C and in sub-makes; seen with make 4.3 here, 2026-12-05). Cleared, so a test's make
# runs as from a user's shell whether the suite ran under `make test`, `make -C dir test` or `make -s -k test`.
INHERITED_MAKE = ("MAKEFLAGS", "MFLAGS", "MAKELEVEL", "MAKEOVERRIDES")


def makefile_knobs(text: str) -> set[str]:
    """The Makefile's own variables a caller sets (`make audit ARGS=...` or the environment): those it reads or
    defaults with `?=` but never assigns itself, less make's own and what the tests read (EKS_LATTICE_SHARED).
    make exports command-line variables to every process below it, so `make bench ARGS="--runs 2"` reached a
    test's `make -s audit` as `tools/audit.py --runs 2` (seen 2026-12-05)."""
    used = set(re.findall(r"\$\(([A-Z][A-Z0-9_]*)\)", text))
    assigned = set(re.findall(r"^([A-Z][A-Z0-9_]*)\s*:?=", text, re.MULTILINE))
    defaulted = set(re.findall(r"^([A-Z][A-Z0-9_]*)\s*\?=", text, re.MULTILINE))
    return ((used - assigned) | defaulted) - {"CURDIR", "MAKE", "MAKEFILE_LIST", "PATH", "EKS_LATTICE_SHARED"}


MAKE_KNOBS = makefile_knobs((ROOT / "Makefile").read_text())
for _name in (*INHERITED_MAKE, *sorted(MAKE_KNOBS)):
    os.environ.pop(_name, None)
# Set by the pipeline's synth step: the clone cannot have the tutorial seed (stacks/pipeline_stack.NO_SEED_ENV).
NO_SEED_ENV = "EKS_LATTICE_NO_SEED"


def _share_botocore_models() -> None:
    """Every botocore session in a test process reads each service model once: a new session (one per moto test,
    one per assumed role) would otherwise parse the same JSON again (EC2's alone is megabytes). The loader only
    reads files that ship with botocore, so sharing it changes nothing but the time."""
    import functools

    import botocore.loaders
    import botocore.session

    botocore.session.create_loader = functools.cache(botocore.loaders.create_loader)


_share_botocore_models()


# ------------------------------------------------------------------------------------------- credentials

# Every source of AWS credentials botocore's default chain reads (botocore 1.44.8, read 2026-12-05):
# credentials.create_credential_resolver orders EnvProvider, AssumeRoleProvider and the profile providers
# (ProfileProviderBuilder: web identity, SSO, shared credentials file, login, credential_process, config file),
# OriginalEC2Provider, BotoProvider, ContainerProvider and InstanceMetadataProvider; configprovider.py names the
# profile and file variables. A test never finds credentials it did not set up itself: on a developer's machine
# (a profile, ~/.aws) or in CodeBuild (AWS_CONTAINER_CREDENTIALS_RELATIVE_URI, always set there) alike.
CREDENTIAL_VARIABLES = (
    # EnvProvider
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
    "AWS_SECURITY_TOKEN",
    "AWS_CREDENTIAL_EXPIRATION",
    "AWS_ACCOUNT_ID",
    # the profile every profile-based provider reads (configprovider: 'profile')
    "AWS_PROFILE",
    "AWS_DEFAULT_PROFILE",
    # AssumeRoleWithWebIdentityProvider._CONFIG_TO_ENV_VAR
    "AWS_WEB_IDENTITY_TOKEN_FILE",
    "AWS_ROLE_ARN",
    "AWS_ROLE_SESSION_NAME",
    # ContainerProvider (CodeBuild, ECS, EKS Pod Identity)
    "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
    "AWS_CONTAINER_CREDENTIALS_FULL_URI",
    "AWS_CONTAINER_AUTHORIZATION_TOKEN",
    "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE",
    # OriginalEC2Provider
    "AWS_CREDENTIAL_FILE",
    # InstanceMetadataProvider's endpoint (disabled below in any case)
    "AWS_EC2_METADATA_SERVICE_ENDPOINT",
    "AWS_EC2_METADATA_SERVICE_ENDPOINT_MODE",
    # LoginProvider's token cache (utils: AWS_LOGIN_CACHE_DIRECTORY, else ~/.aws/login/cache)
    "AWS_LOGIN_CACHE_DIRECTORY",
    # Not botocore's: the pinned CDK CLI (aws-cdk 2.1148.1, node_modules/aws-cdk/lib/index.js shouldPrioritizeEnv,
    # read 2026-12-05) copies these into AWS_* before it builds its credential chain.
    "AMAZON_ACCESS_KEY_ID",
    "AMAZON_SECRET_ACCESS_KEY",
    "AMAZON_SESSION_TOKEN",
)
# Files the chain reads, each pointed at an empty file: the config file (assume-role, SSO, login,
# credential_process and config-file profiles), the shared credentials file, and boto2's config (BotoProvider reads
# BOTO_CONFIG instead of /etc/boto.cfg and ~/.boto).
CREDENTIAL_FILE_VARIABLES = ("AWS_CONFIG_FILE", "AWS_SHARED_CREDENTIALS_FILE", "BOTO_CONFIG")
# Where a client's region comes from: botocore's config (configprovider 'region': AWS_DEFAULT_REGION), and
# the Lambda runtime's variable, which the handlers read first (AWS_REGION).
REGION_VARIABLES = ("AWS_REGION", "AWS_DEFAULT_REGION")
# The CDK CLI's own region names (aws-cdk 2.1148.1 lib/index.js, read 2026-12-05): cleared, never set.
NODE_REGION_VARIABLES = ("AMAZON_REGION", "AMAZON_DEFAULT_REGION")
# Bearer tokens (botocore utils: AWS_BEARER_TOKEN_<service>) authenticate some services without SigV4.
BEARER_TOKEN_PREFIX = "AWS_BEARER_TOKEN_"


def clear_credential_sources(monkeypatch: pytest.MonkeyPatch, empty_dir: Path) -> None:
    """Shut out every credential source above; a test that needs credentials sets its own afterwards."""
    for name in CREDENTIAL_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    for name in [n for n in os.environ if n.startswith(BEARER_TOKEN_PREFIX)]:
        monkeypatch.delenv(name)
    empty_dir.mkdir(parents=True, exist_ok=True)
    for name in CREDENTIAL_FILE_VARIABLES:
        empty = empty_dir / name.lower()
        empty.touch()
        monkeypatch.setenv(name, str(empty))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")  # InstanceMetadataFetcher: no IMDS request
    # The CDK CLI the suite runs offline sends no telemetry (aws-cdk 2.1148.1 canCollectTelemetry reads it).
    monkeypatch.setenv("CDK_DISABLE_CLI_TELEMETRY", "1")
    # No region either, in both variables: botocore reads AWS_DEFAULT_REGION, the Lambda handlers (and the
    # Lambda runtime that sets it) AWS_REGION first, so one left over would point the two at different regions.
    for name in (*REGION_VARIABLES, *NODE_REGION_VARIABLES):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture(scope="session", autouse=True)
def _no_ambient_credentials_session(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """For the session's own fixtures (synths, servers) and every subprocess they start; yields the empty files'
    folder."""
    empty_dir = tmp_path_factory.mktemp("no-aws-credentials")
    with pytest.MonkeyPatch.context() as monkeypatch:
        clear_credential_sources(monkeypatch, empty_dir)
        yield empty_dir


@pytest.fixture(autouse=True)
def no_ambient_credentials(monkeypatch: pytest.MonkeyPatch, _no_ambient_credentials_session: Path) -> None:
    """Again before each test: an earlier test or fixture that wrote os.environ directly doesn't leak into it."""
    clear_credential_sources(monkeypatch, _no_ambient_credentials_session)


@pytest.fixture
def codebuild_credentials(tmp_path: Path) -> Iterator[Any]:
    """CodeBuild's credential endpoint, as .ci/run starts it (tools/container_credentials.CredentialsServer),
    serving in this process: for a test that means to take the build role's (dummy) keys."""
    import threading

    from tools.container_credentials import CredentialsServer

    server = CredentialsServer(tmp_path / "credential-requests.log")
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


def _truthy(value: str | None) -> bool:
    return value is not None and value.strip().lower() not in ("", "0", "false", "no")


def running_in_ci(environ: Mapping[str, str] = os.environ) -> bool:
    """CI=true (GitHub Actions, GitLab, most CI services) or CODEBUILD_CI (set by CodeBuild, which sets no CI)."""
    return _truthy(environ.get("CI")) or _truthy(environ.get("CODEBUILD_CI"))


def find_reference(shared: Path) -> Path:
    """shared/reference, or a test failure (never a skip): CI lays ../shared beside the clone."""
    ref = shared / "reference"
    if not (ref / "MANIFEST.md").is_file():
        pytest.fail(f"reference data not found at {ref} (set EKS_LATTICE_SHARED to the shared/ folder)")
    return ref


@pytest.fixture(scope="session")
def reference_dir() -> Path:
    """Upstream reference data (CRDs, chart values, IAM policy) from ../shared/reference."""
    return find_reference(SHARED)


@contextlib.contextmanager
def moto_in(monkeypatch: pytest.MonkeyPatch, region: str) -> Iterator[str]:
    """moto's in-memory AWS with throwaway credentials, `region` in both region variables (moto's own mock_aws sets
    only AWS_DEFAULT_REGION; the handlers read AWS_REGION first); yields the region."""
    from moto import mock_aws

    for name, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        **dict.fromkeys(REGION_VARIABLES, region),
    }.items():
        monkeypatch.setenv(name, value)
    with mock_aws():
        yield region


@pytest.fixture
def mocked_aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """moto_in us-east-1."""
    with moto_in(monkeypatch, "us-east-1") as region:
        yield region


def find_seed(shared: Path, environ: Mapping[str, str]) -> str:
    """The tutorial's text under shared/seeds. Not an upstream release file, so `make reference` can't fetch it.

    Missing, it fails under CI=true (this project's CI) always; in other CI (running_in_ci) unless the build
    declares it absent (NO_SEED_ENV, as the pipeline's CodeBuild synth step does, naming why); and is skipped on
    a developer's machine.
    """
    seeds = sorted((shared / "seeds").glob("*.txt"))
    if not seeds:
        message = f"tutorial seed not found under {shared / 'seeds'}"
        declared = environ.get(NO_SEED_ENV, "").strip()
        if environ.get("CI") == "true":  # this project's CI: no skips, ever (a declaration included)
            pytest.fail(f"{message} (CI=true)")
        if declared:
            pytest.skip(f"{message}: declared absent by {NO_SEED_ENV} ({declared})")
        if running_in_ci(environ):
            pytest.fail(f"{message} (running in CI; set {NO_SEED_ENV}=<why> if this build cannot have it)")
        pytest.skip(f"{message} (fails instead in CI: CI=true or CODEBUILD_CI)")
    return seeds[0].read_text()


@pytest.fixture(scope="session")
def seed_text() -> str:
    """The tutorial (../shared/seeds); see find_seed."""
    return find_seed(SHARED, os.environ)


# ---------------------------------------------------------------------------------------------- synthesis

TODAY = __import__("datetime").date(2026, 11, 28)  # fixed, so support-calendar checks don't drift


class Synthesized:
    """One synthesis of the app (as tools/synth.py builds it): templates by stack name, the cdk-nag report."""

    def __init__(
        self,
        outdir: Path,
        overrides: dict[str, object] | None = None,
        env: tuple[str, str] | None = None,
        *,
        nag: bool = True,
        reuse: bool = False,
    ) -> None:
        """`reuse`: `outdir` already holds this very synthesis (shared_synthesis); build the construct tree,
        which tests also inspect, but read the cloud assembly from disk instead of synthesizing again."""
        import json

        from tools.synth import build_app

        self.app, self.config = build_app(outdir, overrides, today=TODAY, env=env, nag=nag)
        self.assembly = _read_assembly(outdir) if reuse else self.app.synth()
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


def _read_assembly(outdir: Path) -> Any:
    import aws_cdk as cdk

    return cdk.cx_api.CloudAssembly(str(outdir))


@contextlib.contextmanager
def shared_synthesis(tmp_path_factory: pytest.TempPathFactory, name: str) -> Iterator[tuple[Path, bool]]:
    """One synthesis per test session, not one per xdist worker: yields (outdir, ready). The first worker to ask
    gets ready=False and synthesizes into outdir (the other waits on the lock meanwhile, where it would have
    spent the same time synthesizing); later askers get ready=True and read it. The session's synths are
    deterministic (their templates' hashes key tests/support/scans.py's cache), so reading one is the same as
    making it."""
    base = tmp_path_factory.getbasetemp()
    root = base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base  # the workers' common folder
    outdir, done = root / f"shared-{name}", root / f"shared-{name}.done"
    with open(root / f"shared-{name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            ready = done.exists()
            if not ready:
                shutil.rmtree(outdir, ignore_errors=True)  # an earlier attempt that failed midway
                outdir.mkdir()
            yield outdir, ready
            done.touch()
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


@pytest.fixture(scope="session")
def synth(tmp_path_factory: pytest.TempPathFactory) -> Synthesized:
    """The app with the defaults of cdk.json, synthesized once per test session, or read from the synthesis cache."""
    return cached_synthesis(tmp_path_factory, "default", {}, nag=True)


# Every non-default branch the tests exercise, in one more synthesis (each synth costs seconds).
EXTRA_ROUTE = {
    "name": "extra-route",
    "hostname": "extra.example.com",
    "rules": [{"pathPrefix": "/v1", "backends": [{"app": "demo-app-a"}]}],
}
# Two consumer accounts (issue 13): one with a new VPC and test host, one with an existing VPC and none;
# sharing needs the provider's account and region, so the variant has a concrete environment.
PROVIDER_ACCOUNT, PROVIDER_REGION = "111111111111", "ap-northeast-2"
CONSUMERS: list[dict[str, object]] = [
    {"name": "team-b", "account": "222222222222", "vpcCidr": "10.3.0.0/16"},
    {"name": "team-c", "account": "333333333333", "vpcId": "vpc-0123456789abcdef0", "testHost": False},
]
ORGANIZATION_ARN = "arn:aws:organizations::111111111111:organization/o-abcde12345"
VARIANT: dict[str, object] = {
    "consumers": __import__("json").dumps(CONSUMERS),  # as `-c` delivers it: JSON text
    "shareWithOrganization": ORGANIZATION_ARN,
    "serviceNetworkAuthType": "NONE",
    "clusterEndpointAccess": "PRIVATE",
    "latticeIpv6": True,
    "kubernetesVersion": "1.33",
    "nodeDesiredSize": 3,
    "availabilityZones": ["apne2-az1", "apne2-az2", "apne2-az3"],  # AZ IDs of PROVIDER_REGION, three zones
    # demo-http-route under a new hostname, plus a route: read from the defaults, an update that changes a
    # hostname and adds a route; read back, one that changes it back and removes one (tests/test_dns_updates.py).
    "routes": [{**cdk_json_context()["routes"][0], "hostname": "api2.example.com"}, EXTRA_ROUTE],
    # Alarms that notify (SNS topic, KMS key), with thresholds other than the defaults.
    "alarms": {
        "email": "ops@example.com",
        "errorRatePercent": 2.5,
        "latencyP99Ms": 250,
        "evaluationPeriods": 5,
        "periodSeconds": 300,
        "targetHealthMinutes": 10,  # longer than periodSeconds: the health alarms take the longer period
    },
}


@pytest.fixture(scope="session")
def variant(tmp_path_factory: pytest.TempPathFactory) -> Synthesized:
    """The app synthesized once with VARIANT's overrides, or read from the synthesis cache."""
    return cached_synthesis(tmp_path_factory, "variant", VARIANT, (PROVIDER_ACCOUNT, PROVIDER_REGION), nag=True)


# One app and its route in a namespace of their own, replacing the demo: the "Add your own service" walkthrough
# (docs/own-service.md), whose configuration is this file (tests/test_walkthrough.py keeps the page's copy and its
# make impact output equal to it).
TEAM = "team-a"
WALKTHROUGH = ROOT / "docs" / "examples" / "own-service.json"
NAMESPACED: dict[str, Any] = json.loads(WALKTHROUGH.read_text())


@pytest.fixture(scope="session")
def namespaced(tmp_path_factory: pytest.TempPathFactory) -> Synthesized:
    """NAMESPACED synthesized once, or read from the synthesis cache (no cdk-nag: tests/test_manifest_order.py,
    tests/test_config_fuzz.py)."""
    return cached_synthesis(tmp_path_factory, "namespaced", NAMESPACED)


# examples/all-protocols.json (issue 26) as `-c` delivers it (JSON text per key), with a certificate for the HTTPS
# route in the environment's region (the region check runs: the environment is concrete) and a private CA bundle
# for the smoke test, synthesized once with cdk-nag.
EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
PROTOCOLS_CERTIFICATE = (
    f"arn:aws:acm:{PROVIDER_REGION}:{PROVIDER_ACCOUNT}:certificate/0123abcd-0000-4000-8000-00000000cafe"
)
PROTOCOLS_CA_BUNDLE = "tests/support/test-ca.pem"


def protocols_context() -> dict[str, Any]:
    example = json.loads((EXAMPLES / "all-protocols.json").read_text())
    for route in example["routes"]:
        if route.get("protocol") == "HTTPS":
            route |= {"certificateArn": PROTOCOLS_CERTIFICATE, "caBundle": PROTOCOLS_CA_BUNDLE}
    return {key: json.dumps(value) for key, value in example.items()}


@pytest.fixture(scope="session")
def protocols(tmp_path_factory: pytest.TempPathFactory) -> Synthesized:
    """examples/all-protocols.json (protocols_context) synthesized once, or read from the synthesis cache."""
    return cached_synthesis(
        tmp_path_factory, "protocols", protocols_context(), (PROVIDER_ACCOUNT, PROVIDER_REGION), nag=True
    )


@pytest.fixture(scope="session")
def protocols_consumers(tmp_path_factory: pytest.TempPathFactory) -> Synthesized:
    """The protocols example with VARIANT's two consumers (their stacks get the same routes) and its TLS route on a
    port of its own, without cdk-nag (tests/test_listener_ports.py)."""
    context = {**protocols_context(), "consumers": VARIANT["consumers"]}
    routes = [{**r, "port": 8443} if r.get("protocol") == "TLS" else r for r in json.loads(context["routes"])]
    context["routes"] = json.dumps(routes)
    return cached_synthesis(tmp_path_factory, "protocols-consumers", context, (PROVIDER_ACCOUNT, PROVIDER_REGION))


# The pipeline (tests/test_pipeline.py): two synths, each holding the whole app in every stage.
ARN = "arn:aws:codeconnections:us-east-1:111111111111:connection/00000000-0000-0000-0000-000000000000"
REPO = "example/eks-lattice-gateway"
PIPELINE_ACCOUNT, PIPELINE_REGION = "111111111111", "us-east-1"
PROD_ACCOUNT, PROD_REGION = "222222222222", "ap-northeast-2"
TWO_STAGES: dict[str, Any] = {
    "connectionArn": ARN,
    "repository": REPO,
    "branch": "main",
    "stages": [
        {"name": "dev", "allowReplacement": True},
        {"name": "prod", "account": PROD_ACCOUNT, "region": PROD_REGION, "production": True},
    ],
}
ONE_STAGE: dict[str, Any] = {"connectionArn": ARN, "repository": REPO}
# The two-stage pipeline's app has two consumers (issue 13): each stage is followed by a wave of their stages.
PIPELINE_CONSUMER_ACCOUNT = "333333333333"
PIPELINE_CONSUMERS: list[dict[str, Any]] = [
    {"name": "team-b", "account": PIPELINE_CONSUMER_ACCOUNT, "vpcCidr": "10.3.0.0/16"},
    # Not an existing VPC (vpcId): every stage would associate that one VPC again (refused; issue 21).
    {"name": "team-c", "account": "444444444444", "vpcCidr": "10.4.0.0/16", "testHost": False},
]


# The pipeline stack's artifact id, written beside a pipeline synthesis, so that one read back needs no tree.
PIPELINE_ARTIFACT = "pipeline-artifact-id.txt"


class PipelineSynth:
    """One synthesis of a PipelineStack in a fresh app with cdk-nag, as app.build will do it."""

    def __init__(
        self, outdir: Path, pipeline: dict[str, Any], context: dict[str, Any] | None = None, *, reuse: bool = False
    ) -> None:
        """`reuse`: `outdir` already holds this very synthesis (the session's or the synthesis cache's): it is
        read, and the construct tree is built (never synthesized) only when a test asks for `stack`."""
        import json

        self._inputs = (pipeline, context)
        self._stack: Any = None
        if reuse:
            self.assembly = _read_assembly(outdir)
            artifact_id = (outdir / PIPELINE_ARTIFACT).read_text().strip()
        else:
            app, self._stack = self._build(outdir)
            self.assembly = app.synth()
            artifact_id = self._stack.artifact_id
            (outdir / PIPELINE_ARTIFACT).write_text(artifact_id)
        self.template: dict[str, Any] = json.loads(
            Path(self.assembly.get_stack_artifact(artifact_id).template_full_path).read_text()
        )
        self.outdir = outdir
        report = outdir / "validation-report.json"
        self.report = json.loads(report.read_text()) if report.exists() else None

    def _build(self, outdir: Path) -> tuple[Any, Any]:
        import aws_cdk as cdk
        import cdk_nag
        from constructs.compliance.checkov import add_checkov_acknowledgments

        from config import parse_context
        from config.pipeline import parse_pipeline
        from stacks.pipeline_stack import add_pipeline

        pipeline, context = self._inputs
        app = cdk.App(context={**cdk_json_context(), **(context or {})}, outdir=str(outdir))
        config = parse_context(app.node.get_all_context(), today=TODAY)
        stack = add_pipeline(
            app,
            config=config,
            pipeline=parse_pipeline(pipeline),
            env=cdk.Environment(account=PIPELINE_ACCOUNT, region=PIPELINE_REGION),
        )
        cdk.Validations.of(app).add_plugins(cdk_nag.AwsSolutionsChecks(app))
        add_checkov_acknowledgments(app)
        return app, stack

    @property
    def stack(self) -> Any:
        """The PipelineStack construct; for a synthesis read from disk, built on first use in a folder of its own."""
        if self._stack is None:
            import tempfile

            _app, self._stack = self._build(Path(tempfile.mkdtemp(prefix="tree-")))
        return self._stack

    def resources(self, kind: str) -> dict[str, dict[str, Any]]:
        return {k: v for k, v in self.template["Resources"].items() if v["Type"] == kind}

    def stages(self) -> list[dict[str, Any]]:
        (pipeline,) = self.resources("AWS::CodePipeline::Pipeline").values()
        stages: list[dict[str, Any]] = pipeline["Properties"]["Stages"]
        return stages

    def stage(self, name: str) -> list[dict[str, Any]]:
        """The stage's actions in run order."""
        actions = next(s["Actions"] for s in self.stages() if s["Name"] == name)
        return sorted(actions, key=lambda a: a.get("RunOrder", 1))

    def buildspec(self, project_logical_id: str) -> dict[str, Any]:
        import json

        spec: dict[str, Any] = json.loads(
            self.resources("AWS::CodeBuild::Project")[project_logical_id]["Properties"]["Source"]["BuildSpec"]
        )
        return spec

    def project_of(self, action: dict[str, Any]) -> str:
        ref: str = action["Configuration"]["ProjectName"]["Ref"]
        return ref


@pytest.fixture(scope="session")
def two_stages(tmp_path_factory: pytest.TempPathFactory) -> PipelineSynth:
    """A two-stage cross-account pipeline, synthesized once per session."""
    return cached_pipeline(tmp_path_factory, "pipeline-two", TWO_STAGES, {"consumers": json.dumps(PIPELINE_CONSUMERS)})


@pytest.fixture(scope="session")
def one_stage(tmp_path_factory: pytest.TempPathFactory) -> PipelineSynth:
    """The default one-stage pipeline, synthesized once per session."""
    return cached_pipeline(tmp_path_factory, "pipeline-one", ONE_STAGE)


@pytest.fixture(scope="session")
def largest(tmp_path_factory: pytest.TempPathFactory) -> Synthesized:
    """tests/largest_config.py's configuration (every list, string and number at its maximum, consumers included),
    synthesized with a provider environment (no cdk-nag: the default and variant runs carry it), or read from the
    synthesis cache."""
    from tests.largest_config import PROVIDER_ACCOUNT as ACCOUNT
    from tests.largest_config import PROVIDER_REGION as REGION
    from tests.largest_config import largest_overrides

    return cached_synthesis(tmp_path_factory, "largest", largest_overrides(), (ACCOUNT, REGION))


@pytest.fixture(scope="session")
def largest_pipeline(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The cloud assembly of tests/support/largest_pipeline.py's pipeline at the bound (no cdk-nag), synthesized once
    per session, or read from the synthesis cache (tests/test_pipeline_size.py)."""
    from tests.support import largest_pipeline as lp

    return cached_assembly(
        tmp_path_factory,
        "pipeline-largest",
        lambda outdir: lp.build(outdir, lp.N_STAGES, lp.N_CONSUMERS).synth(),
        [lp.N_STAGES, lp.N_CONSUMERS],
    )


# ------------------------------------------------------------------------------------------ synthesis cache

# Synthesized cloud assemblies of the session's synthesis fixtures (a construct tree built only if a test asks), kept
# between runs under the hash of every file of the clone (git's tracked and untracked, ignored ones aside: the
# app, its Lambda code, the pin files that fix the installed packages, conftest.py and tests/support; not the test
# modules nor the snapshots, OUTSIDE_SYNTHESIS), the Python version and the fixture's inputs. A warm `make test`
# reads them instead of synthesizing again; any change to any of those files synthesizes again.
# EKS_LATTICE_SYNTH_CACHE=off synthesizes every time; without git (a source archive) nothing
# is cached.
SYNTH_CACHE = ROOT / ".cache" / "synth"


def _synth_cache_on() -> bool:
    return os.environ.get("EKS_LATTICE_SYNTH_CACHE", "").strip().lower() not in ("off", "0", "false", "no")


# Files no synthesis reads, left out of the key so that changing only a test does not synthesize again: test
# modules (a fixture's inputs are in its own key; the fixtures and what they call live in conftest.py, tests/support
# and the app) and recorded snapshots (compared with the output, never read to make it).
OUTSIDE_SYNTHESIS = re.compile(rb"tests/(.*/)?test_[^/]*\.py|tests/__snapshots__/.*")


@functools.cache
def source_digest(root: Path = ROOT) -> str | None:
    """sha256 of every file of the clone git lists (tracked, and untracked but not ignored; OUTSIDE_SYNTHESIS
    aside), of the toolchain that
    synthesizes (toolchain()) and of the Python version; None without git, in a folder git ignores (mutmut's
    mutants/ copy, whose listing would be empty) and under mutmut (MUTANT_UNDER_TEST: the code is not the files')."""
    import hashlib
    import subprocess
    import sys

    if os.environ.get("MUTANT_UNDER_TEST"):
        return None
    try:
        ignored = subprocess.run(
            ["git", "check-ignore", "-q", "."], check=False, cwd=root, capture_output=True, timeout=60
        )
        if ignored.returncode == 0:
            return None
        listed = subprocess.run(
            ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
            cwd=root, capture_output=True, check=True, timeout=60,
        ).stdout  # fmt: skip
    except (OSError, subprocess.SubprocessError):
        return None
    digest = hashlib.sha256(sys.version.encode())
    digest.update(json.dumps(toolchain(), sort_keys=True).encode())
    for name in sorted(set(listed.split(b"\0")) - {b""}):
        if OUTSIDE_SYNTHESIS.fullmatch(name):
            continue
        path = root / name.decode()
        if path.is_file():
            digest.update(name + b"\0" + hashlib.sha256(path.read_bytes()).digest())
    return digest.hexdigest()


# The installed packages that shape a template, whatever the pin files say (a stale .venv, a hand install).
TOOLCHAIN_DISTRIBUTIONS = ("aws-cdk-lib", "jsii", "cdk-nag", "constructs")


def toolchain() -> dict[str, str]:
    """Installed versions of what synthesizes: the distributions above, every kubectl layer config.versions
    names, and `node --version` (jsii's runtime, first on PATH as under make)."""
    import importlib.metadata
    import subprocess

    from config.versions import EKS_VERSIONS

    names = list(TOOLCHAIN_DISTRIBUTIONS)
    names += sorted(
        {v.kubectl_layer_module.replace("aws_cdk.", "aws-cdk.").replace("_", "-") for v in EKS_VERSIONS.values()}
    )
    found: dict[str, str] = {}
    for name in names:
        try:
            found[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            found[name] = "absent"
    try:
        run = subprocess.run(["node", "--version"], check=False, capture_output=True, text=True, timeout=60)
        node = run.stdout.strip()
    except (OSError, subprocess.SubprocessError):
        node = "absent"
    found["node"] = node
    return found


class CachedSynthesis(Synthesized):
    """A synthesis read from a cloud assembly folder: config, assembly, stacks, templates and the validation report.
    The construct tree is built (not synthesized) the first time a test asks for it, from the same inputs."""

    def __init__(
        self, outdir: Path, overrides: dict[str, object], env: tuple[str, str] | None, *, nag: bool = False
    ) -> None:
        from config import parse_context

        self.config = parse_context({**cdk_json_context(), **overrides}, today=TODAY)
        self.assembly = _read_assembly(outdir)
        self.stacks = {s.stack_name: s for s in self.assembly.stacks}
        self.templates = {
            s.stack_name: json.loads(Path(s.template_full_path).read_text()) for s in self.assembly.stacks
        }
        report = outdir / "validation-report.json"
        self.validation_report = json.loads(report.read_text()) if report.exists() else None
        self.outdir = outdir
        self._inputs = (overrides, env, nag)
        self._app: Any = None

    @property
    def app(self) -> Any:
        """The construct tree of the same inputs, built on first use into a folder of its own (never synthesized:
        the assembly is the cached one)."""
        if self._app is None:
            import tempfile

            from tools.synth import build_app

            overrides, env, nag = self._inputs
            outdir = Path(tempfile.mkdtemp(prefix="tree-"))
            self._app, _config = build_app(outdir, overrides, today=TODAY, env=env, nag=nag)
        return self._app


def cached_synthesis(
    tmp_path_factory: pytest.TempPathFactory,
    name: str,
    overrides: dict[str, object],
    env: tuple[str, str] | None = None,
    *,
    nag: bool = False,
    inputs: object = None,
) -> Synthesized:
    """The app synthesized with `overrides` and `env` (cdk-nag's pass too with `nag`), once per session
    (shared_synthesis), and kept in SYNTH_CACHE under its inputs' hash for the next run. `inputs`: whatever else
    the caller changes for this synthesis outside the clone's files (e.g. releases a test module pins), JSON-able."""
    key = _cache_key(name, [overrides, env, nag, inputs])
    if key is not None and (SYNTH_CACHE / f"{name}-{key}" / ".complete").is_file():
        return CachedSynthesis(SYNTH_CACHE / f"{name}-{key}", overrides, env, nag=nag)
    with shared_synthesis(tmp_path_factory, name) as (outdir, ready):
        synthesized = Synthesized(outdir, overrides, env, nag=nag, reuse=ready)
        if key is not None and not ready:
            _store_synthesis(outdir, name, key)
        return synthesized


def cached_pipeline(
    tmp_path_factory: pytest.TempPathFactory, name: str, pipeline: dict[str, Any], context: dict[str, Any] | None = None
) -> PipelineSynth:
    """A PipelineSynth (with cdk-nag), once per session and kept in SYNTH_CACHE like cached_synthesis."""
    key = _cache_key(name, [pipeline, context])
    if key is not None and (SYNTH_CACHE / f"{name}-{key}" / ".complete").is_file():
        return PipelineSynth(SYNTH_CACHE / f"{name}-{key}", pipeline, context, reuse=True)
    with shared_synthesis(tmp_path_factory, name) as (outdir, ready):
        synthesized = PipelineSynth(outdir, pipeline, context, reuse=ready)
        if key is not None and not ready:
            _store_synthesis(outdir, name, key)
        return synthesized


def cached_assembly(
    tmp_path_factory: pytest.TempPathFactory, name: str, synthesize: Callable[[Path], object], inputs: object
) -> Path:
    """The cloud assembly `synthesize(outdir)` writes, once per session (shared_synthesis) and kept in SYNTH_CACHE
    like cached_synthesis, for a test that reads only the assembly. `synthesize` must live in conftest.py or
    tests/support (in the key); `inputs`: its arguments, JSON-able."""
    key = _cache_key(name, inputs)
    if key is not None and (SYNTH_CACHE / f"{name}-{key}" / ".complete").is_file():
        return SYNTH_CACHE / f"{name}-{key}"
    with shared_synthesis(tmp_path_factory, name) as (outdir, ready):
        if not ready:
            synthesize(outdir)
            if key is not None:
                _store_synthesis(outdir, name, key)
        return outdir


def cached_app_assembly(
    tmp_path_factory: pytest.TempPathFactory,
    name: str,
    overrides: dict[str, object],
    env: tuple[str, str] | None,
    *,
    today: Any,
    nag: bool,
) -> Path:
    """The cloud assembly of build_app(overrides, env, today, nag)'s app.synth(), once per session and kept in
    SYNTH_CACHE (cached_assembly), for a test that reads only the assembly and synthesizes on a day of its own."""

    def synthesize(outdir: Path) -> None:
        from tools.synth import build_app

        app, _config = build_app(outdir, overrides, today=today, env=env, nag=nag)
        app.synth()

    return cached_assembly(tmp_path_factory, name, synthesize, [overrides, env, today.isoformat(), nag])


def _cache_key(name: str, inputs: object) -> str | None:
    """The cache key of fixture `name` with `inputs`, under the source digest; None when nothing is cached."""
    import hashlib

    digest = source_digest() if _synth_cache_on() else None
    if digest is None:
        return None
    text = json.dumps([digest, name, inputs, TODAY.isoformat()], sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:40]


def _link_or_copy(source: str, target: str) -> None:
    """A hard link where the two folders share a file system (the layer zips are tens of MB), else a copy."""
    try:
        os.link(source, target)
    except OSError:
        shutil.copy2(source, target)


def _entries(cache: Path, name: str) -> list[Path]:
    """`name`'s entries (<name>-<40 hex>): not another fixture's whose name only starts with it."""
    return [p for p in cache.glob(f"{name}-*") if re.fullmatch(rf"{re.escape(name)}-[0-9a-f]{{40}}", p.name)]


def _remove(path: Path) -> None:
    def writable(function: Any, target: str, _exc: Any) -> None:
        os.chmod(os.path.dirname(target), 0o755)
        function(target)

    shutil.rmtree(path, onerror=writable)


STALE_STAGING_SECONDS = 3600


def _store_synthesis(outdir: Path, name: str, key: str, cache: Path | None = None) -> bool:
    """Copy the assembly into the cache (whole into a staging folder, files read-only, then renamed into place),
    and only then drop the fixture's other entries and staging folders left by runs that died. A cache that cannot
    be written (read-only, full) is no failure: the test run goes on uncached. True when the entry is in place."""
    import time

    cache = SYNTH_CACHE if cache is None else cache
    target = cache / f"{name}-{key}"
    staging = cache / f".{name}-{key}-{os.getpid()}"
    try:
        cache.mkdir(parents=True, exist_ok=True)
        for stale in cache.glob(f".{name}-*"):
            if time.time() - stale.stat().st_mtime > STALE_STAGING_SECONDS:
                _remove(stale)
        shutil.copytree(outdir, staging, symlinks=True, copy_function=_link_or_copy)
        (staging / ".complete").touch()
        for folder, _dirs, files in os.walk(staging):
            for file in files:
                path = os.path.join(folder, file)
                if not os.path.islink(path):
                    os.chmod(path, 0o444)
        try:
            staging.rename(target)
        except OSError:  # another process stored it first
            _remove(staging)
        for old in _entries(cache, name):
            if old != target:
                _remove(old)
    except OSError:
        with contextlib.suppress(OSError):
            if staging.exists():
                _remove(staging)
        return False
    return (target / ".complete").is_file()
