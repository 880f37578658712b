"""The synthesized health alarms against the publisher's real output: a replay, minute by minute, of the
publisher (lambda/lattice_metrics/health.py, with the environment the template gives it) against the fake Lattice
(ListTargets answers set by the test) and moto's CloudWatch, then each alarm evaluated on what was published.

The evaluation is a model of CloudWatch's, as its User Guide describes it ("Using Amazon CloudWatch alarms",
evaluating an alarm and "Configuring how CloudWatch alarms treat missing data"): the last EvaluationPeriods
periods, each one value of the alarm's statistic or missing; missing ones count as breaching or not as
TreatMissingData says; ALARM when at least DatapointsToAlarm breach. It reads the alarm's own properties from the
template (metric, dimensions, statistic, period, threshold, comparison), so a wrong name or dimension in the
template shows as an alarm that never sees data.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import boto3
import pytest
from botocore.config import Config
from constructs.lattice_metric_ids import target_groups
from constructs.target_health import app_dimension, route_dimension
from lattice_metrics import health
from lattice_metrics.handler import TAG_BASE

from config.lattice_names import lattice_service_name, route_object_name
from tests.conftest import Synthesized
from tests.support.fake_lattice import FakeLattice, TargetGroup

GATEWAY = "EksLatticeGateway-Gateway"
VPC = "vpc-0123456789abcdef0"
START = dt.datetime(2026, 12, 5, 12, 0, tzinfo=dt.UTC).timestamp()
COMPARE = {
    "LessThanThreshold": lambda v, t: v < t,
    "GreaterThanThreshold": lambda v, t: v > t,
    "GreaterThanOrEqualToThreshold": lambda v, t: v >= t,
    "LessThanOrEqualToThreshold": lambda v, t: v <= t,
}


def _resolve(value: Any, services: dict[str, str]) -> str:
    """A dimension value from the template: a literal, or the metric-id lookup's answer for its route."""
    if isinstance(value, str):
        return value
    logical_id, attribute = value["Fn::GetAtt"]
    assert attribute == "ServiceId"
    return services[logical_id]


def evaluate(cloudwatch: Any, alarm: dict[str, Any], *, now: float, services: dict[str, str]) -> str:
    """OK or ALARM for an alarm on one metric (the health alarms), as CloudWatch would decide at `now`."""
    (query,) = alarm["Metrics"]
    stat = query["MetricStat"]
    metric, period = stat["Metric"], stat["Period"]
    dims = [{"Name": d["Name"], "Value": _resolve(d["Value"], services)} for d in metric["Dimensions"]]
    end = int(now // period * period)
    breaching = 0
    for k in range(alarm["EvaluationPeriods"]):
        start = end - (k + 1) * period
        points = cloudwatch.get_metric_statistics(
            Namespace=metric["Namespace"],
            MetricName=metric["MetricName"],
            Dimensions=dims,
            StartTime=dt.datetime.fromtimestamp(start, dt.UTC),
            EndTime=dt.datetime.fromtimestamp(start + period, dt.UTC),
            Period=period,
            Statistics=[stat["Stat"]],
        )["Datapoints"]
        if points:
            breaching += COMPARE[alarm["ComparisonOperator"]](points[0][stat["Stat"]], alarm["Threshold"])
        else:
            breaching += alarm["TreatMissingData"] == "breaching"
    return "ALARM" if breaching >= alarm["DatapointsToAlarm"] else "OK"


@dataclass
class Deployment:
    """The default deployment as the controller leaves it: one service per route, one target group per app."""

    synth: Synthesized
    fake: FakeLattice
    cloudwatch: Any
    env: dict[str, str]
    alarms: dict[str, dict[str, Any]]
    groups: dict[str, TargetGroup] = field(default_factory=dict)  # app name -> its target group
    services: dict[str, str] = field(default_factory=dict)  # lookup logical id -> the service id it answered
    now: float = START

    def lattice(self) -> Any:
        return boto3.client(
            "vpc-lattice", region_name="us-east-1", endpoint_url=f"http://127.0.0.1:{self.fake.port}",
            aws_access_key_id="testing", aws_secret_access_key="testing",
            config=Config(retries={"total_max_attempts": 1}),
        )  # fmt: skip

    def minute(self, *, publisher_runs: bool = True) -> None:
        self.now += 60
        if publisher_runs:
            health.handler(
                {}, None, lattice=self.lattice(), cloudwatch=self.cloudwatch, env=self.env, clock=lambda: self.now - 30
            )

    def minutes(self, n: int, **kw: bool) -> None:
        for _ in range(n):
            self.minute(**kw)

    def state(self, suffix: str) -> str:
        (name,) = [n for n in self.alarms if n.endswith(suffix)]
        return evaluate(self.cloudwatch, self.alarms[name], now=self.now, services=self.services)

    def set_targets(self, app: str, *statuses: str) -> None:
        self.groups[app].targets = [
            {"id": f"10.1.0.{i + 10}", "port": 3000, "status": s} for i, s in enumerate(statuses)
        ]


@pytest.fixture
def deployed(synth: Synthesized, mocked_aws: str) -> Iterator[Deployment]:
    health._TAGS.clear()
    template = synth.templates[GATEWAY]
    (function,) = [
        r["Properties"]
        for r in template["Resources"].values()
        if r["Type"] == "AWS::Lambda::Function" and r["Properties"].get("Handler") == "lattice_metrics.health.handler"
    ]
    env = {k: v if isinstance(v, str) else VPC for k, v in function["Environment"]["Variables"].items()}
    alarms = {
        r["Properties"]["AlarmName"]: r["Properties"]
        for r in template["Resources"].values()
        if r["Type"] == "AWS::CloudWatch::Alarm"
    }
    config = synth.config
    with FakeLattice(page_size=2) as fake:
        deployment = Deployment(synth, fake, boto3.client("cloudwatch", region_name=mocked_aws), env, alarms)
        lookups = {
            r["Properties"]["Services"][0]["Name"]: k
            for k, r in template["Resources"].items()
            if r["Type"] == "Custom::LatticeMetricIds"
        }
        for route in config.routes:
            service = fake.add_service(lattice_service_name(route, config.cluster_name), tags={})
            deployment.services[lookups[service.name]] = service.id
        for ref in target_groups(config):
            tags = {
                TAG_BASE + "ClusterName": config.cluster_name,
                TAG_BASE + "RouteName": route_object_name(ref.route, config.cluster_name),
                TAG_BASE + "RouteNamespace": ref.route.namespace,
                TAG_BASE + "ServiceName": ref.app.name,
                TAG_BASE + "ServiceNamespace": ref.app.namespace,
                TAG_BASE + "SourceTypeKey": "HTTPRoute",
            }
            name = f"k8s-{ref.app.namespace}-{ref.app.name}-abcdefghij"
            deployment.groups[ref.app.name] = fake.add_target_group(name, vpc=VPC, tags=tags, targets=ref.app.replicas)
        # The alarms exist in CloudWatch as deployed (the publisher reads the ids they watch from them).
        for name, alarm in alarms.items():
            metrics = [
                {**q, "MetricStat": {**q["MetricStat"], "Metric": {**q["MetricStat"]["Metric"], "Dimensions": [
                    {"Name": d["Name"], "Value": _resolve(d["Value"], deployment.services)}
                    for d in q["MetricStat"]["Metric"]["Dimensions"]]}}} if "MetricStat" in q else q
                for q in alarm["Metrics"]
            ]  # fmt: skip
            deployment.cloudwatch.put_metric_alarm(
                AlarmName=name, Metrics=metrics, EvaluationPeriods=alarm["EvaluationPeriods"],
                Threshold=alarm["Threshold"], ComparisonOperator=alarm["ComparisonOperator"],
            )  # fmt: skip
        yield deployment
    health._TAGS.clear()


def test_the_health_alarms_read_what_the_publisher_writes(deployed: Deployment) -> None:
    config = deployed.synth.config
    for ref in target_groups(config):
        route = f"{ref.route.namespace}/{ref.route.name}"
        (alarm,) = [
            a for n, a in deployed.alarms.items() if n.endswith(f"{route} {app_dimension(ref.app)} no healthy targets")
        ]
        dims = {d["Name"]: d["Value"] for d in alarm["Metrics"][0]["MetricStat"]["Metric"]["Dimensions"]}
        assert dims == {"Cluster": config.cluster_name, "Route": route_dimension(ref.route, config.cluster_name),
                        "App": app_dimension(ref.app)}  # fmt: skip


def test_ok_on_a_healthy_deploy(deployed: Deployment) -> None:
    deployed.minutes(5)
    assert deployed.state("default/demo-app-a no healthy targets") == "OK"
    assert deployed.state("default/demo-app-b no healthy targets") == "OK"
    assert deployed.state("target-health publisher silent") == "OK"
    assert deployed.state("Lattice service ids stale") == "OK"


def test_ok_while_some_targets_are_unhealthy_alarm_when_all_are(deployed: Deployment) -> None:
    deployed.minutes(3)
    deployed.set_targets("demo-app-a", "HEALTHY", "UNHEALTHY")
    deployed.minutes(3)
    assert deployed.state("default/demo-app-a no healthy targets") == "OK"
    deployed.set_targets("demo-app-a", "UNHEALTHY", "UNHEALTHY")
    deployed.minutes(2)
    assert deployed.state("default/demo-app-a no healthy targets") == "OK"  # 2 of 3 periods so far
    deployed.minute()
    assert deployed.state("default/demo-app-a no healthy targets") == "ALARM"
    assert deployed.state("default/demo-app-b no healthy targets") == "OK"
    deployed.set_targets("demo-app-a", "HEALTHY", "HEALTHY")
    deployed.minute()
    assert deployed.state("default/demo-app-a no healthy targets") == "OK"


def test_alarm_when_the_publisher_stops(deployed: Deployment) -> None:
    deployed.minutes(5)
    deployed.minutes(3, publisher_runs=False)
    # The per-app alarms know nothing new (not breaching); the publisher's own alarm says it stopped.
    assert deployed.state("default/demo-app-a no healthy targets") == "OK"
    assert deployed.state("target-health publisher silent") == "ALARM"
    assert deployed.state("Lattice service ids stale") == "OK"  # not breaching: the silence alarm says it


def test_a_recreated_service_and_target_group_after_deploy(deployed: Deployment) -> None:
    """The controller recreates a route's service and target groups (route re-create, reinstall). The health
    alarms follow (they watch names; the publisher finds the new groups); the route alarms watch the dead
    service id, and the stale-id alarm says so."""
    config = deployed.synth.config
    deployed.minutes(3)
    route = config.routes[0]
    (old,) = [s for s in deployed.fake.services.values() if s.name == lattice_service_name(route, config.cluster_name)]
    del deployed.fake.services[old.id]
    new = deployed.fake.add_service(old.name, tags={})
    for app, group in list(deployed.groups.items()):
        del deployed.fake.target_groups[group.id]
        deployed.groups[app] = deployed.fake.add_target_group(group.name, vpc=VPC, tags=group.tags, targets=2)
    deployed.minutes(3)
    assert deployed.state("default/demo-app-a no healthy targets") == "OK"
    assert deployed.fake.ops("ListTargets")[-2:] == sorted(g.id for g in deployed.groups.values())
    assert new.id != old.id and old.id in health.watched_ids(deployed.cloudwatch, deployed.env["ALARM_PREFIX"])
    assert deployed.state("Lattice service ids stale") == "ALARM"
