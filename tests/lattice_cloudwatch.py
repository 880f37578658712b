"""What VPC Lattice publishes to CloudWatch (metrics, their dimensions, units and statistics) and writes to its
access logs, with where each fact was read. Test data for the dashboard, alarms and saved queries
(constructs/observability/monitoring.py): every metric, dimension and log field they name must be one of these, or this
app's own (constructs/observability/target_health.py).

METRICS: VPC Lattice User Guide, "CloudWatch metrics for Amazon VPC Lattice",
https://docs.aws.amazon.com/vpc-lattice/latest/ug/monitoring-cloudwatch.html (its Markdown source, as the
search tool's code index stores it; read 2026-12-05). What the page says:
- namespace AWS/VpcLattice; two tables, "Target group metrics" and "Service metrics";
- target-group metrics: "To filter the metrics for target groups, use the following dimensions:
  AvailabilityZone, TargetGroup"; service metrics likewise with AvailabilityZone and Service;
- every metric's reporting criteria: reported "from the time the resource receives traffic, whether the value
  is zero or non-zero", once a minute. So none is published before the first request: an alarm on one must
  treat missing data as not breaching;
- units: only RequestTime states one ("in milliseconds"); the rest are counts (bytes for the byte totals);
- statistics: "The most useful statistic is Sum", except RequestTime ("Average and pNN.NN");
- there is no target-health metric (no HealthyHostCount / UnhealthyHostCount: those are ELB's).
Not settled by the page: whether a metric is published with `Service` (or `TargetGroup`) alone as well as
with AvailabilityZone. DIMENSION_SETS lists both readings; the smoke step checks, after its traffic, that
ListMetrics returns the series the alarms watch (lambda/smoke/handler.py, check `metrics`).

Dimension values are ids, not names: prometheus-community/yet-another-cloudwatch-exporter pull request #1506,
pkg/config/services.go maps a service ARN to Service = the part after `:service/` (svc-...).

ACCESS_LOG_FIELDS: VPC Lattice User Guide, "Access logs for Amazon VPC Lattice", section "Access log contents",
https://docs.aws.amazon.com/vpc-lattice/latest/ug/monitoring-access-logs.html (read 2026-12-05: the stored copy
confirms the section, its text ends before the field table), and a record Lattice wrote, published in
aws-samples/sample-bridge-mode-sidecar README.md ("Example seen in the VPC Lattice access logs", 2024-08-04;
read 2026-12-05). The field names below are that record's keys, exactly (it spells `serverNameIndication`).
"""

from __future__ import annotations

from dataclasses import dataclass

NAMESPACE = "AWS/VpcLattice"
METRICS_SOURCE = "https://docs.aws.amazon.com/vpc-lattice/latest/ug/monitoring-cloudwatch.html (read 2026-12-05)"
ACCESS_LOG_SOURCE = (
    "https://docs.aws.amazon.com/vpc-lattice/latest/ug/monitoring-access-logs.html and "
    "aws-samples/sample-bridge-mode-sidecar README.md (read 2026-12-05)"
)
# The page's reporting criteria for every metric: only from the first request on.
ALWAYS_PUBLISHED = False

SERVICE_DIMENSION_SETS = (("Service",), ("Service", "AvailabilityZone"))
TARGET_GROUP_DIMENSION_SETS = (("TargetGroup",), ("TargetGroup", "AvailabilityZone"))


@dataclass(frozen=True)
class Metric:
    unit: str  # as the page states it; "Count" where it states none for a count
    statistics: tuple[str, ...]  # the page's "most useful" statistics
    dimension_sets: tuple[tuple[str, ...], ...]


def _tg(unit: str = "Count", statistics: tuple[str, ...] = ("Sum",)) -> Metric:
    return Metric(unit, statistics, TARGET_GROUP_DIMENSION_SETS)


def _svc(unit: str = "Count", statistics: tuple[str, ...] = ("Sum",)) -> Metric:
    return Metric(unit, statistics, SERVICE_DIMENSION_SETS)


PERCENTILES = ("Average", "pNN.NN")

TARGET_GROUP_METRICS: dict[str, Metric] = {
    "TotalConnectionCount": _tg(),
    "ActiveConnectionCount": _tg(),
    "ConnectionErrorCount": _tg(),
    "HTTP1_ConnectionCount": _tg(),
    "HTTP2_ConnectionCount": _tg(),
    "ConnectionTimeoutCount": _tg(),
    "TotalReceivedConnectionBytes": _tg("Bytes"),
    "TotalSentConnectionBytes": _tg("Bytes"),
    "TotalRequestCount": _tg(),
    "ActiveRequestCount": _tg(),
    "RequestTime": _tg("Milliseconds", PERCENTILES),
    "HTTPCode_2XX_Count": _tg(),
    "HTTPCode_3XX_Count": _tg(),
    "HTTPCode_4XX_Count": _tg(),
    "HTTPCode_5XX_Count": _tg(),
    "TLSConnectionErrorCount": _tg(),
    "TotalTLSConnectionHandshakeCount": _tg(),
}
SERVICE_METRICS: dict[str, Metric] = {
    "RequestTimeoutCount": _svc(),
    "TotalRequestCount": _svc(),
    "RequestTime": _svc("Milliseconds", PERCENTILES),
    "HTTPCode_2XX_Count": _svc(),
    "HTTPCode_3XX_Count": _svc(),
    "HTTPCode_4XX_Count": _svc(),
    "HTTPCode_5XX_Count": _svc(),
    **{f"HTTPCode_VpcLattice_{code}_Count": _svc() for code in (400, 403, 404, 429, 500, 502, 504)},
}


def dimension_sets(metric: str) -> tuple[tuple[str, ...], ...]:
    """Every dimension set the page allows for `metric` (a name both tables list takes either kind)."""
    sets: tuple[tuple[str, ...], ...] = ()
    for table in (SERVICE_METRICS, TARGET_GROUP_METRICS):
        if metric in table:
            sets += table[metric].dimension_sets
    return sets


METRICS: dict[str, tuple[tuple[str, ...], ...]] = {
    name: dimension_sets(name) for name in {**TARGET_GROUP_METRICS, **SERVICE_METRICS}
}
DIMENSIONS = frozenset(d for sets in METRICS.values() for dims in sets for d in dims)

ACCESS_LOG_FIELDS = frozenset(
    {
        "serviceNetworkArn", "resolvedUser", "listenerType", "authDeniedReason", "targetGroupArn", "sourceVpcArn",
        "destinationVpcId", "sourceIpPort", "listenerId", "targetIpPort", "failureReason", "serviceArn",
        "sourceVpcId", "startTime", "requestMethod", "requestPath", "protocol", "responseCode", "bytesReceived",
        "bytesSent", "duration", "userAgent", "hostHeader", "serverNameIndication", "requestToTargetDuration",
        "responseFromTargetDuration", "sslCipher", "tlsVersion", "callerPrincipal", "callerPrincipalOrgID",
        "callerX509IssuerOU", "callerX509SubjectCN", "callerX509SANNameCN", "callerX509SANDNS", "callerX509SANURI",
    }
)  # fmt: skip

# Which of these a route's listener can publish, by protocol. The request-level ones (requests, response codes,
# request time) need a listener that reads requests; a TLS passthrough listener never decrypts the traffic ("all
# traffic remains encrypted from the client to the target": VPC Lattice User Guide, TLS listeners,
# https://docs.aws.amazon.com/vpc-lattice/latest/ug/tls-listeners.html, read 2026-12-05), so it publishes only
# the connection-level target-group metrics.
REQUEST_METRICS = frozenset(
    name
    for name in METRICS
    if "Request" in name or name.startswith("HTTPCode_") or name.startswith("HTTP1_") or name.startswith("HTTP2_")
)


def published_by(protocol: str) -> frozenset[str]:
    """The metrics a route of `protocol` can have published."""
    return frozenset(METRICS) - (REQUEST_METRICS if protocol == "TLS" else frozenset())
