"""k8s_api: EKS token format and the HTTPS client against a local fake API server with its own CA."""

from __future__ import annotations

import base64
import functools
import json
import socket
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from typing import Any
from urllib.parse import parse_qs, urlsplit

import boto3
import k8s_api
import pytest
import trustme
from k8s_api import CachedToken, KubeApiError, KubeClient, eks_auth, eks_token, regional_sts_client
from k8s_api.client import MAX_RETRY_AFTER_SECONDS, _retry_after_seconds

from tests.support.budget import assert_within_budget
from tests.support.clock import Sleeps
from tests.support.fake_kube import FakeKubeApi, looks_like_eks_token

REGION = "ap-northeast-2"
CM_PATH = "/api/v1/namespaces/default/configmaps/demo"


def _session() -> boto3.session.Session:
    # Fake static credentials: presigning is local computation, nothing goes over the network.
    return boto3.session.Session(
        aws_access_key_id="AKIDEXAMPLE",
        aws_secret_access_key="secret",
        aws_session_token="session-token",
        region_name="us-east-1",
    )


def _decode(token: str) -> str:
    assert token.startswith("k8s-aws-v1.")
    payload = token.removeprefix("k8s-aws-v1.")
    return base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)).decode()


# -- token ------------------------------------------------------------------------------------------------------


def test_token_is_presigned_regional_get_caller_identity() -> None:
    sts = regional_sts_client(_session(), REGION)
    token = eks_token("eks-demo", sts_client=sts)

    assert "=" not in token
    url = urlsplit(_decode(token))
    query = {k: v[0] for k, v in parse_qs(url.query).items()}
    assert url.scheme == "https"
    assert url.netloc == f"sts.{REGION}.amazonaws.com"
    assert query["Action"] == "GetCallerIdentity"
    assert query["X-Amz-Expires"] == "60"
    assert query["X-Amz-Algorithm"] == "AWS4-HMAC-SHA256"
    assert f"/{REGION}/sts/aws4_request" in query["X-Amz-Credential"]
    assert query["X-Amz-SignedHeaders"].split(";") == ["host", "x-k8s-aws-id"]
    assert query["X-Amz-Security-Token"] == "session-token"


def test_token_signature_depends_on_cluster_and_handler_is_removed() -> None:
    sts = regional_sts_client(_session(), REGION)
    a = parse_qs(urlsplit(_decode(eks_token("cluster-a", sts_client=sts))).query)["X-Amz-Signature"]
    b = parse_qs(urlsplit(_decode(eks_token("cluster-b", sts_client=sts))).query)["X-Amz-Signature"]
    assert a != b
    # The cluster header must not leak into ordinary presigned calls made later with the same client.
    plain = sts.generate_presigned_url("get_caller_identity", Params={}, ExpiresIn=60, HttpMethod="GET")
    assert "x-k8s-aws-id" not in plain


def _partition_regions() -> list[tuple[str, str]]:
    """(region, DNS suffix) for every region of every partition botocore ships, read from its data file
    (not from the endpoint resolver under test)."""
    import json
    from pathlib import Path

    import botocore

    data = json.loads((Path(botocore.__file__).parent / "data" / "partitions.json").read_text())
    return [
        (region, partition["outputs"]["dnsSuffix"])
        for partition in data["partitions"]
        for region in partition["regions"]
        if not region.endswith("-global")  # pseudo-regions of the global endpoints, not places a cluster runs
    ]


PARTITION_REGIONS = _partition_regions()


def test_partition_table_covers_more_than_the_commercial_and_china_suffixes() -> None:
    assert {suffix for _, suffix in PARTITION_REGIONS} >= {"amazonaws.com", "amazonaws.com.cn", "amazonaws.eu"}


@pytest.mark.parametrize("legacy", [False, True], ids=["default", "AWS_STS_REGIONAL_ENDPOINTS=legacy"])
def test_regional_endpoint_in_every_partition(legacy: bool, monkeypatch: pytest.MonkeyPatch) -> None:
    if legacy:  # the setting that maps us-east-1 & co. to the global endpoint; must not leak in
        monkeypatch.setenv("AWS_STS_REGIONAL_ENDPOINTS", "legacy")
    caches = (k8s_api.sts_endpoint, eks_auth._resolver_session)
    for cached in caches:
        cached.cache_clear()
    try:
        resolved = {region: k8s_api.sts_endpoint(region) for region, _ in PARTITION_REGIONS}
    finally:
        for cached in caches:
            cached.cache_clear()
    wrong = {r: url for r, suffix in PARTITION_REGIONS if (url := resolved[r]) != f"https://sts.{r}.{suffix}"}
    assert wrong == {}


def test_token_for_another_partition_is_signed_for_its_regional_endpoint() -> None:
    sts = regional_sts_client(_session(), "eusc-de-east-1")
    url = urlsplit(_decode(eks_token("eks-demo", sts_client=sts)))
    assert url.netloc == "sts.eusc-de-east-1.amazonaws.eu"
    assert "/eusc-de-east-1/sts/aws4_request" in parse_qs(url.query)["X-Amz-Credential"][0]


def test_token_padding_stripped_for_every_length() -> None:
    sts = regional_sts_client(_session(), REGION)
    # Different name lengths move the URL length through every residue mod 3.
    for name in ("a", "ab", "abc"):
        token = eks_token(name, sts_client=sts)
        assert not token.endswith("=")
        assert _decode(token).startswith(f"https://sts.{REGION}.amazonaws.com/")


def test_cached_token_refreshes_after_interval() -> None:
    now = [1000.0]
    calls: list[str] = []

    class Sts:
        """Stands in for a client; counts presign calls through eks_token's use of the event system."""

        def __init__(self) -> None:
            self.meta = type("M", (), {"events": self})()

        def register(self, *_: Any, **__: Any) -> None:
            pass

        def unregister(self, *_: Any, **__: Any) -> None:
            pass

        def generate_presigned_url(self, *_: Any, **__: Any) -> str:
            calls.append("x")
            return f"https://sts.example/?n={len(calls)}"

    source = CachedToken("c", sts_client=Sts(), refresh_after=600, clock=lambda: now[0])
    first = source()
    assert source() == first
    now[0] += 599
    assert source() == first
    now[0] += 2
    assert source() != first
    assert len(calls) == 2


# -- client -----------------------------------------------------------------------------------------------------


@pytest.fixture
def api() -> Iterator[FakeKubeApi]:
    with FakeKubeApi(token="good-token") as server:
        yield server


def _client(api: FakeKubeApi, sleeps: Sleeps | None = None, **kwargs: Any) -> KubeClient:
    return KubeClient(
        endpoint=api.endpoint,
        ca_data=api.ca_data,
        token=lambda: "good-token",
        sleep=sleeps if sleeps is not None else Sleeps(),
        **kwargs,
    )


def test_get_sends_bearer_token_and_parses_json(api: FakeKubeApi) -> None:
    api.put_object(CM_PATH, {"kind": "ConfigMap", "data": {"a": "1"}})
    assert _client(api).get(CM_PATH) == {"kind": "ConfigMap", "data": {"a": "1"}}
    (req,) = api.requests
    assert req.headers["authorization"] == "Bearer good-token"
    assert req.headers["accept"] == "application/json"


def test_get_missing_object_is_none(api: FakeKubeApi) -> None:
    assert _client(api).get(CM_PATH) is None


def test_wrong_token_is_401_with_access_entry_hint(api: FakeKubeApi) -> None:
    client = KubeClient(endpoint=api.endpoint, ca_data=api.ca_data, token=lambda: "stale", sleep=Sleeps())
    with pytest.raises(KubeApiError) as exc:
        client.get(CM_PATH)
    assert exc.value.status == 401
    assert "refused the bearer token" in str(exc.value)
    assert "access entry" in str(exc.value)
    assert "clock" in str(exc.value)
    assert len(api.requests) == 1  # not retried: a refused token does not fix itself


def test_forbidden_names_verb_and_path(api: FakeKubeApi) -> None:
    api.fail_next(CM_PATH, 403, message='configmaps "demo" is forbidden: User "x" cannot patch resource')
    with pytest.raises(KubeApiError) as exc:
        _client(api).server_side_apply(CM_PATH, b"{}", field_manager="fm")
    msg = str(exc.value)
    assert exc.value.status == 403
    assert f"PATCH {CM_PATH}" in msg
    assert "access policy" in msg
    assert "scope" in msg
    assert "cannot patch resource" in msg


def test_other_client_error_carries_api_message(api: FakeKubeApi) -> None:
    api.fail_next(CM_PATH, 422, message="spec.foo: Invalid value")
    with pytest.raises(KubeApiError) as exc:
        _client(api).get(CM_PATH)
    assert exc.value.status == 422
    assert "spec.foo: Invalid value" in str(exc.value)


def test_server_error_then_success_is_retried(api: FakeKubeApi) -> None:
    api.put_object(CM_PATH, {"kind": "ConfigMap"})
    api.fail_next(CM_PATH, 500, times=2)
    sleeps = Sleeps()
    assert _client(api, sleeps, backoff=0.5).get(CM_PATH) == {"kind": "ConfigMap"}
    assert len(api.requests_to(CM_PATH)) == 3
    # Exponential with jitter: attempt n waits within [b*2^(n-1)/2, b*2^(n-1)].
    assert len(sleeps) == 2
    assert 0.25 <= sleeps[0] <= 0.5
    assert 0.5 <= sleeps[1] <= 1.0


def test_429_honours_retry_after(api: FakeKubeApi) -> None:
    api.put_object(CM_PATH, {"kind": "ConfigMap"})
    api.fail_next(CM_PATH, 429, headers={"Retry-After": "7"})
    sleeps = Sleeps()
    assert _client(api, sleeps).get(CM_PATH) == {"kind": "ConfigMap"}
    assert sleeps == [7.0]


def test_persistent_server_error_gives_up_naming_last_failure(api: FakeKubeApi) -> None:
    api.fail_next(CM_PATH, 503, times=10, message="etcd leader changed")
    sleeps = Sleeps()
    with pytest.raises(KubeApiError) as exc:
        _client(api, sleeps, max_attempts=3).get(CM_PATH)
    msg = str(exc.value)
    assert exc.value.status == 503
    assert "after 3 attempts" in msg
    assert "HTTP 503" in msg
    assert "etcd leader changed" in msg
    assert len(sleeps) == 2
    assert len(api.requests_to(CM_PATH)) == 3


def test_timeout_is_retried_then_succeeds(api: FakeKubeApi) -> None:
    api.put_object(CM_PATH, {"kind": "ConfigMap"})
    api.delay_next(CM_PATH, 0.6)
    assert _client(api, timeout=0.2).get(CM_PATH) == {"kind": "ConfigMap"}


def test_unreachable_endpoint_message(api: FakeKubeApi) -> None:
    # A port nobody listens on: connection refused on every attempt.
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    client = KubeClient(
        endpoint=f"https://127.0.0.1:{port}", ca_data=api.ca_data, token=lambda: "t", sleep=Sleeps(), max_attempts=2
    )
    with pytest.raises(KubeApiError) as exc:
        client.get(CM_PATH)
    assert exc.value.status is None
    assert "after 2 attempts" in str(exc.value)
    assert "reach the cluster endpoint" in str(exc.value)


def test_wrong_ca_is_a_tls_error_not_retried(api: FakeKubeApi) -> None:
    other_ca = base64.b64encode(trustme.CA().cert_pem.bytes()).decode()
    client = KubeClient(endpoint=api.endpoint, ca_data=other_ca, token=lambda: "good-token", sleep=Sleeps())
    with pytest.raises(KubeApiError) as exc:
        client.get(CM_PATH)
    msg = str(exc.value)
    assert "TLS verification" in msg
    assert "certificateAuthority.data" in msg
    assert api.requests == []


def test_hostname_is_checked() -> None:
    # Right CA, but the certificate names another host than the one we dial.
    with FakeKubeApi(token="good-token", cert_names=("api.other.example",)) as other:
        with pytest.raises(KubeApiError, match="TLS verification") as exc:
            _client(other).get(CM_PATH)
        assert "127.0.0.1" in str(exc.value)
        assert other.requests == []


def test_bad_ca_data_and_endpoint_rejected() -> None:
    with pytest.raises(KubeApiError, match="base64-encoded PEM"):
        KubeClient(endpoint="https://h", ca_data="not base64!", token=lambda: "t")
    with pytest.raises(KubeApiError, match="https://host"):
        KubeClient(endpoint="http://h", ca_data="", token=lambda: "t")


def test_server_side_apply_request_shape(api: FakeKubeApi) -> None:
    body = b"apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: demo\ndata:\n  a: '1'\n"
    result = _client(api).server_side_apply(CM_PATH, body, field_manager="eks-lattice-gateway")
    assert result["data"] == {"a": "1"}
    (req,) = api.requests
    assert req.method == "PATCH"
    assert req.query == {"fieldManager": "eks-lattice-gateway", "force": "true"}
    assert req.content_type == "application/apply-patch+yaml"
    assert req.body == body
    assert api.get_object(CM_PATH) == {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": "demo"},
        "data": {"a": "1"},
    }


def test_server_side_apply_without_force(api: FakeKubeApi) -> None:
    _client(api).server_side_apply(CM_PATH, json.dumps({"data": {"b": "2"}}).encode(), field_manager="fm", force=False)
    assert api.requests[0].query == {"fieldManager": "fm"}


def test_request_returns_status_and_query(api: FakeKubeApi) -> None:
    status, body = _client(api).request(
        "PATCH",
        CM_PATH,
        body=b'{"kind": "ConfigMap"}',
        content_type="application/apply-patch+yaml",
        query={"fieldManager": "x", "dryRun": "All"},
    )
    assert status == 201
    assert body == {"kind": "ConfigMap"}
    assert api.requests[0].query == {"fieldManager": "x", "dryRun": "All"}


def test_token_source_called_per_request(api: FakeKubeApi) -> None:
    tokens = iter(["good-token", "good-token"])
    client = KubeClient(endpoint=api.endpoint, ca_data=api.ca_data, token=lambda: next(tokens), sleep=Sleeps())
    client.get(CM_PATH)
    client.get(CM_PATH)
    assert len(api.requests) == 2


def test_token_signing_failure_is_readable(api: FakeKubeApi) -> None:
    def broken() -> str:
        raise RuntimeError("Unable to locate credentials")

    client = KubeClient(endpoint=api.endpoint, ca_data=api.ca_data, token=broken, sleep=Sleeps())
    with pytest.raises(KubeApiError, match=r"could not sign a bearer token.*Unable to locate credentials"):
        client.get(CM_PATH)


def test_for_eks_cluster_uses_describe_cluster(api: FakeKubeApi) -> None:
    api.put_object(CM_PATH, {"kind": "ConfigMap"})

    class Eks:
        def describe_cluster(self, *, name: str) -> dict[str, Any]:
            assert name == "eks-demo"
            return {"cluster": {"endpoint": api.endpoint, "certificateAuthority": {"data": api.ca_data}}}

    client = KubeClient.for_eks_cluster(
        "eks-demo", eks_client=Eks(), sts_client=regional_sts_client(_session(), REGION), sleep=Sleeps()
    )
    api.token = "will-not-match"
    with pytest.raises(KubeApiError) as exc:
        client.get(CM_PATH)
    assert exc.value.status == 401
    sent = api.requests[0].headers["authorization"].removeprefix("Bearer ")
    assert _decode(sent).startswith(f"https://sts.{REGION}.amazonaws.com/")


def test_for_eks_cluster_not_ready() -> None:
    class Eks:
        def describe_cluster(self, *, name: str) -> dict[str, Any]:
            return {"cluster": {"status": "CREATING"}}

    with pytest.raises(KubeApiError, match="CREATING"):
        KubeClient.for_eks_cluster("c", eks_client=Eks(), sts_client=None)


def test_retry_after_forms() -> None:
    assert _retry_after_seconds("3") == 3.0
    assert _retry_after_seconds("100000") == MAX_RETRY_AFTER_SECONDS
    assert _retry_after_seconds("-5") == 0.0
    assert _retry_after_seconds(None) is None
    assert _retry_after_seconds("soon") is None
    later = format_datetime(datetime.now(UTC) + timedelta(seconds=10), usegmt=True)
    assert 8.0 <= (_retry_after_seconds(later) or 0) <= 10.0


def test_fake_accepts_real_eks_tokens_when_asked() -> None:
    accept = functools.partial(looks_like_eks_token, region=REGION)
    with FakeKubeApi(token="fixed", accept_token=accept) as server:
        server.put_object(CM_PATH, {"kind": "ConfigMap"})
        sts = regional_sts_client(_session(), REGION)
        signed = KubeClient(
            endpoint=server.endpoint,
            ca_data=server.ca_data,
            token=CachedToken("eks-demo", sts_client=sts),
            sleep=Sleeps(),
        )
        assert signed.get(CM_PATH) == {"kind": "ConfigMap"}
        other_region = regional_sts_client(_session(), "us-west-2")
        wrong = KubeClient(
            endpoint=server.endpoint,
            ca_data=server.ca_data,
            token=lambda: eks_token("eks-demo", sts_client=other_region),
            sleep=Sleeps(),
        )
        with pytest.raises(KubeApiError) as exc:
            wrong.get(CM_PATH)
        assert exc.value.status == 401


# -- the caller's time budget -----------------------------------------------------------------------------------------


class Budget:
    """time_left() of a caller with `seconds` to spend from now, in real time (sockets time out in real time)."""

    def __init__(self, seconds: float) -> None:
        self.end = time.monotonic() + seconds

    def __call__(self) -> float:
        return self.end - time.monotonic()


def test_slow_server_ends_in_an_error_within_the_callers_time(
    api: FakeKubeApi, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The budget and the least time an attempt needs, scaled down together (test_k8s_api_client_budget.py pins
    # the real MIN_ATTEMPT_SECONDS): one attempt fits, a second does not.
    monkeypatch.setattr(k8s_api.client, "MIN_ATTEMPT_SECONDS", 0.2)
    api.put_object(CM_PATH, {"kind": "ConfigMap"})
    api.delay_next(CM_PATH, 3.0, times=10)  # answers, but later than the caller can wait
    budget = 0.3
    client = _client(api, sleeps=None, timeout=10.0, time_left=Budget(budget))
    started = time.monotonic()
    with pytest.raises(KubeApiError) as exc:
        client.get(CM_PATH)
    # Within the budget: not 3 s for an answer, let alone 5 x 10 s of timeouts, nor an attempt outlasting it.
    assert_within_budget(time.monotonic() - started, budget)
    assert "gave up after 1 attempt(s), out of time for another" in str(exc.value)
    assert "TimeoutError" in str(exc.value)
    assert exc.value.status is None  # transient: a caller polling again may succeed


def test_no_retry_wait_runs_past_the_callers_time(api: FakeKubeApi) -> None:
    api.fail_next(CM_PATH, 503, times=10, headers={"Retry-After": "20"})
    sleeps = Sleeps()
    client = _client(api, sleeps, time_left=Budget(15.0))
    with pytest.raises(KubeApiError, match=r"out of time for another; last error: HTTP 503"):
        client.get(CM_PATH)
    assert sleeps == []  # a 20 s wait would end after the budget: it reports instead
    assert len(api.requests) == 1


def test_no_time_left_means_no_call(api: FakeKubeApi) -> None:
    with pytest.raises(KubeApiError, match=r"no time left to call the Kubernetes API"):
        _client(api, time_left=lambda: 0.5).get(CM_PATH)
    assert api.requests == []
