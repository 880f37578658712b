"""A smoke check run through the smoke Lambda's real opener against a local server, and the independent SigV4
verifier's judgement of the bytes that arrived (tests/sigv4_verifier.py)."""

from __future__ import annotations

from typing import Any
from urllib.parse import unquote_to_bytes, urlsplit

import pytest
from smoke import handler as smoke

from tests.sigv4_verifier import RawRequest, verify
from tests.support.raw_http import RawCaptureServer

KEY, SECRET, TOKEN = "AKIDSMOKETEST", "smoke/secret+key=", "session/token+with=chars"
REGION, SERVICE = "ap-northeast-2", "vpc-lattice-svcs"
# What Lattice needs signed besides the host and date: the unsigned-payload marker and the session token.
REQUIRED = ("host", "x-amz-date", "x-amz-content-sha256", "x-amz-security-token")


def signing_environment(monkeypatch: pytest.MonkeyPatch, *, sign: bool = True) -> None:
    """The Lambda's environment: its role's credentials, and SIGV4_REGION when the function signs."""
    for name in ("AWS_PROFILE", "AWS_DEFAULT_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", "/nonexistent")
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", KEY)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", SECRET)
    monkeypatch.setenv("AWS_SESSION_TOKEN", TOKEN)
    if sign:
        monkeypatch.setenv("SIGV4_REGION", REGION)
    else:
        monkeypatch.delenv("SIGV4_REGION", raising=False)


def sent_by_the_lambda(check: dict[str, Any], status: int = 200, body: bytes = b"{}") -> tuple[bytes, dict[str, Any]]:
    """Run one check through the handler's real opener against a local server: (request head as it arrived, the
    check's result)."""
    with RawCaptureServer(lambda _: (status, body)) as server:
        event = {"checks": [check], "attempts": 1, "timeoutSeconds": 5, "retryDelaySeconds": 0}
        try:
            report = smoke.run(event, resolver=lambda host, port: [("127.0.0.1", server.port)], sleep=lambda _: None)
        except smoke.SmokeTestError as err:
            report = {"results": [{"detail": str(err)}]}
    (head,) = server.heads
    return head, report["results"][0]


def meaning(target: str) -> tuple[bytes, list[tuple[bytes, bytes]]]:
    """A target's path and query pairs, percent-decoded ("+" literal): equal meanings ask for the same thing."""
    parts = urlsplit(target)
    pairs = [p.partition("=") for p in parts.query.split("&") if p]
    return unquote_to_bytes(parts.path or "/"), [(unquote_to_bytes(n), unquote_to_bytes(v)) for n, _, v in pairs]


def assert_asks_for_the_check(request: RawRequest, check: dict[str, Any]) -> None:
    url = urlsplit(check["url"])
    assert [v.strip() for v in request.values("host")] == [url.hostname]
    assert meaning(request.target) == meaning(check["url"].split(url.netloc, 1)[1])
    for name, value in (check.get("headers") or {}).items():
        assert [v.strip() for v in request.values(name.lower())] == [value.strip()]


def assert_signed_as_sent(head: bytes, check: dict[str, Any]) -> RawRequest:
    """The request as it arrived carries a signature the independent verifier accepts, for the check's host, and
    asks for what the check's URL asks for."""
    request = RawRequest.parse(head)
    verify(request, {KEY: SECRET}, region=REGION, service=SERVICE, required=REQUIRED)
    assert [v.strip() for v in request.values("x-amz-content-sha256")] == ["UNSIGNED-PAYLOAD"]
    assert [v.strip() for v in request.values("x-amz-security-token")] == [TOKEN]
    assert_asks_for_the_check(request, check)
    return request
