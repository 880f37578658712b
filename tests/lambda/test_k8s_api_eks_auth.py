"""k8s_api.eks_auth, pinned: the token is a GET presign STS itself would verify (checked here by an independent
SigV4 verifier, not by botocore), it survives every base64 ending, the regional endpoint holds even where
botocore's own default is the global one, and CachedToken re-signs exactly at its interval."""

from __future__ import annotations

import base64
import hashlib
import hmac
from typing import Any
from urllib.parse import parse_qsl, quote, urlsplit

import boto3
import pytest
from k8s_api import CachedToken, eks_auth, eks_token, regional_sts_client

from tests.support.clock import FakeClock as Clock

REGION = "ap-northeast-2"
SECRET = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"


def session(region: str = "us-east-1") -> boto3.session.Session:
    # Static fake credentials: presigning is local computation, nothing goes over the network.
    return boto3.session.Session(
        aws_access_key_id="AKIDEXAMPLE", aws_secret_access_key=SECRET, aws_session_token="tok", region_name=region
    )


def decode(token: str) -> str:
    assert token.startswith("k8s-aws-v1.")
    payload = token.removeprefix("k8s-aws-v1.")
    return base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)).decode()


def _hmac(key: bytes, text: str) -> bytes:
    return hmac.new(key, text.encode(), hashlib.sha256).digest()


def sts_accepts(url: str, *, cluster: str, method: str = "GET", secret: str = SECRET) -> bool:
    """What STS checks when the API server replays the URL as `method` with x-k8s-aws-id: `cluster` (SigV4 query
    signing, written out from the AWS spec so botocore's signer is not checking itself)."""
    parts = urlsplit(url)
    params = parse_qsl(parts.query, keep_blank_values=True)
    signature = dict(params).pop("X-Amz-Signature")
    signed = sorted((k, v) for k, v in params if k != "X-Amz-Signature")
    query = "&".join(f"{quote(k, safe='-_.~')}={quote(v, safe='-_.~')}" for k, v in signed)
    fields = dict(params)
    headers = {"host": parts.netloc, "x-k8s-aws-id": cluster}
    names = fields["X-Amz-SignedHeaders"].split(";")
    canonical = "\n".join(
        [
            method,
            parts.path or "/",
            query,
            "".join(f"{name}:{headers[name]}\n" for name in names),
            ";".join(names),
            hashlib.sha256(b"").hexdigest(),
        ]
    )
    scope = fields["X-Amz-Credential"].split("/", 1)[1]
    date, region, service, _ = scope.split("/")
    to_sign = "\n".join(
        ["AWS4-HMAC-SHA256", fields["X-Amz-Date"], scope, hashlib.sha256(canonical.encode()).hexdigest()]
    )
    key = _hmac(_hmac(_hmac(_hmac(f"AWS4{secret}".encode(), date), region), service), "aws4_request")
    return hmac.compare_digest(hmac.new(key, to_sign.encode(), hashlib.sha256).hexdigest(), signature)


class FakeSts:
    """Stands in for an STS client: answers presign calls with a given URL, records what it was asked."""

    def __init__(self, url: str = "https://sts.example/?a=1") -> None:
        self.url = url
        self.meta = type("Meta", (), {"events": self})()
        self.registered: dict[str, Any] = {}
        self.presigns: list[tuple[tuple[Any, ...], dict[str, Any]]] = []

    def register(self, event: str, handler: Any, *, unique_id: str) -> None:
        self.registered[unique_id] = (event, handler)

    def unregister(self, event: str, *, unique_id: str) -> None:
        assert self.registered.pop(unique_id)[0] == event

    def generate_presigned_url(self, *args: Any, **kwargs: Any) -> str:
        self.presigns.append((args, kwargs))
        return self.url


# -- eks_token ----------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["", None])
def test_a_cluster_name_is_required(name: Any) -> None:
    sts = FakeSts()
    with pytest.raises(ValueError, match="cluster_name") as exc:
        eks_token(name, sts_client=sts)
    assert str(exc.value) == "cluster_name is required to build an EKS token"
    assert sts.presigns == []


def test_the_token_is_a_get_presign_sts_verifies_for_this_cluster_only() -> None:
    url = decode(eks_token("eks-demo", sts_client=regional_sts_client(session(), REGION)))
    assert sts_accepts(url, cluster="eks-demo")
    # The replay is a GET; the cluster header and the key are part of what is signed.
    assert not sts_accepts(url, cluster="eks-demo", method="POST")
    assert not sts_accepts(url, cluster="eks-other")
    assert not sts_accepts(url, cluster="eks-demo", secret="another-secret")


def test_the_token_asks_for_get_caller_identity_valid_for_60_seconds() -> None:
    url = decode(eks_token("eks-demo", sts_client=regional_sts_client(session(), REGION)))
    query = dict(parse_qsl(urlsplit(url).query))
    assert (query["Action"], query["Version"], query["X-Amz-Expires"]) == ("GetCallerIdentity", "2011-06-15", "60")
    assert set(query) == {
        "Action",
        "Version",
        "X-Amz-Algorithm",
        "X-Amz-Credential",
        "X-Amz-Date",
        "X-Amz-Expires",
        "X-Amz-SignedHeaders",
        "X-Amz-Security-Token",
        "X-Amz-Signature",
    }


@pytest.mark.parametrize(
    "url",
    [
        "https://sts.example/?a=W",  # encodes to a last character 'X' (no padding)
        "https://sts.example/?a=XW",  # two '=' of padding after a 'W'
        "https://sts.example/?a=XXW",  # one '=' of padding
        "https://sts.example/?a=" + "=" * 3,  # '=' in the URL itself is data, not padding
    ],
)
def test_the_url_survives_the_encoding_whatever_its_last_characters(url: str) -> None:
    token = eks_token("c", sts_client=FakeSts(url))
    assert not token.endswith("=")
    assert decode(token) == url


def test_the_cluster_header_is_added_only_while_presigning() -> None:
    sts = FakeSts()
    eks_token("eks-demo", sts_client=sts)
    assert sts.registered == {}
    [(args, kwargs)] = sts.presigns
    assert args == ("get_caller_identity",)
    assert kwargs["ExpiresIn"] == 60


# -- regional endpoints -------------------------------------------------------------------------------------------


@pytest.mark.parametrize("given", [True, False], ids=["session given", "default session"])
def test_us_east_1_stays_regional_where_botocore_would_go_global(given: bool, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_STS_REGIONAL_ENDPOINTS", "legacy")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", SECRET)
    plain = session()
    # The premise: in legacy mode botocore itself picks the global endpoint for us-east-1.
    assert plain.client("sts", region_name="us-east-1").meta.endpoint_url == "https://sts.amazonaws.com"
    sts = regional_sts_client(plain if given else None, "us-east-1")
    assert sts.meta.endpoint_url == "https://sts.us-east-1.amazonaws.com"
    assert sts.meta.region_name == "us-east-1"
    assert urlsplit(decode(eks_token("c", sts_client=sts))).netloc == "sts.us-east-1.amazonaws.com"


def test_the_resolver_session_is_not_the_callers() -> None:
    eks_auth._resolver_session.cache_clear()
    try:
        resolver = eks_auth._resolver_session()
        assert resolver.get_config_variable("sts_regional_endpoints") == "regional"
        assert eks_auth._resolver_session() is resolver
    finally:
        eks_auth._resolver_session.cache_clear()


# -- CachedToken --------------------------------------------------------------------------------------------------


def test_the_first_call_signs_even_at_clock_zero() -> None:
    sts = FakeSts("https://sts.example/?n=1")
    assert decode(CachedToken("c", sts_client=sts, clock=Clock(0.0))()) == "https://sts.example/?n=1"
    assert len(sts.presigns) == 1


def test_re_signs_exactly_at_the_interval() -> None:
    clock = Clock(50.0)
    sts = FakeSts("https://sts.example/?n=1")
    source = CachedToken("c", sts_client=sts, refresh_after=10.0, clock=clock)
    first = source()
    clock.now = 59.999
    assert source() == first
    assert len(sts.presigns) == 1
    clock.now = 60.0  # the largest age still served is just under refresh_after
    sts.url = "https://sts.example/?n=2"
    assert decode(source()) == "https://sts.example/?n=2"
    assert len(sts.presigns) == 2
    # The interval restarts from the re-signing.
    clock.now = 69.0
    assert decode(source()) == "https://sts.example/?n=2"
    assert len(sts.presigns) == 2


def test_default_interval_is_ten_minutes() -> None:
    clock = Clock(0.0)
    sts = FakeSts()
    source = CachedToken("c", sts_client=sts, clock=clock)
    source()
    clock.now = 599.0
    source()
    assert len(sts.presigns) == 1
    clock.now = 600.0
    source()
    assert len(sts.presigns) == 2
