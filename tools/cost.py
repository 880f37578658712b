#!/usr/bin/env python3
"""`make cost`: the monthly cost of the deployment as synthesized, line by line, for one region.

Everything is counted from the synthesized templates (node groups, NAT gateways, endpoints, zones, the
client host) and from the Kubernetes objects the app emits (one Lattice service per HTTPRoute). Prices come
from tools/prices.json; the EKS control-plane price and support calendar from config/versions.py.

    python tools/cost.py [--region R] [--gb 100] [--requests 3000000] [--log-gb 1] [--json]

Exit status 2, with one line on stderr, for an unknown region or an instance type without a price.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import re
import sys
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from config import ConfigError, parse_context  # noqa: E402
from config.versions import EKS_EXTENDED_HOURLY_USD, EKS_STANDARD_HOURLY_USD, EKS_VERSIONS  # noqa: E402

PRICES_FILE = Path(__file__).resolve().parent / "prices.json"
DEFAULT_REGION = "ap-northeast-2"
DEFAULT_GB = 100.0
DEFAULT_REQUESTS = 3_000_000
DEFAULT_LOG_GB = 1.0
K8S_RESOURCE = "Custom::AWSCDK-EKS-KubernetesResource"
# Network Load Balancer capacity unit (TCP): 1 GB processed per hour, 800 new connections per second or
# 100,000 active connections, whichever is highest. Assumption: traffic is spread evenly over the month
# and every request opens a new connection (no keep-alive), so processed bytes set the LCU count.
NLB_LCU_GB_PER_HOUR = 1.0
NLB_LCU_NEW_CONNECTIONS_PER_SECOND = 800.0

Template = Mapping[str, Any]


class CostError(Exception):
    """A problem reported in one line (exit status 2)."""


@dataclass(frozen=True, kw_only=True)
class Line:
    key: str
    item: str
    quantity: float
    unit: str
    unit_usd: float
    monthly_usd: float
    note: str = ""
    assumption: bool = False  # the figure depends on a usage guess, not only on what is deployed


@dataclass(frozen=True, kw_only=True)
class FreeTier:
    """Lattice requests under AWS's per-hour allowance and under the tutorial's per-month reading."""

    requests_per_month: int
    free_per_hour: int
    billable_per_hour_reading: float
    usd_per_hour_reading: float
    billable_per_month_reading: float
    usd_per_month_reading: float
    difference_usd: float


@dataclass(frozen=True, kw_only=True)
class Comparison:
    """The same exposure with one Network Load Balancer per cluster instead of Lattice."""

    clusters: int
    lcu_per_hour: float
    monthly_usd: float
    lattice_monthly_usd: float
    lcu_assumption: str


@dataclass(frozen=True, kw_only=True)
class Estimate:
    region: str
    hours_per_month: int
    gb: float
    requests: int
    lines: list[Line]
    free_tier: FreeTier
    nlb: Comparison
    warnings: list[str] = field(default_factory=list)
    # consumer name -> its standing monthly cost (billed to the consumer's account), from its lines above
    consumers: dict[str, float] = field(default_factory=dict)

    @property
    def total_usd(self) -> float:
        return round(sum(line.monthly_usd for line in self.lines), 2)

    @property
    def usage_usd(self) -> float:
        """The lines that depend on the usage flags (--gb, --requests, --log-gb ...), marked *."""
        return round(sum(line.monthly_usd for line in self.lines if line.assumption), 2)

    @property
    def standing_usd(self) -> float:
        """What the deployed resources cost whatever the traffic: the total less the usage lines."""
        return round(self.total_usd - self.usage_usd, 2)

    def to_json(self) -> dict[str, Any]:
        return {
            "region": self.region,
            "hours_per_month": self.hours_per_month,
            "traffic": {"gb": self.gb, "requests": self.requests},
            "lines": [asdict(line) for line in self.lines],
            "total_monthly_usd": self.total_usd,
            "standing_monthly_usd": self.standing_usd,
            "usage_monthly_usd": self.usage_usd,
            "lattice_free_tier": asdict(self.free_tier),
            "nlb_comparison": asdict(self.nlb),
            "consumers_monthly_usd": self.consumers,
            "warnings": self.warnings,
        }


# ------------------------------------------------------------------------------------------------ prices


def load_prices(path: Path = PRICES_FILE) -> dict[str, Any]:
    prices: dict[str, Any] = json.loads(path.read_text())
    return prices


def region_prices(prices: Mapping[str, Any], region: str) -> dict[str, Any]:
    regions: dict[str, Any] = prices["regions"]
    if region not in regions:
        raise CostError(f"no prices for region {region!r}; known regions: {', '.join(sorted(regions))}")
    table: dict[str, Any] = regions[region]
    return table


def _usd(table: Mapping[str, Any], key: str) -> float:
    return float(table[key]["usd"])


def _instance_usd(table: Mapping[str, Any], instance_type: str, region: str) -> float:
    known: dict[str, Any] = table["ec2_hour"]
    if instance_type not in known:
        raise CostError(
            f"no price for instance type {instance_type!r} in {region} (tools/prices.json knows: "
            f"{', '.join(sorted(known))})"
        )
    return float(known[instance_type]["usd"])


# ---------------------------------------------------------------------------------------------- counting


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


def _target_health_lines(
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
            _usd(table, "cloudwatch_custom_metric_month"),
            note="2 per route and app, 2 per cluster",
        ),
        _line(
            "target_health_invocations",
            f"Target-health publisher runs (every {min(minutes)} min)" if minutes else "Target-health publisher runs",
            round(runs / 1_000_000, 4),
            "million requests",
            _usd(table, "lambda_million_requests"),
            note="Lambda's free tier covers 1 million requests a month",
        ),
        _line(
            "target_health_duration",
            "Target-health publisher duration",
            round(runs * TARGET_HEALTH_SECONDS_PER_RUN * memory_gb),
            "GB-seconds",
            _usd(table, "lambda_arm_gb_second"),
            note=f"assumes {TARGET_HEALTH_SECONDS_PER_RUN:g} s a run at {memory_gb * 1024:.0f} MB; 400,000 GB-s free",
            guess=True,
        ),
        _line(
            "target_health_api_calls",
            f"Target-health CloudWatch API requests ({per_run} a run)",
            round(runs * per_run / 1000, 1),
            "thousand requests",
            _usd(table, "cloudwatch_api_1k_requests"),
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


def _launch_template_types(template: Template, nodegroup: Mapping[str, Any]) -> list[str]:
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


# The certificate options of HTTPS and gRPC routes (README: Certificates), `--certificate`. A private name (like
# example.com) gets a public certificate only if you own that public domain; else a private CA in
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


# -------------------------------------------------------------------------------------------- estimating


def lattice_free_tier(requests: int, *, hours: int, free_per_hour: int, usd_per_million: float) -> FreeTier:
    per_hour = requests / hours
    billable_hourly = max(0.0, per_hour - free_per_hour) * hours
    billable_monthly = max(0.0, requests - free_per_hour)  # the tutorial: 300,000 free per month
    usd_hourly = round(billable_hourly / 1e6 * usd_per_million, 2)
    usd_monthly = round(billable_monthly / 1e6 * usd_per_million, 2)
    return FreeTier(
        requests_per_month=requests,
        free_per_hour=free_per_hour,
        billable_per_hour_reading=billable_hourly,
        usd_per_hour_reading=usd_hourly,
        billable_per_month_reading=billable_monthly,
        usd_per_month_reading=usd_monthly,
        difference_usd=round(usd_monthly - usd_hourly, 2),
    )


def estimate(
    templates: Mapping[str, Template],
    *,
    region: str,
    gb: float = DEFAULT_GB,
    requests: int = DEFAULT_REQUESTS,
    nat_gb: float | None = None,
    log_gb: float = DEFAULT_LOG_GB,
    today: dt.date | None = None,
    prices: Mapping[str, Any] | None = None,
    config: Any = None,
    certificate: str = DEFAULT_CERTIFICATE,
) -> Estimate:
    """The monthly estimate. `config` (an AppConfig) is only a cross-check and a fallback when no HTTPRoute
    or cluster version can be read from the templates."""
    prices = prices if prices is not None else load_prices()
    table = region_prices(prices, region)
    # Consumer accounts' stacks (issue 13) are priced on their own lines below, one group per consumer.
    consumer_templates = {name: t for name, t in templates.items() if _is_consumer(t)}
    templates = {name: t for name, t in templates.items() if name not in consumer_templates}
    hours = int(prices["hours_per_month"])
    today = today or dt.date.today()
    nat_gb = gb if nat_gb is None else nat_gb
    lines: list[Line] = []
    warnings: list[str] = []

    def add(
        key: str, item: str, quantity: float, unit: str, unit_usd: float, *, note: str = "", guess: bool = False
    ) -> None:
        lines.append(
            Line(
                key=key,
                item=item,
                quantity=quantity,
                unit=unit,
                unit_usd=unit_usd,
                monthly_usd=round(quantity * unit_usd, 2),
                note=note,
                assumption=guess,
            )
        )

    # EKS control plane: one per AWS::EKS::Cluster, standard or extended by the version and today's date.
    clusters = list(resources(templates, "AWS::EKS::Cluster"))
    version = kubernetes_version(templates, getattr(config, "kubernetes_version", None))
    if clusters and version:
        hourly, why = eks_hourly(version, today)
        add("eks_control_plane", "EKS control plane", len(clusters) * hours, "cluster-hours", hourly, note=why)

    # Managed node groups: desired size x on-demand price of the (first) instance type.
    for stack, logical_id, props in resources(templates, "AWS::EKS::Nodegroup"):
        # EKS's default is t3.medium when neither the node group nor its launch template names a type.
        types = props.get("InstanceTypes") or _launch_template_types(templates[stack], props) or ["t3.medium"]
        desired = int(props.get("ScalingConfig", {}).get("DesiredSize", 2))
        name = props.get("NodegroupName", logical_id)
        if len(types) > 1:
            warnings.append(f"node group {name}: several instance types, priced as {types[0]}")
        add(
            "nodes",
            f"EKS nodes ({name}: {desired} x {types[0]})",
            desired * hours,
            "instance-hours",
            _instance_usd(table, str(types[0]), region),
        )

    # NAT gateways: hourly, plus data processed.
    nats = sum(1 for _ in resources(templates, "AWS::EC2::NatGateway"))
    if nats:
        add("nat_hours", f"NAT gateways ({nats})", nats * hours, "gateway-hours", _usd(table, "nat_gateway_hour"))
        add(
            "nat_gb",
            "NAT gateway data processed",
            nat_gb,
            "GB",
            _usd(table, "nat_gateway_gb"),
            note="assumes --nat-gb (default: --gb) leaves through the NAT",
            guess=True,
        )
    eips = sum(1 for _ in resources(templates, "AWS::EC2::EIP"))
    if eips:
        add(
            "public_ipv4",
            f"Public IPv4 addresses ({eips} Elastic IP)",
            eips * hours,
            "IP-hours",
            _usd(table, "public_ipv4_hour"),
        )

    # VPC Lattice: one service per HTTPRoute, data processed, requests beyond the per-hour allowance.
    routes = count_http_routes(templates)
    http_only = sum(1 for obj in emitted_objects(templates) if obj.get("kind") == "HTTPRoute")
    if config is not None:
        from constructs.workload.manifests import workload_objects  # noqa: PLC0415

        expected = sum(1 for o in workload_objects(config) if o.get("kind") in ROUTE_KINDS)
        if routes == 0 and expected:
            warnings.append(f"no HTTPRoute found in the templates; counted {expected} from the configuration")
            routes = expected
        elif routes != expected:
            warnings.append(f"templates emit {routes} HTTPRoute(s), the configuration has {expected}")
    free = lattice_free_tier(
        requests,
        hours=hours,
        free_per_hour=int(_usd(table, "lattice_free_requests_per_hour")),
        usd_per_million=_usd(table, "lattice_million_requests"),
    )
    if routes:
        add(
            "lattice_services",
            f"Lattice services ({routes} {'HTTPRoute' if routes == http_only else 'routes'})",
            routes * hours,
            "service-hours",
            _usd(table, "lattice_service_hour"),
            note="service networks and VPC associations: no charge",
        )
        if terminating := count_tls_terminating_routes(templates):
            key, what = CERTIFICATE_OPTIONS[certificate]
            add(
                "certificates",
                f"Certificates: {what}",
                1,
                "month",
                _usd(table, key),
                note=f"{terminating} HTTPS/gRPC route(s); --certificate {certificate} (README: Certificates)",
            )
        add("lattice_gb", "Lattice data processed", gb, "GB", _usd(table, "lattice_gb"), note="--gb", guess=True)
        lines.append(
            Line(
                key="lattice_requests",
                item="Lattice requests",
                quantity=free.billable_per_hour_reading / 1e6,
                unit="million billable requests",
                unit_usd=_usd(table, "lattice_million_requests"),
                monthly_usd=free.usd_per_hour_reading,
                note=f"{requests:,} a month, first {free.free_per_hour:,} each hour free",
                assumption=True,
            )
        )

    zones = sum(1 for _ in resources(templates, "AWS::Route53::HostedZone"))
    if zones:
        add(
            "route53_zones", f"Route 53 hosted zones ({zones})", zones, "zone-months", _usd(table, "route53_zone_month")
        )

    for stack, _logical_id, props in resources(templates, "AWS::EC2::Instance"):
        instance_type = instance_type_of(templates[stack], props)
        add(
            "client_host",
            f"EC2 test host ({instance_type}, {stack})",  # by its stack: the logical id means nothing to a reader
            hours,
            "instance-hours",
            _instance_usd(table, instance_type, region),
        )

    endpoint_azs = 0
    endpoints = 0
    for _stack, _logical_id, props in resources(templates, "AWS::EC2::VPCEndpoint"):
        if props.get("VpcEndpointType") == "Interface":
            endpoints += 1
            endpoint_azs += max(1, len(props.get("SubnetIds", [])))
    if endpoints:
        add(
            "vpc_endpoints",
            f"VPC interface endpoints ({endpoints}, {endpoint_azs} endpoint-AZs)",
            endpoint_azs * hours,
            "endpoint-AZ-hours",
            _usd(table, "vpc_endpoint_az_hour"),
            note="gateway endpoints (S3) are free",
        )

    log_groups = sum(1 for _ in resources(templates, "AWS::Logs::LogGroup"))
    if log_groups or clusters:
        add(
            "logs_ingest",
            "CloudWatch Logs ingestion",
            log_gb,
            "GB",
            _usd(table, "logs_ingest_gb"),
            note=f"{log_groups} log groups + EKS control-plane logs; assumes --log-gb; storage not priced",
            guess=True,
        )

    # CloudWatch dashboard and alarms, the alarm topic's key, saved queries (constructs/observability/monitoring.py).
    dashboards = sum(1 for _ in resources(templates, "AWS::CloudWatch::Dashboard"))
    if dashboards:
        add(
            "cloudwatch_dashboards",
            f"CloudWatch dashboards ({dashboards})",
            dashboards,
            "dashboard-months",
            _usd(table, "cloudwatch_dashboard_month"),
            note="the first 3 in an account are free",
        )
    alarms = [props for _stack, _id, props in resources(templates, "AWS::CloudWatch::Alarm")]
    if alarms:
        add(
            "cloudwatch_alarms",
            f"CloudWatch alarms ({len(alarms)})",
            sum(alarm_metrics(props) for props in alarms),
            "alarm-metrics",
            _usd(table, "cloudwatch_alarm_metric_month"),
            note="billed per metric an alarm reads: a metric-math alarm (the 5XX rate: errors / requests) reads "
            "several; standard resolution; a Metrics Insights alarm counted as one series",
        )
    lines += _target_health_lines(templates, table, hours=hours, alarms=alarms)
    # Every customer-managed key costs its monthly fee: the cluster's secrets key, the logs key, the alarm topic's.
    keys = sum(1 for _ in resources(templates, "AWS::KMS::Key"))
    if keys:
        add(
            "kms_keys",
            f"KMS customer-managed keys ({keys})",
            keys,
            "key-months",
            _usd(table, "kms_key_month"),
            note="requests: 20,000 a month free; alarm email: first 1,000 a month free, then "
            f"${_usd(table, 'sns_email_100k'):g} per 100,000",
        )
    queries = sum(1 for _ in resources(templates, "AWS::Logs::QueryDefinition"))
    if queries:
        add(
            "query_definitions",
            f"Saved Logs Insights queries ({queries})",
            queries,
            "queries",
            _usd(table, "logs_query_definition_month"),
            note="free to keep; running one is billed per GB scanned",
        )
    consumers: dict[str, float] = {}
    for stack_name, template in sorted(consumer_templates.items()):
        consumer_lines = _consumer_lines(stack_name, template, table, hours=hours, region=region)
        lines += consumer_lines
        consumers[consumer_lines[0].key.split(":")[1]] = round(sum(line.monthly_usd for line in consumer_lines), 2)

    # The comparison: one NLB per cluster carrying the same traffic.
    per_hour_gb = gb / hours
    new_connections_per_second = requests / hours / 3600
    lcu = max(per_hour_gb / NLB_LCU_GB_PER_HOUR, new_connections_per_second / NLB_LCU_NEW_CONNECTIONS_PER_SECOND)
    nlb_clusters = max(1, len(clusters))
    nlb_usd = round(nlb_clusters * hours * (_usd(table, "nlb_hour") + lcu * _usd(table, "nlb_lcu_hour")), 2)
    lattice_usd = round(sum(line.monthly_usd for line in lines if line.key.startswith("lattice_")), 2)
    nlb = Comparison(
        clusters=nlb_clusters,
        lcu_per_hour=round(lcu, 4),
        monthly_usd=nlb_usd,
        lattice_monthly_usd=lattice_usd,
        lcu_assumption=(
            "1 LCU = 1 GB/h processed or 800 new connections/s; traffic spread evenly over 730 h, "
            "one connection per request"
        ),
    )
    return Estimate(
        region=region,
        hours_per_month=hours,
        gb=gb,
        requests=requests,
        lines=lines,
        free_tier=free,
        nlb=nlb,
        warnings=warnings,
        consumers=consumers,
    )


ZONE_ASSOCIATION = "Custom::CrossAccountZoneAssociation"

# The resource types estimate() prices (a line each, read from the templates). Every other type the app
# synthesizes must be in FREE_TYPES with the reason it adds no standing cost and the pricing page that says so
# (tests/test_cost.py checks every type of every synthesized variant; `make fuzz` the generated ones). The pages
# are named, not copied: re-read them with tools/prices.json's next refresh (named 2026-12-05).
PRICED_TYPES = frozenset({
    "AWS::EKS::Cluster", "AWS::EKS::Nodegroup", "AWS::EC2::NatGateway", "AWS::EC2::EIP", "AWS::Route53::HostedZone",
    "AWS::EC2::Instance", "AWS::EC2::VPCEndpoint", "AWS::Logs::LogGroup", "AWS::CloudWatch::Dashboard",
    "AWS::CloudWatch::Alarm", "AWS::KMS::Key", "AWS::Logs::QueryDefinition",
    "AWS::VpcLattice::ServiceNetworkVpcAssociation", ZONE_ASSOCIATION,
    # Lattice services and SNS are priced from what creates them: one service per emitted HTTPRoute, the
    # alarm email per message.
    "Custom::AWSCDK-EKS-KubernetesResource", "AWS::SNS::Topic", "AWS::SNS::Subscription",
})  # fmt: skip
_IAM = "https://aws.amazon.com/iam/faqs/ (IAM is offered at no additional charge)"
_VPC = "https://aws.amazon.com/vpc/pricing/ (no charge to create and use a VPC; charged: NAT, endpoints, IPv4)"
_EKS = "https://aws.amazon.com/eks/pricing/ (charged per cluster hour and for the compute; add-ons, access entries "
_EKS += "and Pod Identity add no charge)"
_LAMBDA = "https://aws.amazon.com/lambda/pricing/ (per request and GB-second only: custom resources run at deploy)"
_SFN = "https://aws.amazon.com/step-functions/pricing/ (per state transition only: the provider framework's waits)"
_CFN = "https://aws.amazon.com/cloudformation/pricing/ (no charge for AWS:: resources; custom resources run Lambda)"
_LATTICE = "https://aws.amazon.com/vpc/lattice/pricing/ (charged per service hour, GB and request: priced above)"
FREE_TYPES: dict[str, str] = {
    **dict.fromkeys(("AWS::IAM::Role", "AWS::IAM::Policy", "AWS::IAM::ManagedPolicy",
                     "AWS::IAM::InstanceProfile"), _IAM),
    **dict.fromkeys(("AWS::EC2::VPC", "AWS::EC2::Subnet", "AWS::EC2::RouteTable", "AWS::EC2::Route",
                     "AWS::EC2::SubnetRouteTableAssociation", "AWS::EC2::InternetGateway",
                     "AWS::EC2::VPCGatewayAttachment", "AWS::EC2::SecurityGroup", "AWS::EC2::SecurityGroupIngress",
                     "AWS::EC2::SecurityGroupEgress", "AWS::EC2::LaunchTemplate"), _VPC),
    "AWS::EC2::FlowLog": "https://aws.amazon.com/cloudwatch/pricing/ (flow logs are billed as vended log ingestion: "
    "the Logs ingest line)",
    **dict.fromkeys(("AWS::EKS::Addon", "AWS::EKS::AccessEntry", "AWS::EKS::PodIdentityAssociation"), _EKS),
    **dict.fromkeys(("AWS::Lambda::Function", "AWS::Lambda::LayerVersion", "AWS::Lambda::Permission",
                     "AWS::Lambda::EventInvokeConfig"), _LAMBDA),
    "AWS::StepFunctions::StateMachine": _SFN,
    "AWS::SSM::Parameter": "https://aws.amazon.com/systems-manager/pricing/ (standard parameters: no charge)",
    "AWS::Events::Rule": "https://aws.amazon.com/eventbridge/pricing/ (scheduled rules: no charge for the schedule)",
    **dict.fromkeys(("AWS::VpcLattice::ServiceNetwork", "AWS::VpcLattice::AuthPolicy",
                     "AWS::VpcLattice::AccessLogSubscription", "AWS::VpcLattice::ResourcePolicy"), _LATTICE),
    **dict.fromkeys(("AWS::RAM::ResourceShare", "AWS::RAM::Permission"),
                    "https://aws.amazon.com/ram/pricing/ (no additional charge)"),
    "AWS::SNS::TopicPolicy": "https://aws.amazon.com/sns/pricing/ (charged per message delivered: priced above)",
    **dict.fromkeys(("AWS::CDK::Metadata", "AWS::CloudFormation::WaitConditionHandle"), _CFN),
    **dict.fromkeys(("Custom::AWSCDK-EKS-HelmChart", "Custom::AWS", "Custom::VpcRestrictDefaultSG",
                     "Custom::FinalizerGuard", "Custom::ControllerCredentials", "Custom::LatticeDnsRecord",
                     "Custom::GatewayApiCrds", "Custom::LatticeMetricIds", "Custom::LatticeServiceNetworkDrain",
                     "Custom::PrivateZoneSweep", "Custom::ExistingVpc", "Custom::LatticeShareAcceptance",
                     "Custom::LatticeServiceSweep", "Custom::RamShareAssociation", "Custom::PodCredentials",
                     "AWS::CloudFormation::CustomResource"), _CFN),
}  # fmt: skip


def unpriced_types(templates: Mapping[str, Template]) -> list[str]:
    """Resource types in `templates` that are neither priced nor listed free (each must be one or the other)."""
    found = {r.get("Type", "") for t in templates.values() for r in t.get("Resources", {}).values()}
    return sorted(found - PRICED_TYPES - set(FREE_TYPES))


def _is_consumer(template: Template) -> bool:
    return any(r.get("Type") == ZONE_ASSOCIATION for r in template.get("Resources", {}).values())


def _consumer_lines(stack: str, template: Template, table: Mapping[str, Any], *, hours: int, region: str) -> list[Line]:
    """One consumer's standing cost: its VPC association, endpoints, test host and DNS sharing."""
    name = stack.rsplit("-Consumer-", 1)[-1]
    only = {stack: template}
    lines: list[Line] = []

    def add(part: str, item: str, quantity: float, unit: str, unit_usd: float, *, note: str = "") -> None:
        lines.append(
            Line(
                key=f"consumer:{name}:{part}",
                item=f"[{name}] {item}",
                quantity=quantity,
                unit=unit,
                unit_usd=unit_usd,
                monthly_usd=round(quantity * unit_usd, 2),
                note=note,
            )
        )

    associations = sum(1 for _ in resources(only, "AWS::VpcLattice::ServiceNetworkVpcAssociation"))
    add(
        "association",
        "Lattice VPC association",
        associations,
        "associations",
        0.0,
        note="no charge; cross-account traffic in one region costs only the service's GB and request prices",
    )
    endpoint_azs = sum(
        max(1, len(props.get("SubnetIds", [])))
        for _s, _l, props in resources(only, "AWS::EC2::VPCEndpoint")
        if props.get("VpcEndpointType") == "Interface"
    )
    if endpoint_azs:
        add(
            "endpoints",
            "SSM interface endpoints",
            endpoint_azs * hours,
            "endpoint-AZ-hours",
            _usd(table, "vpc_endpoint_az_hour"),
        )
    for host_stack, _l, props in resources(only, "AWS::EC2::Instance"):
        instance_type = instance_type_of(only[host_stack], props)
        add(
            "test_host",
            f"test host ({instance_type})",
            hours,
            "instance-hours",
            _instance_usd(table, instance_type, region),
        )
    profile = _usd(table, "route53_profile_account_hour") * hours
    add(
        "dns",
        "DNS: cross-account private-zone association",
        sum(1 for _ in resources(only, ZONE_ASSOCIATION)),
        "associations",
        0.0,
        note=f"no charge; a Route 53 Profile shared through RAM would cost ${profile:.2f}/month in this account",
    )
    return lines


# -------------------------------------------------------------------------------------------------- output


def render(est: Estimate) -> list[str]:
    out = [
        f"Monthly cost, {est.region}, {est.hours_per_month} h/month; "
        f"Lattice traffic {est.gb:g} GB, {est.requests:,} requests"
    ]
    width = max(len(line.item) for line in est.lines) if est.lines else 10
    for line in est.lines:
        flag = " *" if line.assumption else ""
        qty = f"{line.quantity:,.4g}" if line.quantity < 1 else f"{line.quantity:,.0f}"
        note = f"  ({line.note})" if line.note else ""
        out.append(
            f"  {line.item:<{width}} {qty:>7} {line.unit:<25} x ${line.unit_usd:<6g} "
            f"= ${line.monthly_usd:>7.2f}{flag}{note}"
        )
    out.append(
        f"  {'TOTAL':<{width}} {'':>7} {'':<25}   {'':<7}   ${est.total_usd:>7.2f}  (* = depends on usage flags)"
    )
    out.append(
        f"  of which standing ${est.standing_usd:.2f} (whatever the traffic) and usage ${est.usage_usd:.2f} "
        "(the * lines, at the assumed usage)"
    )
    ft = est.free_tier
    out.append(
        f"Lattice request allowance: AWS's {ft.free_per_hour:,} free per HOUR -> ${ft.usd_per_hour_reading:.2f}; "
        f"the tutorial's {ft.free_per_hour:,} free per MONTH -> ${ft.usd_per_month_reading:.2f} "
        f"(difference ${ft.difference_usd:.2f})"
    )
    nlb = est.nlb
    out.append(
        f"Comparison: one NLB per cluster ({nlb.clusters}) instead of Lattice: ${nlb.monthly_usd:.2f}/month "
        f"vs Lattice ${nlb.lattice_monthly_usd:.2f}/month ({nlb.lcu_per_hour:g} LCU/h; {nlb.lcu_assumption})"
    )
    for name, usd in est.consumers.items():
        out.append(f"Consumer {name}: ${usd:.2f}/month standing cost, billed to its own account (lines [{name}])")
    out += [f"warning: {w}" for w in est.warnings]
    return out


def default_region(regions: Mapping[str, str]) -> str:
    return next(iter(regions.values()), DEFAULT_REGION)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--region", help=f"price region (default: the stacks' region, else {DEFAULT_REGION})")
    parser.add_argument("--gb", type=float, default=DEFAULT_GB, help="GB a month through Lattice (default 100)")
    parser.add_argument("--requests", type=int, default=DEFAULT_REQUESTS, help="requests a month (default 3,000,000)")
    parser.add_argument("--nat-gb", type=float, default=None, help="GB a month through the NAT (default: --gb)")
    parser.add_argument("--log-gb", type=float, default=DEFAULT_LOG_GB, help="GB of logs ingested a month (default 1)")
    parser.add_argument("--date", type=dt.date.fromisoformat, default=None, help="today, for the EKS support calendar")
    parser.add_argument("--cdk-out", type=Path, default=ROOT / "cdk.out", help="cloud assembly to read if fresh")
    parser.add_argument(
        "--certificate",
        choices=sorted(CERTIFICATE_OPTIONS),
        default=DEFAULT_CERTIFICATE,
        help=f"certificate option of HTTPS and gRPC routes (default {DEFAULT_CERTIFICATE}; README: Certificates)",
    )
    parser.add_argument("--json", action="store_true", help="machine-readable output")
    args = parser.parse_args(argv)
    try:
        prices = load_prices()
        if args.region:  # fail fast, before any synthesis
            region_prices(prices, args.region)
        from tools import synth  # noqa: PLC0415

        assembly = synth.load(outdir=args.cdk_out, emit=lambda m: print(m, file=sys.stderr))

        today = args.date or dt.date.today()
        config = parse_context(synth.cdk_json_context(), today=today)
        est = estimate(
            assembly.templates,
            region=args.region or default_region(assembly.regions),
            gb=args.gb,
            requests=args.requests,
            nat_gb=args.nat_gb,
            log_gb=args.log_gb,
            today=today,
            prices=prices,
            config=config,
            certificate=args.certificate,
        )
    except (CostError, ConfigError) as err:
        print(f"cost: {err}", file=sys.stderr)
        return 2
    if args.json:
        print(json.dumps(est.to_json(), indent=2))
    else:
        print("\n".join(render(est)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
