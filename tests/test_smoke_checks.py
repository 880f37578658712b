"""The smoke checks are derived from the route config, never kept by hand."""

from __future__ import annotations

import datetime as dt
import io
import json
from pathlib import Path
from typing import Any

import boto3
import pytest
from constructs.smoke_checks import smoke_checks

from config.loader import DEFAULTS, parse_context
from tools import smoke as smoke_cli

TODAY = dt.date(2026, 11, 28)


def _checks(raw: dict[str, Any] | None = None) -> list[dict[str, Any]]:
    return smoke_checks(parse_context(raw or {}, today=TODAY))


def _with_rules(*rules: dict[str, Any], apps: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    route = {**DEFAULTS["routes"][0], "rules": [*DEFAULTS["routes"][0]["rules"], *rules]}
    return {"routes": json.dumps([route]), "apps": json.dumps(apps or DEFAULTS["apps"])}


def test_defaults_give_exactly_the_tutorial_checks() -> None:
    checks = _checks()
    assert [(c["method"], c["url"], c["expect"]) for c in checks] == [
        ("GET", "http://api.example.com/v1/env?select=POD,ROUTE", [{"app": "demo-app-a", "route": "v1"}]),
        ("GET", "http://api.example.com/v2/env?select=POD,ROUTE", [{"app": "demo-app-b", "route": "v2"}]),
    ]
    assert all("headers" not in c for c in checks)
    assert checks[0]["name"] == "default/demo-http-route rule 1"


def test_checks_are_json_serialisable() -> None:
    checks = _checks()
    assert json.loads(json.dumps(checks)) == checks


def test_extra_route_adds_a_check() -> None:
    extra_route = {
        "name": "admin-route",
        "hostname": "admin.example.com",
        "rules": [{"pathPrefix": "/v1", "backends": [{"app": "demo-app-a"}]}],
    }
    checks = _checks({"routes": json.dumps([*DEFAULTS["routes"], extra_route])})
    assert len(checks) == 3
    assert checks[2]["url"] == "http://admin.example.com/v1/env?select=POD,ROUTE"
    assert checks[2]["name"] == "default/admin-route rule 1"


def test_header_and_method_matches_go_into_the_request() -> None:
    checks = _checks(
        _with_rules(
            {
                "pathPrefix": "/canary",
                "headers": [{"name": "x-canary", "value": "yes"}],
                "backends": [{"app": "demo-app-b"}],
            },
            {"pathPrefix": "/v1/orders", "method": "POST", "backends": [{"app": "demo-app-a"}]},
        )
    )
    assert len(checks) == 4
    header_check, method_check = checks[2], checks[3]
    assert header_check["headers"] == {"x-canary": "yes"}
    assert header_check["method"] == "GET"
    assert header_check["url"] == "http://api.example.com/canary/env?select=POD,ROUTE"
    assert header_check["expect"] == [{"app": "demo-app-b", "route": "v2"}]
    # A POST can't read the demo /env endpoint; it only has to reach a backend.
    assert method_check["method"] == "POST"
    assert method_check["url"] == "http://api.example.com/v1/orders"
    assert method_check["expect"] == [{"app": "demo-app-a"}]


def test_weighted_rule_accepts_any_backend_with_traffic() -> None:
    checks = _checks(
        _with_rules(
            {
                "pathPrefix": "/shared/",
                "backends": [
                    {"app": "demo-app-a", "weight": 80},
                    {"app": "demo-app-b", "weight": 20},
                ],
            },
            {
                "pathPrefix": "/drained",
                "backends": [{"app": "demo-app-a", "weight": 0}, {"app": "demo-app-b", "weight": 1}],
            },
        )
    )
    assert checks[2]["url"] == "http://api.example.com/shared/env?select=POD,ROUTE"
    assert checks[2]["expect"] == [{"app": "demo-app-a", "route": "v1"}, {"app": "demo-app-b", "route": "v2"}]
    # Weight 0 receives no traffic, so its expectation would only mask a misroute.
    assert checks[3]["expect"] == [{"app": "demo-app-b", "route": "v2"}]


def test_exact_paths_are_requested_as_they_are() -> None:
    checks = _checks(
        _with_rules(
            {"path": "/v1/env", "backends": [{"app": "demo-app-a"}]},
            {"path": "/v2/health", "backends": [{"app": "demo-app-b"}]},
        )
    )
    # Lattice matches the path only, so the query keeps an exact /env match and the demo expectation.
    assert checks[2]["url"] == "http://api.example.com/v1/env?select=POD,ROUTE"
    assert checks[2]["expect"] == [{"app": "demo-app-a", "route": "v1"}]
    assert checks[3]["url"] == "http://api.example.com/v2/health"
    assert checks[3]["expect"] == [{"app": "demo-app-b"}]


def test_apps_without_route_env_only_need_to_be_reached() -> None:
    apps = [
        *DEFAULTS["apps"],
        {"name": "plain", "image": "nginx:1.27", "containerPort": 80, "healthPath": "/"},
    ]
    checks = _checks(_with_rules({"pathPrefix": "/static", "backends": [{"app": "plain"}]}, apps=apps))
    assert checks[2]["url"] == "http://api.example.com/static"
    assert checks[2]["expect"] == [{"app": "plain"}]


# ------------------------------------------------------------------------------ tools/smoke.py (make smoke)

STACK = "EksLatticeGateway-Gateway"
REGION = "us-east-1"
TEMPLATE = {
    "Resources": {"Topic": {"Type": "AWS::SNS::Topic"}},
    "Outputs": {"SmokeTestFunctionName": {"Value": "EksLatticeGateway-Gateway-SmokeTest1234"}},
}


class FakeLambda:
    """Stands in for Lambda's synchronous Invoke (moto would need Docker to run the function)."""

    def __init__(self, payload: dict[str, Any], function_error: str | None = None) -> None:
        self.payload = payload
        self.function_error = function_error
        self.invoked: list[dict[str, Any]] = []

    def invoke(self, **params: Any) -> dict[str, Any]:
        self.invoked.append(params)
        response: dict[str, Any] = {"StatusCode": 200, "Payload": io.BytesIO(json.dumps(self.payload).encode())}
        if self.function_error:
            response["FunctionError"] = self.function_error
        return response


@pytest.fixture
def aws_env(mocked_aws: str) -> None:
    assert mocked_aws == REGION


def run_cli(argv: list[str], fake: FakeLambda, *, with_stack: bool = True) -> tuple[int, str]:
    cfn = boto3.client("cloudformation", region_name=REGION)
    if with_stack:
        cfn.create_stack(StackName=STACK, TemplateBody=json.dumps(TEMPLATE))

    def clients(service: str, region: str | None) -> Any:
        return fake if service == "lambda" else cfn

    out = io.StringIO()
    return smoke_cli.main(argv, client_factory=clients, out=out), out.getvalue()


PASSED = {
    "passed": True,
    "results": [
        {
            "method": "GET",
            "url": "http://api.example.com/v1/env?select=POD,ROUTE",
            "ok": True,
            "detail": "status 200, ROUTE=v1",
        },
        {
            "method": "GET",
            "url": "http://api.example.com/v2/env?select=POD,ROUTE",
            "ok": True,
            "detail": "status 200, ROUTE=v2",
        },
    ],
}


@pytest.mark.usefixtures("aws_env")
def test_cli_passes_and_prints_one_line_per_check() -> None:
    fake = FakeLambda(PASSED)
    status, out = run_cli([], fake)
    assert status == 0
    assert fake.invoked[0]["FunctionName"] == "EksLatticeGateway-Gateway-SmokeTest1234"
    assert fake.invoked[0]["InvocationType"] == "RequestResponse"
    lines = out.splitlines()
    assert lines[0] == "PASS GET http://api.example.com/v1/env?select=POD,ROUTE: status 200, ROUTE=v1"
    assert lines[1].startswith("PASS GET http://api.example.com/v2/")
    assert lines[2] == "smoke test passed: 2 of 2 checks ok"


@pytest.mark.usefixtures("aws_env")
def test_cli_fails_with_the_handler_report() -> None:
    message = (
        "1 of 2 smoke checks failed\n"
        "PASS GET http://api.example.com/v1/env?select=POD,ROUTE: status 200, ROUTE=v1 from pod demo-app-a-1\n"
        "FAIL GET http://api.example.com/v2/env?select=POD,ROUTE: wrong ROUTE: got 'v1', expected 'v2'"
    )
    fake = FakeLambda({"errorMessage": message, "errorType": "SmokeTestError"}, function_error="Unhandled")
    status, out = run_cli([], fake)
    assert status == 1
    assert out.splitlines() == [*message.splitlines()[1:], "smoke test FAILED: 1 of 2 smoke checks failed"]


@pytest.mark.usefixtures("aws_env")
def test_cli_reports_a_broken_function() -> None:
    fake = FakeLambda(
        {"errorMessage": "Task timed out after 300.00 seconds", "errorType": "Sandbox.Timedout"}, "Unhandled"
    )
    status, out = run_cli([], fake)
    assert status == 1
    assert "Sandbox.Timedout" in out
    assert "Task timed out" in out


@pytest.mark.usefixtures("aws_env")
def test_cli_missing_stack_is_one_clear_line() -> None:
    status, out = run_cli(["--stack", "Nope"], FakeLambda(PASSED), with_stack=False)
    assert status == 1
    assert out == "smoke: stack 'Nope' not found in us-east-1 (deploy first, or pass --stack/--region)\n"


@pytest.mark.usefixtures("aws_env")
def test_cli_stack_without_the_output() -> None:
    cfn = boto3.client("cloudformation", region_name=REGION)
    cfn.create_stack(StackName=STACK, TemplateBody=json.dumps({**TEMPLATE, "Outputs": {}}))
    out = io.StringIO()
    status = smoke_cli.main([], client_factory=lambda service, region: cfn, out=out)
    assert status == 1
    assert "has no output SmokeTestFunctionName" in out.getvalue()


@pytest.mark.usefixtures("aws_env")
def test_cli_function_name_skips_the_stack_lookup() -> None:
    fake = FakeLambda(PASSED)
    status, _ = run_cli(["--function-name", "my-smoke"], fake, with_stack=False)
    assert status == 0
    assert fake.invoked[0]["FunctionName"] == "my-smoke"


def test_cli_without_credentials_says_so(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE",
                 "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI", "AWS_CONTAINER_CREDENTIALS_FULL_URI",
                 "AWS_WEB_IDENTITY_TOKEN_FILE"):  # fmt: skip
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")  # no instance-metadata lookup
    out = io.StringIO()
    status = smoke_cli.main(["--region", REGION], out=out)
    assert status == 1
    assert out.getvalue().startswith("smoke: no AWS credentials found")
    assert "Traceback" not in out.getvalue()


def test_cli_without_region_says_so(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for name in ("AWS_REGION", "AWS_DEFAULT_REGION", "AWS_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    out = io.StringIO()
    assert smoke_cli.main([], out=out) == 1
    assert "no AWS region configured" in out.getvalue()
