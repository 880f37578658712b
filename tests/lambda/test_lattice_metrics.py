"""The metric-dimension lookup against moto's VPC Lattice (services, target groups and their tags).

Target groups are created as the controller v2.1.3 creates them: named `k8s-<ns>-<svc>-<random>` and tagged
with the route and Kubernetes service they serve. Throttling is injected through a botocore before-call hook,
which bypasses botocore's own retries, so the handler's retries are what is tested.
"""

from __future__ import annotations

from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError
from lattice_metrics import handler

from tests.support.clock import FakeClock as Clock

VPC = "vpc-0123456789abcdef0"
T0 = 1_900_000_000.0
TAG = handler.TAG_BASE


@pytest.fixture
def lattice(mocked_aws: str) -> Any:
    return boto3.client("vpc-lattice", region_name=mocked_aws)


def target_group(lattice: Any, *, app: str, route: str, suffix: str = "abcdefghij", **overrides: str) -> str:
    tags = {
        TAG + "ClusterName": "eks-demo",
        TAG + "ServiceName": app,
        TAG + "ServiceNamespace": "default",
        TAG + "RouteName": route,
        TAG + "RouteNamespace": "default",
        TAG + "SourceTypeKey": "HTTPRoute",
        TAG + "ProtocolVersion": "HTTP1",
        **{TAG + k: v for k, v in overrides.items()},
    }
    config = {"port": 80, "protocol": "HTTP", "protocolVersion": "HTTP1", "vpcIdentifier": VPC}
    return str(
        lattice.create_target_group(name=f"k8s-default-{app}-{suffix}", type="IP", config=config, tags=tags)["id"]
    )


def want_tg(key: str, app: str, route: str) -> dict[str, str]:
    return {"Key": key, "ClusterName": "eks-demo", "RouteName": route, "RouteNamespace": "default",
            "ServiceName": app, "ServiceNamespace": "default"}  # fmt: skip


PROPS: dict[str, Any] = {
    "VpcId": VPC,
    "TimeoutSeconds": "600",
    "Services": [{"Key": "Service0", "Name": "demo-http-route-default-d0c43d"}],
    "TargetGroups": [
        want_tg("TargetGroup0x0", "demo-app-a", "demo-http-route-d0c43d"),
        want_tg("TargetGroup0x1", "demo-app-b", "demo-http-route-d0c43d"),
    ],
}


def event(request: str = "Create", props: dict[str, Any] | None = None, started: float = T0) -> dict[str, Any]:
    return {"RequestType": request, "ResourceProperties": props or PROPS, handler.STARTED_KEY: started}


def test_every_service_and_target_group_resolves_to_its_id(lattice: Any) -> None:
    svc = lattice.create_service(name="demo-http-route-default-d0c43d")["id"]
    lattice.create_service(name="other-route-default-123456")
    a = target_group(lattice, app="demo-app-a", route="demo-http-route-d0c43d")
    b = target_group(lattice, app="demo-app-b", route="demo-http-route-d0c43d")
    # Same app behind another route, another cluster's group and a look-alike name: none of them is ours.
    target_group(lattice, app="demo-app-a", route="extra-route-aaaaaa", suffix="zzzzzzzzzz")
    target_group(lattice, app="demo-app-b", route="demo-http-route-d0c43d", suffix="yyyyyyyyyy", ClusterName="other")
    lattice.create_target_group(
        name="k8s-default-demo-app-a-extra-xxxxxxxxxx", type="IP",
        config={"port": 80, "protocol": "HTTP", "vpcIdentifier": VPC},
    )  # fmt: skip

    result = handler.is_complete(event(), None, client=lattice, clock=Clock(T0))

    assert result == {"IsComplete": True, "Data": {"Service0": svc, "TargetGroup0x0": a, "TargetGroup0x1": b}}


def test_waits_while_the_controller_has_not_created_them_yet(lattice: Any) -> None:
    lattice.create_service(name="demo-http-route-default-d0c43d")
    target_group(lattice, app="demo-app-a", route="demo-http-route-d0c43d")

    assert handler.is_complete(event(), None, client=lattice, clock=Clock(T0 + 599)) == {"IsComplete": False}


def test_past_the_timeout_it_fails_naming_what_is_missing(lattice: Any) -> None:
    target_group(lattice, app="demo-app-a", route="demo-http-route-d0c43d")
    with pytest.raises(RuntimeError) as caught:
        handler.is_complete(event(), None, client=lattice, clock=Clock(T0 + 600))
    message = str(caught.value)
    assert "service demo-http-route-default-d0c43d" in message
    assert "target group for default/demo-app-b of route default/demo-http-route-d0c43d" in message
    assert "demo-app-a" not in message


def test_delete_completes_at_once_and_creates_nothing(lattice: Any) -> None:
    assert handler.on_event(event("Delete"), None)["PhysicalResourceId"] == handler.PHYSICAL_ID
    assert handler.is_complete(event("Delete"), None, client=lattice) == {"IsComplete": True}


def test_a_bad_timeout_fails_the_create_before_any_wait() -> None:
    with pytest.raises(ValueError, match="TimeoutSeconds"):
        handler.on_event(event(props={**PROPS, "TimeoutSeconds": "soon"}), None)


def test_throttling_is_retried_within_the_poll(lattice: Any) -> None:
    lattice.create_service(name="demo-http-route-default-d0c43d")
    target_group(lattice, app="demo-app-a", route="demo-http-route-d0c43d")
    target_group(lattice, app="demo-app-b", route="demo-http-route-d0c43d")
    calls = {"n": 0}

    def throttle_twice(**kwargs: Any) -> None:
        calls["n"] += 1
        if calls["n"] <= 2:
            raise ClientError({"Error": {"Code": "ThrottlingException", "Message": "slow down"}}, "ListServices")

    lattice.meta.events.register("before-call.vpc-lattice.ListServices", throttle_twice)
    slept: list[float] = []
    result = handler.is_complete(event(), None, client=lattice, clock=Clock(T0), sleep=slept.append)
    assert result["IsComplete"] is True
    assert slept == [1.0, 2.0]


def test_the_target_group_prefix_is_the_controllers() -> None:
    """TgNamePrefix: k8s-<namespace cut to 55>-<service cut to 55>, each stripped of '-' after the cut."""
    assert handler.target_group_prefix("default", "demo-app-a") == "k8s-default-demo-app-a-"
    long_ns = "n" * 54 + "-x"
    assert handler.target_group_prefix(long_ns, "s") == f"k8s-{'n' * 54}-s-"


def test_physical_id_properties_declaration_matches_the_handler() -> None:
    """No property change gives a new physical id (PHYSICAL_ID_PROPERTIES is empty): an Update stays the same
    resource, whatever changed."""
    props = {"TimeoutSeconds": "600", "Services": "[]", "TargetGroups": "[]"}
    first = handler.on_event(event("Create", props), None)["PhysicalResourceId"]
    changed = {key: "300" if key == "TimeoutSeconds" else '[{"x": 1}]' for key in props}
    for key, value in changed.items():
        update = {**event("Update", {**props, key: value}), "PhysicalResourceId": first}
        assert handler.on_event(update, None)["PhysicalResourceId"] == first, key
    assert handler.PHYSICAL_ID_PROPERTIES == ()
