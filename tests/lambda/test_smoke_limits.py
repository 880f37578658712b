"""The smoke Lambda's rules pinned one by one: settings and their defaults, retry counts and the no-retry answers,
the deadline on both sides, the body cap, the exact detail of every failure, and what it logs."""

from __future__ import annotations

import http.client
import json
import logging
import socket
import threading
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from smoke import handler as smoke

from tests.support.background import BackgroundServer

HOST = "api.example.com"
V1 = "/v1/env?select=POD,ROUTE"
POD_A = {"POD": "demo-app-a-7c9d8-xk2lp", "ROUTE": "v1"}
DEMO_A = [{"app": "demo-app-a", "route": "v1"}]


class Server(BackgroundServer):
    """Answers every request from a script (the last reply repeats); records method, path and raw headers."""

    def __init__(self, *replies: tuple[int, bytes | dict[str, Any] | str]) -> None:
        super().__init__()
        self.replies = list(replies)
        self.requests: list[dict[str, Any]] = []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_GET(self) -> None:
                outer.requests.append(
                    {"method": self.command, "path": self.path, "headers": list(self.headers.items())}
                )
                status, body = outer.replies.pop(0) if len(outer.replies) > 1 else outer.replies[0]
                data = json.dumps(body).encode() if isinstance(body, dict) else body
                data = data.encode() if isinstance(data, str) else data
                self.send_response(status)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            do_POST = do_GET  # noqa: N815 - http.server's naming

            def log_message(self, *args: Any) -> None:
                pass

        self._handler = Handler

    def _make_server(self) -> ThreadingHTTPServer:
        return ThreadingHTTPServer(("127.0.0.1", 0), self._handler)


@pytest.fixture(autouse=True)
def _no_stray_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("TIMEOUT_SECONDS", "ATTEMPTS", "RETRY_DELAY_SECONDS"):
        monkeypatch.delenv(name, raising=False)


def to(port: int) -> Callable[[str, int], list[tuple[str, int]]]:
    def resolve(host: str, want_port: int) -> list[tuple[str, int]]:
        if host != HOST:
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        return [("127.0.0.1", port)]

    return resolve


def check(path: str = V1, expect: list[dict[str, Any]] | None = None, **extra: Any) -> dict[str, Any]:
    return {
        "name": "rule 1",
        "method": "GET",
        "url": f"http://{HOST}{path}",
        "expect": DEMO_A if expect is None else expect,
        **extra,
    }


class Sleeps(list[float]):
    def __call__(self, seconds: float) -> None:
        self.append(seconds)


def results(server: Server, *checks: dict[str, Any], sleeps: Sleeps | None = None, **settings: Any) -> list[Any]:
    """Each check's result, passed or not."""
    event = {"checks": list(checks), "timeoutSeconds": 2, "attempts": 3, "retryDelaySeconds": 0, **settings}
    try:
        report = smoke.run(event, resolver=to(server.port), sleep=sleeps if sleeps is not None else Sleeps())
    except smoke.SmokeTestError as err:
        lines = str(err).splitlines()[1:]
        return [line.split(": ", 1)[1] for line in lines]
    return [r["detail"] for r in report["results"]]


@pytest.fixture
def down() -> Iterator[Server]:
    with Server((503, "down")) as server:
        yield server


# -- settings ---------------------------------------------------------------------------------------------------


def test_defaults_are_twelve_attempts_ten_seconds_apart_five_second_timeout(down: Server) -> None:
    timeouts: list[float] = []

    def opener(request: smoke.Request, timeout: float) -> smoke.Response:
        timeouts.append(timeout)
        return smoke.http_opener(request, timeout)

    sleeps = Sleeps()
    with pytest.raises(smoke.SmokeTestError) as exc:
        smoke.run({"checks": [check()]}, resolver=to(down.port), opener=opener, sleep=sleeps)
    assert len(down.requests) == 12
    assert sleeps == [10.0] * 11
    assert set(timeouts) == {5.0}
    assert str(exc.value).endswith("status 503: the backend is failing or not yet healthy (after 12 attempts)")


def test_settings_from_the_environment(down: Server, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    (tmp_path / "checks.json").write_text(json.dumps([check()]), encoding="utf-8")
    monkeypatch.setattr(smoke, "CHECKS_FILE", tmp_path / "checks.json")
    monkeypatch.setenv("ATTEMPTS", "2")
    monkeypatch.setenv("RETRY_DELAY_SECONDS", "7")
    monkeypatch.setenv("TIMEOUT_SECONDS", "0.5")
    timeouts: list[float] = []

    def opener(request: smoke.Request, timeout: float) -> smoke.Response:
        timeouts.append(timeout)
        return smoke.http_opener(request, timeout)

    sleeps = Sleeps()
    with pytest.raises(smoke.SmokeTestError):
        smoke.run({}, resolver=to(down.port), opener=opener, sleep=sleeps)
    assert (len(down.requests), sleeps, timeouts) == (2, [7.0], [0.5, 0.5])


def test_event_settings_win_over_the_environment(down: Server, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ATTEMPTS", "5")
    monkeypatch.setenv("RETRY_DELAY_SECONDS", "7")
    sleeps = Sleeps()
    results(down, check(), sleeps=sleeps, attempts=3, retryDelaySeconds=3)
    assert (len(down.requests), sleeps) == (3, [3.0, 3.0])


@pytest.mark.parametrize(("attempts", "made"), [(0, 1), (-2, 1), (1, 1), ("", 12), (None, 12), ("2", 2)])
def test_attempts_at_least_one_and_blank_means_default(down: Server, attempts: Any, made: int) -> None:
    results(down, check(), attempts=attempts)
    assert len(down.requests) == made


def test_handler_passes_the_lambda_context_and_reads_event_checks(down: Server) -> None:
    class Context:
        def get_remaining_time_in_millis(self) -> int:
            return 20_000  # 20 s left, 15 s margin: one attempt only

    url = f"http://127.0.0.1:{down.port}/"
    event = {"checks": [{"url": url}], "attempts": 5, "retryDelaySeconds": 5, "timeoutSeconds": 2}
    with pytest.raises(smoke.SmokeTestError):
        smoke.handler(event, Context())
    assert len(down.requests) == 1


def test_deadline() -> None:
    class Context:
        def get_remaining_time_in_millis(self) -> int:
            return 20_000

    assert smoke._deadline(Context(), lambda: 100.0) == 105.0  # 100 + 20 - 15
    assert smoke._deadline(None, lambda: 100.0) is None
    assert smoke._deadline(object(), lambda: 100.0) is None


@pytest.mark.parametrize(("remaining_ms", "made"), [(22_000, 3), (21_999, 1)])
def test_a_retry_must_fit_before_the_deadline_both_sides(down: Server, remaining_ms: int, made: int) -> None:
    class Context:
        def get_remaining_time_in_millis(self) -> int:
            return remaining_ms

    # deadline = 100 + remaining - 15; a retry needs now + delay (5) + timeout (2) <= deadline: 22 s is just enough.
    event = {"checks": [check()], "attempts": 3, "retryDelaySeconds": 5, "timeoutSeconds": 2}
    with pytest.raises(smoke.SmokeTestError):
        smoke.run(event, Context(), resolver=to(down.port), sleep=Sleeps(), clock=lambda: 100.0)
    assert len(down.requests) == made


# -- checks -----------------------------------------------------------------------------------------------------


NO_CHECKS = "checks must be a non-empty JSON list of objects with a 'url' (GRPC and TLS: a 'host')"


@pytest.mark.parametrize(
    ("checks", "message"),
    [
        ([], NO_CHECKS),
        ({"url": "http://x/"}, NO_CHECKS),
        (["url"], NO_CHECKS),
        ([{"url": "http://x/"}, {"name": "no url"}], NO_CHECKS),
        ("[]", NO_CHECKS),
    ],
)
def test_bad_checks_are_named(checks: Any, message: str) -> None:
    with pytest.raises(ValueError, match=r"^checks must") as exc:
        smoke.run({"checks": checks})
    assert str(exc.value) == message


@pytest.mark.parametrize("text", [None, "", " \n"])
def test_no_checks_at_all(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, text: str | None) -> None:
    if text is not None:
        (tmp_path / "checks.json").write_text(text, encoding="utf-8")
    monkeypatch.setattr(smoke, "CHECKS_FILE", tmp_path / "checks.json")
    with pytest.raises(ValueError, match=r"^no checks") as exc:
        smoke.handler(None, None)
    assert str(exc.value) == "no checks: pass event['checks'] or ship checks.json with the function (JSON list)"


def test_checks_as_a_json_string_and_their_defaults() -> None:
    with Server((200, POD_A)) as server:
        report = smoke.run(
            {"checks": json.dumps([{"url": f"http://{HOST}/v1", "expect": DEMO_A}]), "attempts": 1},
            resolver=to(server.port),
        )
    assert report["results"] == [
        {
            "name": f"http://{HOST}/v1",  # no name: the URL
            "route": "-",  # no route or caller named: "-" in the report's columns
            "caller": "-",
            "method": "GET",  # no method: GET
            "url": f"http://{HOST}/v1",
            "status": 200,
            "ok": True,
            "detail": "status 200, ROUTE=v1 from pod demo-app-a-7c9d8-xk2lp",
        }
    ]
    assert server.requests[0]["method"] == "GET"


def test_request_line_and_headers() -> None:
    with Server((200, POD_A)) as server:
        results(server, check(""), check("/p"), check("/p?q=1", headers={"X-Canary": "1"}))
    # The checks run side by side: requests arrive in any order.
    assert sorted(r["path"] for r in server.requests) == ["/", "/p", "/p?q=1"]
    [headers] = [r["headers"] for r in server.requests if r["path"] == "/p?q=1"]
    assert ("Host", HOST) in headers
    assert ("User-Agent", "eks-lattice-gateway-smoke") in headers
    assert ("X-Canary", "1") in headers


# -- attempts and their details ---------------------------------------------------------------------------------


def test_failure_details_carry_the_attempt_count_only_after_retries(down: Server) -> None:
    assert results(down, check(), attempts=1) == ["status 503: the backend is failing or not yet healthy"]
    assert results(down, check(), attempts=2) == [
        "status 503: the backend is failing or not yet healthy (after 2 attempts)"
    ]


def test_success_detail_names_the_attempt_only_after_retries() -> None:
    with Server((500, "boom"), (200, POD_A)) as server:
        assert results(server, check()) == ["status 200, ROUTE=v1 from pod demo-app-a-7c9d8-xk2lp (attempt 2)"]
    with Server((200, POD_A)) as server:
        assert results(server, check()) == ["status 200, ROUTE=v1 from pod demo-app-a-7c9d8-xk2lp"]


@pytest.mark.parametrize("status", [500, 502, 599])
def test_server_errors_are_retried(status: int) -> None:
    with Server((status, "x")) as server:
        assert results(server, check()) == [
            f"status {status}: the backend is failing or not yet healthy (after 3 attempts)"
        ]
        assert len(server.requests) == 3


def test_404_is_retried_with_its_hint() -> None:
    with Server((404, "")) as server:
        assert results(server, check(), attempts=2) == [
            "status 404: Lattice answers 404 when no rule matches (is the HTTPRoute accepted, its rule in place?) "
            "(after 2 attempts)"
        ]


def test_other_4xx_with_a_demo_expectation_is_retried_and_its_body_is_not_trusted() -> None:
    # A 403 whose body looks like the right answer is still not a pass (auth policy still propagating).
    with Server((403, POD_A)) as server:
        assert results(server, check()) == [
            "status 403: Lattice refused the caller (auth policy), expected access; body "
            f"{json.dumps(POD_A)!r} (after 3 attempts)"
        ]
        assert len(server.requests) == 3


def test_dns_failure_is_retried() -> None:
    bad = check()
    bad["url"] = "http://missing.example.com/"
    sleeps = Sleeps()
    with Server((200, POD_A)) as server:
        assert results(server, bad, sleeps=sleeps, attempts=2, retryDelaySeconds=1) == [
            "DNS: missing.example.com did not resolve (is the private zone associated with the client VPC? "
            "is the CNAME there?) (after 2 attempts)"
        ]
    assert sleeps == [1.0]


@pytest.mark.parametrize("url", ["https://api.example.com/", "http:///path", "ftp://api.example.com/"])
def test_unsupported_urls_fail_at_once(url: str) -> None:
    with Server((200, POD_A)) as server:
        assert results(server, {"url": url}) == [f"unsupported URL {url!r} (the gateway listens on plain HTTP)"]
        assert server.requests == []


def test_refused_connection_names_the_address_and_is_retried() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    event = {"checks": [check()], "attempts": 2, "retryDelaySeconds": 0, "timeoutSeconds": 2}
    with pytest.raises(smoke.SmokeTestError) as exc:
        smoke.run(event, resolver=to(port), sleep=Sleeps())
    assert str(exc.value).endswith(
        f"connection to {HOST} (127.0.0.1:{port}) failed: [Errno 111] Connection refused (after 2 attempts)"
    )


@pytest.mark.parametrize("error", [OSError(), http.client.HTTPException()])
def test_an_error_without_text_is_named_by_its_type(error: Exception) -> None:
    def opener(request: smoke.Request, timeout: float) -> smoke.Response:
        raise error

    event = {"checks": [check()], "attempts": 1}
    with pytest.raises(smoke.SmokeTestError) as exc:
        smoke.run(event, resolver=lambda _h, _p: [("192.0.2.1", 80)], opener=opener)
    assert str(exc.value).endswith(f"connection to {HOST} (192.0.2.1:80) failed: {type(error).__name__}")


def test_check_error_carries_its_reason() -> None:
    err = smoke.CheckError("why", retryable=True)
    assert (str(err), err.reason, err.retryable) == ("why", "why", True)


# -- verifying the answer ---------------------------------------------------------------------------------------


def test_routed_is_enough_for_backends_without_the_demo_convention() -> None:
    generic = [{"app": "plain"}, {"app": "other"}]
    with Server((200, "<html>")) as server:
        assert results(server, check(expect=generic)) == [
            "status 200 (routed; backends without the demo convention: plain, other)"
        ]
    with Server((302, "")) as server:
        assert results(server, check(expect=[])) == ["status 302"]


def test_a_body_that_is_not_json_fails_at_once_quoting_its_start() -> None:
    body = "x" * 200
    with Server((200, body)) as server:
        assert results(server, check()) == [f"status 200 but the body is not a JSON object: {b'x' * 120!r}"]
        assert len(server.requests) == 1


def test_the_body_is_read_up_to_64_kib() -> None:
    def padded(size: int) -> bytes:
        doc = json.dumps({**POD_A, "pad": ""}).encode()
        return json.dumps({**POD_A, "pad": "p" * (size - len(doc))}).encode()

    assert len(padded(smoke.MAX_BODY_BYTES)) == smoke.MAX_BODY_BYTES == 64 * 1024
    with Server((200, padded(smoke.MAX_BODY_BYTES))) as server:
        assert results(server, check()) == ["status 200, ROUTE=v1 from pod demo-app-a-7c9d8-xk2lp"]
    with Server((200, padded(smoke.MAX_BODY_BYTES + 1))) as server:
        [detail] = results(server, check())
        assert detail.startswith("status 200 but the body is not a JSON object: ")


def test_wrong_answers_are_named_exactly() -> None:
    with Server((200, {"POD": "demo-app-a-1", "ROUTE": "v2"})) as server:
        assert results(server, check()) == ["wrong ROUTE: got 'v2', expected 'v1' (from pod 'demo-app-a-1')"]
    with Server((200, {"POD": "demo-app-ab-1", "ROUTE": "v1"})) as server:
        assert results(server, check()) == [
            "wrong pod: POD 'demo-app-ab-1' is not a demo-app-a pod (expected a name starting with 'demo-app-a-')"
        ]
    either = [*DEMO_A, {"app": "demo-app-b", "route": "v2"}]
    with Server((200, {"POD": "demo-app-b-1", "ROUTE": "v3"})) as server:
        assert results(server, check(expect=either)) == [
            "wrong backend: got ROUTE 'v3' from pod 'demo-app-b-1', expected one of: "
            "ROUTE 'v1' from demo-app-a, ROUTE 'v2' from demo-app-b"
        ]
        assert len(server.requests) == 1


# -- concurrency and logs ---------------------------------------------------------------------------------------


def test_up_to_eight_checks_run_side_by_side() -> None:
    lock = threading.Lock()
    running = [0]
    peak = [0]
    barrier = threading.Barrier(smoke.MAX_WORKERS, timeout=5)

    def opener(request: smoke.Request, timeout: float) -> smoke.Response:
        with lock:
            running[0] += 1
            peak[0] = max(peak[0], running[0])
        try:
            barrier.wait()  # only returns once 8 requests are in flight together
        finally:
            with lock:
                running[0] -= 1
        return smoke.Response(status=200, body=b"")

    checks = [{"url": f"http://{HOST}/{i}"} for i in range(2 * smoke.MAX_WORKERS)]
    report = smoke.run({"checks": checks, "attempts": 1}, resolver=lambda _h, _p: [("192.0.2.1", 80)], opener=opener)
    assert report["passed"] is True
    assert peak[0] == smoke.MAX_WORKERS == 8


def test_log_lines(down: Server, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger=smoke.LOG.name)
    with Server((503, "down"), (200, POD_A)) as server:
        report = smoke.run(
            {"checks": [check()], "attempts": 2, "retryDelaySeconds": 3}, resolver=to(server.port), sleep=Sleeps()
        )
    assert [r.getMessage() for r in caplog.records] == [
        f"GET http://{HOST}{V1}: attempt 1 failed, retrying in 3s: "
        "status 503: the backend is failing or not yet healthy",
        f"smoke result: {json.dumps(report)}",
    ]


def test_system_resolver_answers_for_an_address_literal() -> None:
    assert smoke.system_resolver("127.0.0.1", 8080) == [("127.0.0.1", 8080)]
