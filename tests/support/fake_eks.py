"""eks:DescribeCluster on 127.0.0.1 (point boto3 at it with AWS_ENDPOINT_URL_EKS: tests/support/local_aws.py) for the
clusters a test gives it, recording how each call was signed."""

from __future__ import annotations

import json
import re
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from tests.support.background import BackgroundServer


class FakeEks(BackgroundServer):
    """eks:DescribeCluster (GET /clusters/{name}) for the clusters it is given; records each call's headers.
    `delay`: seconds each answer waits (a slow EKS API), 0 unless a test sets it; `denied`: clusters it refuses (403
    AccessDeniedException: eks 2017-11-01 service-2.json, httpStatusCode 403, botocore 1.44.8, read 2026-12-06)."""

    thread_name = "fake-eks"

    def __init__(self) -> None:
        super().__init__()
        self.clusters: dict[str, dict[str, Any]] = {}
        self.calls: list[tuple[str, dict[str, str]]] = []
        self.delay = 0.0
        self.denied: set[str] = set()  # clusters whose DescribeCluster answers 403 AccessDeniedException

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def regions(self) -> list[str]:
        """The region in each call's SigV4 credential scope."""
        found = [re.search(r"Credential=[^/]+/\d{8}/([^/]+)/eks/", h.get("authorization", "")) for _, h in self.calls]
        return [m.group(1) if m else "?" for m in found]

    def _make_server(self) -> ThreadingHTTPServer:
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                outer.calls.append((self.path, {k.lower(): v for k, v in self.headers.items()}))
                time.sleep(outer.delay)
                name = self.path.removeprefix("/clusters/")
                headers: dict[str, str] = {}
                body: dict[str, Any]
                if name in outer.denied:
                    status = 403
                    headers = {"x-amzn-ErrorType": "AccessDeniedException"}
                    body = {"message": f"not authorized to perform: eks:DescribeCluster on {name}"}
                elif name in outer.clusters:
                    status, body = 200, {"cluster": {"name": name, **outer.clusters[name]}}
                else:
                    status = 404
                    headers = {"x-amzn-ErrorType": "ResourceNotFoundException"}
                    body = {"message": f"No cluster found for name: {name}."}
                raw = json.dumps(body).encode()
                self.send_response(status)
                for key, value in {"Content-Type": "application/json", **headers}.items():
                    self.send_header(key, value)
                self.send_header("Content-Length", str(len(raw)))
                try:
                    self.end_headers()
                    self.wfile.write(raw)
                except OSError:  # a client that timed out has closed its end
                    pass

            def log_message(self, *args: Any) -> None:
                pass

        return ThreadingHTTPServer(("127.0.0.1", 0), Handler)
