"""CloudFormation's GetTemplate and DescribeStacks on 127.0.0.1, in its query protocol (form POST in, XML out), for
the real boto3 client.

moto's CloudFormation cannot create this app's stacks (custom resources, SSM-typed parameters) nor put a stack in
a given status (UPDATE_COMPLETE_CLEANUP_IN_PROGRESS, DELETE_IN_PROGRESS): this serves the templates and statuses
it is given and answers ValidationError for any other stack, as CloudFormation does.
"""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs
from xml.sax.saxutils import escape

from .background import BackgroundServer

_NS = "http://cloudformation.amazonaws.com/doc/2010-05-15/"


class FakeCloudFormation(BackgroundServer):
    """`templates` by stack name, `statuses` by stack name or id (DescribeStacks); `requests` records each call's
    form fields and Authorization header."""

    thread_name = "fake-cloudformation"

    def __init__(self, templates: dict[str, Any] | None = None) -> None:
        super().__init__()
        self.templates: dict[str, Any] = dict(templates or {})
        self.statuses: dict[str, str] = {}
        self.requests: list[dict[str, str]] = []
        self._lock = threading.Lock()

    def _make_server(self) -> ThreadingHTTPServer:
        server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
        server.fake = self  # type: ignore[attr-defined]
        return server

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def answer(self, form: dict[str, str]) -> tuple[int, str]:
        with self._lock:
            self.requests.append(form)
        name = form.get("StackName", "")
        if form.get("Action") == "DescribeStacks" and name in self.statuses:
            stack_name = name.split("/")[-2] if "/" in name else name  # an id: arn:...:stack/<name>/<uuid>
            stack = (
                f"<member><StackId>{escape(name)}</StackId><StackName>{escape(stack_name)}</StackName>"
                "<CreationTime>2026-01-01T00:00:00Z</CreationTime>"
                f"<StackStatus>{escape(self.statuses[name])}</StackStatus></member>"
            )
            return 200, (
                f'<DescribeStacksResponse xmlns="{_NS}"><DescribeStacksResult><Stacks>{stack}</Stacks>'
                "</DescribeStacksResult><ResponseMetadata><RequestId>fake</RequestId></ResponseMetadata>"
                "</DescribeStacksResponse>"
            )
        if form.get("Action") not in {"GetTemplate", "DescribeStacks"}:
            return 400, _error("InvalidAction", f"{form.get('Action')} is not served here")
        if name not in self.templates:
            return 400, _error("ValidationError", f"Stack with id {name} does not exist")
        if form.get("Action") == "DescribeStacks":
            return 400, _error("ValidationError", f"Stack with id {name} does not exist")
        template = self.templates[name]
        body = escape(template if isinstance(template, str) else json.dumps(template))  # a str: YAML, as given
        return 200, (
            f'<GetTemplateResponse xmlns="{_NS}"><GetTemplateResult><TemplateBody>{body}</TemplateBody>'
            "<StagesAvailable><member>Original</member><member>Processed</member></StagesAvailable>"
            "</GetTemplateResult><ResponseMetadata><RequestId>fake</RequestId></ResponseMetadata></GetTemplateResponse>"
        )


def _error(code: str, message: str) -> str:
    return (
        f'<ErrorResponse xmlns="{_NS}"><Error><Type>Sender</Type><Code>{code}</Code>'
        f"<Message>{escape(message)}</Message></Error><RequestId>fake</RequestId></ErrorResponse>"
    )


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_POST(self) -> None:
        fake: FakeCloudFormation = self.server.fake  # type: ignore[attr-defined]
        length = int(self.headers.get("Content-Length") or 0)
        fields = parse_qs(self.rfile.read(length).decode())
        form = {k: v[0] for k, v in fields.items()}
        form["Authorization"] = self.headers.get("Authorization", "")
        status, body = fake.answer(form)
        data = body.encode()
        self.send_response(status)
        self.send_header("Content-Type", "text/xml")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)
