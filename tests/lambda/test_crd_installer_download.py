"""crd_installer.download, limit by limit: retry policy, size cap, and the message for each way a fetch fails."""

from __future__ import annotations

import inspect
import socket
import threading
import time
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from crd_installer.download import MAX_BYTES, MIN_ATTEMPT_SECONDS, USER_AGENT, DownloadError, download

from tests.support.background import BackgroundServer
from tests.support.budget import SLOW_MARGIN_SECONDS, assert_within_budget
from tests.support.clock import FakeClock
from tests.support.file_server import FileServer

PATH = "v1/crds.yaml"
BODY = b"0123456789"


@pytest.fixture
def site() -> Iterator[FileServer]:
    with FileServer({PATH: BODY}) as server:
        yield server


class RawServer(BackgroundServer):
    """Runs `behaviour(handler)` for every GET; records the request headers."""

    def __init__(self, behaviour: Callable[[BaseHTTPRequestHandler], None]) -> None:
        super().__init__()
        self.behaviour = behaviour
        self.headers: list[dict[str, str]] = []
        self.done = threading.Event()

    def _make_server(self) -> ThreadingHTTPServer:
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:
                pass

            def do_GET(self) -> None:
                outer.headers.append(dict(self.headers.items()))
                try:
                    outer.behaviour(self)
                finally:
                    outer.done.set()

        return ThreadingHTTPServer(("127.0.0.1", 0), Handler)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/{PATH}"


def _fails(url: str, **kwargs: Any) -> str:
    with pytest.raises(DownloadError) as exc:
        download(url, sleep=lambda _s: None, **kwargs)
    return str(exc.value)


def test_the_default_policy_is_three_attempts_a_second_apart_doubling(site: FileServer) -> None:
    site.fail_next(PATH, 503, times=10)
    sleeps: list[float] = []
    with pytest.raises(DownloadError) as exc:
        download(site.url(PATH), sleep=sleeps.append)
    assert str(exc.value) == f"download failed: HTTP 503 (3 attempts) from {site.url(PATH)}"
    assert site.requests == [f"/{PATH}"] * 3
    assert sleeps == [1.0, 2.0]  # none after the last attempt


def test_documented_defaults() -> None:
    defaults = {name: p.default for name, p in inspect.signature(download).parameters.items()}
    assert (defaults["timeout"], defaults["attempts"], defaults["backoff"]) == (30.0, 3, 1.0)
    assert defaults["max_bytes"] == MAX_BYTES == 8 * 1024 * 1024


# -- the time the caller has left ---------------------------------------------------------------------------------


def test_no_attempt_starts_with_less_than_a_minimal_attempt_left(site: FileServer) -> None:
    assert MIN_ATTEMPT_SECONDS == 1.0
    message = _fails(site.url(PATH), time_left=lambda: MIN_ATTEMPT_SECONDS - 0.01)
    assert message == f"download failed: no time left of this invocation to fetch {site.url(PATH)}"
    assert site.requests == []


def test_no_backoff_sleeps_into_the_last_attempts_time(site: FileServer) -> None:
    """Retries stop once a backoff would leave less than MIN_ATTEMPT_SECONDS: 4.5 s left affords the sleeps of
    1 s and 2 s (1.5 s left after them), not the next one of 4 s."""
    site.fail_next(PATH, 503, times=10)
    clock = FakeClock(deadline=4.5)
    with pytest.raises(DownloadError) as exc:
        download(site.url(PATH), attempts=5, sleep=clock.sleep, time_left=clock.time_left)
    assert str(exc.value) == f"download failed: HTTP 503 (3 attempts, out of time for another) from {site.url(PATH)}"
    assert site.requests == [f"/{PATH}"] * 3
    assert clock.slept == [1.0, 2.0]


def test_backoff_doubles_from_the_given_base(site: FileServer) -> None:
    site.fail_next(PATH, 502, times=3)
    sleeps: list[float] = []
    assert download(site.url(PATH), attempts=4, backoff=0.5, sleep=sleeps.append) == BODY
    assert sleeps == [0.5, 1.0, 2.0]
    assert len(site.requests) == 4


@pytest.mark.parametrize("attempts", [1, 0, -3])
def test_one_attempt_at_least_and_no_retry(site: FileServer, attempts: int) -> None:
    site.fail_next(PATH, 503, times=2)
    sleeps: list[float] = []
    with pytest.raises(DownloadError) as exc:
        download(site.url(PATH), attempts=attempts, sleep=sleeps.append)
    assert str(exc.value) == f"download failed: HTTP 503 (1 attempts) from {site.url(PATH)}"
    assert len(site.requests) == 1
    assert sleeps == []


@pytest.mark.parametrize("status", [429, 500, 503, 599])
def test_throttling_and_server_errors_are_retried(site: FileServer, status: int) -> None:
    site.fail_next(PATH, status)
    assert download(site.url(PATH), attempts=2, sleep=lambda _s: None) == BODY
    assert len(site.requests) == 2


@pytest.mark.parametrize("status", [400, 403, 404, 428, 430, 499])
def test_other_client_errors_are_not_retried(site: FileServer, status: int) -> None:
    site.fail_next(PATH, status)
    assert _fails(site.url(PATH), attempts=3) == f"download failed: HTTP {status} from {site.url(PATH)}"
    assert len(site.requests) == 1


def test_size_limit_both_sides(site: FileServer) -> None:
    assert download(site.url(PATH), max_bytes=len(BODY)) == BODY  # the largest accepted body, whole
    message = _fails(site.url(PATH), max_bytes=len(BODY) - 1, attempts=3)
    assert message == f"download failed: larger than {len(BODY) - 1} bytes from {site.url(PATH)}"
    assert len(site.requests) == 2  # too big is not retried


def test_a_server_that_never_stops_sending_is_cut_off() -> None:
    cap = 64 * 1024 * 1024
    sent = [0]

    def endless(handler: BaseHTTPRequestHandler) -> None:
        handler.send_response(200)
        handler.end_headers()  # no Content-Length: the body ends when the server closes
        chunk = b"x" * 65536
        try:
            while sent[0] < cap:
                handler.wfile.write(chunk)
                sent[0] += len(chunk)
        except OSError:
            pass  # the client hung up

    with RawServer(endless) as server:
        assert _fails(server.url, max_bytes=1024) == f"download failed: larger than 1024 bytes from {server.url}"
        assert server.done.wait(10)
    assert sent[0] < cap // 2  # read max_bytes + 1 and hung up, not the whole stream


def test_a_trickling_body_ends_by_the_time_left(site: FileServer) -> None:
    """Class: the time left bounds the whole download, not each socket operation. A site sending one byte every
    0.5 s never stalls for a socket timeout; red before, the download ran past its 1.5 s for the whole body (about
    4 s over, reviewer c of dupes, item 3)."""
    body = b"x" * 20  # 10 s at 0.5 s a byte: far past the budget plus SLOW_MARGIN_SECONDS
    site.files[PATH] = body
    site.trickle_next(PATH, 0.5, times=3)
    budget = 1.5
    assert len(body) * 0.5 >= budget + SLOW_MARGIN_SECONDS
    started = time.monotonic()
    end = started + budget
    with pytest.raises(DownloadError) as caught:
        download(site.url(PATH), sleep=lambda _: None, time_left=lambda: end - time.monotonic())
    assert_within_budget(time.monotonic() - started, budget)
    assert str(caught.value).startswith("download failed: timed out after 1.5s"), caught.value


def test_user_agent_names_the_installer() -> None:
    def ok(handler: BaseHTTPRequestHandler) -> None:
        handler.send_response(200)
        handler.send_header("Content-Length", "2")
        handler.end_headers()
        handler.wfile.write(b"ok")

    with RawServer(ok) as server:
        assert download(server.url) == b"ok"
    assert server.headers[0]["User-Agent"] == USER_AGENT == "eks-lattice-gateway/crd-installer"


def test_a_dropped_connection_names_the_error() -> None:
    def hang_up(handler: BaseHTTPRequestHandler) -> None:
        handler.close_connection = True

    with RawServer(hang_up) as server:
        url = server.url
        message = _fails(url, attempts=2)
    assert message == (
        f"download failed: RemoteDisconnected: Remote end closed connection without response (2 attempts) from {url}"
    )
    assert len(server.headers) == 2


def test_refused_connection_names_the_reason() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    url = f"http://127.0.0.1:{port}/{PATH}"  # nothing listens there now
    assert _fails(url, attempts=1) == f"download failed: [Errno 111] Connection refused (1 attempts) from {url}"


def test_connect_timeout_says_timed_out() -> None:
    # A listener whose accept queue is full drops new SYNs: connect() itself times out.
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(0)
        port = listener.getsockname()[1]
        queued = []
        for _ in range(3):
            c = socket.socket()
            c.setblocking(False)
            c.connect_ex(("127.0.0.1", port))
            queued.append(c)
        try:
            url = f"http://127.0.0.1:{port}/{PATH}"
            assert (
                _fails(url, timeout=0.25, attempts=1)
                == f"download failed: timed out after 0.25s (1 attempts) from {url}"
            )
        finally:
            for c in queued:
                c.close()


@pytest.mark.parametrize("url", ["file:///etc/passwd", "ftp://example.com/x.yaml", "127.0.0.1/x.yaml"])
def test_only_http_urls_are_fetched(url: str) -> None:
    assert _fails(url) == f"download failed: only http(s) URLs are fetched, got {url}"


def test_https_urls_pass_the_scheme_check() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    url = f"https://127.0.0.1:{port}/{PATH}"
    assert _fails(url, attempts=1) == f"download failed: [Errno 111] Connection refused (1 attempts) from {url}"
