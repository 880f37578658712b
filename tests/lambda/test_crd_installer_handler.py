"""crd_installer.handler, rule by rule: each property's exact message, both sides of every wait, the access-entry
grace period, the Delete answer, the region and clients of the default Kubernetes client, and the log lines an
operator reads in CloudWatch. Small synthetic manifests; test_crd_installer.py runs the real upstream files."""

from __future__ import annotations

import functools
import hashlib
import logging
import re
import time
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from crd_installer import handler
from crd_installer.download import MIN_ATTEMPT_SECONDS, DownloadError
from crd_installer.handler import Deps, InstallError, TimeLeft, on_event, parse_properties
from k8s_api import KubeApiError, KubeClient
from moto.eks import models as moto_eks_models

from tests.support.budget import SLOW_MARGIN_SECONDS, assert_within_budget
from tests.support.clock import FakeClock, RealTimeContext
from tests.support.clock import FixedContext as Context
from tests.support.fake_kube import CRD_PREFIX, FakeKubeApi, looks_like_eks_token
from tests.support.file_server import FileServer

SHA_A = "a" * 64


def crd(name: str) -> bytes:
    return (
        "apiVersion: apiextensions.k8s.io/v1\n"
        "kind: CustomResourceDefinition\n"
        "metadata:\n"
        f"  name: {name}\n"
        "spec:\n"
        "  group: example.com\n"
    ).encode()


FILES = {
    "widgets.yaml": crd("widgets.example.com"),
    "gadgets.yaml": crd("gadgets.example.com") + b"---\n" + crd("gizmos.example.com"),
}
WIDGETS = CRD_PREFIX + "widgets.example.com"
GADGETS = CRD_PREFIX + "gadgets.example.com"
GIZMOS = CRD_PREFIX + "gizmos.example.com"


def fetcher(files: dict[str, bytes]) -> Any:
    def fetch(url: str, *, time_left: TimeLeft) -> bytes:
        name = url.rsplit("/", 1)[-1]
        if name not in files:
            raise DownloadError(f"download failed: HTTP 404 from {url}")
        return files[name]

    return fetch


def props(files: dict[str, bytes] | None = None, **extra: Any) -> dict[str, Any]:
    files = FILES if files is None else files
    out: dict[str, Any] = {
        "ClusterName": "eks-demo",
        "Version": "v9.9.9",
        "Files": [
            {"name": name, "url": f"https://example.com/v9.9.9/{name}", "sha256": hashlib.sha256(data).hexdigest()}
            for name, data in files.items()
        ],
        "EstablishedTimeoutSeconds": "60",
    }
    out.update(extra)
    return out


def event(request_type: str = "Create", **extra: Any) -> dict[str, Any]:
    return {"RequestType": request_type, "ResourceProperties": props(**extra)}


@pytest.fixture
def api() -> Iterator[FakeKubeApi]:
    with FakeKubeApi(token="t") as server:
        server.establish_crds_after(2)
        yield server


def deps(api: FakeKubeApi, clock: FakeClock | None = None, **overrides: Any) -> Deps:
    clock = clock or FakeClock(1000.0)
    settings: dict[str, Any] = {
        "kube_client": lambda _name, _time_left: KubeClient(
            endpoint=api.endpoint, ca_data=api.ca_data, token=lambda: "t", sleep=lambda _s: None, max_attempts=1
        ),
        "fetch": fetcher(FILES),
        "sleep": clock.sleep,
        "clock": clock,
        "poll_interval": 1.0,
    }
    settings.update(overrides)
    return Deps(**settings)


def install_error(evt: dict[str, Any], d: Deps, context: Any = None) -> str:
    with pytest.raises(InstallError) as exc:
        on_event(evt, context, deps=d)
    return str(exc.value)


# -- properties: the exact message CloudFormation shows ---------------------------------------------------------


def entry(name: str = "a.yaml", url: str = "https://x/a.yaml", sha256: str = SHA_A) -> dict[str, str]:
    return {"name": name, "url": url, "sha256": sha256}


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"ClusterName": ""}, "ClusterName property is required"),
        ({"ClusterName": "   "}, "ClusterName property is required"),
        ({"ClusterName": None}, "ClusterName property is required"),
        ({"Version": " "}, "Version property is required"),
        ({"Files": None}, "Files property must be a non-empty list of {name, url, sha256}"),
        ({"Files": []}, "Files property must be a non-empty list of {name, url, sha256}"),
        ({"Files": '{"name": "a.yaml"}'}, "Files property must be a non-empty list of {name, url, sha256}"),
        ({"Files": "[not json"}, "Files property is not a JSON list: Expecting value: line 1 column 2 (char 1)"),
        ({"Files": ["a.yaml"]}, "Files[0] must be an object with name, url and sha256"),
        ({"Files": [entry(), "b.yaml"]}, "Files[1] must be an object with name, url and sha256"),
        ({"Files": [{"url": "https://x/a.yaml", "sha256": SHA_A}]}, "Files[0]: name '' must be a plain file name"),
        ({"Files": [entry(), entry(name="sub/b.yaml")]}, "Files[1]: name 'sub/b.yaml' must be a plain file name"),
        ({"Files": [entry(url="")]}, "a.yaml: url is required"),
        ({"Files": [entry(url="  ")]}, "a.yaml: url is required"),
        ({"Files": [entry(sha256="a" * 63)]}, f"a.yaml: sha256 must be 64 hex characters, got {'a' * 63!r}"),
        ({"Files": [entry(sha256="g" * 64)]}, f"a.yaml: sha256 must be 64 hex characters, got {'g' * 64!r}"),
        ({"Files": [entry(), entry(url="https://y/a.yaml")]}, "Files property lists the same file name twice"),
        ({"EstablishedTimeoutSeconds": "soon"}, "EstablishedTimeoutSeconds must be a number, got 'soon'"),
        ({"EstablishedTimeoutSeconds": [1]}, "EstablishedTimeoutSeconds must be a number, got [1]"),
        ({"EstablishedTimeoutSeconds": "0"}, "EstablishedTimeoutSeconds must be positive, got '0'"),
        ({"EstablishedTimeoutSeconds": "-5"}, "EstablishedTimeoutSeconds must be positive, got '-5'"),
    ],
)
def test_property_errors_are_exact(change: dict[str, Any], message: str) -> None:
    with pytest.raises(InstallError) as exc:
        parse_properties(props(**change))
    assert str(exc.value) == message


def test_properties_read_every_key() -> None:
    settings = parse_properties(
        props(
            ClusterName=" eks-demo ",
            Version=" v9.9.9 ",
            Files=[entry(sha256="AB" * 32, url=" https://x/a.yaml ")],
            FieldManager=" my-manager ",
            EstablishedTimeoutSeconds="0.5",  # the smallest values are accepted: any positive number
        )
    )
    assert settings == handler.Settings(
        cluster_name="eks-demo",
        version="v9.9.9",
        files=(handler.ManifestFile("a.yaml", "https://x/a.yaml", "ab" * 32),),
        field_manager="my-manager",
        established_timeout=0.5,
    )


@pytest.mark.parametrize("timeout", [None, ""])
def test_properties_defaults(timeout: str | None) -> None:
    settings = parse_properties(props(EstablishedTimeoutSeconds=timeout, FieldManager=""))
    assert settings.field_manager == handler.DEFAULT_FIELD_MANAGER == "eks-lattice-gateway"
    assert settings.established_timeout == handler.DEFAULT_ESTABLISHED_TIMEOUT == 180.0


# -- fetch and verify -------------------------------------------------------------------------------------------


def test_a_file_of_another_kind_names_file_and_document(api: FakeKubeApi) -> None:
    files = {**FILES, "ns.yaml": b"apiVersion: v1\nkind: Namespace\nmetadata:\n  name: x\n"}
    message = install_error(
        {"RequestType": "Create", "ResourceProperties": props(files)}, deps(api, fetch=fetcher(files))
    )
    assert message.startswith("ns.yaml (document 1): v1 Namespace is not a kind this installer applies (only ")
    assert api.requests == []


def test_the_same_object_in_two_files_is_refused(api: FakeKubeApi) -> None:
    files = {**FILES, "again.yaml": crd("gizmos.example.com")}
    message = install_error(
        {"RequestType": "Create", "ResourceProperties": props(files)}, deps(api, fetch=fetcher(files))
    )
    assert message == "CustomResourceDefinition gizmos.example.com appears in both gadgets.yaml and again.yaml"
    assert api.requests == []


def test_a_cluster_that_cannot_be_reached_is_reported_as_is(api: FakeKubeApi) -> None:
    def no_cluster(name: str, _time_left: TimeLeft) -> KubeClient:
        raise KubeApiError(f"eks:DescribeCluster for {name!r} failed: ResourceNotFoundException")

    assert install_error(event(), deps(api, kube_client=no_cluster)) == (
        "eks:DescribeCluster for 'eks-demo' failed: ResourceNotFoundException"
    )


# -- apply: the access-entry grace period -------------------------------------------------------------------------


@pytest.mark.parametrize("status", [401, 403])
def test_first_apply_waits_out_a_new_access_entry(api: FakeKubeApi, status: int) -> None:
    api.fail_next(WIDGETS, status, times=2, method="PATCH")
    clock = FakeClock(1000.0)
    on_event(event(), None, deps=deps(api, clock))
    assert len(api.requests_to(WIDGETS, "PATCH")) == 3
    assert clock.slept[:2] == [1.0, 1.0]


def test_access_grace_period_ends_at_its_deadline(api: FakeKubeApi) -> None:
    api.fail_next(WIDGETS, 401, times=100, method="PATCH")
    clock = FakeClock(1000.0)
    message = install_error(event(), deps(api, clock, access_wait_seconds=3.0))
    # Tried at t=0, 1, 2 (each inside the 3 s grace period) and t=3 (not inside: the last try).
    assert len(api.requests_to(WIDGETS, "PATCH")) == 4
    assert clock.slept == [1.0, 1.0, 1.0]
    assert message.startswith(
        "applying CustomResourceDefinition widgets.example.com from widgets.yaml failed: Kubernetes API at "
    )


@pytest.mark.parametrize("status", [400, 404, 409])
def test_other_errors_on_the_first_apply_are_not_waited_out(api: FakeKubeApi, status: int) -> None:
    api.fail_next(WIDGETS, status, times=100, method="PATCH")
    clock = FakeClock(1000.0)
    message = install_error(event(), deps(api, clock))
    assert message.startswith("applying CustomResourceDefinition widgets.example.com from widgets.yaml failed: ")
    assert f"HTTP {status}" in message
    assert len(api.requests_to(WIDGETS, "PATCH")) == 1
    assert clock.slept == []


def test_only_the_first_apply_waits_for_access(api: FakeKubeApi) -> None:
    api.fail_next(GADGETS, 403, times=100, method="PATCH")
    clock = FakeClock(1000.0)
    message = install_error(event(), deps(api, clock))
    assert message.startswith("applying CustomResourceDefinition gadgets.example.com from gadgets.yaml failed: ")
    assert len(api.requests_to(GADGETS, "PATCH")) == 1
    assert clock.slept == []


# -- waiting for Established ------------------------------------------------------------------------------------


def test_established_reading() -> None:
    established = handler._established
    assert established(None) == (False, "not found")
    assert established({}) == (False, "no Established condition yet")
    assert established({"status": None}) == (False, "no Established condition yet")
    ok = {"type": "Established", "status": "True"}
    assert established({"status": {"conditions": ["junk", ok]}}) == (True, "")
    names_ok = {"type": "NamesAccepted", "status": "True"}
    assert established({"status": {"conditions": [names_ok]}}) == (False, "no Established condition yet")
    pending = {"type": "Established", "status": "Unknown"}
    assert established({"status": {"conditions": [names_ok, pending]}}) == (False, "Established=Unknown")
    conflict = {"type": "NamesAccepted", "status": "False", "message": "conflicts with x"}
    refused = {"type": "Established", "status": "False", "message": "not yet"}
    assert established({"status": {"conditions": [conflict, refused]}}) == (
        False,
        "NamesAccepted=False: conflicts with x; Established=False: not yet",
    )


def test_timeout_message_lists_each_pending_crd_and_what_to_run() -> None:
    with FakeKubeApi(token="t") as quiet:  # never Established
        clock = FakeClock(1000.0)
        message = install_error(event(EstablishedTimeoutSeconds="2.5"), deps(quiet, clock))
    assert message == (
        "timed out after 2.5s waiting for CRDs to become Established: gadgets.example.com (no Established condition "
        "yet), gizmos.example.com (no Established condition yet), widgets.example.com (no Established condition "
        "yet). Check the CRD status with kubectl get crd <name> -o yaml"
    )
    # Polls every second, and the last sleep only up to the deadline.
    assert clock.slept == [1.0, 1.0, 0.5]


def test_a_crd_that_disappears_is_not_found(api: FakeKubeApi) -> None:
    api.fail_next(GIZMOS, 404, times=100, method="GET")
    message = install_error(event(EstablishedTimeoutSeconds="3"), deps(api))
    assert message.startswith(
        "timed out after 3s waiting for CRDs to become Established: gizmos.example.com (not found)"
    )


def test_reading_a_crd_fails(api: FakeKubeApi) -> None:
    api.fail_next(GADGETS, 403, method="GET", message="no get")
    message = install_error(event(), deps(api))
    assert message.startswith(
        f"reading CustomResourceDefinition gadgets.example.com while waiting for Established failed: GET {GADGETS} "
        "is forbidden (HTTP 403)"
    )
    assert message.endswith("API said: no get")


def test_time_budget_keeps_a_reserve_and_at_least_a_second() -> None:
    budget = handler._time_budget
    assert budget(None, 180.0) == 180.0
    assert budget(object(), 180.0) == 180.0
    assert budget(Context(900_000), 180.0) == 180.0
    assert budget(Context(45_000), 180.0) == 30.0  # 45 s left - 15 s reserve
    assert budget(Context(16_500), 180.0) == 1.5
    assert budget(Context(15_500), 180.0) == 1.0  # half a second left after the reserve: still one second
    assert budget(Context(1_000), 180.0) == 1.0


# -- the invocation's time: a slow download ---------------------------------------------------------------------

# A download site slower than the invocation has left: the default fetch (30 s an attempt, 3 attempts) must cut its
# wait to the time left and report, not wait the answer out past the Lambda's timeout. The budget, which the test
# waits out in real time, affords one attempt (download.MIN_ATTEMPT_SECONDS) after reading the properties (0.3 s
# allowed); the site answers seconds after the budget and its slack end, so a fetch that waits for it fails the bound
# by seconds. No boto3 client is built in the timed part (a local API client, urllib): the default slack.
DOWNLOAD_BUDGET = MIN_ATTEMPT_SECONDS + 0.3
SLOW_DOWNLOAD_SECONDS = DOWNLOAD_BUDGET + SLOW_MARGIN_SECONDS


def test_a_slow_download_ends_the_invocation_within_the_time_it_has_left(api: FakeKubeApi) -> None:
    with FileServer({f"v9.9.9/{name}": data for name, data in FILES.items()}) as site:
        site.delay_next("v9.9.9/widgets.yaml", SLOW_DOWNLOAD_SECONDS, times=3)
        files = [
            {"name": name, "url": site.url(f"v9.9.9/{name}"), "sha256": hashlib.sha256(data).hexdigest()}
            for name, data in FILES.items()
        ]
        evt = event(Files=files)
        started = time.monotonic()
        context = RealTimeContext(handler.LAMBDA_TIME_RESERVE_SECONDS + DOWNLOAD_BUDGET)
        answer: InstallError | None = None
        try:
            on_event(evt, context, deps=deps(api, fetch=Deps().fetch))
        except InstallError as err:
            answer = err
        # When first: a fetch that waits for the answer gets the file and installs it, seconds late.
        assert_within_budget(time.monotonic() - started, DOWNLOAD_BUDGET)
        assert answer is not None, "installed although the download outlasted the invocation's time"
        message = str(answer)
        url = site.url("v9.9.9/widgets.yaml")
    assert re.fullmatch(
        rf"widgets\.yaml: download failed: timed out after 1\.\d+s \(1 attempts, out of time for another\) from "
        rf"{re.escape(url)}",
        message,
    ), message
    assert api.requests == []


# -- Delete / request types -------------------------------------------------------------------------------------


def test_delete_answers_with_the_id_it_was_given() -> None:
    evt = {
        "RequestType": "Delete",
        "PhysicalResourceId": "gateway-api-crds/old-cluster",
        "ResourceProperties": {"ClusterName": "eks-demo"},
    }
    assert on_event(evt, None, deps=Deps()) == {"PhysicalResourceId": "gateway-api-crds/old-cluster"}


def test_delete_without_an_id_derives_it_from_the_cluster() -> None:
    evt = {"RequestType": "Delete", "ResourceProperties": {"ClusterName": "eks-demo"}}
    assert on_event(evt, None, deps=Deps()) == {"PhysicalResourceId": "gateway-api-crds/eks-demo"}
    assert on_event({"RequestType": "Delete"}, None, deps=Deps()) == {"PhysicalResourceId": "gateway-api-crds/"}


@pytest.mark.parametrize("request_type", ["Poke", None, "create"])
def test_unknown_request_type_is_named(request_type: str | None) -> None:
    with pytest.raises(InstallError) as exc:
        on_event({"RequestType": request_type, "ResourceProperties": props()}, None, deps=Deps())
    assert str(exc.value) == f"unknown RequestType {request_type!r}"


# -- the log an operator reads ----------------------------------------------------------------------------------


def test_log_lines_of_a_create(api: FakeKubeApi, caplog: pytest.LogCaptureFixture) -> None:
    api.fail_next(WIDGETS, 401, method="PATCH", message="who are you")
    caplog.set_level(logging.INFO, logger=handler.logger.name)
    on_event(event(), None, deps=deps(api))
    lines = [r.getMessage() for r in caplog.records if r.name == handler.logger.name]
    sizes = {name: len(data) for name, data in FILES.items()}
    assert lines[0] == "Create gateway-api-crds cluster=eks-demo version=v9.9.9"
    assert lines[1:4] == [
        f"verified widgets.yaml ({sizes['widgets.yaml']} bytes, 1 object(s))",
        f"verified gadgets.yaml ({sizes['gadgets.yaml']} bytes, 2 object(s))",
        "all 2 file(s) verified: 3 object(s) to apply",
    ]
    assert lines[4].startswith("access not yet granted (HTTP 401); retrying: Kubernetes API at ")
    assert lines[4].endswith("API said: who are you")
    assert lines[5:9] == [
        "applied CustomResourceDefinition widgets.example.com",
        "applied CustomResourceDefinition gadgets.example.com",
        "applied CustomResourceDefinition gizmos.example.com",
        "3 CRD(s) established in 2.0s",  # one access retry + one poll, a second each
    ]


def test_log_line_of_a_delete(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger=handler.logger.name)
    on_event({"RequestType": "Delete", "ResourceProperties": {"ClusterName": "c1", "Version": "v1"}}, None)
    assert [r.getMessage() for r in caplog.records] == ["Delete gateway-api-crds cluster=c1 version=v1"]


# -- the default Kubernetes client ------------------------------------------------------------------------------


@pytest.fixture
def eks_cluster(mocked_aws: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeKubeApi]:
    """An EKS cluster in moto (us-east-1) whose endpoint is a fake API server accepting only real EKS tokens."""
    monkeypatch.setattr(moto_eks_models, "validate_role_arn", lambda arn: None)
    accept = functools.partial(looks_like_eks_token, region=mocked_aws)
    with FakeKubeApi(token="never-this", accept_token=accept) as api:
        boto3.client("eks", region_name=mocked_aws).create_cluster(
            name="eks-demo", roleArn="arn:aws:iam::123456789012:role/eks", resourcesVpcConfig={"subnetIds": []}
        )
        cluster = moto_eks_models.eks_backends["123456789012"][mocked_aws].clusters["eks-demo"]
        cluster.endpoint = api.endpoint
        cluster.certificate_authority = {"data": api.ca_data}
        api.put_object(WIDGETS, {"kind": "CustomResourceDefinition"})
        yield api


@pytest.mark.parametrize(
    ("aws_region", "default_region"),
    [("us-east-1", "eu-west-1"), (None, "us-east-1")],  # AWS_REGION (set by Lambda) first, then the default
)
def test_default_client_uses_the_lambda_region(
    eks_cluster: FakeKubeApi, monkeypatch: pytest.MonkeyPatch, aws_region: str | None, default_region: str
) -> None:
    if aws_region:
        monkeypatch.setenv("AWS_REGION", aws_region)
    else:
        monkeypatch.delenv("AWS_REGION", raising=False)
    monkeypatch.setenv("AWS_DEFAULT_REGION", default_region)

    def time_left() -> float:
        return 60.0

    client = handler._default_kube_client("eks-demo", time_left)
    # DescribeCluster found the cluster in us-east-1, and the token is signed for STS in us-east-1.
    assert client.endpoint == eks_cluster.endpoint
    assert client.get(WIDGETS) == {"kind": "CustomResourceDefinition"}
    assert client._timeout == 30.0  # the HTTPRoute CRD alone is ~431 KB
    assert client._time_left is time_left  # each attempt is cut to what the invocation has left


def test_default_client_needs_a_region(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("AWS_REGION", raising=False)
    monkeypatch.delenv("AWS_DEFAULT_REGION", raising=False)
    with pytest.raises(InstallError) as exc:
        handler._default_kube_client("eks-demo", lambda: 60.0)
    assert str(exc.value) == "AWS_REGION is not set; cannot reach EKS"
