"""A stand-in for CodeBuild's credential endpoint on 127.0.0.1: serves dummy keys and logs every request.

`.ci/run` points AWS_CONTAINER_CREDENTIALS_FULL_URI at it while `make test` runs, as CodeBuild gives every build
its role's credentials through AWS_CONTAINER_CREDENTIALS_RELATIVE_URI (a CodeBuild maintainer in
https://github.com/aws/aws-codebuild-docker-images/issues/179, read 2026-12-05): a test that reaches for
credentials it did not set up finds these keys, and the log names it. botocore takes a FULL_URI only on a loopback
address or its allowed container hosts (botocore 1.44.8 utils.ContainerMetadataFetcher._validate_allowed_url), so
the stand-in serves on 127.0.0.1; RELATIVE_URI would always go to 169.254.170.2 (ContainerMetadataFetcher.full_url).

It also answers the instance-metadata (IMDSv2) credential paths that botocore's InstanceMetadataFetcher reads
(utils.py: PUT latest/api/token, GET latest/meta-data/iam/security-credentials/[role]), so the tests can show
that the suite's fixture shuts out that source too (AWS_EC2_METADATA_SERVICE_ENDPOINT at this server).

Standard library only: `.ci/run` starts it with the machine's python3, before the virtualenv exists.
    python3 tools/container_credentials.py --log LOG --url-file URL_FILE
writes its URL to URL_FILE once it listens, one JSON line per request to LOG, and serves until SIGTERM/SIGINT.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime
import json
import signal
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

ACCESS_KEY_ID = "ASIACODEBUILDREPLICA"  # recognizable in a signed request's Authorization header
ROLE_NAME = "codebuild-replica"
_TOKEN_PATH = "/latest/api/token"  # noqa: S105 (a URL path, not a secret)
_ROLE_LIST_PATH = "/latest/meta-data/iam/security-credentials/"


def credentials_document(now: datetime.datetime | None = None) -> dict[str, str]:
    """What the container endpoint returns (and IMDS, with Code): keys valid for an hour."""
    now = now or datetime.datetime.now(datetime.timezone.utc)  # noqa: UP017 (datetime.UTC is 3.11+; .ci/run uses the machine's python3)
    return {
        "Code": "Success",
        "AccessKeyId": ACCESS_KEY_ID,
        "SecretAccessKey": "codebuild-replica-secret",
        "Token": "codebuild-replica-session-token",
        "Expiration": (now + datetime.timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%SZ"),
    }


class CredentialsServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, log: Path) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.log = log
        self.requests: list[dict[str, Any]] = []
        self._lock = threading.Lock()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"

    def record(self, entry: dict[str, Any]) -> None:
        with self._lock:
            self.requests.append(entry)
            with self.log.open("a") as log:
                log.write(json.dumps(entry) + "\n")


class _Handler(BaseHTTPRequestHandler):
    server: CredentialsServer

    def parse_request(self) -> bool:
        """Each request is logged as soon as it is read, before any do_* answers it: a failing answer (an older
        python3 than `.ci/run` expects, a bug here) or a method without a handler still leaves its line."""
        parsed = super().parse_request()
        if parsed:
            self.server.record(
                {
                    "method": self.command,
                    "path": self.path,
                    "authorization": "Authorization" in self.headers,
                    "user_agent": self.headers.get("User-Agent", ""),
                }
            )
        return parsed

    def _answer(self, body: bytes, content_type: str) -> None:
        self.send_response(200)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_PUT(self) -> None:  # IMDSv2 session token
        self._answer(b"codebuild-replica-imds-token" if self.path == _TOKEN_PATH else b"", "text/plain")

    def do_GET(self) -> None:
        if self.path == _ROLE_LIST_PATH:
            self._answer(ROLE_NAME.encode(), "text/plain")
        else:
            self._answer(json.dumps(credentials_document()).encode(), "application/json")

    def log_message(self, format: str, *args: Any) -> None:  # the log file is the record, not stderr
        pass


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--log", type=Path, required=True, help="one JSON line per request")
    parser.add_argument("--url-file", type=Path, required=True, help="written with the URL once listening")
    args = parser.parse_args(argv)
    args.log.write_text("")
    server = CredentialsServer(args.log)
    signal.signal(signal.SIGTERM, lambda *_: threading.Thread(target=server.shutdown).start())
    args.url_file.write_text(server.url)
    with contextlib.suppress(KeyboardInterrupt):
        server.serve_forever(poll_interval=0.1)
    server.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
