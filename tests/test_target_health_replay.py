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
from constructs.observability.metric_ids import target_groups
from constructs.observability.target_health import app_dimension, route_dimension
from lattice_metrics import health
from lattice_metrics.handler import TAG_BASE

from config.lattice_names import lattice_service_name, route_object_name
from tests.conftest import Synthesized
from tests.support.fake_lattice import FakeLattice, TargetGroup

GATEWAY = "EksLatticeGateway-Gateway"
VPC = "vpc-0123456789abcdef0"
START = dt.datetime(2026, 12, 5, 12, 0, tzinfo=dt.UTC).timestamp()
REGION = "us-east-1"
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

    lattice_client: Any = None

    def lattice(self) -> Any:
        """The fake Lattice's client, made once per replay: a client keeps nothing between calls that a run reads."""
        if self.lattice_client is None:
            self.lattice_client = boto3.client(
                "vpc-lattice", region_name="us-east-1", endpoint_url=f"http://127.0.0.1:{self.fake.port}",
                aws_access_key_id="testing", aws_secret_access_key="testing",
                config=Config(retries={"total_max_attempts": 1}),
            )  # fmt: skip
        return self.lattice_client

    def minute(self, *, publisher_runs: bool = True, late: float = 30) -> None:
        """One scheduled tick (the minute that just began... ended at `now`), the run starting `late` s after it."""
        self.now += 60
        if publisher_runs:
            tick = self.now - 60
            event = {"time": dt.datetime.fromtimestamp(tick, dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")}
            health.handler(
                event, None, lattice=self.lattice(), cloudwatch=self.cloudwatch, env=self.env, clock=lambda: tick + late
            )

    def create_alarms(self, names: list[str]) -> None:
        """The alarms as CloudFormation creates them, configured at the replay's `now`."""
        from moto.cloudwatch.models import cloudwatch_backends

        for name in names:
            alarm = self.alarms[name]
            metrics = [
                {**q, "MetricStat": {**q["MetricStat"], "Metric": {**q["MetricStat"]["Metric"], "Dimensions": [
                    {"Name": d["Name"], "Value": _resolve(d["Value"], self.services)}
                    for d in q["MetricStat"]["Metric"]["Dimensions"]]}}} if "MetricStat" in q else q
                for q in alarm["Metrics"]
            ]  # fmt: skip
            self.cloudwatch.put_metric_alarm(
                AlarmName=name, Metrics=metrics, EvaluationPeriods=alarm["EvaluationPeriods"],
                Threshold=alarm["Threshold"], ComparisonOperator=alarm["ComparisonOperator"],
            )  # fmt: skip
            for backend in cloudwatch_backends.values():  # moto stamps the wall clock; the replay has its own
                if name in backend[REGION].alarms:
                    backend[REGION].alarms[name].configuration_updated_timestamp = dt.datetime.fromtimestamp(
                        self.now, dt.UTC
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


def controller_tags(ref: Any, cluster: str) -> dict[str, str]:
    return {
        TAG_BASE + "ClusterName": cluster,
        TAG_BASE + "RouteName": route_object_name(ref.route, cluster),
        TAG_BASE + "RouteNamespace": ref.route.namespace,
        TAG_BASE + "ServiceName": ref.app.name,
        TAG_BASE + "ServiceNamespace": ref.app.namespace,
        TAG_BASE + "SourceTypeKey": "HTTPRoute",
    }


@pytest.fixture
def empty(synth: Synthesized, mocked_aws: str) -> Iterator[Deployment]:
    """The default deployment's template, before CloudFormation has created anything."""
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
    with FakeLattice(page_size=2) as fake:
        yield Deployment(synth, fake, boto3.client("cloudwatch", region_name=mocked_aws), env, alarms)
    health._TAGS.clear()


def add_services(deployment: Deployment) -> None:
    """The controller creates one service per route; each route's lookup answers its id."""
    config, template = deployment.synth.config, deployment.synth.templates[GATEWAY]
    lookups = {
        r["Properties"]["Services"][0]["Name"]: k
        for k, r in template["Resources"].items()
        if r["Type"] == "Custom::LatticeMetricIds"
    }
    for route in config.routes:
        service = deployment.fake.add_service(lattice_service_name(route, config.cluster_name), tags={})
        deployment.services[lookups[service.name]] = service.id


def add_target_groups(deployment: Deployment, *, status: str = "HEALTHY") -> None:
    config = deployment.synth.config
    for ref in target_groups(config):
        name = f"k8s-{ref.app.namespace}-{ref.app.name}-abcdefghij"
        group = deployment.fake.add_target_group(
            name, vpc=VPC, tags=controller_tags(ref, config.cluster_name), targets=ref.app.replicas
        )
        for target in group.targets:
            target["status"] = status
        deployment.groups[ref.app.name] = group


@pytest.fixture
def deployed(empty: Deployment) -> Deployment:
    add_services(empty)
    add_target_groups(empty)
    # The alarms exist in CloudWatch as deployed (the publisher reads what they watch from them).
    empty.create_alarms(list(empty.alarms))
    return empty


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


def test_points_land_in_their_scheduled_period_however_late_the_run(deployed: Deployment) -> None:
    """The class: with one evaluation period, a run that starts late (EventBridge delivers within its minute,
    Lambda may start later) still fills the period it was scheduled for, so a healthy replay stays OK."""
    one_period = {
        n: {**a, "EvaluationPeriods": 1, "DatapointsToAlarm": 1}
        for n, a in deployed.alarms.items()
        if n.endswith(("no healthy targets", "publisher silent"))
    }
    deployed.now += 45  # a rate() schedule ticks at the second it was created at, not on the minute
    for late in (0, 5, 59, 31, 45, 58, 1, 50, 59, 0, 20, 10):  # how long after its tick each run writes
        deployed.minute(late=late)
        for name, alarm in one_period.items():
            assert evaluate(deployed.cloudwatch, alarm, now=deployed.now, services=deployed.services) == "OK", (
                name,
                late,
            )


def states(deployment: Deployment, created: set[str]) -> dict[str, str]:
    """The states of the created alarms on one metric: this app's own (the route alarms' math over Lattice's
    metrics treats missing data as not breaching, and the replay has no traffic)."""
    return {
        n: evaluate(deployment.cloudwatch, deployment.alarms[n], now=deployment.now, services=deployment.services)
        for n in created
        if len(deployment.alarms[n]["Metrics"]) == 1
    }


def test_no_alarm_fires_while_cloudformation_and_the_controller_create_everything(empty: Deployment) -> None:
    """The class: a replay from nothing, in the template's creation order. The publisher and its schedule come
    first (no dependencies); each route's service appears when the controller reconciles it, its lookup answers,
    and only then the alarms that depend on the lookups are created; the target groups follow, their targets
    INITIAL until the health checks pass. No alarm may reach ALARM at any minute after it exists."""
    template = empty.synth.templates[GATEWAY]["Resources"]
    by_name = {r["Properties"]["AlarmName"]: k for k, r in template.items() if r["Type"] == "AWS::CloudWatch::Alarm"}
    lookups = {k for k, r in template.items() if r["Type"] == "Custom::LatticeMetricIds"}
    # Every breaching alarm, and every per-app alarm (its grace runs from its creation), waits for the route
    # lookups (by dependency or by the ids it reads): none exists before the services do.
    for name, logical_id in by_name.items():
        resource = template[logical_id]
        if resource["Properties"]["TreatMissingData"] != "breaching" and not name.endswith("no healthy targets"):
            continue
        waits = set(resource.get("DependsOn", [])) | {v[0] for v in _getatts(resource["Properties"])}
        assert waits & lookups, name
    created: set[str] = set()
    empty.minutes(2)  # the publisher runs; nothing else exists yet
    add_services(empty)  # minute 2: the controller has made the routes' services
    empty.minute()
    empty.create_alarms(list(empty.alarms))  # the lookups answered: every alarm is created
    created |= set(empty.alarms)
    assert set(states(empty, created).values()) == {"OK"}
    for _ in range(3):
        empty.minute()
        assert set(states(empty, created).values()) == {"OK"}
    add_target_groups(empty, status="INITIAL")  # the target groups, targets registering
    for _ in range(4):
        empty.minute()
        assert set(states(empty, created).values()) == {"OK"}, states(empty, created)
    for app in empty.groups:
        empty.set_targets(app, "HEALTHY", "HEALTHY")
    for _ in range(5):
        empty.minute()
        assert set(states(empty, created).values()) == {"OK"}


def test_a_target_group_that_never_appears_alarms_after_the_grace(empty: Deployment) -> None:
    add_services(empty)
    empty.create_alarms(list(empty.alarms))
    grace_minutes = health.MISSING_GRACE_SECONDS // 60
    empty.minutes(grace_minutes)
    assert empty.state("default/demo-app-a no healthy targets") == "OK"
    empty.minutes(3)
    assert empty.state("default/demo-app-a no healthy targets") == "ALARM"
    assert empty.state("target-health publisher silent") == "OK"
    add_target_groups(empty)
    empty.minute()
    assert empty.state("default/demo-app-a no healthy targets") == "OK"


def _getatts(node: Any) -> Iterator[list[str]]:
    if isinstance(node, dict):
        if "Fn::GetAtt" in node:
            yield node["Fn::GetAtt"]
        for value in node.values():
            yield from _getatts(value)
    elif isinstance(node, list):
        for value in node:
            yield from _getatts(value)
