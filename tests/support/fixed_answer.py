"""A local server that gives every request the same answer: a proxy's error page, a service that only throttles."""

from __future__ import annotations

import ssl
import time
from collections.abc import Mapping
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from tests.support.background import BackgroundServer


class FixedAnswerServer(BackgroundServer):
    """Answers every GET with `status`, `headers` and `body`; counts the requests in `hits` and records each one's
    path and headers in `requests`. With `tls` (a server-side SSL context) it speaks HTTPS. POSTs get the same
    answer (an AWS JSON API's calls); each answer waits `delay` seconds (a slow service)."""

    def __init__(
        self,
        status: int,
        body: bytes,
        headers: Mapping[str, str],
        *,
        tls: ssl.SSLContext | None = None,
        delay: float = 0.0,
    ) -> None:
        super().__init__()
        self.status, self.body, self.headers, self.tls = status, body, dict(headers), tls
        self.delay = delay
        self.hits = 0
        self.requests: list[dict[str, Any]] = []

    def _make_server(self) -> ThreadingHTTPServer:
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                outer.hits += 1
                outer.requests.append({"path": self.path, "headers": dict(self.headers)})
                time.sleep(outer.delay)
                try:
                    self.send_response(outer.status)
                    for name, value in outer.headers.items():
                        self.send_header(name, value)
                    self.send_header("Content-Length", str(len(outer.body)))
                    self.end_headers()
                    self.wfile.write(outer.body)
                except OSError:  # a client that timed out has closed its end
                    pass

            def do_POST(self) -> None:
                self.rfile.read(int(self.headers.get("Content-Length") or 0))
                self.do_GET()

            def log_message(self, *args: Any) -> None:
                pass

        server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        if self.tls is not None:
            server.socket = self.tls.wrap_socket(server.socket, server_side=True)
        return server
