"""What VPC Lattice publishes to CloudWatch: its metrics and dimensions, and its access-log fields.

Test data for the dashboard, alarms and saved queries (constructs/observability.py): every metric, dimension
and log field they name must be one of these.

Sources and how far each was checked here (no internet; the stored copies the project's search tool holds):
- METRICS: VPC Lattice User Guide, "CloudWatch metrics for Amazon VPC Lattice"
  (https://docs.aws.amazon.com/vpc-lattice/latest/ug/monitoring-cloudwatch.html). The stored copy confirms the
  namespace AWS/VpcLattice and the page's two tables, "Target group metrics" and "Service metrics", but its
  excerpt ends before the tables; the names below are the guide's as recalled, and agree with the service
  metrics (TotalRequestCount, HTTPCode_4XX_Count, HTTPCode_5XX_Count, RequestTime in milliseconds, dimension
  Service, optionally with AvailabilityZone; target groups under TargetGroup) other public write-ups list.
  UnhealthyHostCount's spelling (Lattice's, unlike ELB's UnHealthyHostCount) is the least certain entry.
- Dimension values are ids, not names: prometheus-community/yet-another-cloudwatch-exporter, pull request
  #1506 (merged), pkg/config/services.go maps a Lattice service ARN to `Service` = the part after
  `:service/`, i.e. svc-... .
- ACCESS_LOG_FIELDS: VPC Lattice User Guide, "Access logs for Amazon VPC Lattice", section "Access log
  contents" (https://docs.aws.amazon.com/vpc-lattice/latest/ug/monitoring-access-logs.html); the stored copy
  confirms the section, the field list is the guide's as recalled.
Re-check both lists against the live pages when this file changes; a wrong name shows as an empty graph.
"""

from __future__ import annotations

NAMESPACE = "AWS/VpcLattice"
METRICS_SOURCE = "VPC Lattice User Guide, CloudWatch metrics for Amazon VPC Lattice (tests/lattice_cloudwatch.py)"

SERVICE_DIMENSIONS = (("Service",), ("Service", "AvailabilityZone"))
TARGET_GROUP_DIMENSIONS = (("TargetGroup",), ("TargetGroup", "AvailabilityZone"))

# metric -> the dimension sets it is published with
METRICS: dict[str, tuple[tuple[str, ...], ...]] = {
    # Service metrics
    "TotalRequestCount": SERVICE_DIMENSIONS,
    "HTTPCode_2XX_Count": SERVICE_DIMENSIONS,
    "HTTPCode_3XX_Count": SERVICE_DIMENSIONS,
    "HTTPCode_4XX_Count": SERVICE_DIMENSIONS,
    "HTTPCode_5XX_Count": SERVICE_DIMENSIONS,
    "RequestTime": SERVICE_DIMENSIONS,
    # Target group metrics
    "HealthyHostCount": TARGET_GROUP_DIMENSIONS,
    "UnhealthyHostCount": TARGET_GROUP_DIMENSIONS,
    "RequestCount": TARGET_GROUP_DIMENSIONS,
    "ActiveConnectionCount": TARGET_GROUP_DIMENSIONS,
    "ConnectionErrorCount": TARGET_GROUP_DIMENSIONS,
    "NewConnectionCount": TARGET_GROUP_DIMENSIONS,
    "ProcessedBytes": TARGET_GROUP_DIMENSIONS,
}
DIMENSIONS = frozenset(d for sets in METRICS.values() for dims in sets for d in dims)

ACCESS_LOG_FIELDS = frozenset(
    {
        "eventTimestamp", "serviceNetworkArn", "resolvedUser", "authDeniedReason", "requestMethod",
        "targetGroupArn", "tlsInfo", "userAgent", "serverNameIndicator", "destinationVpcId", "sourceIpPort",
        "targetIpPort", "serviceArn", "sourceVpcArn", "requestPath", "startTime", "protocol", "responseCode",
        "bytesReceived", "bytesSent", "duration", "requestToTargetDuration", "responseFromTargetDuration",
        "grpcResponseCode", "callerPrincipal", "callerX509SubjectCN", "callerX509IssuerOU",
        "callerX509SANNameCN", "callerX509SANDNS", "callerX509SANURI", "sourceVpcId",
    }
)  # fmt: skip
