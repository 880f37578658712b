"""make e2e's live facts (tools/e2e/live.py): each check reads the documented shape and names offline tests that
exist.

Kubernetes objects are in the shapes the controller writes (IAMAuthPolicy status.conditions, HTTPRoute
status.parents[].conditions; see live.py's sources); the alarms are moto's CloudWatch.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest

from tests.conftest import moto_in
from tools.e2e import live

ROOT = Path(__file__).resolve().parent.parent
STACK = "e2e-abc123-Gateway"
ROUTES = [("default", "e2e-abc123-demo-http-route")]


def test_every_named_offline_test_exists() -> None:
    named = [node for nodes in live.ASSUMED_BY.values() for node in nodes]
    assert set(live.ASSUMED_BY) == set(live.NAMES)
    for node in named:
        path, _, function = node.partition("::")
        tree = ast.parse((ROOT / path).read_text())
        functions = {n.name for n in ast.walk(tree) if isinstance(n, ast.FunctionDef)}
        assert function.startswith("test_") and function in functions, node


def condition(status: str, reason: str = "Accepted") -> dict[str, str]:
    return {"type": "Accepted", "status": status, "reason": reason, "message": ""}


def policy(name: str, target: str, *conditions: dict[str, str]) -> dict[str, Any]:
    return {
        "metadata": {"namespace": "default", "name": name},
        "spec": {"targetRef": {"group": "gateway.networking.k8s.io", "kind": "HTTPRoute", "name": target}},
        "status": {"conditions": list(conditions)},
    }


def route(name: str, *conditions: dict[str, str]) -> dict[str, Any]:
    parents = [{"parentRef": {"name": "e2e-abc123"}, "conditions": list(conditions)}] if conditions else []
    return {"metadata": {"namespace": "default", "name": name}, "status": {"parents": parents}}


def test_auth_policies_accepted_attached_or_missing() -> None:
    target = ROUTES[0][1]
    assert live.auth_policies([policy("p", target, condition("True"))], ROUTES).ok
    refused = live.auth_policies([policy("p", target, condition("False", "TargetNotFound"))], ROUTES)
    assert not refused.ok and "default/p: Accepted=False (TargetNotFound" in refused.detail
    assert live.auth_policies([policy("p", target)], ROUTES).detail == "default/p: no Accepted condition yet"
    missing = live.auth_policies([], ROUTES)
    assert not missing.ok and missing.detail == f"route default/{target} has no IAMAuthPolicy"


def test_routes_accepted_by_every_parent() -> None:
    name = ROUTES[0][1]
    assert live.http_routes([route(name, condition("True"))], ROUTES).ok
    assert not live.http_routes([route(name, condition("False", "NotAllowedByListeners"))], ROUTES).ok
    assert live.http_routes([route(name)], ROUTES).detail == f"default/{name}: no parent status yet"
    assert live.http_routes([], ROUTES).detail == f"default/{name}: not in the cluster"


def test_signed_and_cnames_from_the_smoke_results() -> None:
    host = "api.e2e-abc123.example.com"
    results = [
        {"route": "r", "caller": "smoke", "url": f"http://{host}/v1", "status": 200, "ok": True},
        {"route": "r", "caller": "unsigned", "url": f"http://{host}/v1", "status": 403, "ok": True},
    ]
    assert live.signed(results).ok
    assert not live.signed([]).ok  # no check ran: not a pass
    assert not live.signed([{**results[0], "ok": False, "detail": "403"}]).ok
    records = {f"{host}.": "svc.vpc-lattice-svcs.amazonaws.com"}
    assert live.cnames(records, results, [host]).ok
    unresolved = [{**r, "status": None} for r in results]
    assert live.cnames(records, unresolved, [host]).detail == f"{host}: no answer by name from the client VPC"
    assert live.cnames({}, results, [host]).detail == f"{host}: no CNAME in the zone"


def test_metrics_listed() -> None:
    assert live.metrics_listed([]).ok
    missing = live.metrics_listed([("RequestTime", {"Service": "svc-1"}, [])])
    assert not missing.ok and "RequestTime {'Service': 'svc-1'} not listed" in missing.detail


@pytest.fixture
def cloudwatch(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    with moto_in(monkeypatch, "us-east-1"):
        yield boto3.client("cloudwatch")


def alarm(client: Any, name: str, state: str) -> None:
    client.put_metric_alarm(
        AlarmName=name,
        MetricName="RequestTime",
        Namespace="AWS/VpcLattice",
        Statistic="Average",
        Period=60,
        EvaluationPeriods=1,
        Threshold=1.0,
        ComparisonOperator="GreaterThanThreshold",
    )
    client.set_alarm_state(AlarmName=name, StateValue=state, StateReason="test")


def test_alarms_ok_reads_only_the_stacks_alarms(cloudwatch: Any) -> None:
    alarm(cloudwatch, f"{STACK} route latency", "OK")
    alarm(cloudwatch, "e2e-other1-Gateway route latency", "ALARM")  # another run's
    assert live.alarms_ok(cloudwatch, STACK).ok
    alarm(cloudwatch, f"{STACK} no healthy targets", "INSUFFICIENT_DATA")
    check = live.alarms_ok(cloudwatch, STACK)
    assert not check.ok and check.detail == f"{STACK} no healthy targets: INSUFFICIENT_DATA"
    assert live.alarms_ok(cloudwatch, "e2e-none00-Gateway").detail == "no alarm named e2e-none00-Gateway ..."


class FakeKube:
    """KubeClient.request's contract: (status, parsed body); pages by `continue`."""

    def __init__(self, items: list[dict[str, Any]]) -> None:
        self.items = items
        self.calls: list[tuple[str, str, dict[str, str]]] = []

    def request(self, method: str, path: str, *, query: dict[str, str] | None = None) -> tuple[int, Any]:
        self.calls.append((method, path, dict(query or {})))
        start = int((query or {}).get("continue") or 0)
        rest = start + 1 < len(self.items)
        return 200, {"items": self.items[start : start + 1], "metadata": {"continue": str(start + 1) if rest else ""}}


def test_kube_items_follows_continue() -> None:
    kube = FakeKube([route("a"), route("b"), route("c")])
    assert [i["metadata"]["name"] for i in live.kube_items(kube, live.HTTP_ROUTES)] == ["a", "b", "c"]
    assert [c[2].get("continue") for c in kube.calls] == [None, "1", "2"]


def _alarm_page(states: dict[str, str], composite: dict[str, str]) -> dict[str, Any]:
    return {
        "MetricAlarms": [{"AlarmName": n, "StateValue": s} for n, s in states.items()],
        "CompositeAlarms": [{"AlarmName": n, "StateValue": s} for n, s in composite.items()],
    }


def test_every_describe_alarms_names_metric_and_composite_alarms_and_polls_until_ok() -> None:
    """Class of fault: DescribeAlarms without AlarmTypes answers metric alarms only (a composite alarm in ALARM
    passes unseen), and one read right after the traffic catches alarms still evaluating. Stubber: each call must
    carry both types; the alarms turn OK on the third read, within the wait."""
    from botocore.stub import Stubber

    client = boto3.client("cloudwatch", region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="y")
    expected = {"AlarmNamePrefix": f"{STACK} ", "AlarmTypes": ["MetricAlarm", "CompositeAlarm"]}
    reads = [
        _alarm_page({f"{STACK} latency": "INSUFFICIENT_DATA"}, {f"{STACK} any": "ALARM"}),
        _alarm_page({f"{STACK} latency": "OK"}, {f"{STACK} any": "ALARM"}),
        _alarm_page({f"{STACK} latency": "OK"}, {f"{STACK} any": "OK"}),
    ]
    now = [0.0]
    with Stubber(client) as stub:
        for page in reads:
            stub.add_response("describe_alarms", page, expected)
        check = live.alarms_ok(client, STACK, wait=300, sleep=lambda s: now.__setitem__(0, now[0] + s),
                               clock=lambda: now[0])  # fmt: skip
        stub.assert_no_pending_responses()
    assert check.ok and check.detail == "2 OK" and now[0] == 2 * live.ALARM_POLL_SECONDS
    with Stubber(client) as stub:  # no wait: one read, and a composite alarm in ALARM fails the check
        stub.add_response("describe_alarms", reads[1], expected)
        check = live.alarms_ok(client, STACK)
    assert not check.ok and check.detail == f"{STACK} any: ALARM"
