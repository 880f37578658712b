"""Publishes, on a schedule, how many targets of each controller-managed target group are healthy.

VPC Lattice publishes no target-health metric (User Guide, "CloudWatch metrics for Amazon VPC Lattice": its
target-group metrics are connection, byte, request, latency and TLS counts), but `ListTargets` returns each
target's status. This function writes those counts to this app's own namespace, keyed on names that are
known when the stack is synthesized, so the alarms never hold an id the controller may replace:

  namespace  NAMESPACE (environment)
  metrics    HealthyTargetCount, UnhealthyTargetCount  (dimensions Cluster, Route, App)
             StaleServiceIds                           (dimension Cluster)
             PublisherRuns                             (dimension Cluster; 1 per run that published everything)

Route is `<namespace>/<HTTPRoute object name>` and App `<namespace>/<Kubernetes Service name>`, read from the
tags the controller writes on every target group it creates (v2.1.3 pkg/aws/cloud.go TagBase and
TagsFromTGTagFields: ClusterName, RouteName, RouteNamespace, ServiceName, ServiceNamespace, SourceTypeKey).
The target groups are found anew on every run, so the counts follow a target group the controller recreates.

StaleServiceIds counts the Lattice service ids that this deployment's alarms watch (the `Service` dimension of
every alarm whose name starts with ALARM_PREFIX) and that no longer exist: the controller recreated the service
and those alarms watch a dead id until the next deploy looks it up again.

Statuses (botocore vpc-lattice TargetStatus): HEALTHY and UNHEALTHY are counted; INITIAL, DRAINING,
UNAVAILABLE and UNUSED are neither.
"""

from __future__ import annotations

import json
import logging
import os
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from lattice_metrics.handler import GONE, TAG_BASE, NotYetError, _call, _client, _pages

LOG = logging.getLogger(__name__)
LOG.setLevel(logging.INFO)

HEALTHY, UNHEALTHY = "HealthyTargetCount", "UnhealthyTargetCount"
STALE, RUNS = "StaleServiceIds", "PublisherRuns"
CONTROLLER_PREFIX = "k8s-"  # controller v2.1.3 GenerateTgName: every target group it makes starts so
DATUMS_PER_CALL = 1000  # PutMetricData: at most 1,000 metrics per request (CloudWatch API reference)
MARGIN_SECONDS = 5.0

_TAGS: dict[str, dict[str, str]] = {}  # target group ARN -> its tags; the controller sets them once, at create


@dataclass(frozen=True, kw_only=True)
class Settings:
    namespace: str
    cluster: str
    vpc_id: str
    alarm_prefix: str  # this deployment's alarms: "<stack name> "

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> Settings:
        try:
            return cls(
                namespace=env["NAMESPACE"],
                cluster=env["CLUSTER_NAME"],
                vpc_id=env["VPC_ID"],
                alarm_prefix=env["ALARM_PREFIX"],
            )
        except KeyError as err:
            raise ValueError(f"bad environment for the target-health publisher: {err!r}") from None


@dataclass(frozen=True)
class GroupHealth:
    route: str
    app: str
    target_group: str
    healthy: int
    unhealthy: int


def handler(
    event: Mapping[str, Any],
    context: Any,
    *,
    lattice: Any = None,
    cloudwatch: Any = None,
    env: Mapping[str, str] | None = None,
    clock: Callable[[], float] = time.time,
    sleep: Callable[[float], None] = time.sleep,
) -> dict[str, Any]:
    settings = Settings.from_env(os.environ if env is None else env)
    lattice = lattice if lattice is not None else _client()
    cloudwatch = cloudwatch if cloudwatch is not None else _cloudwatch()
    remaining = getattr(context, "get_remaining_time_in_millis", None)
    until = time.monotonic() + remaining() / 1000.0 - MARGIN_SECONDS if remaining else None
    try:
        groups = measure(lattice, settings, sleep=sleep, until=until)
        stale = stale_ids(lattice, watched_ids(cloudwatch, settings.alarm_prefix), sleep=sleep, until=until)
    except NotYetError as err:
        # No heartbeat this run: the publisher alarm shows it if it lasts.
        raise RuntimeError(f"Lattice kept failing, nothing published this run: {err}") from err
    publish(cloudwatch, settings, groups, stale, at=clock())
    summary = {"targetGroups": len(groups), "staleServices": stale}
    LOG.info("published %s", json.dumps(summary))
    return summary


def measure(
    lattice: Any, settings: Settings, *, sleep: Callable[[float], None], until: float | None
) -> list[GroupHealth]:
    """Target health of this cluster's HTTPRoute target groups, the newest group per (route, app)."""
    newest: dict[tuple[str, str], dict[str, Any]] = {}
    listed = list(_pages(lattice, "list_target_groups", {"vpcIdentifier": settings.vpc_id}, sleep, until))
    for arn in set(_TAGS) - {g.get("arn") for g in listed}:  # gone: a warm function keeps no stale entries
        del _TAGS[arn]
    for group in listed:
        if group.get("status") in GONE or not str(group.get("name", "")).startswith(CONTROLLER_PREFIX):
            continue
        tags = _tags(lattice, group["arn"], sleep, until)
        if tags is None or tags.get(TAG_BASE + "ClusterName") != settings.cluster:
            continue
        if tags.get(TAG_BASE + "SourceTypeKey") != "HTTPRoute":
            continue
        key = (
            f"{tags.get(TAG_BASE + 'RouteNamespace')}/{tags.get(TAG_BASE + 'RouteName')}",
            f"{tags.get(TAG_BASE + 'ServiceNamespace')}/{tags.get(TAG_BASE + 'ServiceName')}",
        )
        # A target group being replaced can overlap its successor: the newest is the one in use.
        if key not in newest or str(group.get("createdAt", "")) > str(newest[key].get("createdAt", "")):
            newest[key] = group
    measured = []
    for (route, app), group in sorted(newest.items()):
        try:
            targets = list(_pages(lattice, "list_targets", {"targetGroupIdentifier": group["id"]}, sleep, until))
        except Exception as err:
            if _code(err) == "ResourceNotFoundException":  # deleted since it was listed
                continue
            raise
        statuses = [t.get("status") for t in targets]
        measured.append(GroupHealth(route, app, group["id"], statuses.count("HEALTHY"), statuses.count("UNHEALTHY")))
    return measured


def watched_ids(cloudwatch: Any, prefix: str) -> set[str]:
    """Every `Service` dimension value in the metrics of the alarms named `prefix...` (plain or math alarms)."""
    ids: set[str] = set()
    for page in cloudwatch.get_paginator("describe_alarms").paginate(
        AlarmNamePrefix=prefix, AlarmTypes=["MetricAlarm"]
    ):
        for alarm in page.get("MetricAlarms", []):
            dimension_lists = [alarm.get("Dimensions", [])]
            dimension_lists += [
                q.get("MetricStat", {}).get("Metric", {}).get("Dimensions", []) for q in alarm.get("Metrics", [])
            ]
            ids |= {d["Value"] for dims in dimension_lists for d in dims if d.get("Name") == "Service"}
    return ids


def stale_ids(lattice: Any, watched: set[str], *, sleep: Callable[[float], None], until: float | None) -> list[str]:
    """The watched service ids that no longer exist (the controller recreated or deleted the service)."""
    if not watched:
        return []
    current = {s["id"] for s in _pages(lattice, "list_services", {}, sleep, until) if s.get("status") not in GONE}
    return sorted(watched - current)


def datums(settings: Settings, groups: Iterable[GroupHealth], stale: list[str], *, at: float) -> list[dict[str, Any]]:
    cluster = {"Name": "Cluster", "Value": settings.cluster}
    out: list[dict[str, Any]] = []
    for g in groups:
        dims = [cluster, {"Name": "Route", "Value": g.route}, {"Name": "App", "Value": g.app}]
        out.append({"MetricName": HEALTHY, "Dimensions": dims, "Value": g.healthy, "Unit": "Count", "Timestamp": at})
        out.append(
            {"MetricName": UNHEALTHY, "Dimensions": dims, "Value": g.unhealthy, "Unit": "Count", "Timestamp": at}
        )
    out.append({"MetricName": STALE, "Dimensions": [cluster], "Value": len(stale), "Unit": "Count", "Timestamp": at})
    return out


def publish(cloudwatch: Any, settings: Settings, groups: list[GroupHealth], stale: list[str], *, at: float) -> None:
    data = datums(settings, groups, stale, at=at)
    for start in range(0, len(data), DATUMS_PER_CALL):
        cloudwatch.put_metric_data(Namespace=settings.namespace, MetricData=data[start : start + DATUMS_PER_CALL])
    # The heartbeat goes last: it says that everything above was published.
    heartbeat = {"MetricName": RUNS, "Dimensions": [{"Name": "Cluster", "Value": settings.cluster}], "Value": 1,
                 "Unit": "Count", "Timestamp": at}  # fmt: skip
    cloudwatch.put_metric_data(Namespace=settings.namespace, MetricData=[heartbeat])


def _tags(lattice: Any, arn: str, sleep: Callable[[float], None], until: float | None) -> dict[str, str] | None:
    if arn not in _TAGS:
        try:
            _TAGS[arn] = _call(lattice, "list_tags_for_resource", {"resourceArn": arn}, sleep, until).get("tags", {})
        except Exception as err:
            if _code(err) in ("ResourceNotFoundException", "AccessDeniedException"):  # gone, or another account's
                return None
            raise
    return _TAGS[arn]


def _code(err: Exception) -> str | None:
    code: str | None = getattr(err, "response", {}).get("Error", {}).get("Code")
    return code


def _cloudwatch() -> Any:
    import boto3  # noqa: PLC0415 - the runtime's boto3; imported here so tests can inject a client
    from botocore.config import Config  # noqa: PLC0415

    # Three attempts in all, well inside the function's timeout (connect 5 s + read 10 s each).
    config = Config(connect_timeout=5, read_timeout=10, retries={"total_max_attempts": 3, "mode": "standard"})
    return boto3.client("cloudwatch", config=config)
