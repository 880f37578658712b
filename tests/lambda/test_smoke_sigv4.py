"""The smoke Lambda's SigV4 signatures, verified by an independent verifier (tests/sigv4_verifier.py, no botocore)
over the bytes the Lambda actually sent to a local server (issue 20, item 1), and how a 403 is read."""

from __future__ import annotations

import io
import json
from typing import Any

import pytest
from smoke import handler as smoke
from smoke import verdict

from tests.sigv4_verifier import (
    SUITE_KEY,
    SUITE_REGION,
    SUITE_SERVICE,
    SUITE_VECTORS,
    RawRequest,
    SignatureInvalidError,
    suite_request,
    verify,
)
from tests.support.raw_http import RawCaptureServer
from tests.support.smoke_wire import (
    KEY,
    REGION,
    REQUIRED,
    SECRET,
    SERVICE,
    TOKEN,
    assert_signed_as_sent,
    sent_by_the_lambda,
    signing_environment,
)
from tools import smoke as smoke_cli

HOST = "api.example.com"


@pytest.fixture
def signing(monkeypatch: pytest.MonkeyPatch) -> None:
    signing_environment(monkeypatch)


# ------------------------------------------------------------------------------------- the verifier, on its own


@pytest.mark.parametrize("name", sorted(SUITE_VECTORS))
def test_the_verifier_accepts_every_aws_suite_vector(name: str) -> None:
    verify(suite_request(name), dict([SUITE_KEY]), region=SUITE_REGION, service=SUITE_SERVICE)


@pytest.mark.parametrize("name", sorted(SUITE_VECTORS))
def test_the_verifier_refuses_each_vector_with_its_target_or_key_changed(name: str) -> None:
    request = suite_request(name)
    changed = RawRequest(request.method, request.target + ("&x=1" if "?" in request.target else "x"), request.headers)
    with pytest.raises(SignatureInvalidError, match="signature mismatch"):
        verify(changed, dict([SUITE_KEY]), region=SUITE_REGION, service=SUITE_SERVICE)
    with pytest.raises(SignatureInvalidError, match="signature mismatch"):
        verify(request, {SUITE_KEY[0]: SUITE_KEY[1] + "x"}, region=SUITE_REGION, service=SUITE_SERVICE)


def test_the_verifier_refuses_the_raw_comma_botocore_signs_as_written() -> None:
    """The fault itself: botocore signs `select=POD,ROUTE` with the comma raw; the receiver encodes it (%2C)."""
    from botocore.auth import SigV4Auth
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import Credentials

    raw = AWSRequest(
        method="GET", url=f"http://{HOST}/v1/env?select=POD,ROUTE", headers={"x-amz-content-sha256": "UNSIGNED-PAYLOAD"}
    )
    SigV4Auth(Credentials(KEY, SECRET, TOKEN), SERVICE, REGION).add_auth(raw)
    sent = RawRequest("GET", "/v1/env?select=POD,ROUTE", (("Host", HOST), *raw.headers.items()))
    with pytest.raises(SignatureInvalidError, match="select=POD%2CROUTE"):
        verify(sent, {KEY: SECRET}, region=REGION, service=SERVICE, required=REQUIRED)


# ------------------------------------------------------------------------------ the Lambda's requests, as sent


# Queries and paths whose canonical form differs from how they are written: the characters of item 1 (",", "=",
# space, "/", non-ASCII, repeated keys, an empty value) and the other traps (a pre-encoded escape, "+", a stray
# "%", case order, a pair without "=", empty pairs).
QUERIES = [
    "select=POD,ROUTE",
    "expr=a=b=c",
    "q=hello world",
    "q=hello%20world",
    "path=/x/y",
    "name=✓&ü=ä",
    "k=2&k=1&k=10&k=",
    "empty=&flag",
    "%E1%88%B4=already-encoded",
    "plus=a+b",
    "percent=100%&bad=%zz",
    "Z=1&a=2&_=3",
    "a=1&&b=2&",
    "tilde=~-._",
]
PATHS = ["/v1/env", "/a,b;c=d/@x:y!$&'()*+", "/sp ace/ü", "/x%2fy/%7E", "/v1//env/", "/"]


@pytest.mark.parametrize("query", QUERIES)
@pytest.mark.parametrize("path", PATHS)
def test_every_query_and_path_is_signed_as_it_is_sent(signing: None, path: str, query: str) -> None:
    check = {"name": "c", "method": "GET", "url": f"http://{HOST}{path}?{query}", "expect": [{"app": "a"}]}
    head, _ = sent_by_the_lambda(check)
    request = assert_signed_as_sent(head, check)
    # On the wire the query is in canonical form: nothing but unreserved characters, "=", "&" and %XX.
    query_sent = request.target.partition("?")[2]
    assert all(c.isascii() and (c.isalnum() or c in "-._~=&%") for c in query_sent), query_sent


@pytest.mark.parametrize("method", ["GET", "POST", "DELETE"])
def test_headers_and_methods_are_signed_as_sent(signing: None, method: str) -> None:
    check = {
        "name": "c",
        "method": method,
        "url": f"http://{HOST}/v1/orders?select=POD,ROUTE",
        "headers": {"x-canary": "  a   b  ", "X-Team": "blue"},
        "expect": [{"app": "a"}],
    }
    head, _ = sent_by_the_lambda(check)
    assert_signed_as_sent(head, check)


def test_a_configured_path_goes_out_as_written_so_it_matches_its_rule() -> None:
    """What the HTTPRoute CRD accepts in a path (pchar and %XX) is sent unchanged; the query is canonical."""
    assert smoke.request_target("/a,b;c=d/@x:y", "select=POD,ROUTE") == "/a,b;c=d/@x:y?select=POD%2CROUTE"
    assert smoke.request_target("/sp ace/%7e/100%", "") == "/sp%20ace/%7E/100%25"
    assert smoke.request_target("", "a=1&&b&") == "/?a=1&b="
    assert smoke.request_target("/", "&") == "/"
    assert smoke.request_target("/ü", "ü=✓ x+y") == "/%C3%BC?%C3%BC=%E2%9C%93%20x%2By"


# ---------------------------------------------------------------------------------------- which 403 is which


def denial(**extra: Any) -> dict[str, Any]:
    return {"name": "d", "caller": "second identity", "url": f"http://{HOST}/v1/env?select=POD,ROUTE", **extra}


# Lattice's signature refusal as curl/curl#11007 quotes it, and AWS's usual signature and token errors.
SIGNATURE_BODIES = [
    b"IncompleteSignatureException: 'x-amz-security-token' is named as a SignedHeader, but it does not exist in the "
    b"HTTP request",
    b'{"__type":"InvalidSignatureException","message":"The request signature we calculated does not match"}',
    b"<Error><Code>SignatureDoesNotMatch</Code><Message>The request signature we calculated</Message></Error>",
    b'{"__type":"com.amazon.coral.service#ExpiredTokenException","message":"The security token is expired"}',
    b"UnrecognizedClientException: The security token included in the request is invalid.",
]


@pytest.mark.parametrize("body", SIGNATURE_BODIES)
def test_a_denial_check_fails_at_once_when_the_403_is_the_signature_check(signing: None, body: bytes) -> None:
    _, result = sent_by_the_lambda(denial(expectStatus=403), status=403, body=body)
    assert "status 403 from the signature check, not the auth policy" in result["detail"]
    assert body.decode()[:40] in result["detail"]  # the body it saw, quoted
    assert "attempts" not in result["detail"]  # not retried: a bad signature stays bad


@pytest.mark.parametrize("body", SIGNATURE_BODIES)
def test_an_access_check_names_a_signature_refusal_as_such(signing: None, body: bytes) -> None:
    check = {**denial(), "expect": [{"app": "demo-app-a", "route": "v1"}]}
    _, result = sent_by_the_lambda(check, status=403, body=body)
    assert "status 403 from the signature check, not the auth policy" in result["detail"]


def test_a_policy_denial_passes_and_the_report_quotes_its_body(signing: None) -> None:
    body = b"AccessDeniedException: User: arn:aws:sts::111111111111:assumed-role/x/y is not authorized"
    head, result = sent_by_the_lambda(denial(expectStatus=403), status=403, body=body)
    assert result["ok"] is True
    assert result["detail"] == f"status 403, refused as expected; body {body.decode()!r}"
    assert_signed_as_sent(head, denial())


def test_make_smoke_prints_the_body_of_each_403(signing: None) -> None:
    """`make smoke` (tools/smoke.py) prints the handler's detail, and with it the body Lattice sent."""
    body = b"x" * (verdict.BODY_EXCERPT_CHARS + 50)
    with RawCaptureServer(lambda _: (403, body)) as server:
        event = {"checks": [denial(expectStatus=403)], "attempts": 1, "retryDelaySeconds": 0}
        report = smoke.run(event, resolver=lambda host, port: [("127.0.0.1", server.port)])
    out = io.StringIO()
    assert smoke_cli.report(json.loads(json.dumps(report)), "fn", out) == 0
    printed = out.getvalue()
    assert f"body '{'x' * verdict.BODY_EXCERPT_CHARS}...'" in printed
    assert "x" * (verdict.BODY_EXCERPT_CHARS + 1) not in printed
