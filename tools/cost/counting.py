"""What the synthesized templates hold that costs money: resources, schedules, alarms' metrics, instance
types, the Kubernetes objects the app emits, and the cluster's version with its support calendar."""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from config.versions import EKS_EXTENDED_HOURLY_USD, EKS_STANDARD_HOURLY_USD, EKS_VERSIONS
from tools.cost.model import K8S_RESOURCE, CostError, Line, Template
from tools.cost.prices import usd


def resources(templates: Mapping[str, Template], resource_type: str) -> Iterator[tuple[str, str, dict[str, Any]]]:
    """(stack, logical id, properties) of every resource of one type, across all stacks."""
    for stack, template in templates.items():
        for logical_id, resource in template.get("Resources", {}).items():
            if resource.get("Type") == resource_type:
                yield stack, logical_id, resource.get("Properties", {})


# The target-health publisher (constructs/observability/target_health.py): its handler, and what one run costs in API
# requests (lambda/lattice_metrics/health.py): PutMetricData for the counts (up to 1,000 a call) and for the heartbeat,
# DescribeAlarms for the watched ids (its pages hold 50 alarms at most: botocore cloudwatch MaxRecords 1-100,
# default 50). Lattice's List* calls are not billed.
TARGET_HEALTH_HANDLER = "lattice_metrics.health.handler"
TARGET_HEALTH_SECONDS_PER_RUN = 1.0  # an estimate: a few paged List calls and two PutMetricData
# EventBridge rate expressions: rate(value unit), unit minute|minutes|hour|hours|day|days (EventBridge User Guide,
# "Rate expressions reference", https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-rate-expressions.html,
# read 2026-12-05). CDK writes whole hours and days in those units (rate(1 hour) for 60 minutes).
_RATE = re.compile(r"^rate\((\d+) (minute|hour|day)s?\)$")
_UNIT_MINUTES = {"minute": 1, "hour": 60, "day": 1440}


def rate_minutes(expression: str) -> int:
    """The interval of a rate() schedule in minutes; a ValueError naming it for any other expression (a
    schedule left unpriced would read as free)."""
    m = _RATE.match(expression)
    if m is None:
        raise ValueError(f"cost: cannot price the schedule {expression!r} (expected rate(<n> minutes|hours|days))")
    return int(m.group(1)) * _UNIT_MINUTES[m.group(2)]


def target_health_lines(
    templates: Mapping[str, Template], table: Mapping[str, Any], *, hours: int, alarms: Sequence[Mapping[str, Any]]
) -> list[Line]:
    functions = {
        logical_id: props
        for _stack, logical_id, props in resources(templates, "AWS::Lambda::Function")
        if props.get("Handler") == TARGET_HEALTH_HANDLER
    }
    if not functions:
        return []
    minutes = []
    for _stack, _id, rule in resources(templates, "AWS::Events::Rule"):
        arns = json.dumps([t.get("Arn") for t in rule.get("Targets", [])])
        if any(logical_id in arns for logical_id in functions) and "ScheduleExpression" in rule:
            minutes.append(rate_minutes(rule["ScheduleExpression"]))
    runs = sum(hours * 60 / m for m in minutes)
    memory_gb = max(int(p.get("MemorySize", 128)) for p in functions.values()) / 1024
    pairs = sum(1 for props in alarms if _reads(props, "HealthyTargetCount"))
    metrics = 2 * pairs + 2  # healthy and unhealthy per (route, app); stale ids and the heartbeat per cluster
    per_run = 2 + max(1, -(-len(alarms) // 50))
    return [
        _line(
            "target_health_metrics",
            f"Target-health custom metrics ({pairs} route-app pairs)",
            metrics,
            "metric-months",
            usd(table, "cloudwatch_custom_metric_month"),
            note="2 per route and app, 2 per cluster",
        ),
        _line(
            "target_health_invocations",
            f"Target-health publisher runs (every {min(minutes)} min)" if minutes else "Target-health publisher runs",
            round(runs / 1_000_000, 4),
            "million requests",
            usd(table, "lambda_million_requests"),
            note="Lambda's free tier covers 1 million requests a month",
        ),
        _line(
            "target_health_duration",
            "Target-health publisher duration",
            round(runs * TARGET_HEALTH_SECONDS_PER_RUN * memory_gb),
            "GB-seconds",
            usd(table, "lambda_arm_gb_second"),
            note=f"assumes {TARGET_HEALTH_SECONDS_PER_RUN:g} s a run at {memory_gb * 1024:.0f} MB; 400,000 GB-s free",
            guess=True,
        ),
        _line(
            "target_health_api_calls",
            f"Target-health CloudWatch API requests ({per_run} a run)",
            round(runs * per_run / 1000, 1),
            "thousand requests",
            usd(table, "cloudwatch_api_1k_requests"),
            note="PutMetricData and DescribeAlarms; the first million a month are free; Lattice List calls are free",
        ),
    ]


def _reads(alarm: Mapping[str, Any], metric: str) -> bool:
    if alarm.get("MetricName") == metric:
        return True
    return any(q.get("MetricStat", {}).get("Metric", {}).get("MetricName") == metric for q in alarm.get("Metrics", []))


def _line(
    key: str, item: str, quantity: float, unit: str, unit_usd: float, *, note: str = "", guess: bool = False
) -> Line:
    return Line(key=key, item=item, quantity=quantity, unit=unit, unit_usd=unit_usd,
                monthly_usd=round(quantity * unit_usd, 2), note=note, assumption=guess)  # fmt: skip


def alarm_metrics(props: Mapping[str, Any]) -> int:
    """What CloudWatch bills an alarm for: each metric it reads (a metric-math alarm: every MetricStat; a
    Metrics Insights query: counted as one series), a single-metric alarm being one."""
    if "Metrics" not in props:
        return 1
    stats = sum(1 for q in props["Metrics"] if "MetricStat" in q)
    insights = sum(1 for q in props["Metrics"] if _literal_text(q.get("Expression")).lstrip().startswith("SELECT"))
    return max(1, stats + insights)


def _literal_text(node: Any) -> str:
    """The literal parts of a property, in order (an Fn::Join's strings), intrinsics left out."""
    if isinstance(node, str):
        return node
    if isinstance(node, list):
        return "".join(_literal_text(n) for n in node)
    if isinstance(node, dict):
        return "".join(_literal_text(v) for v in node.values())
    return ""


def instance_type_of(template: Template, props: Mapping[str, Any]) -> str:
    """An AWS::EC2::Instance's type: its own, else its launch template's (same stack), else EC2's m1.small."""
    if "InstanceType" in props:
        return str(props["InstanceType"])
    ref = props.get("LaunchTemplate", {}).get("LaunchTemplateId", {})
    if isinstance(ref, dict) and "Ref" in ref:
        launch = template.get("Resources", {}).get(ref["Ref"], {}).get("Properties", {})
        if "InstanceType" in launch.get("LaunchTemplateData", {}):
            return str(launch["LaunchTemplateData"]["InstanceType"])
    return "m1.small"


def launch_template_types(template: Template, nodegroup: Mapping[str, Any]) -> list[str]:
    """The instance type a node group's launch template (in the same stack) sets, if any."""
    ref = nodegroup.get("LaunchTemplate", {}).get("Id", {})
    lt = template.get("Resources", {}).get(ref.get("Ref", "")) if isinstance(ref, dict) else None
    instance_type = (lt or {}).get("Properties", {}).get("LaunchTemplateData", {}).get("InstanceType")
    return [instance_type] if isinstance(instance_type, str) else []


def _flatten_join(value: Any) -> str | None:
    """A CloudFormation string as text, with every token (Ref, GetAtt, ...) replaced by `0`.

    `0` keeps the JSON valid whether the token sat inside a string ("a0b") or stood as a value (: 0,).
    """
    if isinstance(value, str):
        return value
    if isinstance(value, dict) and set(value) == {"Fn::Join"}:
        separator, parts = value["Fn::Join"]
        texts = [_flatten_join(part) for part in parts]
        return str(separator).join("0" if text is None else text for text in texts)
    return None


def emitted_objects(templates: Mapping[str, Template]) -> list[dict[str, Any]]:
    """Every Kubernetes object in the templates' kubectl manifests (Manifest: JSON text, maybe with tokens)."""
    objects: list[dict[str, Any]] = []
    for _stack, _logical_id, props in resources(templates, K8S_RESOURCE):
        text = _flatten_join(props.get("Manifest"))
        if text is None:
            continue
        try:
            parsed = json.loads(text)
        except json.JSONDecodeError:
            # Last resort: count the kinds in the raw text.
            kinds = re.findall(r'"kind"\s*:\s*"([A-Za-z]+)"', text)
            parsed = [{"kind": kind} for kind in kinds]
        items = parsed if isinstance(parsed, list) else [parsed]
        for item in items:
            if isinstance(item, dict) and item.get("kind") == "List":
                objects += [i for i in item.get("items", []) if isinstance(i, dict)]
            elif isinstance(item, dict):
                objects.append(item)
    return objects


ROUTE_KINDS = ("HTTPRoute", "GRPCRoute", "TLSRoute")  # each one Lattice service (constructs/workload/routes.py)


def count_http_routes(templates: Mapping[str, Template]) -> int:
    """The routes the templates emit, of every kind (HTTPRoute, GRPCRoute, TLSRoute): one Lattice service each."""
    return sum(1 for obj in emitted_objects(templates) if obj.get("kind") in ROUTE_KINDS)


# The certificate options of HTTPS and gRPC routes (docs/protocols.md: Certificates), `--certificate`. A private
# name (like example.com) gets a public certificate only if you own that public domain; else a private CA in
# general-purpose mode: "AWS Certificate Manager cannot issue certificates signed by a private CA with short-lived
# mode" (AWS Private CA User Guide, short-lived-certificates.html, read 2026-12-05), and Lattice takes ACM
# certificates only (controller docs/guides/https.md), so a short-lived CA means importing a new certificate into
# ACM at least every 7 days. One CA serves every route. Private certificates "whose private key you cannot
# access are free" for ACM's integrated services (PcaPricing.html, read 2026-12-05); whether Lattice is one is
# unverified, so a per-certificate fee may come on top.
CERTIFICATE_OPTIONS = {
    "private-ca": ("private_ca_general_purpose_month", "AWS Private CA, general-purpose mode (one CA)"),
    "short-lived-ca": ("private_ca_short_lived_month", "AWS Private CA, short-lived mode (one CA; import weekly)"),
    "public": ("acm_public_certificate_month", "ACM public certificates (you own the public domain)"),
}
DEFAULT_CERTIFICATE = "private-ca"


def count_tls_terminating_routes(templates: Mapping[str, Template]) -> int:
    """Routes attached to an HTTPS listener of the Gateway (HTTPS and GRPC routes): those need a certificate."""
    objects = emitted_objects(templates)
    https = {
        listener.get("name")
        for obj in objects
        if obj.get("kind") == "Gateway"
        for listener in (obj.get("spec") or {}).get("listeners") or []
        if listener.get("protocol") == "HTTPS"
    }
    return sum(
        1
        for obj in objects
        if obj.get("kind") in ROUTE_KINDS
        and any(ref.get("sectionName") in https for ref in (obj.get("spec") or {}).get("parentRefs") or [])
    )


def kubernetes_version(templates: Mapping[str, Template], fallback: str | None) -> str | None:
    for _stack, _logical_id, props in resources(templates, "AWS::EKS::Cluster"):
        version = props.get("Version")
        if isinstance(version, str):
            return version
    return fallback


def eks_hourly(version: str, today: dt.date) -> tuple[float, str]:
    entry = EKS_VERSIONS.get(version)
    if entry is None:
        raise CostError(f"Kubernetes {version} is not on the EKS support calendar (config/versions.py)")
    if today <= entry.end_of_standard:
        return EKS_STANDARD_HOURLY_USD, f"Kubernetes {version}: standard support until {entry.end_of_standard}"
    if today <= entry.end_of_extended:
        return EKS_EXTENDED_HOURLY_USD, f"Kubernetes {version}: EXTENDED support until {entry.end_of_extended}"
    raise CostError(f"Kubernetes {version} left extended support on {entry.end_of_extended}")
