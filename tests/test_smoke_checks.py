"""The smoke checks are derived from the route config, never kept by hand."""

from __future__ import annotations

import datetime as dt
import io
import json
from pathlib import Path
from typing import Any

import boto3
import pytest
from constructs.smoke.checks import SECOND_IDENTITY, SMOKE_ROLE, UNSIGNED, denial_checks, smoke_checks

from config.loader import DEFAULTS, parse_context
from tests.support.smoke_assets import smoke_functions
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


def run_cli(
    argv: list[str], fake: FakeLambda, *, with_stack: bool = True, sleep: Any = lambda _: None
) -> tuple[int, str]:
    cfn = boto3.client("cloudformation", region_name=REGION)
    if with_stack:
        cfn.create_stack(StackName=STACK, TemplateBody=json.dumps(TEMPLATE))

    def clients(service: str, region: str | None) -> Any:
        return {"lambda": fake, "cloudformation": cfn}.get(service) or boto3.client(service, region_name=REGION)

    out = io.StringIO()
    return smoke_cli.main(argv, client_factory=clients, out=out, sleep=sleep), out.getvalue()


PASSED = {
    "passed": True,
    "results": [
        {
            "route": "default/demo-http-route",
            "caller": "smoke role",
            "status": 200,
            "method": "GET",
            "url": "http://api.example.com/v1/env?select=POD,ROUTE",
            "ok": True,
            "detail": "status 200, ROUTE=v1",
        },
        {
            "route": "default/demo-http-route",
            "caller": "unsigned",
            "status": 403,
            "method": "GET",
            "url": "http://api.example.com/v2/env?select=POD,ROUTE",
            "ok": True,
            "detail": "status 403, refused as expected",
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
    assert lines[0] == (
        "PASS route=default/demo-http-route caller=smoke role status=200 "
        "GET http://api.example.com/v1/env?select=POD,ROUTE: status 200, ROUTE=v1"
    )
    assert lines[1].startswith(
        "PASS route=default/demo-http-route caller=unsigned status=403 GET http://api.example.com/v2/"
    )
    assert lines[2] == "smoke test passed: 2 of 2 checks ok"


def route_alarm(service_id: str) -> None:
    """A route alarm as the stack makes it: metric math over the `Service`-only series."""
    cloudwatch = boto3.client("cloudwatch", region_name=REGION)

    def stat(key: str, metric: str) -> dict[str, Any]:
        spec = {
            "Namespace": "AWS/VpcLattice",
            "MetricName": metric,
            "Dimensions": [{"Name": "Service", "Value": service_id}],
        }
        return {"Id": key, "MetricStat": {"Metric": spec, "Period": 60, "Stat": "Sum"}, "ReturnData": False}

    cloudwatch.put_metric_alarm(
        AlarmName=f"{STACK} default/demo-http-route 5XX rate", EvaluationPeriods=3, Threshold=5,
        ComparisonOperator="GreaterThanThreshold",
        Metrics=[stat("errors", "HTTPCode_5XX_Count"), stat("requests", "TotalRequestCount"),
                 {"Id": "rate", "Expression": "100 * FILL(errors, 0) / requests", "ReturnData": True}],
    )  # fmt: skip


def lattice_publishes(service_id: str, *, with_az_only: bool) -> None:
    cloudwatch = boto3.client("cloudwatch", region_name=REGION)
    dims = [{"Name": "Service", "Value": service_id}]
    if with_az_only:
        dims = [*dims, {"Name": "AvailabilityZone", "Value": "us-east-1a"}]
    for metric in ("HTTPCode_5XX_Count", "TotalRequestCount"):
        cloudwatch.put_metric_data(
            Namespace="AWS/VpcLattice", MetricData=[{"MetricName": metric, "Dimensions": dims, "Value": 0}]
        )


@pytest.mark.usefixtures("aws_env")
def test_metrics_check_passes_when_the_watched_series_are_listed() -> None:
    route_alarm("svc-0123456789abcdef0")
    lattice_publishes("svc-0123456789abcdef0", with_az_only=False)
    status, out = run_cli([], FakeLambda(PASSED))
    assert status == 0
    assert out.splitlines()[-1] == "metrics check passed: 0 series the alarms watch missing"


@pytest.mark.usefixtures("aws_env")
def test_metrics_check_fails_when_lattice_lists_only_az_series() -> None:
    """If Lattice publishes service metrics only with AvailabilityZone, the route alarms never fire: say so."""
    route_alarm("svc-0123456789abcdef0")
    lattice_publishes("svc-0123456789abcdef0", with_az_only=True)
    waited: list[float] = []
    status, out = run_cli(["--metrics-wait-seconds", "0"], FakeLambda(PASSED), sleep=waited.append)
    assert status == 1
    lines = out.splitlines()
    assert lines[-3] == (
        "FAIL metric AWS/VpcLattice HTTPCode_5XX_Count {Service=svc-0123456789abcdef0}: not listed after the "
        "traffic; Lattice lists {AvailabilityZone=us-east-1a, Service=svc-0123456789abcdef0}: an alarm on it never "
        "sees data"
    )
    assert lines[-1] == "metrics check FAILED: 2 series the alarms watch missing"
    assert waited == []


@pytest.mark.usefixtures("aws_env")
def test_metrics_check_waits_for_series_to_be_listed() -> None:
    route_alarm("svc-0123456789abcdef0")
    waited: list[float] = []

    def sleep(seconds: float) -> None:
        waited.append(seconds)
        lattice_publishes("svc-0123456789abcdef0", with_az_only=False)

    status, out = run_cli([], FakeLambda(PASSED), sleep=sleep)
    assert status == 0, out
    assert waited == [smoke_cli.METRICS_POLL_SECONDS]


@pytest.mark.usefixtures("aws_env")
def test_metrics_check_gives_up_after_the_wait() -> None:
    route_alarm("svc-0123456789abcdef0")
    now = [0.0]

    def sleep(seconds: float) -> None:
        now[0] += seconds

    cfn = boto3.client("cloudformation", region_name=REGION)
    cfn.create_stack(StackName=STACK, TemplateBody=json.dumps(TEMPLATE))
    fake = FakeLambda(PASSED)

    def clients(service: str, region: str | None) -> Any:
        return {"lambda": fake, "cloudformation": cfn}.get(service) or boto3.client(service, region_name=REGION)

    out = io.StringIO()
    argv = ["--metrics-wait-seconds", "90"]
    assert smoke_cli.main(argv, client_factory=clients, out=out, sleep=sleep, clock=lambda: now[0]) == 1
    assert now[0] == 90  # three polls, 30 s apart
    assert "Lattice lists no series of it" in out.getvalue()


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
    assert out == (
        "smoke: stack 'Nope' not found in us-east-1 (deploy first, or pass --stack/--region: "
        'make smoke ARGS="--region ...")\n'
    )


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
    expected = 'no AWS region configured (pass --region: make smoke ARGS="--region ..."; or set AWS_REGION)'
    assert expected in out.getvalue()


# ------------------------------------------------------------------------------------- denials (issue 12)


def test_every_route_gets_an_unsigned_and_a_second_identity_check_expecting_403() -> None:
    cfg = parse_context({}, today=TODAY)
    for caller in (UNSIGNED, SECOND_IDENTITY):
        (denied,) = denial_checks(cfg, caller=caller)
        assert denied["expectStatus"] == 403
        assert (denied["route"], denied["caller"]) == ("default/demo-http-route", caller)
        assert denied["url"] == "http://api.example.com/v1/env?select=POD,ROUTE"
        assert denied.get("sign", True) is (caller != UNSIGNED)
    assert all("expectStatus" not in c and c["caller"] == SMOKE_ROLE for c in smoke_checks(cfg))


def test_a_route_open_to_unsigned_callers_expects_them_through() -> None:
    route = {**DEFAULTS["routes"][0], "access": {"unsigned": True}}
    cfg = parse_context({"routes": json.dumps([route])}, today=TODAY)
    for caller in (UNSIGNED, SECOND_IDENTITY):
        (check,) = denial_checks(cfg, caller=caller)
        assert "expectStatus" not in check and check["expect"] == [{"app": "demo-app-a", "route": "v1"}]


def test_no_denial_checks_without_iam_auth() -> None:
    cfg = parse_context({"serviceNetworkAuthType": "NONE"}, today=TODAY)
    assert denial_checks(cfg, caller=UNSIGNED) == denial_checks(cfg, caller=SECOND_IDENTITY) == []


def test_a_consumer_expects_refusal_from_routes_that_do_not_name_its_account() -> None:
    open_route = {**DEFAULTS["routes"][0], "access": {"allow": [{"account": "222222222222"}]}}
    closed = {**DEFAULTS["routes"][0], "name": "closed", "hostname": "closed.example.com"}
    # `unsigned` admits this app's own VPCs only, never a consumer's (issue 20).
    unsigned = {**DEFAULTS["routes"][0], "name": "open", "hostname": "open.example.com", "access": {"unsigned": True}}
    consumers = [{"name": "team-b", "account": "222222222222", "vpcCidr": "10.3.0.0/16"}]
    cfg = parse_context(
        {"routes": json.dumps([open_route, closed, unsigned]), "consumers": json.dumps(consumers)}, today=TODAY
    )
    checks = smoke_checks(cfg, caller="consumer team-b", account="222222222222")
    assert [(c["route"], c.get("expectStatus")) for c in checks] == [
        ("default/demo-http-route", None),
        ("default/demo-http-route", None),
        ("default/closed", 403),
        ("default/closed", 403),
        ("default/open", 403),
        ("default/open", 403),
    ]


def test_the_synth_has_two_smoke_functions_with_their_own_roles(synth: Any) -> None:
    gateway = synth.templates["EksLatticeGateway-Gateway"]
    functions = smoke_functions(synth.outdir, {"EksLatticeGateway-Gateway": gateway})
    assert len(functions) == 2
    ((main, main_checks),) = [(p, c) for name, p, c in functions if "SecondIdentity" not in name]
    ((second, second_checks),) = [(p, c) for name, p, c in functions if "SecondIdentity" in name]
    assert main["Role"] != second["Role"]
    assert [(c["caller"], c.get("expectStatus")) for c in main_checks] == [
        (SMOKE_ROLE, None),
        (SMOKE_ROLE, None),
        (UNSIGNED, 403),
    ]
    assert [(c["caller"], c.get("expectStatus")) for c in second_checks] == [(SECOND_IDENTITY, 403)]
    assert main["Environment"]["Variables"]["SIGV4_REGION"] == {"Ref": "AWS::Region"}
    assert second["Environment"]["Variables"]["SIGV4_REGION"] == {"Ref": "AWS::Region"}
    # The second identity's role appears in no route policy; the smoke role does.
    manifests = json.dumps([r for r in gateway["Resources"].values() if "IAMAuthPolicy" in json.dumps(r)])
    assert second["Role"]["Fn::GetAtt"][0] not in manifests
    assert main["Role"]["Fn::GetAtt"][0] in manifests
    # Both may invoke this account's services (the identity half), so the second's 403 is the route policy's.
    for props in (main, second):
        role = props["Role"]["Fn::GetAtt"][0]
        policies = [
            r["Properties"]["PolicyDocument"]
            for r in gateway["Resources"].values()
            if r["Type"] == "AWS::IAM::Policy" and {"Ref": role} in r["Properties"]["Roles"]
        ]
        assert "vpc-lattice-svcs:Invoke" in json.dumps(policies)
    assert "SmokeTestSecondIdentityFunctionName" in gateway["Outputs"]


@pytest.mark.usefixtures("aws_env")
def test_cli_runs_the_second_identity_too_and_reports_route_caller_and_status() -> None:
    cfn = boto3.client("cloudformation", region_name=REGION)
    template = {
        **TEMPLATE,
        "Outputs": {**TEMPLATE["Outputs"], "SmokeTestSecondIdentityFunctionName": {"Value": "second-fn"}},
    }
    cfn.create_stack(StackName=STACK, TemplateBody=json.dumps(template))
    fake = FakeLambda(PASSED)

    def clients(service: str, region: str | None) -> Any:
        return {"lambda": fake, "cloudformation": cfn}.get(service) or boto3.client(service, region_name=REGION)

    out = io.StringIO()
    assert smoke_cli.main([], client_factory=clients, out=out) == 0
    assert [i["FunctionName"] for i in fake.invoked] == ["EksLatticeGateway-Gateway-SmokeTest1234", "second-fn"]
    assert "route=default/demo-http-route caller=unsigned status=403" in out.getvalue()


@pytest.mark.usefixtures("aws_env")
def test_cli_no_metrics_check_never_calls_cloudwatch() -> None:
    """A consumer stack's smoke role has no CloudWatch access (constructs/pipeline/smoke.py): with
    --no-metrics-check the CLI never asks CloudWatch."""
    fake = FakeLambda(PASSED)
    cfn = boto3.client("cloudformation", region_name=REGION)
    cfn.create_stack(StackName=STACK, TemplateBody=json.dumps(TEMPLATE))
    asked: list[str] = []

    def clients(service: str, region: str | None) -> Any:
        asked.append(service)
        return {"lambda": fake, "cloudformation": cfn}[service]

    out = io.StringIO()
    assert smoke_cli.main(["--no-metrics-check"], client_factory=clients, out=out) == 0
    assert "cloudwatch" not in asked and "metrics check" not in out.getvalue()
