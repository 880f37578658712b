"""The finalizer guard rule by rule: every property error's message, both sides of GraceSeconds, what each way
out of release() reports, the grace and budget edges, and what on_event hands to the client factory and to
CloudFormation. Real KubeClient against the fake API (tests/support/fake_kube.py); time passes only through the
guard's sleeps."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from typing import Any

import pytest
from finalizer_guard import handler as guard
from k8s_api import KubeApiError, KubeClient

from tests.support.clock import FakeClock as Clock
from tests.support.clock import FixedContext as Context
from tests.support.fake_kube import FakeKubeApi
from tests.support.stack_statuses import WHOLE_STACK_REMOVAL as STACK_REMOVAL
from tests.support.stack_statuses import botocore_stack_statuses

NS, SA = "aws-application-networking-system", "gateway-api-controller"
ROUTE = "/apis/gateway.networking.k8s.io/v1/namespaces/default/httproutes/demo"
FINALIZER = "httproute.k8s.aws/resources"
DEPLOYMENTS = f"/apis/apps/v1/namespaces/{NS}/deployments"
CREDENTIAL_ENV = [{"name": "AWS_CONTAINER_CREDENTIALS_FULL_URI", "value": "http://169.254.170.23/v1/credentials"}]
PROPS = {
    "ClusterName": "eks-demo",
    "Path": ROUTE,
    "Finalizer": FINALIZER,
    "ControllerNamespace": NS,
    "ControllerServiceAccount": SA,
}


@pytest.fixture
def api() -> Iterator[FakeKubeApi]:
    with FakeKubeApi() as server:
        yield server


STACK = "arn:aws:cloudformation:eu-west-1:123456789012:stack/Gateway/0a1b"


def deleting(stack: str) -> str:
    """The guard's stack while it is deleted (every other status: tests/lambda/test_stack_removal.py)."""
    assert stack == STACK
    return "DELETE_IN_PROGRESS"


def kube(api: FakeKubeApi) -> KubeClient:
    return KubeClient(endpoint=api.endpoint, ca_data=api.ca_data, token=lambda: api.token, sleep=lambda _: None)


def deps(api: FakeKubeApi, clock: Clock, poll: float = 10.0) -> guard.Deps:
    return guard.Deps(
        kube_client=lambda *_: kube(api), stack_status=deleting, sleep=clock.sleep, clock=clock, poll_interval=poll
    )


def settings(**props: Any) -> guard.Settings:
    return guard.parse_properties({**PROPS, **props})


def healthy_controller(api: FakeKubeApi) -> None:
    """A ready replica with credentials, which never removes its finalizer (stuck)."""
    spec = {"serviceAccountName": SA, "containers": [{"name": "manager", "env": CREDENTIAL_ENV}]}
    api.put_object(f"{DEPLOYMENTS}/{SA}", {"spec": {"replicas": 1, "template": {"spec": {"serviceAccountName": SA}}}})
    api.put_object(
        f"/api/v1/namespaces/{NS}/pods/{SA}-1",
        {
            "metadata": {"name": f"{SA}-1"},
            "spec": spec,
            "status": {"conditions": [{"type": "Ready", "status": "True"}]},
        },
    )


def put(api: FakeKubeApi, finalizers: list[str], **meta: Any) -> None:
    api.put_object(ROUTE, {"metadata": {"name": "demo", "finalizers": finalizers, **meta}})


def methods(api: FakeKubeApi) -> list[str]:
    return [r.method for r in api.requests if r.path == ROUTE]


# -- properties ---------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("key", list(PROPS))
@pytest.mark.parametrize("value", [None, "", "  "], ids=["missing", "empty", "blank"])
def test_each_required_property_is_named(key: str, value: str | None) -> None:
    props = {k: v for k, v in PROPS.items() if k != key or value is not None}
    if value is not None:
        props[key] = value
    with pytest.raises(guard.GuardError) as exc:
        guard.parse_properties(props)
    assert str(exc.value) == f"{key} property is required"


def test_path_must_be_an_api_path() -> None:
    with pytest.raises(guard.GuardError) as exc:
        settings(Path="/api/v1/namespaces/default/services/x")
    assert str(exc.value) == "Path must be an API path (/apis/...), got '/api/v1/namespaces/default/services/x'"


@pytest.mark.parametrize(
    ("raw", "grace"),
    [(None, 300.0), ("", 300.0), ("12", 12.0), (" 7.5 ", 7.5), ("0.5", 0.5), ("0", 0.0), (45, 45.0)],
)
def test_grace_seconds_accepted(raw: Any, grace: float) -> None:
    props = {**PROPS} if raw is None else {**PROPS, "GraceSeconds": raw}
    assert guard.parse_properties(props).grace == grace


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ("-0.5", "GraceSeconds must not be negative, got '-0.5'"),
        ("soon", "GraceSeconds must be a number, got 'soon'"),
        ([1], "GraceSeconds must be a number, got [1]"),
    ],
)
def test_grace_seconds_refused(raw: Any, message: str) -> None:
    with pytest.raises(guard.GuardError) as exc:
        settings(GraceSeconds=raw)
    assert str(exc.value) == message


# -- release: each way out ------------------------------------------------------------------------------------------


def test_an_absent_object_is_already_gone(api: FakeKubeApi) -> None:
    clock = Clock()
    assert guard.release(kube(api), settings(), deps=deps(api, clock), budget=100.0, stack=STACK) == "already gone"
    assert methods(api) == ["GET"]


def test_an_object_gone_between_get_and_delete_is_already_gone(api: FakeKubeApi) -> None:
    put(api, [FINALIZER])
    api.fail_next(ROUTE, 404, method="DELETE")
    assert guard.release(kube(api), settings(), deps=deps(api, Clock()), budget=100.0, stack=STACK) == "already gone"


def test_a_delete_refused_otherwise_is_the_failure(api: FakeKubeApi) -> None:
    put(api, [FINALIZER])
    api.fail_next(ROUTE, 405, method="DELETE", message="nope")
    with pytest.raises(guard.GuardError) as exc:
        guard.release(kube(api), settings(), deps=deps(api, Clock()), budget=100.0, stack=STACK)
    assert str(exc.value) == f"deleting {ROUTE}: DELETE {ROUTE} failed: HTTP 405: nope"


def test_the_delete_is_a_background_delete(api: FakeKubeApi) -> None:
    put(api, [])
    assert guard.release(kube(api), settings(), deps=deps(api, Clock()), budget=100.0, stack=STACK) == "deleted"
    [delete] = [r for r in api.requests if r.method == "DELETE"]
    assert delete.query == {"propagationPolicy": "Background"}


def test_an_object_already_terminating_is_not_deleted_again(api: FakeKubeApi) -> None:
    put(api, [FINALIZER], deletionTimestamp="2025-01-01T00:00:00Z", resourceVersion="3")
    outcome = guard.release(kube(api), settings(), deps=deps(api, Clock()), budget=100.0, stack=STACK)
    assert outcome == "finalizer removed: the controller has no ready replica with credentials"
    assert methods(api) == ["GET", "GET", "PATCH"]


@pytest.mark.parametrize(
    ("finalizers", "held_by"), [([], "nothing"), (["a.example/x", "b.example/y"], "a.example/x, b.example/y")]
)
def test_what_else_holds_it_is_reported_not_removed(api: FakeKubeApi, finalizers: list[str], held_by: str) -> None:
    put(api, finalizers, deletionTimestamp="2025-01-01T00:00:00Z")
    outcome = guard.release(kube(api), settings(), deps=deps(api, Clock()), budget=100.0, stack=STACK)
    assert outcome == f"deleting; held only by {held_by}"
    assert "PATCH" not in methods(api)


def test_an_object_gone_before_the_strip_is_deleted(api: FakeKubeApi) -> None:
    put(api, [FINALIZER])
    api.fail_next(ROUTE, 404, method="PATCH")
    assert guard.release(kube(api), settings(), deps=deps(api, Clock()), budget=100.0, stack=STACK) == "deleted"


def test_a_strip_refused_otherwise_is_the_failure(api: FakeKubeApi) -> None:
    put(api, [FINALIZER])
    api.fail_next(ROUTE, 422, method="PATCH", message="invalid")
    with pytest.raises(guard.GuardError) as exc:
        guard.release(kube(api), settings(), deps=deps(api, Clock()), budget=100.0, stack=STACK)
    assert str(exc.value) == f"deleting {ROUTE}: PATCH {ROUTE} failed: HTTP 422: invalid"


def test_without_a_resource_version_the_patch_names_none(api: FakeKubeApi) -> None:
    put(api, ["a.example/keep", FINALIZER])
    guard.release(kube(api), settings(), deps=deps(api, Clock()), budget=100.0, stack=STACK)
    [patch] = [r for r in api.requests if r.method == "PATCH"]
    assert json.loads(patch.body) == {"metadata": {"finalizers": ["a.example/keep"]}}


def test_a_controller_that_cannot_be_seen_counts_as_down(api: FakeKubeApi, caplog: pytest.LogCaptureFixture) -> None:
    healthy_controller(api)
    api.fail_next(DEPLOYMENTS, 403, message="forbidden")
    put(api, [FINALIZER])
    caplog.set_level(logging.WARNING, logger=guard.logger.name)
    clock = Clock()
    outcome = guard.release(kube(api), settings(), deps=deps(api, clock), budget=100.0, stack=STACK)
    assert outcome == "finalizer removed: the controller has no ready replica with credentials"
    assert clock.now == 0.0
    [seen, removed] = [r.getMessage() for r in caplog.records]
    assert seen.startswith(f"cannot see the controller (GET {DEPLOYMENTS} is forbidden (HTTP 403)")
    assert seen.endswith("API said: forbidden): treating it as down")
    assert removed == (
        f"removed finalizer {FINALIZER} from {ROUTE} (the controller has no ready replica with credentials); "
        "the drain waiter sweeps what it left in Lattice"
    )


# -- release: grace and budget edges --------------------------------------------------------------------------------


def test_the_strip_comes_exactly_when_the_grace_ends(api: FakeKubeApi, caplog: pytest.LogCaptureFixture) -> None:
    healthy_controller(api)
    put(api, [FINALIZER])
    caplog.set_level(logging.WARNING, logger=guard.logger.name)
    clock = Clock()
    outcome = guard.release(kube(api), settings(GraceSeconds="20"), deps=deps(api, clock), budget=100.0, stack=STACK)
    assert (outcome, clock.now, clock.slept) == ("finalizer removed: grace ran out", 20.0, [10.0, 10.0])
    assert [r.getMessage() for r in caplog.records] == [
        f"removed finalizer {FINALIZER} from {ROUTE} (grace ran out); the drain waiter sweeps what it left in Lattice"
    ]


@pytest.mark.parametrize(
    ("budget", "stripped_at"),
    [
        (40.0, 20.0),  # two polls kept for the strip: the grace ends at 40 - 2 x 10
        (25.0, 10.0),  # ends at 5: the first poll after it
        (15.0, 0.0),  # no time for a grace at all: at once
    ],
)
def test_the_grace_ends_two_polls_before_the_budget(api: FakeKubeApi, budget: float, stripped_at: float) -> None:
    healthy_controller(api)
    put(api, [FINALIZER])
    clock = Clock()
    outcome = guard.release(kube(api), settings(GraceSeconds="3000"), deps=deps(api, clock), budget=budget, stack=STACK)
    assert (outcome, clock.now) == ("finalizer removed: grace ran out", stripped_at)


class Script:
    """A clock answering from a list (the last value repeats)."""

    def __init__(self, *values: float) -> None:
        self.values = list(values)

    def __call__(self) -> float:
        return self.values.pop(0) if len(self.values) > 1 else self.values[0]


def test_the_deadline_backstop_names_budget_and_path(api: FakeKubeApi) -> None:
    # Unreachable with a steady clock (the grace always ends first); a clock read late for the grace gets there.
    healthy_controller(api)
    put(api, [FINALIZER])
    clock = Script(0.0, 0.5, 30.0)  # deadline 30, grace end 30.5; then the clock stands at the deadline
    d = guard.Deps(
        kube_client=lambda *_: kube(api), stack_status=deleting, sleep=lambda s: None, clock=clock, poll_interval=0.0
    )
    with pytest.raises(guard.GuardError) as exc:
        guard.release(kube(api), settings(GraceSeconds="3000"), deps=d, budget=30.0, stack=STACK)
    assert str(exc.value) == f"timed out after 30s waiting for {ROUTE} to be deleted"


# -- on_event ---------------------------------------------------------------------------------------------------------


def event(request_type: str = "Delete", physical: str | None = "finalizer-guard/x", **props: Any) -> dict[str, Any]:
    out: dict[str, Any] = {"RequestType": request_type, "StackId": STACK, "ResourceProperties": {**PROPS, **props}}
    if physical is not None:
        out["PhysicalResourceId"] = physical
    return out


def test_the_client_factory_gets_the_cluster_and_the_lambdas_time_less_the_reserve(api: FakeKubeApi) -> None:
    asked: list[tuple[str, float]] = []

    def factory(cluster: str, time_left: Any) -> KubeClient:
        asked.append((cluster, time_left()))
        return kube(api)

    result = guard.on_event(event(), Context(600_000), deps=guard.Deps(kube_client=factory, stack_status=deleting))
    assert asked == [("eks-demo", 580.0)]
    assert result == {"PhysicalResourceId": "finalizer-guard/x"}


def test_without_a_context_there_is_no_time_limit(api: FakeKubeApi) -> None:
    asked: list[float] = []

    def factory(cluster: str, time_left: Any) -> KubeClient:
        asked.append(time_left())
        return kube(api)

    guard.on_event(event(), None, deps=guard.Deps(kube_client=factory, stack_status=deleting))
    assert asked == [float("inf")]


def test_the_budget_is_capped_at_an_hour(api: FakeKubeApi) -> None:
    healthy_controller(api)
    put(api, [FINALIZER])
    clock = Clock()
    d = guard.Deps(
        kube_client=lambda *_: kube(api), stack_status=deleting, sleep=clock.sleep, clock=clock, poll_interval=900.0
    )
    # Ten hours left and a longer grace: the budget is 3600 s, so the grace ends at 3600 - 2 x 900.
    guard.on_event(event(GraceSeconds="99999"), Context(36_000_000), deps=d)
    assert clock.now == 1800.0


def test_the_outcome_is_logged_and_a_missing_physical_id_rebuilt(
    api: FakeKubeApi, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger=guard.logger.name)
    result = guard.on_event(
        event(physical=None), Context(600_000), deps=guard.Deps(kube_client=lambda *_: kube(api), stack_status=deleting)
    )
    assert result == {"PhysicalResourceId": f"finalizer-guard/eks-demo{ROUTE}"}
    assert [r.getMessage() for r in caplog.records] == [f"{ROUTE}: already gone"]


@pytest.mark.parametrize(
    ("physical", "answer"), [("finalizer-guard/old", "finalizer-guard/old"), (None, "finalizer-guard/")]
)
def test_a_delete_with_bad_properties_answers_without_the_cluster(physical: str | None, answer: str) -> None:
    def no_cluster(*_: Any) -> KubeClient:
        raise AssertionError("no cluster call")

    result = guard.on_event(
        event(physical=physical, Path=""), None, deps=guard.Deps(kube_client=no_cluster, stack_status=deleting)
    )
    assert result == {"PhysicalResourceId": answer}


def test_an_unknown_request_type_is_named() -> None:
    with pytest.raises(guard.GuardError) as exc:
        guard.on_event(event("Frobnicate"), None)
    assert str(exc.value) == "unknown RequestType 'Frobnicate'"


def test_a_client_that_cannot_be_built_fails_with_its_reason() -> None:
    def broken(*_: Any) -> KubeClient:
        raise KubeApiError("eks:DescribeCluster for 'eks-demo' failed: AccessDenied")

    with pytest.raises(guard.GuardError) as exc:
        guard.on_event(event(), None, deps=guard.Deps(kube_client=broken))
    assert str(exc.value) == "eks:DescribeCluster for 'eks-demo' failed: AccessDenied"


def test_the_default_client_is_bounded_and_reports_as_the_guard(monkeypatch: pytest.MonkeyPatch) -> None:
    """The EKS client behind it is k8s_api's bounded default; the Lambda's time left goes to the Kubernetes
    client, and its failures are GuardErrors."""
    asked: list[tuple[str, dict[str, Any]]] = []

    def for_lambda(cluster_name: str, **kwargs: Any) -> str:
        asked.append((cluster_name, kwargs))
        return "client"

    monkeypatch.setattr(KubeClient, "for_lambda", for_lambda)

    def time_left() -> float:
        return 42.0

    assert guard._default_kube_client("eks-demo", time_left) == "client"
    # No eks_config: DescribeCluster gets k8s_api's bounded default (tests/lambda/test_k8s_api_lambda.py).
    assert asked == [("eks-demo", {"error": guard.GuardError, "time_left": time_left})]


def test_the_budget_is_at_least_a_second(api: FakeKubeApi) -> None:
    healthy_controller(api)
    put(api, [FINALIZER])
    # Half a second left after the reserve; the backstop message shows the budget the guard worked with.
    clock = Script(0.0, 0.5, 1.0, 1.0, 5.0)
    d = guard.Deps(
        kube_client=lambda *_: kube(api), stack_status=deleting, sleep=lambda s: None, clock=clock, poll_interval=0.0
    )
    with pytest.raises(guard.GuardError) as exc:
        guard.on_event(event(GraceSeconds="3000"), Context(20_500), deps=d)
    assert str(exc.value) == f"timed out after 1s waiting for {ROUTE} to be deleted"


# -- the finalizer goes only while the whole stack is removed (every CloudFormation status) ------------------------


@pytest.mark.parametrize("healthy", [False, True], ids=["controller-down", "grace-ran-out"])
@pytest.mark.parametrize("status", botocore_stack_statuses())
def test_the_finalizer_is_stripped_only_in_a_whole_stack_removal(
    api: FakeKubeApi, status: str, healthy: bool, caplog: pytest.LogCaptureFixture
) -> None:
    """Outside a stack delete or a first create's rollback (an update's cleanup: a route dropped, auth -> NONE)
    nothing sweeps Lattice, so the finalizer stays for the controller; the Delete still returns, within its time."""
    if healthy:
        healthy_controller(api)
    put(api, [FINALIZER, "a.example/keep"], resourceVersion="7")
    asked: list[str] = []

    def status_of(stack: str) -> str:
        asked.append(stack)
        return status

    clock = Clock()
    d = guard.Deps(kube_client=lambda *_: kube(api), stack_status=status_of, sleep=clock.sleep, clock=clock)
    caplog.set_level(logging.INFO, logger=guard.logger.name)
    result = guard.on_event(event(GraceSeconds="20"), Context(600_000), deps=d)
    assert result == {"PhysicalResourceId": "finalizer-guard/x"}
    assert asked == [STACK]  # read once, only when the finalizer would go
    assert clock.now == (20.0 if healthy else 0.0)
    left = api.get_object(ROUTE)
    assert left is not None and left["metadata"].get("deletionTimestamp")  # deleted either way
    if STACK_REMOVAL[status]:
        assert left["metadata"]["finalizers"] == ["a.example/keep"]
    else:
        assert left["metadata"]["finalizers"] == [FINALIZER, "a.example/keep"]
        assert "PATCH" not in methods(api)
        why = "grace ran out" if healthy else "the controller has no ready replica with credentials"
        assert (
            f"{ROUTE} is being deleted but {why}; its stack is not being removed, so the finalizer {FINALIZER} "
            "stays for the controller to finish its Lattice cleanup when it is back"
        ) in caplog.messages


@pytest.mark.parametrize(
    ("stack", "reader", "note"),
    [
        (
            "",
            lambda _: pytest.fail("no stack to ask about"),
            "no StackId in the event: cannot tell a stack delete from an update; keeping the finalizer",
        ),
        (
            STACK,
            lambda _: (_ for _ in ()).throw(RuntimeError("AccessDenied")),
            f"cannot read the status of stack {STACK} (AccessDenied); keeping the finalizer",
        ),
        (STACK, lambda _: "", f"stack {STACK} is : not removed as a whole"),
    ],
    ids=["no-stack-id", "unreadable", "no-such-stack"],
)
def test_a_stack_status_that_cannot_be_told_keeps_the_finalizer(
    api: FakeKubeApi, stack: str, reader: Any, note: str, caplog: pytest.LogCaptureFixture
) -> None:
    put(api, [FINALIZER])
    d = guard.Deps(kube_client=lambda *_: kube(api), stack_status=reader, sleep=Clock().sleep, clock=Clock())
    caplog.set_level(logging.INFO, logger=guard.logger.name)
    outcome = guard.release(kube(api), settings(), deps=d, budget=100.0, stack=stack)
    assert (
        outcome == "deleting; finalizer left for the controller (the controller has no ready replica with credentials)"
    )
    assert api.get_object(ROUTE)["metadata"]["finalizers"] == [FINALIZER]  # type: ignore[index]
    assert "PATCH" not in methods(api)
    assert note in caplog.messages
