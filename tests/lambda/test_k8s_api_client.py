"""k8s_api.client, rule by rule: defaults, retry counts and backoff bounds, which statuses are retried, the exact
message for each failure, Retry-After forms at their caps, and how requests are built."""

from __future__ import annotations

import base64
import socket
import ssl
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from typing import Any

import pytest
import trustme
from k8s_api import KubeApiError, KubeClient
from k8s_api.client import (
    MAX_BACKOFF_SECONDS,
    MAX_RETRY_AFTER_SECONDS,
    USER_AGENT,
    _api_message,
    _parse_json,
    _retry_after_seconds,
)

from tests.support.clock import Sleeps
from tests.support.fake_kube import FakeKubeApi, shared_ca
from tests.support.fixed_answer import FixedAnswerServer

CM_PATH = "/api/v1/namespaces/default/configmaps/demo"
CM = {"kind": "ConfigMap"}


@pytest.fixture
def api() -> Iterator[FakeKubeApi]:
    with FakeKubeApi(token="good-token") as server:
        yield server


def client(api: FakeKubeApi, sleeps: Sleeps | None = None, **kwargs: Any) -> KubeClient:
    kwargs.setdefault("endpoint", api.endpoint)
    return KubeClient(
        ca_data=api.ca_data, token=lambda: "good-token", sleep=sleeps if sleeps is not None else Sleeps(), **kwargs
    )


def failure(call: Any) -> KubeApiError:
    with pytest.raises(KubeApiError) as exc:
        call()
    return exc.value


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


# -- construction -----------------------------------------------------------------------------------------------


def test_defaults(api: FakeKubeApi) -> None:
    plain = KubeClient(endpoint="https://kube.example.com", ca_data=api.ca_data, token=lambda: "t")
    assert (plain._timeout, plain._max_attempts, plain._backoff, plain._port) == (10.0, 5, 0.5, 443)
    sleeps = Sleeps()
    api.fail_next(CM_PATH, 503, times=10)
    failure(lambda: client(api, sleeps).get(CM_PATH))
    assert len(api.requests_to(CM_PATH)) == 5
    # Exponential from 0.5 s with equal jitter: attempt n waits within [0.5*2^(n-1)/2, 0.5*2^(n-1)].
    assert len(sleeps) == 4
    for n, slept in enumerate(sleeps, start=1):
        ceiling = 0.5 * 2 ** (n - 1)
        assert ceiling / 2 <= slept <= ceiling


@pytest.mark.parametrize("endpoint", ["http://kube.example.com", "https://", "kube.example.com", "https:///path"])
def test_endpoint_must_be_https_with_a_host(api: FakeKubeApi, endpoint: str) -> None:
    err = failure(lambda: KubeClient(endpoint=endpoint, ca_data=api.ca_data, token=lambda: "t"))
    assert str(err) == f"Kubernetes endpoint must be https://host[:port], got {endpoint!r}"


@pytest.mark.parametrize(
    "ca_data",
    [
        "not base64!",
        base64.b64encode(b"\xff\xfe").decode(),  # not text
        "!" + base64.b64encode(shared_ca().cert_pem.bytes()).decode(),  # a good bundle behind a stray character
        base64.b64encode(b"-----BEGIN CERTIFICATE-----\nnope\n-----END CERTIFICATE-----\n").decode(),
    ],
)
def test_ca_data_must_be_a_base64_pem_bundle(ca_data: str) -> None:
    err = failure(lambda: KubeClient(endpoint="https://h", ca_data=ca_data, token=lambda: "t"))
    assert str(err).startswith(
        "ca_data is not a base64-encoded PEM CA bundle (use certificateAuthority.data from eks:DescribeCluster as is): "
    )
    assert err.status is None


def test_endpoint_path_prefix_and_trailing_slash(api: FakeKubeApi) -> None:
    api.put_object("/prefix" + CM_PATH, CM)
    prefixed = client(api, endpoint=f"{api.endpoint}/prefix/")
    assert prefixed.endpoint == f"{api.endpoint}/prefix"
    assert prefixed.get(CM_PATH) == CM
    assert [r.path for r in api.requests] == ["/prefix" + CM_PATH]


# -- requests ---------------------------------------------------------------------------------------------------


def test_path_must_be_absolute(api: FakeKubeApi) -> None:
    with pytest.raises(ValueError, match="API path") as exc:
        client(api).request("GET", "api/v1/x")
    assert str(exc.value) == "API path must start with '/': 'api/v1/x'"
    assert api.requests == []


def test_query_joins_one_already_in_the_path(api: FakeKubeApi) -> None:
    api.put_object(CM_PATH, CM)
    client(api).request("GET", CM_PATH + "?watch=0", query={"limit": "1"})
    client(api).request("GET", CM_PATH, query={"limit": "2"})
    assert [r.query for r in api.requests] == [{"watch": "0", "limit": "1"}, {"limit": "2"}]


def test_headers_of_a_request_with_and_without_a_body(api: FakeKubeApi) -> None:
    c = client(api)
    c.get(CM_PATH)
    c.request("PUT", CM_PATH, body=b'{"kind": "ConfigMap"}')
    c.request("PATCH", CM_PATH, body=b"{}", content_type="application/merge-patch+json")
    get, put, patch = api.requests
    assert get.headers["user-agent"] == USER_AGENT == "eks-lattice-gateway/k8s-api"
    assert get.headers["authorization"] == "Bearer good-token"
    assert get.headers["accept"] == "application/json"
    assert "content-type" not in get.headers
    assert put.headers["content-type"] == "application/json"
    assert patch.headers["content-type"] == "application/merge-patch+json"


def test_success_returns_status_and_body(api: FakeKubeApi) -> None:
    c = client(api)
    assert c.request("PUT", CM_PATH, body=b'{"kind": "ConfigMap"}') == (201, CM)
    assert c.request("GET", CM_PATH) == (200, CM)
    assert c.server_side_apply(CM_PATH, b"kind: ConfigMap\ndata: {a: '1'}\n", field_manager="fm") == {
        "kind": "ConfigMap",
        "data": {"a": "1"},
    }
    assert api.requests[-1].content_type == "application/apply-patch+yaml"


def test_get_returns_none_only_for_404(api: FakeKubeApi) -> None:
    assert client(api).get(CM_PATH) is None
    api.fail_next(CM_PATH, 410, message="gone")
    err = failure(lambda: client(api).get(CM_PATH))
    assert (err.status, str(err)) == (410, f"GET {CM_PATH} failed: HTTP 410: gone")


# -- failures and retries ---------------------------------------------------------------------------------------


def test_token_failure_is_named(api: FakeKubeApi) -> None:
    def broken() -> str:
        raise RuntimeError("Unable to locate credentials")

    err = failure(lambda: KubeClient(endpoint=api.endpoint, ca_data=api.ca_data, token=broken).get(CM_PATH))
    assert str(err) == f"could not sign a bearer token for {api.endpoint}: Unable to locate credentials"
    assert api.requests == []


def test_401_message_and_reason(api: FakeKubeApi) -> None:
    c = KubeClient(endpoint=api.endpoint, ca_data=api.ca_data, token=lambda: "stale", sleep=Sleeps())
    err = failure(lambda: c.get(CM_PATH))
    assert (err.status, err.reason) == (401, "Unauthorized")
    assert str(err) == (
        f"Kubernetes API at {api.endpoint} refused the bearer token (HTTP 401) on GET {CM_PATH}: check that this "
        "IAM principal has an EKS access entry on the cluster (authentication mode API or API_AND_CONFIG_MAP) and "
        "that the clock is not skewed. API said: Unauthorized"
    )


def test_403_message_and_reason(api: FakeKubeApi) -> None:
    api.fail_next(CM_PATH, 403, message="cannot patch")
    err = failure(lambda: client(api).server_side_apply(CM_PATH, b"{}", field_manager="fm"))
    assert (err.status, err.reason) == (403, "Scripted")
    assert str(err) == (
        f"PATCH {CM_PATH} is forbidden (HTTP 403): check the access policy associated with this IAM principal's "
        "EKS access entry and its scope (cluster-scoped objects need a cluster-wide policy, namespaced ones a "
        "policy covering that namespace). API said: cannot patch"
    )
    assert len(api.requests) == 1


@pytest.mark.parametrize("status", [400, 409, 422, 499])
def test_other_client_errors_are_not_retried(api: FakeKubeApi, status: int) -> None:
    api.fail_next(CM_PATH, status, times=5, message="no")
    sleeps = Sleeps()
    err = failure(lambda: client(api, sleeps).get(CM_PATH))
    assert (err.status, err.reason, str(err)) == (status, "Scripted", f"GET {CM_PATH} failed: HTTP {status}: no")
    assert (len(api.requests), sleeps) == (1, [])


@pytest.mark.parametrize("status", [429, 500, 504, 599])
def test_throttling_and_server_errors_are_retried(api: FakeKubeApi, status: int) -> None:
    api.put_object(CM_PATH, CM)
    api.fail_next(CM_PATH, status)
    assert client(api).get(CM_PATH) == CM
    assert len(api.requests) == 2


def test_giving_up_names_attempts_and_last_answer(api: FakeKubeApi) -> None:
    api.fail_next(CM_PATH, 503, times=10, message="etcd leader changed")
    sleeps = Sleeps()
    err = failure(lambda: client(api, sleeps, max_attempts=3).get(CM_PATH))
    assert err.status == 503
    assert str(err) == (
        f"GET {CM_PATH}: Kubernetes API at {api.endpoint} still failing after 3 attempts; last error: "
        "HTTP 503: etcd leader changed"
    )
    assert len(sleeps) == 2  # none after the last attempt


@pytest.mark.parametrize("attempts", [0, -1, 1])
def test_at_least_one_attempt(api: FakeKubeApi, attempts: int) -> None:
    api.fail_next(CM_PATH, 503, times=10, message="busy")
    sleeps = Sleeps()
    err = failure(lambda: client(api, sleeps, max_attempts=attempts).get(CM_PATH))
    assert "still failing after 1 attempts; last error: HTTP 503: busy" in str(err)
    assert (len(api.requests), sleeps) == (1, [])


def test_unreachable_endpoint_hint() -> None:
    port = closed_port()
    ca = base64.b64encode(trustme.CA().cert_pem.bytes()).decode()
    c = KubeClient(endpoint=f"https://127.0.0.1:{port}", ca_data=ca, token=lambda: "t", sleep=Sleeps(), max_attempts=2)
    err = failure(lambda: c.get(CM_PATH))
    assert err.status is None
    assert str(err) == (
        f"GET {CM_PATH}: Kubernetes API at https://127.0.0.1:{port} still failing after 2 attempts; last error: "
        "ConnectionRefusedError: [Errno 111] Connection refused; check that this network can reach the cluster "
        "endpoint (public/private endpoint access, VPC routing, security groups)"
    )


def test_a_slow_answer_times_out_and_is_retried(api: FakeKubeApi) -> None:
    api.put_object(CM_PATH, CM)
    api.delay_next(CM_PATH, 1.0, times=2)
    err = failure(lambda: client(api, timeout=0.2, max_attempts=2).get(CM_PATH))
    assert str(err).startswith(
        f"GET {CM_PATH}: Kubernetes API at {api.endpoint} still failing after 2 attempts; last error: TimeoutError: "
    )
    assert err.status is None


def PlainErrors(status: int, body: bytes) -> FixedAnswerServer:
    """An HTTPS server (the fake API's CA) that answers every request with a non-JSON body, like a proxy."""
    tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    shared_ca().issue_cert("127.0.0.1").configure_cert(tls)
    return FixedAnswerServer(status, body, {"Content-Type": "text/html"}, tls=tls)


@pytest.mark.parametrize(("status", "retried"), [(502, True), (418, False)])
def test_a_non_json_error_body_is_quoted_up_to_500_characters(status: int, retried: bool) -> None:
    ca = base64.b64encode(shared_ca().cert_pem.bytes()).decode()
    page = b"<html>" + b"x" * 600
    with PlainErrors(status, page) as server:
        endpoint = f"https://127.0.0.1:{server.port}"
        c = KubeClient(endpoint=endpoint, ca_data=ca, token=lambda: "t", max_attempts=2, sleep=Sleeps())
        err = failure(lambda: c.get(CM_PATH))
    quoted = page.decode()[:500]
    assert (err.status, err.reason) == (status, None)
    if retried:
        assert str(err).endswith(f"after 2 attempts; last error: HTTP {status}: {quoted}")
    else:
        assert str(err) == f"GET {CM_PATH} failed: HTTP {status}: {quoted}"
    assert server.hits == (2 if retried else 1)


@pytest.mark.parametrize(("header", "slept"), [("2", 2.0), ("0", 0.0), ("0.25", 0.25)])
def test_retry_after_is_slept_as_given(api: FakeKubeApi, header: str, slept: float) -> None:
    api.put_object(CM_PATH, CM)
    api.fail_next(CM_PATH, 503, headers={"Retry-After": header})
    sleeps = Sleeps()
    assert client(api, sleeps).get(CM_PATH) == CM
    assert sleeps == [slept]


def test_tls_verification_failure_message(api: FakeKubeApi) -> None:
    other_ca = base64.b64encode(trustme.CA().cert_pem.bytes()).decode()
    c = KubeClient(endpoint=api.endpoint, ca_data=other_ca, token=lambda: "good-token", sleep=Sleeps())
    err = failure(lambda: c.get(CM_PATH))
    assert str(err).startswith(f"TLS verification of {api.endpoint} failed (unable to get local issuer certificate)")
    assert str(err).endswith(
        ": check that ca_data is this cluster's certificateAuthority.data and the endpoint host matches its certificate"
    )
    assert err.status is None


def test_backoff_is_exponential_with_equal_jitter_and_capped(api: FakeKubeApi) -> None:
    c = client(api, backoff=0.5)
    for attempt in range(1, 11):
        ceiling = min(MAX_BACKOFF_SECONDS, 0.5 * 2 ** (attempt - 1))
        delays = [c._backoff_delay(attempt) for _ in range(300)]
        assert all(ceiling / 2 <= d <= ceiling for d in delays), attempt
        # Spread over the whole upper half, not stuck at one end.
        assert min(delays) < ceiling * 0.6
        assert max(delays) > ceiling * 0.9
    assert MAX_BACKOFF_SECONDS == 20.0


# -- for_eks_cluster --------------------------------------------------------------------------------------------


class Eks:
    def __init__(self, cluster: dict[str, Any] | Exception) -> None:
        self.cluster = cluster
        self.names: list[str] = []

    def describe_cluster(self, *, name: str) -> dict[str, Any]:
        self.names.append(name)
        if isinstance(self.cluster, Exception):
            raise self.cluster
        return {"cluster": self.cluster}


def test_for_eks_cluster_passes_settings_through(api: FakeKubeApi) -> None:
    eks = Eks({"endpoint": api.endpoint, "certificateAuthority": {"data": api.ca_data}})
    c = KubeClient.for_eks_cluster("eks-demo", eks_client=eks, sts_client=None, timeout=3.0, max_attempts=2)
    assert eks.names == ["eks-demo"]
    assert (c.endpoint, c._timeout, c._max_attempts) == (api.endpoint, 3.0, 2)


def test_describe_cluster_failure_is_named() -> None:
    err = failure(
        lambda: KubeClient.for_eks_cluster("c1", eks_client=Eks(RuntimeError("AccessDenied")), sts_client=None)
    )
    assert str(err) == "eks:DescribeCluster for 'c1' failed: AccessDenied"


@pytest.mark.parametrize(
    "cluster",
    [
        {"status": "CREATING"},
        {"status": "CREATING", "endpoint": "https://h"},
        {"status": "CREATING", "certificateAuthority": {"data": "x"}},
        {"status": "CREATING", "endpoint": "https://h", "certificateAuthority": None},
    ],
)
def test_cluster_without_endpoint_or_ca_is_not_ready(cluster: dict[str, Any]) -> None:
    err = failure(lambda: KubeClient.for_eks_cluster("c1", eks_client=Eks(cluster), sts_client=None))
    assert str(err) == "EKS cluster 'c1' has no API endpoint or CA yet (status CREATING); wait until it is ACTIVE"


# -- parsing answers --------------------------------------------------------------------------------------------


def test_parse_json() -> None:
    assert _parse_json(b"") is None
    assert _parse_json(b"not json") is None
    assert _parse_json(b"\xff\xfe") is None
    assert _parse_json(b'{"a": 1}') == {"a": 1}


def test_api_message_forms() -> None:
    def status(**fields: Any) -> tuple[str, str | None]:
        body = {"kind": "Status", **fields}
        return _api_message(b"raw", body)

    assert status(message="m", reason="Conflict") == ("m", "Conflict")
    assert status(reason="Conflict") == ("Conflict", "Conflict")
    assert status() == ("no message", None)
    assert status(message="m", reason=5) == ("m", None)
    assert _api_message(b'  {"kind": "Other"}  ', {"kind": "Other"}) == ('{"kind": "Other"}', None)
    assert _api_message(b"x" * 600, None) == ("x" * 500, None)
    assert _api_message(b" \n ", None) == ("empty response body", None)
    assert _api_message(b"bad \xff byte", None) == ("bad \ufffd byte", None)


def test_retry_after_forms_and_caps() -> None:
    assert _retry_after_seconds("") is None
    assert _retry_after_seconds(" 3 ") == 3.0
    assert _retry_after_seconds("29.5") == 29.5
    assert _retry_after_seconds("30") == MAX_RETRY_AFTER_SECONDS == 30.0
    assert _retry_after_seconds("30.5") == 30.0
    assert _retry_after_seconds("0") == 0.0
    assert _retry_after_seconds("Sun, 06 Nov 1994 08:49:37 GMT") == 0.0  # in the past
    # An HTTP date without a zone ("-0000") is read as UTC.
    later = (datetime.now(UTC) + timedelta(seconds=10)).strftime("%a, %d %b %Y %H:%M:%S -0000")
    assert 8.0 <= (_retry_after_seconds(later) or 0) <= 10.0
    much_later = format_datetime(datetime.now(UTC) + timedelta(hours=1), usegmt=True)
    assert _retry_after_seconds(much_later) == 30.0
