"""Class test: every Lambda handler in lambda/ that calls the Kubernetes API hands its client the time the invocation
has left, so a slow API server ends the call (and the invocation answers) before the Lambda's own timeout.

The fault: a handler that builds its KubeClient without `time_left` waits out a slow API server (the client's own
per-attempt timeout, 10 s or more) past its invocation; CloudFormation then reads a bare Lambda timeout. The
slow-API test of lattice_dns passed on that mutant: it only saw the out-of-time error the client raised either way.

The same fault one call earlier: KubeClient.for_lambda asks eks:DescribeCluster for the endpoint through boto3, whose
fixed budget (3 attempts of 5 s + 10 s) outlasted the handlers' 15 s reserve; it is now cut to the time left, and every
for_lambda user meets a slow DescribeCluster below (red before: 1.92-1.96 s against a 1.4 s budget).

Each handler here runs through its own client construction (KubeClient.for_lambda against a local DescribeCluster,
tests/support/fake_eks.py) against an API server slower than the invocation has left, and must be done within that
time (tests/support/budget.py). lattice_dns builds its client from its own boto3 clients: its cases are in
tests/lambda/test_lattice_dns.py, named below."""

from __future__ import annotations

import ast
import functools
import hashlib
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from controller_credentials import handler as check
from crd_installer import handler as installer
from finalizer_guard import handler as guard
from k8s_api import KubeClient
from k8s_api.client import MIN_ATTEMPT_SECONDS

from tests.support.budget import LOADED_SLACK_SECONDS, SLOW_MARGIN_SECONDS, assert_within_budget
from tests.support.clock import RealTimeContext
from tests.support.fake_eks import FakeEks
from tests.support.fake_kube import FakeKubeApi, looks_like_eks_token
from tests.support.file_server import FileServer
from tests.support.local_aws import use_local_aws

LAMBDA = Path(__file__).resolve().parents[2] / "lambda"
REGION = "ap-northeast-2"
CLUSTER = "eks-demo"
NS, SA = "aws-application-networking-system", "gateway-api-controller"
ROUTE = "/apis/gateway.networking.k8s.io/v1/namespaces/default/httproutes/demo"
# Seconds the invocation may spend on calls, which each case waits out in real time: one attempt (with less than
# k8s_api's MIN_ATTEMPT_SECONDS left the client makes none and the case tests nothing) after the handler's setup
# (a boto3 session, DescribeCluster, a signed token: 20 ms measured with the process warmed, see `api`; 0.4 s allowed
# for a loaded machine).
BUDGET = MIN_ATTEMPT_SECONDS + 0.4
# Every answer: seconds past BUDGET and its slack, so a client waiting for it fails by seconds, and sooner than any
# client's own timeout (10 s or more), which would end it anyway.
SLOW_SECONDS = BUDGET + SLOW_MARGIN_SECONDS


class SlowKubeApi(FakeKubeApi):
    """Answers every request, but only after SLOW_SECONDS."""

    def _take_delay(self, path: str) -> float:
        return SLOW_SECONDS


@pytest.fixture
def local(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[tuple[FakeEks, SlowKubeApi]]:
    """Cluster CLUSTER as DescribeCluster tells it (for_lambda's path), behind a slow API server."""
    accept = functools.partial(looks_like_eks_token, region=REGION)
    with FakeEks() as eks, SlowKubeApi(token="never-this", accept_token=accept) as server:
        use_local_aws(monkeypatch, tmp_path, {"EKS": eks.endpoint})
        monkeypatch.setenv("AWS_REGION", REGION)
        eks.clusters[CLUSTER] = {"endpoint": server.endpoint, "certificateAuthority": {"data": server.ca_data}}
        # What a process pays once (botocore's modules, the STS endpoint resolver) is paid here, not in a case's
        # budget: a case's first client of its test process took more than its setup allowance in a loaded suite.
        KubeClient.for_lambda(CLUSTER, error=RuntimeError)
        eks.calls.clear()
        yield eks, server


@pytest.fixture
def api(local: tuple[FakeEks, SlowKubeApi]) -> SlowKubeApi:
    return local[1]


@pytest.fixture
def slow_eks(local: tuple[FakeEks, SlowKubeApi]) -> FakeEks:
    """DescribeCluster answers only after SLOW_SECONDS (the API server behind it is slow too)."""
    eks = local[0]
    eks.delay = SLOW_SECONDS
    return eks


def _credentials_check(context: Any) -> Any:
    event = {
        "RequestType": "Create",
        "ResourceProperties": {"ClusterName": CLUSTER, "Namespace": NS, "ServiceAccount": SA},
    }
    return check.on_event(event, context)


def _finalizer_guard(context: Any) -> Any:
    event = {
        "RequestType": "Delete",
        "PhysicalResourceId": f"{guard.PHYSICAL_ID_PREFIX}{CLUSTER}{ROUTE}",
        "ResourceProperties": {
            "ClusterName": CLUSTER,
            "Path": ROUTE,
            "Finalizer": "httproute.k8s.aws/resources",
            "ControllerNamespace": NS,
            "ControllerServiceAccount": SA,
        },
    }
    return guard.on_event(event, context)


CRD = b"apiVersion: apiextensions.k8s.io/v1\nkind: CustomResourceDefinition\nmetadata:\n  name: widgets.example.com\n"


def _crd_installer(context: Any) -> Any:
    """Downloads its file from a local site at once, then applies it to the slow API."""
    with FileServer({"v1/widgets.yaml": CRD}) as site:
        files = [
            {"name": "widgets.yaml", "url": site.url("v1/widgets.yaml"), "sha256": hashlib.sha256(CRD).hexdigest()}
        ]
        event = {
            "RequestType": "Create",
            "ResourceProperties": {"ClusterName": CLUSTER, "Version": "v1", "Files": files},
        }
        return installer.on_event(event, context)


# handler package -> (its reserve for answering, one invocation through its default Deps)
CASES: dict[str, tuple[float, Callable[[Any], Any]]] = {
    "controller_credentials": (check.LAMBDA_TIME_RESERVE_SECONDS, _credentials_check),
    "crd_installer": (installer.LAMBDA_TIME_RESERVE_SECONDS, _crd_installer),
    "finalizer_guard": (guard.LAMBDA_TIME_RESERVE_SECONDS, _finalizer_guard),
}
# lattice_dns makes its KubeClient from the Clients its tests replace (handler._clients): its cases run there.
ELSEWHERE = {
    "lattice_dns": (
        "tests/lambda/test_lattice_dns.py",
        (
            "test_slow_kubernetes_api_means_another_poll_not_a_lambda_timeout",
            "test_slow_kubernetes_api_ends_a_resync_within_its_invocation",
        ),
    ),
}


def _packages_with(matches: Callable[[ast.AST], bool]) -> set[str]:
    """The handler packages of lambda/ (k8s_api itself aside) with a node of their code that `matches`."""
    found = set()
    for source in LAMBDA.glob("*/*.py"):
        package = source.parent.name
        if package != "k8s_api" and any(map(matches, ast.walk(ast.parse(source.read_text(encoding="utf-8"))))):
            found.add(package)
    return found


def kube_client_users() -> set[str]:
    """The packages whose code imports KubeClient from k8s_api."""
    return _packages_with(
        lambda node: (
            isinstance(node, ast.ImportFrom)
            and node.module == "k8s_api"
            and any(alias.name == "KubeClient" for alias in node.names)
        )
    )


def for_lambda_users() -> set[str]:
    """The packages whose code calls KubeClient.for_lambda."""
    return _packages_with(
        lambda node: (
            isinstance(node, ast.Attribute)
            and node.attr == "for_lambda"
            and isinstance(node.value, ast.Name)
            and node.value.id == "KubeClient"
        )
    )


def test_every_kubernetes_caller_has_a_slow_api_case() -> None:
    assert kube_client_users() == set(CASES) | set(ELSEWHERE)
    root = LAMBDA.parent
    for path, names in ELSEWHERE.values():
        defined = {n.name for n in ast.walk(ast.parse((root / path).read_text())) if isinstance(n, ast.FunctionDef)}
        assert set(names) <= defined, f"{path} lacks {set(names) - defined}"


def test_the_discovery_sees_an_import_of_kube_client(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Control: a package importing KubeClient is found, one importing only something else of k8s_api is not."""
    (tmp_path / "uses").mkdir()
    (tmp_path / "uses" / "handler.py").write_text("from k8s_api import KubeApiError, KubeClient\n")
    (tmp_path / "other").mkdir()
    (tmp_path / "other" / "handler.py").write_text("from k8s_api import KubeApiError\n")
    monkeypatch.setattr(sys.modules[__name__], "LAMBDA", tmp_path)
    assert kube_client_users() == {"uses"}
    (tmp_path / "uses" / "handler.py").write_text(
        "from k8s_api import KubeClient\n\ndef make():\n    return KubeClient.for_lambda('c', error=ValueError)\n"
    )
    assert for_lambda_users() == {"uses"}


def test_every_for_lambda_user_has_a_slow_describe_cluster_case() -> None:
    """for_lambda calls eks:DescribeCluster before any Kubernetes call: each of its users meets a slow one below."""
    assert for_lambda_users() == set(CASES)


@pytest.mark.parametrize("package", sorted(CASES))
def test_a_slow_api_ends_the_invocation_within_the_time_it_has_left(api: SlowKubeApi, package: str) -> None:
    reserve, invoke = CASES[package]
    started = time.monotonic()
    context = RealTimeContext(reserve + BUDGET)
    answer: Exception | None = None
    try:
        invoke(context)
    except Exception as err:  # a readable failure in time is an answer too; what matters first is when
        answer = err
    assert_within_budget(time.monotonic() - started, BUDGET, slack=LOADED_SLACK_SECONDS)  # builds boto3 clients
    assert api.requests, "the handler never reached the API server: the case tests nothing"
    if answer is not None:
        assert any(words in str(answer) for words in ("out of time", "no time left")), answer


@pytest.mark.parametrize("package", sorted(CASES))
def test_a_slow_describe_cluster_ends_the_invocation_within_the_time_it_has_left(
    slow_eks: FakeEks, package: str
) -> None:
    """DescribeCluster's own attempts and timeouts (3 x (5 s + 10 s) by default) are cut to the time left: with less
    than one default attempt left, one attempt that ends with it."""
    reserve, invoke = CASES[package]
    started = time.monotonic()
    context = RealTimeContext(reserve + BUDGET)
    answer: Exception | None = None
    try:
        invoke(context)
    except Exception as err:
        answer = err
    assert_within_budget(time.monotonic() - started, BUDGET, slack=LOADED_SLACK_SECONDS)  # builds boto3 clients
    assert [path for path, _ in slow_eks.calls] == [f"/clusters/{CLUSTER}"], "one attempt, which met the slow API"
    assert answer is not None, "the handler answered without its cluster's endpoint"
    assert "eks:DescribeCluster" in str(answer), answer
    assert "out of time" in str(answer), answer
