"""The smoke Lambda against local HTTP servers that behave like the demo app (and like its failures)."""

from __future__ import annotations

import json
import socket
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from smoke import handler as smoke

from tests.support.background import BackgroundServer

HOST = "api.example.com"
V1 = "/v1/env?select=POD,ROUTE"
Reply = tuple[int, dict[str, Any] | str]


class DemoServer(BackgroundServer):
    """A demo-app stand-in: answers from a script of replies (the last one repeats) and records requests."""

    thread_name = "demo-app"

    def __init__(self, replies: list[Reply]) -> None:
        super().__init__()
        self.replies = list(replies)
        self.requests: list[dict[str, Any]] = []
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def _answer(self) -> None:
                owner.requests.append({"method": self.command, "path": self.path, "headers": dict(self.headers)})
                status, body = owner.replies.pop(0) if len(owner.replies) > 1 else owner.replies[0]
                data = (json.dumps(body) if isinstance(body, dict) else body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_GET(self) -> None:
                self._answer()

            def do_POST(self) -> None:
                self._answer()

            def log_message(self, *args: Any) -> None:
                pass

        self._handler = Handler

    def _make_server(self) -> ThreadingHTTPServer:
        return ThreadingHTTPServer(("127.0.0.1", 0), self._handler)


def resolver_to(port: int) -> Callable[[str, int], list[tuple[str, int]]]:
    """What the VPC resolver does for the private zone, pointed at the local server."""

    def resolve(host: str, want_port: int) -> list[tuple[str, int]]:
        if host != HOST:
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        assert want_port == 80
        return [("127.0.0.1", port)]

    return resolve


def check(path: str = V1, **extra: Any) -> dict[str, Any]:
    expect = extra.pop("expect", [{"app": "demo-app-a", "route": "v1"}])
    return {
        "name": "default/demo-http-route rule 1",
        "route": "default/demo-http-route",
        "caller": "smoke role",
        "method": "GET",
        "url": f"http://{HOST}{path}",
        "expect": expect,
        **extra,
    }


def run(checks: list[dict[str, Any]], port: int, **settings: Any) -> dict[str, Any]:
    event = {"checks": checks, "timeoutSeconds": 2, "attempts": 3, "retryDelaySeconds": 0, **settings}
    return smoke.run(event, resolver=resolver_to(port), sleep=lambda _: None)


def failure(checks: list[dict[str, Any]], port: int, **settings: Any) -> str:
    with pytest.raises(smoke.SmokeTestError) as err:
        run(checks, port, **settings)
    return str(err.value)


POD_A = {"POD": "demo-app-a-7c9d8-xk2lp", "ROUTE": "v1"}
WHERE = "route=default/demo-http-route caller=smoke role"


def test_pass_reports_route_and_pod() -> None:
    with DemoServer([(200, POD_A)]) as server:
        report = run([check()], server.port)
    assert report["passed"] is True
    [result] = report["results"]
    assert result["ok"] is True
    assert result["url"] == f"http://{HOST}{V1}"
    assert "ROUTE=v1" in result["detail"]
    assert "demo-app-a-7c9d8-xk2lp" in result["detail"]
    # Lattice routes on the Host header, so it must carry the route's hostname, not the address.
    assert server.requests[0]["headers"]["Host"] == HOST
    # Sent in SigV4's canonical encoding (the comma as %2C), so a signature over it is the one Lattice computes.
    assert server.requests[0]["path"] == "/v1/env?select=POD%2CROUTE"


def test_wrong_route_fails_at_once() -> None:
    with DemoServer([(200, {"POD": "demo-app-a-1", "ROUTE": "v2"})]) as server:
        message = failure([check()], server.port)
    assert "1 of 1 smoke checks failed" in message
    assert "wrong ROUTE" in message
    assert "'v2'" in message
    assert f"FAIL route=default/demo-http-route caller=smoke role status=200 GET http://{HOST}{V1}" in message
    # A wrong answer is not "not ready yet": no retries.
    assert len(server.requests) == 1


def test_wrong_pod_fails() -> None:
    with DemoServer([(200, {"POD": "demo-app-b-5f6-abcde", "ROUTE": "v1"})]) as server:
        message = failure([check()], server.port)
    assert "wrong pod" in message
    assert "demo-app-b-5f6-abcde" in message


def test_404_fails_after_bounded_retries() -> None:
    with DemoServer([(404, "")]) as server:
        message = failure([check()], server.port, attempts=3)
    assert "status 404" in message
    assert "no rule matches" in message
    assert "after 3 attempts" in message
    assert len(server.requests) == 3


def test_dns_failure_names_the_likely_causes() -> None:
    bad = {**check(), "url": f"http://missing.example.com{V1}"}
    message = failure([bad], port=1, attempts=2)
    assert (
        "DNS: missing.example.com did not resolve (is the private zone associated with the client VPC? "
        "is the CNAME there?)" in message
    )


def test_timeout_when_the_server_never_answers() -> None:
    # Accepts connections (kernel backlog) but never reads or answers.
    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen(8)
    try:
        message = failure([check()], silent.getsockname()[1], timeoutSeconds=0.1, attempts=2)
    finally:
        silent.close()
    assert "timeout: no answer from api.example.com" in message
    assert "within 0.1s" in message


def test_transient_503_then_success() -> None:
    with DemoServer([(503, "upstream not ready"), (503, "upstream not ready"), (200, POD_A)]) as server:
        report = run([check()], server.port, attempts=5)
    assert report["passed"] is True
    assert "(attempt 3)" in report["results"][0]["detail"]
    assert len(server.requests) == 3


def test_persistent_503_reports_status() -> None:
    with DemoServer([(503, "down")]) as server:
        message = failure([check()], server.port, attempts=2)
    assert "status 503" in message


def test_mixed_results_list_every_check() -> None:
    with DemoServer([(200, POD_A)]) as server:
        v2 = check("/v2/env?select=POD,ROUTE", expect=[{"app": "demo-app-b", "route": "v2"}])
        message = failure([check(), v2], server.port)
    lines = message.splitlines()
    assert lines[0] == "1 of 2 smoke checks failed"
    assert lines[1].startswith(f"PASS {WHERE} status=200 GET http://{HOST}{V1}")
    assert lines[2].startswith(f"FAIL {WHERE} status=200 GET http://{HOST}/v2/env")
    assert "wrong ROUTE" in lines[2]


def test_headers_and_method_are_sent() -> None:
    with DemoServer([(201, {"created": True})]) as server:
        report = run(
            [check("/v1/orders", method="POST", headers={"x-canary": "yes"}, expect=[{"app": "demo-app-a"}])],
            server.port,
        )
    assert report["passed"] is True
    assert server.requests[0]["method"] == "POST"
    assert server.requests[0]["headers"]["x-canary"] == "yes"


def test_weighted_rule_accepts_either_backend() -> None:
    alternatives = [{"app": "demo-app-a", "route": "v1"}, {"app": "demo-app-b", "route": "v2"}]
    with DemoServer([(200, {"POD": "demo-app-b-1-2", "ROUTE": "v2"})]) as server:
        report = run([check(expect=alternatives)], server.port)
    assert report["passed"] is True


def test_reached_only_rejects_lattice_404_5xx_and_403() -> None:
    with DemoServer([(401, "unauthorized by the app itself")]) as server:
        assert run([check("/static", expect=[{"app": "plain"}])], server.port)["passed"] is True
    with DemoServer([(404, "")]) as server:
        assert "status 404" in failure([check("/static", expect=[{"app": "plain"}])], server.port)
    # Where access is expected, Lattice's refusal is a failure, retried first (a policy takes a moment to apply).
    with DemoServer([(403, "AccessDeniedException")]) as server:
        message = failure([check("/static", expect=[{"app": "plain"}])], server.port)
    assert f"FAIL {WHERE} status=403 GET http://{HOST}/static: status 403: Lattice refused the caller" in message
    assert "(after 3 attempts)" in message and len(server.requests) == 3


def test_403_is_a_failure_where_access_is_expected() -> None:
    with DemoServer([(403, "AccessDeniedException")]) as server:
        message = failure([check()], server.port)
    assert f"FAIL {WHERE} status=403" in message and "expected access" in message


def test_403_is_a_success_where_a_denial_is_expected() -> None:
    denied = check(caller="second identity", expectStatus=403)
    with DemoServer([(403, "AccessDeniedException")]) as server:
        report = run([denied], server.port)
    (result,) = report["results"]
    assert (result["ok"], result["status"], result["caller"]) == (True, 403, "second identity")
    # The body Lattice sent is in the report: what a policy denial's body says is documented nowhere.
    assert result["detail"] == "status 403, refused as expected; body 'AccessDeniedException'"


def test_access_where_a_denial_is_expected_fails_naming_route_caller_and_status() -> None:
    unsigned = check(caller="unsigned", sign=False, expectStatus=403)
    with DemoServer([(200, POD_A)]) as server:
        message = failure([unsigned], server.port)
    line = message.splitlines()[1]
    assert line.startswith(f"FAIL route=default/demo-http-route caller=unsigned status=200 GET http://{HOST}{V1}")
    assert "expected 403: the caller got through (after 3 attempts)" in line
    # A refusal that is not the auth policy's (say a 5xx) does not count as the expected denial.
    with DemoServer([(503, "")]) as server:
        assert "status 503, expected 403" in failure([unsigned], server.port)


def test_a_denial_that_turns_up_late_passes() -> None:
    """Right after a deploy the IAMAuthPolicy may not be attached yet (the service admits everyone)."""
    with DemoServer([(200, POD_A), (403, "AccessDeniedException")]) as server:
        (result,) = run([check(expectStatus=403)], server.port)["results"]
    assert result["ok"] is True and result["detail"].endswith("(attempt 2)")


def test_handler_reads_checks_from_the_file_it_ships_with(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    with DemoServer([(200, POD_A)]) as server:
        # An address literal resolves without DNS, so the real resolver and opener run end to end.
        url = f"http://127.0.0.1:{server.port}{V1}"
        checks = [{**check(), "url": url}]
        (tmp_path / "checks.json").write_text(json.dumps(checks), encoding="utf-8")
        monkeypatch.setattr(smoke, "CHECKS_FILE", tmp_path / "checks.json")
        monkeypatch.setenv("ATTEMPTS", "1")
        report = smoke.handler({}, None)
    assert report == {
        "passed": True,
        "results": [
            {
                "name": "default/demo-http-route rule 1",
                "route": "default/demo-http-route",
                "caller": "smoke role",
                "status": 200,
                "method": "GET",
                "url": url,
                "ok": True,
                "detail": "status 200, ROUTE=v1 from pod demo-app-a-7c9d8-xk2lp",
            }
        ],
    }


def test_retries_stop_before_the_lambda_timeout() -> None:
    class Context:
        def get_remaining_time_in_millis(self) -> int:
            return 20_000  # 20 s left, 15 s margin: room for one attempt only

    with DemoServer([(503, "down")]) as server:
        event = {"checks": [check()], "timeoutSeconds": 2, "attempts": 10, "retryDelaySeconds": 5}
        with pytest.raises(smoke.SmokeTestError):
            smoke.run(event, Context(), resolver=resolver_to(server.port), sleep=lambda _: None)
    assert len(server.requests) == 1


def test_missing_checks_is_an_error(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setattr(smoke, "CHECKS_FILE", tmp_path / "checks.json")
    with pytest.raises(ValueError, match="no checks"):
        smoke.handler({}, None)


@pytest.fixture(autouse=True)
def _no_stray_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("TIMEOUT_SECONDS", "ATTEMPTS", "RETRY_DELAY_SECONDS", "SIGV4_REGION"):
        monkeypatch.delenv(name, raising=False)


def test_an_unreachable_address_falls_through_to_the_next() -> None:
    refused = socket.socket()
    refused.bind(("127.0.0.1", 0))
    dead_port = refused.getsockname()[1]
    refused.close()  # nothing listens here any more: connection refused
    with DemoServer([(200, POD_A)]) as server:

        def two_addresses(host: str, port: int) -> list[tuple[str, int]]:
            return [("127.0.0.1", dead_port), ("127.0.0.1", server.port)]

        event = {"checks": [check()], "attempts": 1, "timeoutSeconds": 2}
        report = smoke.run(event, resolver=two_addresses, sleep=lambda _: None)
    assert report["passed"] is True


def test_system_resolver_prefers_ipv4() -> None:
    addresses = smoke.system_resolver("localhost", 80)
    assert addresses
    assert ":" not in addresses[0][0] or all(":" in a[0] for a in addresses)


def test_requests_are_sigv4_signed_for_lattice_when_asked(monkeypatch: pytest.MonkeyPatch) -> None:
    """From a consumer account the service network admits callers by account: requests must be signed
    (service vpc-lattice-svcs, unsigned payload), over the same Host the route is matched on."""
    monkeypatch.setenv("SIGV4_REGION", "ap-northeast-2")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "secret")
    monkeypatch.setenv("AWS_SESSION_TOKEN", "token")
    with DemoServer([(200, POD_A)]) as server:
        assert run([check(headers={"x-canary": "1"})], server.port)["passed"] is True
    headers = {k.lower(): v for k, v in server.requests[0]["headers"].items()}
    assert headers["authorization"].startswith("AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/")
    assert "/ap-northeast-2/vpc-lattice-svcs/aws4_request" in headers["authorization"]
    assert "host" in headers["authorization"].split("SignedHeaders=")[1]
    assert headers["x-amz-content-sha256"] == "UNSIGNED-PAYLOAD"
    assert headers["x-amz-security-token"] == "token"
    assert headers["host"] == HOST and headers["x-canary"] == "1"


def test_a_check_marked_unsigned_is_sent_unsigned_by_a_signing_function(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SIGV4_REGION", "us-east-1")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "secret")
    with DemoServer([(403, "AccessDeniedException")]) as server:
        assert run([check(sign=False, expectStatus=403), check(expectStatus=403)], server.port)["passed"]
    signed = ["authorization" in {k.lower() for k in r["headers"]} for r in server.requests]
    assert sorted(signed) == [False, True]
    unsigned = next(r["headers"] for r in server.requests if "Authorization" not in r["headers"])
    assert not {k.lower() for k in unsigned} & {"x-amz-date", "x-amz-content-sha256", "x-amz-security-token"}


def test_requests_are_unsigned_by_default() -> None:
    with DemoServer([(200, POD_A)]) as server:
        run([check()], server.port)
    assert "authorization" not in {k.lower() for k in server.requests[0]["headers"]}
