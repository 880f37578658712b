"""The fake Kubernetes API's wire (tests/support/fake_kube.py): HTTPS on 127.0.0.1 with certificates from one test
CA, each request recorded as it arrived, Status bodies for failures, and what an EKS bearer token looks like."""

from __future__ import annotations

import base64
import json
import ssl
import threading
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Protocol
from urllib.parse import parse_qsl, urlsplit

import trustme


def looks_like_eks_token(token: str, *, region: str) -> bool:
    """True for a k8s-aws-v1 token: presigned regional STS GetCallerIdentity with the signed cluster header.

    Use as FakeKubeApi(accept_token=functools.partial(looks_like_eks_token, region=...)).
    """
    if not token.startswith("k8s-aws-v1."):
        return False
    payload = token.removeprefix("k8s-aws-v1.")
    try:
        url = urlsplit(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)).decode())
    except ValueError:
        return False
    query = dict(parse_qsl(url.query))
    return (
        url.netloc == f"sts.{region}.amazonaws.com"
        and query.get("Action") == "GetCallerIdentity"
        and "x-k8s-aws-id" in query.get("X-Amz-SignedHeaders", "").split(";")
    )


@dataclass(frozen=True)
class RecordedRequest:
    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]  # lower-cased names
    body: bytes

    @property
    def content_type(self) -> str | None:
        return self.headers.get("content-type")


class Answers(Protocol):
    """What the server hands each request to (FakeKubeApi): status, extra headers and the JSON body."""

    def _handle(self, req: RecordedRequest) -> tuple[int, dict[str, str], bytes]: ...


def failure_status(code: int, reason: str, message: str) -> dict[str, Any]:
    """A Kubernetes Status object for a failed request."""
    return {
        "kind": "Status",
        "apiVersion": "v1",
        "status": "Failure",
        "code": code,
        "reason": reason,
        "message": message,
    }


_CA_LOCK = threading.Lock()
_SHARED_CA: list[trustme.CA] = []
_LEAF_CERTS: dict[tuple[trustme.CA, tuple[str, ...]], trustme.LeafCert] = {}


def shared_ca() -> trustme.CA:
    """One CA per test process: key generation is the slow part of starting a server."""
    with _CA_LOCK:
        if not _SHARED_CA:
            _SHARED_CA.append(trustme.CA())
        return _SHARED_CA[0]


def leaf_cert(ca: trustme.CA, names: tuple[str, ...]) -> trustme.LeafCert:
    """The CA's certificate for `names`, issued once per process."""
    with _CA_LOCK:
        key = (ca, names)
        if key not in _LEAF_CERTS:
            _LEAF_CERTS[key] = ca.issue_cert(*names)
        return _LEAF_CERTS[key]


class Server(ThreadingHTTPServer):
    """HTTPS at `address`; each request, recorded, goes to `api`."""

    daemon_threads = True

    def __init__(self, address: tuple[str, int], ssl_context: ssl.SSLContext, api: Answers) -> None:
        super().__init__(address, _Handler)
        self.ssl_context = ssl_context
        self.api = api

    def get_request(self) -> tuple[Any, Any]:
        # Handshake later, in the handler thread, so a client that never finishes it cannot block accept().
        sock, addr = self.socket.accept()
        return self.ssl_context.wrap_socket(sock, server_side=True, do_handshake_on_connect=False), addr

    def handle_error(self, request: Any, client_address: Any) -> None:
        # Clients that reject our certificate or time out are expected in tests; stay quiet.
        pass


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # headers and body go out in separate writes
    server: Server

    def setup(self) -> None:
        self.request.settimeout(10)
        self.request.do_handshake()
        super().setup()

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def _dispatch(self) -> None:
        parts = urlsplit(self.path)
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        req = RecordedRequest(
            method=self.command,
            path=parts.path,
            query=dict(parse_qsl(parts.query, keep_blank_values=True)),
            headers={k.lower(): v for k, v in self.headers.items()},
            body=body,
        )
        try:
            status, headers, data = self.server.api._handle(req)
        except Exception as err:  # a bug in a test hook: answer 500 with the cause instead of hanging up
            status, headers = 500, {}
            data = json.dumps(failure_status(500, "FakeServerError", f"{type(err).__name__}: {err}")).encode("utf-8")
        try:
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            for name, value in headers.items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(data)
        except OSError:
            pass  # the client gave up (timeout tests)

    def do_GET(self) -> None:
        self._dispatch()

    def do_PATCH(self) -> None:
        self._dispatch()

    def do_PUT(self) -> None:
        self._dispatch()

    def do_POST(self) -> None:
        self._dispatch()

    def do_DELETE(self) -> None:
        self._dispatch()
