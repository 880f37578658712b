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

What is written for each (Route, App) pair a "no healthy targets" alarm of this deployment watches (the pairs are
read from the alarms themselves, so they follow every deploy and the environment stays small):
  - its target group exists: the counts, except while every target is INITIAL (registration in progress: no
    count, and the alarm treats missing data as not breaching);
  - no target group yet: nothing while the alarm is younger than MISSING_GRACE_SECONDS (the controller is still
    creating it), then HealthyTargetCount 0: a target group that never appears is a fault, and alarms.
Silence of the publisher itself is the "publisher silent" alarm's (PublisherRuns, breaching).

Every point is stamped with the scheduled event's `time` (EventBridge's scheduled-event shape), so a run that
starts late or runs long still lands in the period it was scheduled for. Only this account's Lattice resources
count (ListServices and ListTargetGroups also return what other accounts share), and a refused tag read is a
failed run (no heartbeat), never a silently skipped group.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import os
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from lattice_metrics.handler import GONE, TAG_BASE, NotYetError, _account, _call, _client, _owned, _pages

LOG = logging.getLogger(__name__)
LOG.setLevel(logging.INFO)

HEALTHY, UNHEALTHY = "HealthyTargetCount", "UnhealthyTargetCount"
STALE, RUNS = "StaleServiceIds", "PublisherRuns"
CONTROLLER_PREFIX = "k8s-"  # controller v2.1.3 GenerateTgName: every target group it makes starts so
DATUMS_PER_CALL = 1000  # PutMetricData: at most 1,000 metrics per request (CloudWatch API reference)
MARGIN_SECONDS = 5.0
# How long a watched pair may have no target group before it counts as 0 healthy: the controller creates a
# route's target groups when it reconciles the route, within minutes of the deploy that adds the pair's alarm.
MISSING_GRACE_SECONDS = 30 * 60
# CloudWatch calls: one attempt each, bounded (connect + read), so every call fits in what is left of the run.
CLOUDWATCH_CONNECT_SECONDS, CLOUDWATCH_READ_SECONDS = 2, 5
# Time kept back from the Lattice reads for the writes after them (the counts and the heartbeat).
PUBLISH_RESERVE_SECONDS = 2 * (CLOUDWATCH_CONNECT_SECONDS + CLOUDWATCH_READ_SECONDS)

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
    registering: bool = False  # every target INITIAL: no count yet


@dataclass(frozen=True)
class Watched:
    """What this deployment's alarms watch: Lattice service ids, and (Route, App) -> when that pair's alarm was
    last configured (epoch seconds)."""

    service_ids: set[str]
    pairs: dict[tuple[str, str], float]


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
    account = _account(context)
    remaining = getattr(context, "get_remaining_time_in_millis", None)
    deadline = time.monotonic() + remaining() / 1000.0 - MARGIN_SECONDS if remaining else None
    until = deadline - PUBLISH_RESERVE_SECONDS if deadline is not None else None
    at = scheduled_time(event, clock)
    try:
        watched = read_alarms(cloudwatch, settings, until=until)
        groups = measure(lattice, settings, sleep=sleep, until=until, account=account)
        stale = stale_ids(lattice, watched.service_ids, sleep=sleep, until=until, account=account)
    except NotYetError as err:
        # No heartbeat this run: the publisher alarm shows it if it lasts.
        raise RuntimeError(f"Lattice kept failing, nothing published this run: {err}") from err
    groups = [*groups, *never_appeared(watched, groups, now=clock())]
    publish(cloudwatch, settings, groups, stale, at=at, until=deadline)
    summary = {"targetGroups": len(groups), "staleServices": stale}
    LOG.info("published %s", json.dumps(summary))
    return summary


def scheduled_time(event: Mapping[str, Any], clock: Callable[[], float]) -> float:
    """The scheduled event's `time` (ISO 8601, UTC: EventBridge User Guide, "Amazon EventBridge events" and
    scheduled events; read 2026-12-05); the clock when invoked otherwise (by hand, by a test)."""
    raw = event.get("time")
    if isinstance(raw, str):
        try:
            return dt.datetime.fromisoformat(raw.replace("Z", "+00:00")).timestamp()
        except ValueError:
            LOG.warning("event time %r is not ISO 8601; using the clock", raw)
    return clock()


def measure(
    lattice: Any,
    settings: Settings,
    *,
    sleep: Callable[[float], None],
    until: float | None,
    account: str | None = None,
) -> list[GroupHealth]:
    """Target health of this cluster's HTTPRoute target groups, the newest group per (route, app)."""
    newest: dict[tuple[str, str], dict[str, Any]] = {}
    listed = _owned(_pages(lattice, "list_target_groups", {"vpcIdentifier": settings.vpc_id}, sleep, until), account)
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
        registering = bool(statuses) and all(s == "INITIAL" for s in statuses)
        healthy, unhealthy = statuses.count("HEALTHY"), statuses.count("UNHEALTHY")
        measured.append(GroupHealth(route, app, group["id"], healthy, unhealthy, registering))
    return measured


def never_appeared(watched: Watched, groups: Iterable[GroupHealth], *, now: float) -> list[GroupHealth]:
    """0 healthy for each watched pair with no target group MISSING_GRACE_SECONDS after its alarm was configured;
    younger pairs get nothing (their alarm treats that as not breaching)."""
    found = {(g.route, g.app) for g in groups}
    return [
        GroupHealth(route, app, "", 0, 0)
        for (route, app), since in sorted(watched.pairs.items())
        if (route, app) not in found and now - since >= MISSING_GRACE_SECONDS
    ]


def read_alarms(cloudwatch: Any, settings: Settings, *, until: float | None = None) -> Watched:
    """What the alarms named `alarm_prefix...` watch: every `Service` dimension value (plain or math alarms), and
    the (Route, App) of each alarm on this cluster's HealthyTargetCount."""
    ids: set[str] = set()
    pairs: dict[tuple[str, str], float] = {}
    pages = iter(
        cloudwatch.get_paginator("describe_alarms").paginate(
            AlarmNamePrefix=settings.alarm_prefix, AlarmTypes=["MetricAlarm"]
        )
    )
    while True:
        _in_time(until, "DescribeAlarms")
        page = next(pages, None)
        if page is None:
            break
        for alarm in page.get("MetricAlarms", []):
            metrics = [alarm] + [q.get("MetricStat", {}).get("Metric", {}) for q in alarm.get("Metrics", [])]
            for metric in metrics:
                dims = {d.get("Name"): d.get("Value") for d in metric.get("Dimensions", [])}
                if "Service" in dims:
                    ids.add(dims["Service"])
                if (
                    metric.get("Namespace") == settings.namespace
                    and metric.get("MetricName") == HEALTHY
                    and dims.get("Cluster") == settings.cluster
                    and "Route" in dims
                    and "App" in dims
                ):
                    since = alarm.get("AlarmConfigurationUpdatedTimestamp")
                    pairs[(dims["Route"], dims["App"])] = since.timestamp() if since else 0.0
    return Watched(ids, pairs)


def watched_ids(cloudwatch: Any, prefix: str) -> set[str]:
    """Every `Service` dimension value in the metrics of the alarms named `prefix...`."""
    settings = Settings(namespace="", cluster="", vpc_id="", alarm_prefix=prefix)
    return read_alarms(cloudwatch, settings).service_ids


def stale_ids(
    lattice: Any,
    watched: set[str],
    *,
    sleep: Callable[[float], None],
    until: float | None,
    account: str | None = None,
) -> list[str]:
    """The watched service ids that no longer exist (the controller recreated or deleted the service)."""
    if not watched:
        return []
    services = _owned(_pages(lattice, "list_services", {}, sleep, until), account)
    current = {s["id"] for s in services if s.get("status") not in GONE}
    return sorted(watched - current)


def datums(settings: Settings, groups: Iterable[GroupHealth], stale: list[str], *, at: float) -> list[dict[str, Any]]:
    cluster = {"Name": "Cluster", "Value": settings.cluster}
    out: list[dict[str, Any]] = []
    for g in (g for g in groups if not g.registering):
        dims = [cluster, {"Name": "Route", "Value": g.route}, {"Name": "App", "Value": g.app}]
        out.append({"MetricName": HEALTHY, "Dimensions": dims, "Value": g.healthy, "Unit": "Count", "Timestamp": at})
        out.append(
            {"MetricName": UNHEALTHY, "Dimensions": dims, "Value": g.unhealthy, "Unit": "Count", "Timestamp": at}
        )
    out.append({"MetricName": STALE, "Dimensions": [cluster], "Value": len(stale), "Unit": "Count", "Timestamp": at})
    return out


def publish(
    cloudwatch: Any,
    settings: Settings,
    groups: list[GroupHealth],
    stale: list[str],
    *,
    at: float,
    until: float | None = None,
) -> None:
    data = datums(settings, groups, stale, at=at)
    for start in range(0, len(data), DATUMS_PER_CALL):
        _in_time(until, "PutMetricData")
        cloudwatch.put_metric_data(Namespace=settings.namespace, MetricData=data[start : start + DATUMS_PER_CALL])
    # The heartbeat goes last: it says that everything above was published.
    heartbeat = {"MetricName": RUNS, "Dimensions": [{"Name": "Cluster", "Value": settings.cluster}], "Value": 1,
                 "Unit": "Count", "Timestamp": at}  # fmt: skip
    _in_time(until, "PutMetricData (heartbeat)")
    cloudwatch.put_metric_data(Namespace=settings.namespace, MetricData=[heartbeat])


def _in_time(until: float | None, what: str) -> None:
    """A call that could outlast the run is not started: the run fails (no heartbeat) instead of timing out."""
    if until is not None and time.monotonic() + CLOUDWATCH_CONNECT_SECONDS + CLOUDWATCH_READ_SECONDS > until:
        raise RuntimeError(f"out of time before {what}: nothing more published this run")


def _tags(lattice: Any, arn: str, sleep: Callable[[float], None], until: float | None) -> dict[str, str] | None:
    if arn not in _TAGS:
        try:
            _TAGS[arn] = _call(lattice, "list_tags_for_resource", {"resourceArn": arn}, sleep, until).get("tags", {})
        except Exception as err:
            if _code(err) == "ResourceNotFoundException":  # deleted since it was listed
                return None
            raise  # AccessDenied on this account's group: the role is wrong; fail the run, no heartbeat
    return _TAGS[arn]


def _code(err: Exception) -> str | None:
    code: str | None = getattr(err, "response", {}).get("Error", {}).get("Code")
    return code


def _cloudwatch() -> Any:
    import boto3  # noqa: PLC0415 - the runtime's boto3; imported here so tests can inject a client
    from botocore.config import Config  # noqa: PLC0415

    # One attempt, bounded: the run checks before each call that connect + read still fit (_in_time).
    config = Config(
        connect_timeout=CLOUDWATCH_CONNECT_SECONDS,
        read_timeout=CLOUDWATCH_READ_SECONDS,
        retries={"total_max_attempts": 1},
    )
    return boto3.client("cloudwatch", config=config)
