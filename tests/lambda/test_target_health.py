"""The target-health publisher (lambda/lattice_metrics/health.py) against the fake Lattice (ListTargets,
ListTargetGroups, ListTagsForResource, ListServices over HTTP, paged) and moto's CloudWatch (PutMetricData)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.config import Config
from lattice_metrics import health
from lattice_metrics.handler import TAG_BASE

from tests.support.fake_lattice import FakeLattice, TargetGroup

VPC = "vpc-0123456789abcdef0"
CLUSTER = "eks-demo"
NAMESPACE = "EksLatticeGateway/TargetHealth"
PREFIX = "EksLatticeGateway-Gateway "
T0 = dt.datetime(2026, 12, 5, 12, 0, tzinfo=dt.UTC).timestamp()


def controller_tags(route: str, app: str, *, cluster: str = CLUSTER, source: str = "HTTPRoute") -> dict[str, str]:
    """The tags controller v2.1.3 writes on a route's target group (TagsFromTGTagFields)."""
    return {
        TAG_BASE + "ClusterName": cluster,
        TAG_BASE + "RouteName": route,
        TAG_BASE + "RouteNamespace": "default",
        TAG_BASE + "ServiceName": app,
        TAG_BASE + "ServiceNamespace": "default",
        TAG_BASE + "SourceTypeKey": source,
    }


@pytest.fixture(autouse=True)
def _no_tag_cache() -> Iterator[None]:
    health._TAGS.clear()
    yield
    health._TAGS.clear()


@pytest.fixture
def fake() -> Iterator[FakeLattice]:
    with FakeLattice(page_size=2) as server:
        yield server


def lattice_client(fake: FakeLattice) -> Any:
    return boto3.client(
        "vpc-lattice",
        region_name="us-east-1",
        endpoint_url=f"http://127.0.0.1:{fake.port}",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
        config=Config(retries={"total_max_attempts": 1}),
    )


def add_group(fake: FakeLattice, route: str, app: str, *, healthy: int, unhealthy: int = 0, **kw: Any) -> TargetGroup:
    group = fake.add_target_group(
        f"k8s-default-{app}-abcdefghij", vpc=VPC, tags=controller_tags(route, app, **kw), targets=healthy + unhealthy
    )
    for target in group.targets[healthy:]:
        target["status"] = "UNHEALTHY"
    return group


def env(**overrides: str) -> dict[str, str]:
    return {"NAMESPACE": NAMESPACE, "CLUSTER_NAME": CLUSTER, "VPC_ID": VPC, "ALARM_PREFIX": PREFIX, **overrides}


def run(fake: FakeLattice, cloudwatch: Any, at: float = T0, **environment: str) -> dict[str, Any]:
    return health.handler(
        {}, None, lattice=lattice_client(fake), cloudwatch=cloudwatch, env=env(**environment), clock=lambda: at
    )


def published(
    cloudwatch: Any, metric: str, dims: dict[str, str], stat: str = "Maximum", at: float = T0
) -> float | None:
    points = cloudwatch.get_metric_statistics(
        Namespace=NAMESPACE,
        MetricName=metric,
        Dimensions=[{"Name": k, "Value": v} for k, v in dims.items()],
        StartTime=dt.datetime.fromtimestamp(at - 30, dt.UTC),
        EndTime=dt.datetime.fromtimestamp(at + 30, dt.UTC),
        Period=60,
        Statistics=[stat],
    )["Datapoints"]
    return points[0][stat] if points else None


@pytest.fixture
def cloudwatch(mocked_aws: str) -> Any:
    return boto3.client("cloudwatch", region_name=mocked_aws)


def dims(route: str, app: str) -> dict[str, str]:
    return {"Cluster": CLUSTER, "Route": f"default/{route}", "App": f"default/{app}"}


def test_counts_healthy_and_unhealthy_targets_per_route_and_app(fake: FakeLattice, cloudwatch: Any) -> None:
    add_group(fake, "demo-http-route-abc", "demo-app-a", healthy=2, unhealthy=1)
    add_group(fake, "demo-http-route-abc", "demo-app-b", healthy=0, unhealthy=2)
    summary = run(fake, cloudwatch)
    assert summary == {"targetGroups": 2, "staleServices": []}
    assert published(cloudwatch, health.HEALTHY, dims("demo-http-route-abc", "demo-app-a")) == 2
    assert published(cloudwatch, health.UNHEALTHY, dims("demo-http-route-abc", "demo-app-a")) == 1
    assert published(cloudwatch, health.HEALTHY, dims("demo-http-route-abc", "demo-app-b")) == 0
    assert published(cloudwatch, health.UNHEALTHY, dims("demo-http-route-abc", "demo-app-b")) == 2
    assert published(cloudwatch, health.RUNS, {"Cluster": CLUSTER}, "Sum") == 1
    assert published(cloudwatch, health.STALE, {"Cluster": CLUSTER}) == 0


def test_states_other_than_healthy_and_unhealthy_count_as_neither(fake: FakeLattice, cloudwatch: Any) -> None:
    group = add_group(fake, "r", "a", healthy=4)
    for target, status in zip(group.targets, ("INITIAL", "DRAINING", "UNAVAILABLE", "HEALTHY"), strict=True):
        target["status"] = status
    run(fake, cloudwatch)
    assert published(cloudwatch, health.HEALTHY, dims("r", "a")) == 1
    assert published(cloudwatch, health.UNHEALTHY, dims("r", "a")) == 0


def test_only_this_clusters_http_route_target_groups(fake: FakeLattice, cloudwatch: Any) -> None:
    add_group(fake, "r", "a", healthy=1)
    add_group(fake, "r", "other-cluster", healthy=1, cluster="someone-else")
    add_group(fake, "r", "export", healthy=1, source="ServiceExport")
    fake.add_target_group("hand-made", vpc=VPC, tags=controller_tags("r", "hand"), targets=1)  # not the controller's
    fake.add_target_group("k8s-default-x-abcdefghij", vpc="vpc-other", tags=controller_tags("r", "x"), targets=1)
    assert run(fake, cloudwatch)["targetGroups"] == 1
    for app in ("other-cluster", "export", "hand", "x"):
        assert published(cloudwatch, health.HEALTHY, dims("r", app)) is None
    # Every page of the listing was read (the fake pages two at a time).
    assert fake.ops("ListTargetGroups") == [VPC, VPC]  # four groups in the VPC, two pages


def test_tags_are_read_once_per_group_while_warm_and_forgotten_when_it_goes(fake: FakeLattice, cloudwatch: Any) -> None:
    group = add_group(fake, "r", "a", healthy=1)
    run(fake, cloudwatch)
    run(fake, cloudwatch, at=T0 + 60)
    assert fake.ops("ListTagsForResource") == [group.arn]
    del fake.target_groups[group.id]
    run(fake, cloudwatch, at=T0 + 120)
    assert health._TAGS == {}


def test_the_newest_group_of_a_route_and_app_is_the_one_measured(fake: FakeLattice, cloudwatch: Any) -> None:
    add_group(fake, "r", "a", healthy=0, unhealthy=2)  # being replaced
    add_group(fake, "r", "a", healthy=3)
    run(fake, cloudwatch)
    assert published(cloudwatch, health.HEALTHY, dims("r", "a")) == 3


def test_a_recreated_target_group_is_followed_without_a_deploy(fake: FakeLattice, cloudwatch: Any) -> None:
    """The controller recreates a target group (route re-create, reinstall): the next run measures the new one
    under the same names, so the alarms (keyed on names) need nothing looked up again."""
    old = add_group(fake, "r", "a", healthy=2)
    run(fake, cloudwatch)
    del fake.target_groups[old.id]
    new = add_group(fake, "r", "a", healthy=1)
    assert new.id != old.id
    health.handler({}, None, lattice=lattice_client(fake), cloudwatch=cloudwatch, env=env(), clock=lambda: T0 + 60)
    assert fake.ops("ListTargets")[-1] == new.id


def route_alarm(cloudwatch: Any, name: str, service_id: str) -> None:
    """A route alarm as the stack makes it: a math alarm over metrics with the Service dimension."""

    def stat(key: str, metric: str) -> dict[str, Any]:
        dims = [{"Name": "Service", "Value": service_id}]
        metric_spec = {"Namespace": "AWS/VpcLattice", "MetricName": metric, "Dimensions": dims}
        return {"Id": key, "MetricStat": {"Metric": metric_spec, "Period": 60, "Stat": "Sum"}, "ReturnData": False}

    cloudwatch.put_metric_alarm(
        AlarmName=name,
        EvaluationPeriods=3,
        Threshold=5,
        ComparisonOperator="GreaterThanThreshold",
        Metrics=[
            stat("errors", "HTTPCode_5XX_Count"),
            stat("requests", "TotalRequestCount"),
            {"Id": "rate", "Expression": "100 * FILL(errors, 0) / requests", "ReturnData": True},
        ],
    )


def test_watched_service_ids_that_no_longer_exist_are_stale(fake: FakeLattice, cloudwatch: Any) -> None:
    kept = fake.add_service("route-one-default-aaaaaa", tags={})
    replaced = fake.add_service("route-two-default-bbbbbb", tags={})
    route_alarm(cloudwatch, PREFIX + "default/route-one 5XX rate", kept.id)
    route_alarm(cloudwatch, PREFIX + "default/route-two 5XX rate", replaced.id)
    route_alarm(cloudwatch, "SomeoneElse default/x 5XX rate", "svc-0someoneelses")  # not this deployment's
    cloudwatch.put_metric_alarm(  # a plain alarm, dimensions at the top
        AlarmName=PREFIX + "default/route-two p99 latency", Namespace="AWS/VpcLattice", MetricName="RequestTime",
        Dimensions=[{"Name": "Service", "Value": replaced.id}], Period=60, EvaluationPeriods=3, Threshold=1000,
        ExtendedStatistic="p99", ComparisonOperator="GreaterThanThreshold",
    )  # fmt: skip
    assert run(fake, cloudwatch)["staleServices"] == []
    del fake.services[replaced.id]
    fake.add_service(replaced.name, tags={})  # the controller made it again: same name, new id
    assert published(cloudwatch, health.STALE, {"Cluster": CLUSTER}) == 0
    assert run(fake, cloudwatch, at=T0 + 60)["staleServices"] == [replaced.id]
    assert published(cloudwatch, health.STALE, {"Cluster": CLUSTER}, at=T0 + 60) == 1
    assert health.watched_ids(cloudwatch, PREFIX) == {kept.id, replaced.id}


def test_a_bad_environment_is_one_clear_error() -> None:
    with pytest.raises(ValueError, match="bad environment for the target-health publisher: KeyError"):
        health.Settings.from_env({"NAMESPACE": NAMESPACE})


def test_lattice_failing_publishes_nothing_not_even_the_heartbeat(fake: FakeLattice, cloudwatch: Any) -> None:
    add_group(fake, "r", "a", healthy=1)

    class Throttled:
        def __getattr__(self, name: str) -> Any:
            def call(**_: Any) -> Any:
                from botocore.exceptions import ClientError

                raise ClientError({"Error": {"Code": "ThrottlingException", "Message": "slow down"}}, name)

            return call

    with pytest.raises(RuntimeError, match="nothing published this run"):
        health.handler({}, None, lattice=Throttled(), cloudwatch=cloudwatch, env=env(), sleep=lambda _: None)
    assert published(cloudwatch, health.RUNS, {"Cluster": CLUSTER}, "Sum") is None


def test_many_target_groups_are_split_into_calls_of_at_most_1000(fake: FakeLattice) -> None:
    settings = health.Settings.from_env(env())
    groups = [health.GroupHealth(f"default/r{i}", "default/a", f"tg-{i}", 1, 0) for i in range(600)]
    calls: list[int] = []

    class Recorder:
        def put_metric_data(self, *, Namespace: str, MetricData: list[Any]) -> None:  # noqa: N803 - boto3's names
            assert Namespace == NAMESPACE
            calls.append(len(MetricData))

    health.publish(Recorder(), settings, groups, [], at=T0)
    assert calls == [1000, 201, 1]  # 1,200 counts + the stale count, then the heartbeat alone


# ------------------------------------------------------------------- review of issue 22: time, accounts, budget

OTHER_ACCOUNT = "999988887777"


class Context:
    """What Lambda passes: the function's ARN and the time left."""

    def __init__(self, remaining_ms: int = 50_000, account: str = "111122223333") -> None:
        self.invoked_function_arn = f"arn:aws:lambda:us-east-1:{account}:function:publisher"
        self._remaining = remaining_ms

    def get_remaining_time_in_millis(self) -> int:
        return self._remaining


def test_points_carry_the_scheduled_events_time_not_the_end_of_the_run(fake: FakeLattice, cloudwatch: Any) -> None:
    add_group(fake, "r", "a", healthy=1)
    event = {"time": "2026-12-05T12:00:45Z"}  # EventBridge's scheduled event: ISO 8601, UTC
    health.handler(event, None, lattice=lattice_client(fake), cloudwatch=cloudwatch, env=env(), clock=lambda: T0 + 80)
    # Stamped at 12:00:45, in the 12:00 minute; the run's clock (12:01:20) would be the next.
    assert published(cloudwatch, health.RUNS, {"Cluster": CLUSTER}, "Sum", at=T0 + 30) == 1
    assert published(cloudwatch, health.RUNS, {"Cluster": CLUSTER}, "Sum", at=T0 + 90) is None
    assert health.scheduled_time({"time": "not a time"}, lambda: T0) == T0
    assert health.scheduled_time({}, lambda: T0) == T0


def test_only_this_accounts_target_groups_and_services_count(fake: FakeLattice, cloudwatch: Any) -> None:
    """ListTargetGroups and ListServices also list what other accounts share with this one."""
    add_group(fake, "r", "a", healthy=1)
    shared = add_group(fake, "r", "shared", healthy=0, unhealthy=1)
    shared.account = OTHER_ACCOUNT
    fake.unreadable.add(shared.arn)  # another account's tags are not ours to read
    mine = fake.add_service("route-default-aaaaaa", tags={})
    route_alarm(cloudwatch, PREFIX + "default/route 5XX rate", mine.id)
    summary = health.handler(
        {}, Context(), lattice=lattice_client(fake), cloudwatch=cloudwatch, env=env(), clock=lambda: T0
    )
    assert summary["targetGroups"] == 1
    assert shared.arn not in fake.ops("ListTagsForResource")
    assert published(cloudwatch, health.HEALTHY, dims("r", "shared")) is None
    # The watched service is gone from this account; a shared service with its id does not hide that.
    del fake.services[mine.id]
    impostor = fake.add_service("route-default-aaaaaa", tags={})
    fake.services.pop(impostor.id)
    impostor.id, impostor.account = mine.id, OTHER_ACCOUNT
    fake.services[mine.id] = impostor
    summary = health.handler(
        {}, Context(), lattice=lattice_client(fake), cloudwatch=cloudwatch, env=env(), clock=lambda: T0 + 60
    )
    assert summary["staleServices"] == [mine.id]


def test_access_denied_on_this_accounts_tags_is_a_failed_run_without_a_heartbeat(
    fake: FakeLattice, cloudwatch: Any
) -> None:
    group = add_group(fake, "r", "a", healthy=1)
    fake.unreadable.add(group.arn)  # the role lost vpc-lattice:ListTagsForResource
    with pytest.raises(Exception, match="AccessDenied"):
        health.handler({}, Context(), lattice=lattice_client(fake), cloudwatch=cloudwatch, env=env(), clock=lambda: T0)
    assert published(cloudwatch, health.RUNS, {"Cluster": CLUSTER}, "Sum") is None


def test_a_slow_lattice_at_hundreds_of_target_groups_ends_before_the_functions_timeout(
    cloudwatch: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every call takes its full bound (connect + read): the run stops starting calls while one could still
    outlast the budget, fails readably without a heartbeat, and never runs past the Lambda timeout."""
    from constructs.observability.target_health import TIMEOUT
    from lattice_metrics import handler as lattice_handler

    clock = {"now": 1000.0}
    monkeypatch.setattr(lattice_handler.time, "monotonic", lambda: clock["now"])
    monkeypatch.setattr(health.time, "monotonic", lambda: clock["now"])
    latency = lattice_handler.CALL_SECONDS_MAX

    class SlowLattice:
        """600 target groups of this cluster, each call as slow as its timeouts allow."""

        def list_target_groups(self, **kw: Any) -> dict[str, Any]:
            clock["now"] += latency
            start = int(kw.get("nextToken") or 0)
            items = [
                {"id": f"tg-{i}", "arn": f"arn:aws:vpc-lattice:us-east-1:111122223333:targetgroup/tg-{i}",
                 "name": f"k8s-default-a{i}-abcdefghij", "status": "ACTIVE", "createdAt": "2026-12-05T00:00:00Z"}
                for i in range(start, min(start + 100, 600))
            ]  # fmt: skip
            return {"items": items, **({"nextToken": str(start + 100)} if start + 100 < 600 else {})}

        def list_tags_for_resource(self, **kw: Any) -> dict[str, Any]:
            clock["now"] += latency
            return {"tags": controller_tags("r", kw["resourceArn"].rsplit("/", 1)[-1])}

        def list_targets(self, **_: Any) -> dict[str, Any]:
            clock["now"] += latency
            return {"items": [{"id": "10.0.0.1", "status": "HEALTHY"}]}

    started = clock["now"]
    budget_ms = int(TIMEOUT.to_seconds() * 1000)
    with pytest.raises(RuntimeError, match="out of time"):
        health.handler(
            {}, Context(budget_ms), lattice=SlowLattice(), cloudwatch=cloudwatch, env=env(), clock=lambda: T0
        )
    assert clock["now"] - started <= TIMEOUT.to_seconds()
    assert published(cloudwatch, health.RUNS, {"Cluster": CLUSTER}, "Sum") is None


def test_a_watched_pair_without_a_target_group_is_0_after_the_grace_and_nothing_before() -> None:
    watched = health.Watched(set(), {("default/r", "default/a"): T0, ("default/r", "default/b"): T0})
    present = [health.GroupHealth("default/r", "default/b", "tg-1", 2, 0)]
    assert health.never_appeared(watched, present, now=T0 + health.MISSING_GRACE_SECONDS - 1) == []
    assert health.never_appeared(watched, present, now=T0 + health.MISSING_GRACE_SECONDS) == [
        health.GroupHealth("default/r", "default/a", "", 0, 0)
    ]


def test_targets_all_initial_publish_no_count_yet(fake: FakeLattice, cloudwatch: Any) -> None:
    group = add_group(fake, "r", "a", healthy=2)
    for target in group.targets:
        target["status"] = "INITIAL"
    run(fake, cloudwatch)
    assert published(cloudwatch, health.HEALTHY, dims("r", "a")) is None
    assert published(cloudwatch, health.RUNS, {"Cluster": CLUSTER}, "Sum") == 1
