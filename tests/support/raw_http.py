"""An HTTP server on 127.0.0.1 that records each request's head exactly as its bytes arrived."""

from __future__ import annotations

import socketserver
from collections.abc import Callable
from http.server import ThreadingHTTPServer

from tests.support.background import BackgroundServer

Answer = Callable[[bytes], tuple[int, bytes]]


class RawCaptureServer(BackgroundServer):
    """Keeps the request line and header lines byte for byte (no parsing on the way in) and answers each request
    with `answer(raw head)`: (status, body)."""

    thread_name = "raw-capture"

    def __init__(self, answer: Answer) -> None:
        super().__init__()
        self.heads: list[bytes] = []
        owner = self

        class Handler(socketserver.StreamRequestHandler):
            def handle(self) -> None:
                head = b""
                while True:
                    line = self.rfile.readline(65537)
                    head += line
                    if line in (b"\r\n", b"\n", b""):
                        break
                owner.heads.append(head)
                status, body = answer(head)
                self.wfile.write(
                    f"HTTP/1.1 {status} X\r\nContent-Length: {len(body)}\r\nConnection: close\r\n\r\n".encode() + body
                )

        self._handler = Handler

    def _make_server(self) -> ThreadingHTTPServer:
        return ThreadingHTTPServer(("127.0.0.1", 0), self._handler)
