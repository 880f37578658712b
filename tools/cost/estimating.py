"""The monthly estimate, line by line, with each consumer account's own lines."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

from tools.cost.catalog import ZONE_ASSOCIATION
from tools.cost.counting import (
    CERTIFICATE_OPTIONS,
    DEFAULT_CERTIFICATE,
    ROUTE_KINDS,
    alarm_metrics,
    count_http_routes,
    count_tls_terminating_routes,
    eks_hourly,
    emitted_objects,
    instance_type_of,
    kubernetes_version,
    launch_template_types,
    resources,
    target_health_lines,
)
from tools.cost.model import (
    DEFAULT_GB,
    DEFAULT_LOG_GB,
    DEFAULT_REQUESTS,
    NLB_LCU_GB_PER_HOUR,
    NLB_LCU_NEW_CONNECTIONS_PER_SECOND,
    Comparison,
    Estimate,
    FreeTier,
    Line,
    Template,
)
from tools.cost.prices import instance_usd, load_prices, region_prices, usd


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
        types = props.get("InstanceTypes") or launch_template_types(templates[stack], props) or ["t3.medium"]
        desired = int(props.get("ScalingConfig", {}).get("DesiredSize", 2))
        name = props.get("NodegroupName", logical_id)
        if len(types) > 1:
            warnings.append(f"node group {name}: several instance types, priced as {types[0]}")
        add(
            "nodes",
            f"EKS nodes ({name}: {desired} x {types[0]})",
            desired * hours,
            "instance-hours",
            instance_usd(table, str(types[0]), region),
        )

    # NAT gateways: hourly, plus data processed.
    nats = sum(1 for _ in resources(templates, "AWS::EC2::NatGateway"))
    if nats:
        add("nat_hours", f"NAT gateways ({nats})", nats * hours, "gateway-hours", usd(table, "nat_gateway_hour"))
        add(
            "nat_gb",
            "NAT gateway data processed",
            nat_gb,
            "GB",
            usd(table, "nat_gateway_gb"),
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
            usd(table, "public_ipv4_hour"),
        )

    # VPC Lattice: one service per HTTPRoute, data processed, requests beyond the per-hour allowance.
    routes = count_http_routes(templates)
    http_only = sum(1 for obj in emitted_objects(templates) if obj.get("kind") == "HTTPRoute")
    if config is not None:
        from constructs.workload import workload_objects  # noqa: PLC0415

        expected = sum(1 for o in workload_objects(config) if o.get("kind") in ROUTE_KINDS)
        if routes == 0 and expected:
            warnings.append(f"no HTTPRoute found in the templates; counted {expected} from the configuration")
            routes = expected
        elif routes != expected:
            warnings.append(f"templates emit {routes} HTTPRoute(s), the configuration has {expected}")
    free = lattice_free_tier(
        requests,
        hours=hours,
        free_per_hour=int(usd(table, "lattice_free_requests_per_hour")),
        usd_per_million=usd(table, "lattice_million_requests"),
    )
    if routes:
        add(
            "lattice_services",
            f"Lattice services ({routes} {'HTTPRoute' if routes == http_only else 'routes'})",
            routes * hours,
            "service-hours",
            usd(table, "lattice_service_hour"),
            note="service networks and VPC associations: no charge",
        )
        if terminating := count_tls_terminating_routes(templates):
            key, what = CERTIFICATE_OPTIONS[certificate]
            add(
                "certificates",
                f"Certificates: {what}",
                1,
                "month",
                usd(table, key),
                note=f"{terminating} HTTPS/gRPC route(s); --certificate {certificate} "
                "(docs/protocols.md: Certificates)",
            )
        add("lattice_gb", "Lattice data processed", gb, "GB", usd(table, "lattice_gb"), note="--gb", guess=True)
        lines.append(
            Line(
                key="lattice_requests",
                item="Lattice requests",
                quantity=free.billable_per_hour_reading / 1e6,
                unit="million billable requests",
                unit_usd=usd(table, "lattice_million_requests"),
                monthly_usd=free.usd_per_hour_reading,
                note=f"{requests:,} a month, first {free.free_per_hour:,} each hour free",
                assumption=True,
            )
        )

    zones = sum(1 for _ in resources(templates, "AWS::Route53::HostedZone"))
    if zones:
        add("route53_zones", f"Route 53 hosted zones ({zones})", zones, "zone-months", usd(table, "route53_zone_month"))

    for stack, _logical_id, props in resources(templates, "AWS::EC2::Instance"):
        instance_type = instance_type_of(templates[stack], props)
        add(
            "client_host",
            f"EC2 test host ({instance_type}, {stack})",  # by its stack: the logical id means nothing to a reader
            hours,
            "instance-hours",
            instance_usd(table, instance_type, region),
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
            usd(table, "vpc_endpoint_az_hour"),
            note="gateway endpoints (S3) are free",
        )

    log_groups = sum(1 for _ in resources(templates, "AWS::Logs::LogGroup"))
    if log_groups or clusters:
        add(
            "logs_ingest",
            "CloudWatch Logs ingestion",
            log_gb,
            "GB",
            usd(table, "logs_ingest_gb"),
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
            usd(table, "cloudwatch_dashboard_month"),
            note="the first 3 in an account are free",
        )
    alarms = [props for _stack, _id, props in resources(templates, "AWS::CloudWatch::Alarm")]
    if alarms:
        add(
            "cloudwatch_alarms",
            f"CloudWatch alarms ({len(alarms)})",
            sum(alarm_metrics(props) for props in alarms),
            "alarm-metrics",
            usd(table, "cloudwatch_alarm_metric_month"),
            note="billed per metric an alarm reads: a metric-math alarm (the 5XX rate: errors / requests) reads "
            "several; standard resolution; a Metrics Insights alarm counted as one series",
        )
    lines += target_health_lines(templates, table, hours=hours, alarms=alarms)
    # Every customer-managed key costs its monthly fee: the cluster's secrets key, the logs key, the alarm topic's.
    keys = sum(1 for _ in resources(templates, "AWS::KMS::Key"))
    if keys:
        add(
            "kms_keys",
            f"KMS customer-managed keys ({keys})",
            keys,
            "key-months",
            usd(table, "kms_key_month"),
            note="requests: 20,000 a month free; alarm email: first 1,000 a month free, then "
            f"${usd(table, 'sns_email_100k'):g} per 100,000",
        )
    queries = sum(1 for _ in resources(templates, "AWS::Logs::QueryDefinition"))
    if queries:
        add(
            "query_definitions",
            f"Saved Logs Insights queries ({queries})",
            queries,
            "queries",
            usd(table, "logs_query_definition_month"),
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
    nlb_usd = round(nlb_clusters * hours * (usd(table, "nlb_hour") + lcu * usd(table, "nlb_lcu_hour")), 2)
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
            usd(table, "vpc_endpoint_az_hour"),
        )
    for host_stack, _l, props in resources(only, "AWS::EC2::Instance"):
        instance_type = instance_type_of(only[host_stack], props)
        add(
            "test_host",
            f"test host ({instance_type})",
            hours,
            "instance-hours",
            instance_usd(table, instance_type, region),
        )
    profile = usd(table, "route53_profile_account_hour") * hours
    add(
        "dns",
        "DNS: cross-account private-zone association",
        sum(1 for _ in resources(only, ZONE_ASSOCIATION)),
        "associations",
        0.0,
        note=f"no charge; a Route 53 Profile shared through RAM would cost ${profile:.2f}/month in this account",
    )
    return lines
