"""A plain-HTTP static file server on 127.0.0.1 with scriptable faults, standing in for a download site."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from .background import BackgroundServer


@dataclass
class _Script:
    status: int | None
    delay: float
    remaining: int
    headers: dict[str, str] = field(default_factory=dict)
    trickle: float = 0.0  # seconds between the body's bytes (0: all at once)


class FileServer(BackgroundServer):
    """Serves `files` (URL path -> bytes); `fail_next` / `delay_next` / `trickle_next` script faults per path."""

    thread_name = "file-server"

    def __init__(self, files: dict[str, bytes] | None = None) -> None:
        super().__init__()
        self.files: dict[str, bytes] = dict(files or {})
        self.requests: list[str] = []
        self._scripts: dict[str, list[_Script]] = {}
        self._lock = threading.Lock()

    def _make_server(self) -> ThreadingHTTPServer:
        server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
        server.file_server = self  # type: ignore[attr-defined]
        return server

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def url(self, path: str) -> str:
        return f"{self.base_url}/{path.lstrip('/')}"

    def fail_next(self, path: str, status: int, *, times: int = 1, headers: dict[str, str] | None = None) -> None:
        """Answer the next `times` requests for `path` with `status` (and `headers`, e.g. Retry-After)."""
        with self._lock:
            self._scripts.setdefault("/" + path.lstrip("/"), []).append(
                _Script(status, 0.0, times, dict(headers or {}))
            )

    def delay_next(self, path: str, seconds: float, *, times: int = 1) -> None:
        with self._lock:
            self._scripts.setdefault("/" + path.lstrip("/"), []).append(_Script(None, seconds, times))

    def trickle_next(self, path: str, every: float, *, times: int = 1) -> None:
        """Send the next `times` answers for `path` one byte every `every` seconds (a site that never stalls long
        enough for a socket timeout, yet takes ages in all)."""
        with self._lock:
            self._scripts.setdefault("/" + path.lstrip("/"), []).append(_Script(None, 0.0, times, trickle=every))

    def _respond(self, path: str) -> tuple[int, bytes, float, dict[str, str], float]:
        with self._lock:
            self.requests.append(path)
            for script in self._scripts.get(path, []):
                if script.remaining > 0:
                    script.remaining -= 1
                    if script.status is not None:
                        return script.status, b"scripted failure", script.delay, script.headers, 0.0
                    data = self.files.get(path.lstrip("/"))
                    if data is None:
                        return 404, b"not found", script.delay, {}, 0.0
                    return 200, data, script.delay, {}, script.trickle
            data = self.files.get(path.lstrip("/"))
            return (200, data, 0.0, {}, 0.0) if data is not None else (404, b"not found", 0.0, {}, 0.0)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # headers and body go out in separate writes

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_GET(self) -> None:
        files: FileServer = self.server.file_server  # type: ignore[attr-defined]
        status, body, delay, headers, trickle = files._respond(self.path.split("?", 1)[0])
        if delay:
            time.sleep(delay)
        try:
            self.send_response(status)
            self.send_header("Content-Type", "application/octet-stream")
            self.send_header("Content-Length", str(len(body)))
            for name, value in headers.items():
                self.send_header(name, value)
            self.end_headers()
            if not trickle:
                self.wfile.write(body)
            for i in range(len(body) if trickle else 0):
                self.wfile.write(body[i : i + 1])
                self.wfile.flush()
                time.sleep(trickle)
        except OSError:
            pass  # client timed out and went away
