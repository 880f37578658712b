"""The lifecycle every local test server shares: serve on 127.0.0.1 in a daemon thread, stop cleanly."""

from __future__ import annotations

import threading
from http.server import ThreadingHTTPServer
from typing import Self

POLL_SECONDS = 0.01


class BackgroundServer:
    """Subclasses implement `_make_server()`; `start()`/`stop()` or `with` run it in a background thread."""

    thread_name = "test-server"

    def __init__(self) -> None:
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    def _make_server(self) -> ThreadingHTTPServer:
        raise NotImplementedError

    def start(self) -> Self:
        server = self._make_server()
        server.daemon_threads = True
        self._server = server
        # serve_forever notices shutdown() only at its next poll: 0.05 s made every stop() cost about 50 ms, a
        # second or more per file that starts a server per test; 0.01 s of idle polling costs next to nothing.
        self._thread = threading.Thread(
            target=server.serve_forever, args=(POLL_SECONDS,), name=self.thread_name, daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def port(self) -> int:
        assert self._server is not None, "start() the server first"
        return int(self._server.server_address[1])
