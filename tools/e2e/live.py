"""make e2e's live facts: what the offline tests could only assume, checked against the deployed run.

Each check names the offline tests (pytest node ids) that assumed the fact; tests/test_e2e_live.py checks that
every named test exists, so a renamed test cannot leave a check pointing nowhere.

- The metric series the alarms watch are listed by CloudWatch (ListMetrics), and the alarms are OK after the
  traffic the smoke test sent (tools/smoke.py's watched_series/missing_series, and DescribeAlarms by the stack's
  alarm-name prefix).
- Signed requests are accepted and the expected denials denied: the smoke functions again, after the update.
- Each IAMAuthPolicy is Accepted: its status.conditions[type=Accepted].status is "True" (AWS Gateway API Controller
  v2.1.3 pkg/k8s/policyhelper/policy.go UpdateAcceptedCondition, ConditionTypeAccepted = gwv1.PolicyConditionAccepted;
  the CRD's status.conditions in pkg/apis/applicationnetworking/v1alpha1/authpolicy_types.go; read 2026-12-05).
- Each HTTPRoute is Accepted by its Gateway: status.parents[].conditions[type=Accepted].status "True" (the
  controller's route_controller.go sets gwv1.RouteConditionAccepted per parent, v2.1.3).
- Each route's CNAME is in the private zone and resolves from the client VPC: the smoke function, in the client VPC,
  resolves each hostname with the VPC resolver before connecting (lambda/smoke/handler.py system_resolver); a
  result with an HTTP status got an answer from the address the name resolved to.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any
from urllib.parse import urlsplit

from tools.e2e.orchestrate import Check

# The offline tests that assumed each fact (tests/test_e2e_live.py: each exists).
ASSUMED_BY: dict[str, tuple[str, ...]] = {
    "metrics": (
        "tests/test_observability.py::test_every_metric_and_dimension_is_one_lattice_documents_or_this_apps_own",
        "tests/test_observability.py::test_the_service_looked_up_is_the_one_the_controller_names_for_each_route",
    ),
    "alarms": (
        "tests/test_observability.py::test_missing_data_breaches_only_on_metrics_that_are_always_published",
        "tests/test_observability.py::test_error_rate_is_5xx_over_requests_of_the_same_service",
    ),
    "signed": (
        "tests/test_smoke_signatures.py::test_every_synthesized_smoke_check_is_signed_as_sent",
        "tests/test_smoke_signatures.py::test_every_policy_denial_the_configurations_can_produce_is_a_policy_denial",
        "tests/test_access_matrix.py::test_the_synthesized_policies_give_the_same_matrix",
    ),
    "auth-policies": (
        "tests/test_access.py::test_the_default_synth_emits_one_iam_auth_policy_per_route_never_on_the_gateway",
        "tests/test_access.py::test_iam_auth_policy_object_is_the_routes",
    ),
    "routes": (
        "tests/test_gateway.py::test_workload_objects_are_the_configured_ones",
        "tests/test_config_lattice_names.py::test_two_routes_with_one_service_name_are_reported_on_the_second",
    ),
    "cnames": (
        "tests/test_dns_updates.py::test_update_that_adds_a_route",
        "tests/lambda/test_lattice_dns.py::test_marker_sits_beside_cname_with_heritage",
    ),
}
NAMES = {
    "metrics": "the series the alarms watch are in ListMetrics",
    "alarms": "the alarms are OK after traffic",
    "signed": "signed requests accepted, expected denials denied",
    "auth-policies": "each IAMAuthPolicy is Accepted",
    "routes": "each HTTPRoute is Accepted",
    "cnames": "each route's CNAME resolves from the client VPC",
}
IAM_AUTH_POLICIES = "/apis/application-networking.k8s.aws/v1alpha1/iamauthpolicies"
HTTP_ROUTES = "/apis/gateway.networking.k8s.io/v1/httproutes"


def _accepted(conditions: Iterable[Mapping[str, Any]]) -> tuple[bool, str]:
    for condition in conditions:
        if condition.get("type") == "Accepted":
            ok = condition.get("status") == "True"
            return (
                ok,
                ""
                if ok
                else f"Accepted={condition.get('status')} ({condition.get('reason')}: {condition.get('message')})",
            )
    return False, "no Accepted condition yet"


def auth_policies(items: Sequence[Mapping[str, Any]], routes: Sequence[tuple[str, str]]) -> Check:
    """`items`: the IAMAuthPolicy list; `routes`: (namespace, name) of each configured route (one policy each)."""
    problems: list[str] = []
    targeted: set[tuple[str, str]] = set()
    for item in items:
        meta = item.get("metadata", {})
        ref = item.get("spec", {}).get("targetRef", {})
        targeted.add((str(meta.get("namespace", "")), str(ref.get("name", ""))))
        ok, why = _accepted(item.get("status", {}).get("conditions", []))
        if not ok:
            problems.append(f"{meta.get('namespace')}/{meta.get('name')}: {why}")
    problems += [f"route {ns}/{name} has no IAMAuthPolicy" for ns, name in routes if (ns, name) not in targeted]
    detail = "; ".join(problems) or f"{len(items)} accepted"
    return Check(NAMES["auth-policies"], not problems, detail, ASSUMED_BY["auth-policies"])


def http_routes(items: Sequence[Mapping[str, Any]], routes: Sequence[tuple[str, str]]) -> Check:
    found = {(str(i["metadata"].get("namespace", "")), str(i["metadata"]["name"])): i for i in items}
    problems: list[str] = []
    for ns, name in routes:
        item = found.get((ns, name))
        if item is None:
            problems.append(f"{ns}/{name}: not in the cluster")
            continue
        parents = item.get("status", {}).get("parents", [])
        if not parents:
            problems.append(f"{ns}/{name}: no parent status yet")
        for parent in parents:
            ok, why = _accepted(parent.get("conditions", []))
            if not ok:
                problems.append(f"{ns}/{name} on {parent.get('parentRef', {}).get('name')}: {why}")
    return Check(NAMES["routes"], not problems, "; ".join(problems) or f"{len(routes)} accepted",
                 ASSUMED_BY["routes"])  # fmt: skip


# DescribeAlarms returns metric alarms only unless AlarmTypes names the others (botocore 1.44.8 cloudwatch model,
# DescribeAlarmsInput AlarmTypes; read 2026-12-05). The app's alarms are metric and composite alarms.
ALARM_TYPES = ["MetricAlarm", "CompositeAlarm"]
ALARM_WAIT_SECONDS = 300.0  # alarms evaluate each period after the traffic; a short poll, not one read
ALARM_POLL_SECONDS = 30.0


def alarm_states(cloudwatch: Any, stack: str) -> list[tuple[str, str]]:
    states: list[tuple[str, str]] = []
    pages = cloudwatch.get_paginator("describe_alarms").paginate(AlarmNamePrefix=f"{stack} ", AlarmTypes=ALARM_TYPES)
    for page in pages:
        states += [(a["AlarmName"], a["StateValue"]) for a in page.get("MetricAlarms", [])]
        states += [(a["AlarmName"], a["StateValue"]) for a in page.get("CompositeAlarms", [])]
    return states


def alarms_ok(
    cloudwatch: Any,
    stack: str,
    *,
    wait: float = 0.0,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
) -> Check:
    """Every alarm of the stack OK, read again every ALARM_POLL_SECONDS for up to `wait` seconds."""
    deadline = clock() + wait
    while True:
        states = alarm_states(cloudwatch, stack)
        bad = [f"{name}: {state}" for name, state in states if state != "OK"]
        if not states:
            bad = [f"no alarm named {stack} ..."]
        if not bad or clock() + ALARM_POLL_SECONDS > deadline:
            return Check(NAMES["alarms"], not bad, "; ".join(bad) or f"{len(states)} OK", ASSUMED_BY["alarms"])
        sleep(ALARM_POLL_SECONDS)


def metrics_listed(missing: Sequence[tuple[str, Mapping[str, str], Any]]) -> Check:
    detail = "; ".join(f"{metric} {dict(dims)} not listed" for metric, dims, _ in missing)
    return Check(NAMES["metrics"], not missing, detail or "all listed",
                 ASSUMED_BY["metrics"])  # fmt: skip


def signed(results: Sequence[Mapping[str, Any]]) -> Check:
    failed = [f"{r.get('route')} as {r.get('caller')}: {r.get('detail')}" for r in results if not r.get("ok")]
    ok = bool(results) and not failed
    detail = "; ".join(failed) or f"{len(results)} checks (signed accepted, unsigned and unnamed denied)"
    return Check(NAMES["signed"], ok, detail, ASSUMED_BY["signed"])


def cnames(records: Mapping[str, str], results: Sequence[Mapping[str, Any]], hostnames: Sequence[str]) -> Check:
    """`records`: CNAME name -> value in the private zone; `results`: the smoke results from the client VPC."""
    answered = {urlsplit(str(r.get("url", ""))).hostname for r in results if r.get("status") is not None}
    problems = [f"{h}: no CNAME in the zone" for h in hostnames if f"{h}." not in records and h not in records]
    problems += [f"{h}: no answer by name from the client VPC" for h in hostnames if h not in answered]
    return Check(NAMES["cnames"], not problems, "; ".join(problems) or
                 f"{len(hostnames)} resolved", ASSUMED_BY["cnames"])  # fmt: skip


def zone_cnames(route53: Any, zone_name: str) -> dict[str, str]:
    zones = [
        z
        for page in route53.get_paginator("list_hosted_zones").paginate()
        for z in page["HostedZones"]
        if z["Name"].rstrip(".") == zone_name
    ]
    records: dict[str, str] = {}
    for zone in zones:
        for page in route53.get_paginator("list_resource_record_sets").paginate(HostedZoneId=zone["Id"]):
            for record in page["ResourceRecordSets"]:
                if record["Type"] == "CNAME":
                    records[record["Name"]] = record["ResourceRecords"][0]["Value"]
    return records


def kube_items(kube: Any, path: str) -> list[dict[str, Any]]:
    """Every item of a cluster-wide list, page by page (`continue`), with lambda/k8s_api's KubeClient."""
    items: list[dict[str, Any]] = []
    token = ""
    while True:
        _, body = kube.request("GET", path, query={"limit": "100", **({"continue": token} if token else {})})
        items += list((body or {}).get("items", []))
        token = str((body or {}).get("metadata", {}).get("continue") or "")
        if not token:
            return items
