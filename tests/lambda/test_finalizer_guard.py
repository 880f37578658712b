"""The finalizer guard against the fake Kubernetes API (real TLS, the real KubeClient), which keeps an object with
finalizers Terminating until a write removes them.

The test plays the controller: healthy (a ready replica with Pod Identity credentials, removing its finalizer
some seconds after the delete), present without credentials, or absent. Time passes only through the handler's
sleeps; every Delete must end within the Lambda's time (constructs/workload/finalizer_guard.TIMEOUT, 600 s).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from finalizer_guard import handler as guard
from k8s_api import KubeClient

from tests.support.fake_kube import FakeKubeApi

NS, SA = "aws-application-networking-system", "gateway-api-controller"
ROUTE = "/apis/gateway.networking.k8s.io/v1/namespaces/default/httproutes/demo-http-route-d0c43d"
GATEWAY = "/apis/gateway.networking.k8s.io/v1/namespaces/default/gateways/my-services"
ROUTE_FINALIZER, GATEWAY_FINALIZER = "httproute.k8s.aws/resources", "gateway.k8s.aws/resources"
POLICY = "/apis/application-networking.k8s.aws/v1alpha1/namespaces/default/iamauthpolicies/demo-http-route-d0c43d"
POLICY_FINALIZER = "application-networking.k8s.aws/iam-auth-policy"
LAMBDA_SECONDS = 600.0
STACK = "arn:aws:cloudformation:eu-west-1:123456789012:stack/Gateway/0a1b"  # being deleted (see deps)
CREDENTIAL_ENV = [{"name": "AWS_CONTAINER_CREDENTIALS_FULL_URI", "value": "http://169.254.170.23/v1/credentials"}]


class Controller:
    """The controller as the guard can see it, and (when `finalizes_after` is set) doing its own cleanup."""

    def __init__(
        self, api: FakeKubeApi, *, present: bool, credentials: bool = True, finalizes_after: float | None = None
    ) -> None:
        self.api, self.now, self.finalizes_after = api, 0.0, finalizes_after
        if present:
            api.put_object(
                f"/apis/apps/v1/namespaces/{NS}/deployments/{SA}",
                {"metadata": {"name": SA}, "spec": {"replicas": 2, "template": {"spec": {"serviceAccountName": SA}}}},
            )
            api.put_object(
                f"/api/v1/namespaces/{NS}/pods/{SA}-1",
                {
                    "metadata": {"name": f"{SA}-1"},
                    "spec": {
                        "serviceAccountName": SA,
                        "containers": [{"name": "manager", "env": CREDENTIAL_ENV if credentials else []}],
                    },
                    "status": {"phase": "Running", "conditions": [{"type": "Ready", "status": "True"}]},
                },
            )

    def sleep(self, seconds: float) -> None:
        self.now += seconds
        if self.finalizes_after is not None and self.now >= self.finalizes_after:
            for path in (ROUTE, GATEWAY):
                obj = self.api.get_object(path)
                if obj and obj["metadata"].get("deletionTimestamp"):
                    fins = [f for f in obj["metadata"]["finalizers"] if f not in (ROUTE_FINALIZER, GATEWAY_FINALIZER)]
                    if fins:
                        obj["metadata"]["finalizers"] = fins
                        self.api.put_object(path, obj)
                    else:
                        self.api.delete_object(path)

    def clock(self) -> float:
        return self.now

    def context(self) -> Any:
        controller = self

        class Context:
            def get_remaining_time_in_millis(self) -> int:
                return int((LAMBDA_SECONDS - controller.now) * 1000)

        return Context()


@pytest.fixture
def api() -> Iterator[FakeKubeApi]:
    with FakeKubeApi() as server:
        yield server


def put(api: FakeKubeApi, path: str, finalizers: list[str]) -> None:
    api.put_object(
        path, {"metadata": {"name": path.rsplit("/", 1)[-1], "resourceVersion": "7", "finalizers": finalizers}}
    )


def deps(api: FakeKubeApi, controller: Controller) -> guard.Deps:
    def client(_: str, time_left: Any) -> KubeClient:
        return KubeClient(
            endpoint=api.endpoint,
            ca_data=api.ca_data,
            token=lambda: api.token,
            sleep=lambda _: None,
            time_left=time_left,
        )

    return guard.Deps(
        kube_client=client,
        stack_status=lambda stack: "DELETE_IN_PROGRESS" if stack == STACK else "",
        sleep=controller.sleep,
        clock=controller.clock,
        poll_interval=10.0,
    )


def event(
    request_type: str = "Delete", path: str = ROUTE, finalizer: str = ROUTE_FINALIZER, **props: str
) -> dict[str, Any]:
    return {
        "RequestType": request_type,
        "StackId": STACK,
        "PhysicalResourceId": f"finalizer-guard/eks-demo{path}",
        "ResourceProperties": {
            "ClusterName": "eks-demo",
            "Path": path,
            "Finalizer": finalizer,
            "ControllerNamespace": NS,
            "ControllerServiceAccount": SA,
            "GraceSeconds": "300",
            **props,
        },
    }


def kubectl_delete_finds_nothing(api: FakeKubeApi, path: str) -> bool:
    """What aws-cdk-lib's kubectl handler runs next: `kubectl delete` of a gone object is NotFound, swallowed."""
    return api.get_object(path) is None


@pytest.mark.parametrize(
    ("path", "finalizer"), [(ROUTE, ROUTE_FINALIZER), (GATEWAY, GATEWAY_FINALIZER), (POLICY, POLICY_FINALIZER)]
)
@pytest.mark.parametrize("credentials", [None, False], ids=["no-controller", "controller-without-credentials"])
def test_an_object_the_controller_cannot_finalize_is_released_at_once(
    api: FakeKubeApi, path: str, finalizer: str, credentials: bool | None
) -> None:
    controller = Controller(api, present=credentials is not None, credentials=bool(credentials))
    put(api, path, [finalizer])

    guard.on_event(event(path=path, finalizer=finalizer), controller.context(), deps=deps(api, controller))

    assert kubectl_delete_finds_nothing(api, path)
    assert controller.now < LAMBDA_SECONDS and controller.now == 0.0  # no waiting for a controller that is not there
    (patch,) = [r for r in api.requests if r.method == "PATCH"]
    assert json.loads(patch.body) == {"metadata": {"finalizers": None, "resourceVersion": "7"}}


def test_a_healthy_controller_finalizes_itself(api: FakeKubeApi) -> None:
    controller = Controller(api, present=True, finalizes_after=40.0)
    put(api, ROUTE, [ROUTE_FINALIZER])
    guard.on_event(event(), controller.context(), deps=deps(api, controller))
    assert kubectl_delete_finds_nothing(api, ROUTE)
    assert [r for r in api.requests if r.method == "PATCH"] == []  # the controller cleaned up Lattice itself
    assert controller.now == 40.0


def test_a_healthy_but_stuck_controller_is_waited_for_only_the_grace(api: FakeKubeApi) -> None:
    controller = Controller(api, present=True, finalizes_after=None)
    put(api, ROUTE, [ROUTE_FINALIZER])
    guard.on_event(event(), controller.context(), deps=deps(api, controller))
    assert kubectl_delete_finds_nothing(api, ROUTE)
    assert 300.0 <= controller.now < LAMBDA_SECONDS


def test_the_grace_fits_the_lambda_time(api: FakeKubeApi) -> None:
    controller = Controller(api, present=True, finalizes_after=None)
    controller.now = LAMBDA_SECONDS - 80.0  # 80 s left: 20 s reserve, two polls for the strip
    put(api, ROUTE, [ROUTE_FINALIZER])
    guard.on_event(event(GraceSeconds="3000"), controller.context(), deps=deps(api, controller))
    assert kubectl_delete_finds_nothing(api, ROUTE) and controller.now < LAMBDA_SECONDS


def test_only_the_controllers_finalizer_is_removed(api: FakeKubeApi) -> None:
    controller = Controller(api, present=False)
    put(api, ROUTE, ["example.com/keep", ROUTE_FINALIZER])
    guard.on_event(event(), controller.context(), deps=deps(api, controller))
    obj = api.get_object(ROUTE)
    assert obj is not None and obj["metadata"]["finalizers"] == ["example.com/keep"]
    assert obj["metadata"]["deletionTimestamp"]  # still Terminating: held by what is not ours


def test_another_objects_finalizer_is_not_touched(api: FakeKubeApi) -> None:
    controller = Controller(api, present=False)
    put(api, ROUTE, [ROUTE_FINALIZER])
    other = ROUTE.replace("demo-http-route-d0c43d", "someone-elses")
    put(api, other, [ROUTE_FINALIZER])
    guard.on_event(event(), controller.context(), deps=deps(api, controller))
    assert api.get_object(other) is not None and {r.path for r in api.requests} <= {
        ROUTE,
        f"/apis/apps/v1/namespaces/{NS}/deployments",
        f"/api/v1/namespaces/{NS}/pods",
    }


def test_a_concurrent_change_is_read_again(api: FakeKubeApi) -> None:
    controller = Controller(api, present=False)
    put(api, ROUTE, [ROUTE_FINALIZER])
    api.fail_next(ROUTE, 409, method="PATCH")
    guard.on_event(event(), controller.context(), deps=deps(api, controller))
    assert kubectl_delete_finds_nothing(api, ROUTE)


def test_a_gone_object_and_a_failed_create_delete_cleanly(api: FakeKubeApi) -> None:
    controller = Controller(api, present=False)
    guard.on_event(event(), controller.context(), deps=deps(api, controller))
    assert [r.method for r in api.requests] == ["GET"]
    assert guard.on_event(event(Path=""), None, deps=guard.Deps(lambda *_: pytest.fail("no cluster call")))


def test_an_unreachable_api_fails_with_the_reason(api: FakeKubeApi) -> None:
    controller = Controller(api, present=False)
    put(api, ROUTE, [ROUTE_FINALIZER])
    api.fail_next(ROUTE, 403, method="DELETE")
    with pytest.raises(guard.GuardError, match=f"deleting {ROUTE}: DELETE .*403"):
        guard.on_event(event(), controller.context(), deps=deps(api, controller))


def test_create_and_update_touch_nothing() -> None:
    for request_type in ("Create", "Update"):
        result = guard.on_event(event(request_type), None, deps=guard.Deps(lambda *_: pytest.fail("no call")))
        assert result == {"PhysicalResourceId": f"finalizer-guard/eks-demo{ROUTE}"}


def test_physical_id_properties_declaration_matches_the_handler() -> None:
    """PHYSICAL_ID_PROPERTIES (read by tools/impact.py): exactly the properties whose change alone changes the
    physical id -- a renamed route (new Path) gets a new guard, and the old guard releases the old route."""
    base = event()["ResourceProperties"]
    alternatives = {
        "ClusterName": "eks-other",
        "Path": GATEWAY,
        "Finalizer": GATEWAY_FINALIZER,
        "ControllerNamespace": "other",
        "ControllerServiceAccount": "other",
        "GraceSeconds": "60",
    }
    assert set(alternatives) == set(base)
    physical = guard.physical_id(guard.parse_properties(base))
    renaming = {
        key
        for key, value in alternatives.items()
        if guard.physical_id(guard.parse_properties({**base, key: value})) != physical
    }
    assert renaming == set(guard.PHYSICAL_ID_PROPERTIES)
