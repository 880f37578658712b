"""The service-network drain waiter against moto's VPC Lattice.

moto 5.2.5 serves GetServiceNetwork and both ListServiceNetwork*Associations calls, but has no delete
operations for associations and keeps every association ACTIVE. The tests therefore drive the lifecycle
Lattice runs asynchronously (DELETE_IN_PROGRESS, DELETE_FAILED, gone) by editing moto's backend state,
and inject throttling through a botocore before-call hook (which bypasses botocore's own retries, so the
handler's retries are what is tested).
"""

from __future__ import annotations

import logging
from types import SimpleNamespace
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError
from lattice_drain import handler as drain
from moto.core import DEFAULT_ACCOUNT_ID
from moto.vpclattice.models import vpclattice_backends

from tests.support.clock import FakeClock as Clock

REGION = "us-east-1"
T0 = 1_900_000_000.0


@pytest.fixture
def lattice(mocked_aws: str) -> Any:
    client = boto3.client("vpc-lattice", region_name=mocked_aws)

    # moto 5.2.5 answers ListServiceNetworkVpcEndpointAssociations "Not yet implemented": nothing is associated
    # through an endpoint in these tests, so answer that (tests/support/fake_lattice.py serves it for real).
    def no_endpoints(**_: Any) -> tuple[Any, dict[str, Any]]:
        return SimpleNamespace(status_code=200), {"items": []}

    client.meta.events.register("before-call.vpc-lattice.ListServiceNetworkVpcEndpointAssociations", no_endpoints)
    return client


def backend() -> Any:
    return vpclattice_backends[DEFAULT_ACCOUNT_ID][REGION]


def network(lattice: Any, *, vpcs: int = 0, services: int = 0) -> str:
    sn = lattice.create_service_network(name="demo-sn")["id"]
    for i in range(vpcs):
        lattice.create_service_network_vpc_association(serviceNetworkIdentifier=sn, vpcIdentifier=f"vpc-0000000{i}")
    for i in range(services):
        svc = lattice.create_service(name=f"demo-http-route-default-{i}")["id"]
        lattice.create_service_network_service_association(serviceNetworkIdentifier=sn, serviceIdentifier=svc)
    return str(sn)


def set_status(status: str) -> None:
    for assoc in (
        *backend().service_network_vpc_associations.values(),
        *backend().service_network_service_associations.values(),
    ):
        assoc.status = status


def drained() -> None:
    backend().service_network_vpc_associations.clear()
    backend().service_network_service_associations.clear()


def delete_event(sn: str, clock: Clock, **props: str) -> dict[str, Any]:
    """The is_complete event: the CloudFormation request merged with on_event's result."""
    request = {
        "RequestType": "Delete",
        "PhysicalResourceId": f"lattice-drain-{sn}",
        "ResourceProperties": {"ServiceToken": "arn:aws:lambda:...", "ServiceNetworkId": sn, **props},
    }
    return {**request, **drain.on_event(request, None, clock=clock)}


def complete(event: dict[str, Any], lattice: Any, clock: Clock, **kw: Any) -> bool:
    result = drain.is_complete(event, None, client=lattice, clock=clock, sleep=kw.pop("sleep", lambda _: None))
    assert set(result) == {"IsComplete"}  # the framework rejects Data while not complete
    return bool(result["IsComplete"])


@pytest.mark.parametrize("request_type", ["Create", "Update"])
def test_create_and_update_do_nothing(request_type: str, lattice: Any) -> None:
    event = {
        "RequestType": request_type,
        "PhysicalResourceId": "lattice-drain-sn-0123",
        "ResourceProperties": {"ServiceNetworkId": "sn-0123", "TimeoutSeconds": "300"},
    }
    result = drain.on_event(event, None)
    assert result == {"PhysicalResourceId": "lattice-drain-sn-0123"}
    assert drain.is_complete({**event, **result}, None, client=object()) == {"IsComplete": True}


def test_create_rejects_a_bad_timeout_and_missing_network() -> None:
    with pytest.raises(ValueError, match="TimeoutSeconds"):
        drain.on_event(
            {"RequestType": "Create", "ResourceProperties": {"ServiceNetworkId": "sn-1", "TimeoutSeconds": "soon"}},
            None,
        )
    with pytest.raises(ValueError, match="ServiceNetworkId"):
        drain.on_event({"RequestType": "Create", "ResourceProperties": {}}, None)


def test_physical_id_follows_the_network_even_when_given_an_arn() -> None:
    arn = "arn:aws:vpc-lattice:us-east-1:123456789012:servicenetwork/sn-0abc"
    result = drain.on_event({"RequestType": "Create", "ResourceProperties": {"ServiceNetworkId": arn}}, None)
    assert result == {"PhysicalResourceId": "lattice-drain-sn-0abc"}


def test_delete_keeps_the_physical_id_and_records_the_start() -> None:
    clock = Clock(T0)
    event = delete_event("sn-0123", clock)
    assert event["PhysicalResourceId"] == "lattice-drain-sn-0123"
    assert event[drain.STARTED_KEY] == T0


def test_delete_completes_when_nothing_is_associated(lattice: Any) -> None:
    clock = Clock(T0)
    sn = network(lattice)
    assert complete(delete_event(sn, clock), lattice, clock) is True


def test_delete_waits_while_associations_are_being_deleted(lattice: Any, caplog: pytest.LogCaptureFixture) -> None:
    clock = Clock(T0)
    sn = network(lattice, vpcs=2, services=1)
    set_status("DELETE_IN_PROGRESS")
    event = delete_event(sn, clock)
    with caplog.at_level(logging.INFO, logger=drain.LOG.name):
        assert complete(event, lattice, clock) is False
    assert "waiting for 3 association(s)" in caplog.text
    assert "vpc-00000000" in caplog.text

    clock.now += 60
    assert complete(event, lattice, clock) is False
    drained()
    clock.now += 30
    assert complete(event, lattice, clock) is True


def test_delete_completes_when_the_network_is_already_gone(lattice: Any) -> None:
    clock = Clock(T0)
    sn = network(lattice, vpcs=1)
    backend().service_networks.clear()
    assert complete(delete_event(sn, clock), lattice, clock) is True


def test_leftovers_past_the_deadline_complete_with_a_warning(lattice: Any, caplog: pytest.LogCaptureFixture) -> None:
    clock = Clock(T0)
    sn = network(lattice, services=1)  # an ACTIVE service association: the controller's leftover
    event = delete_event(sn, clock, TimeoutSeconds="120")
    assert complete(event, lattice, clock) is False
    clock.now += 121
    with caplog.at_level(logging.INFO, logger=drain.LOG.name):
        assert complete(event, lattice, clock) is True
    [warning] = [r for r in caplog.records if r.levelno == logging.WARNING]
    svc_assoc = next(iter(backend().service_network_service_associations))
    assert svc_assoc in warning.getMessage()
    assert "still present after 120s" in warning.getMessage()
    assert "Gateway API Controller left behind" in warning.getMessage()
    assert "delete the HTTPRoutes first" in warning.getMessage()


def test_delete_failed_associations_are_not_waited_for(lattice: Any, caplog: pytest.LogCaptureFixture) -> None:
    clock = Clock(T0)
    sn = network(lattice, vpcs=1)
    set_status("DELETE_FAILED")
    with caplog.at_level(logging.WARNING, logger=drain.LOG.name):
        assert complete(delete_event(sn, clock), lattice, clock) is True
    assert "DELETE_FAILED" in caplog.text


def throttle(lattice: Any, operation: str, times: int) -> list[int]:
    """Fail the next `times` calls of `operation` with ThrottlingException; returns the call counter."""
    calls = [0]

    def hook(**_: Any) -> None:
        calls[0] += 1
        if calls[0] <= times:
            raise ClientError(
                {
                    "Error": {"Code": "ThrottlingException", "Message": "Rate exceeded"},
                    "ResponseMetadata": {"HTTPStatusCode": 429},
                },
                operation,
            )

    lattice.meta.events.register(f"before-call.vpc-lattice.{operation}", hook)
    return calls


def test_throttling_is_retried_within_the_poll(lattice: Any) -> None:
    clock = Clock(T0)
    sn = network(lattice)
    calls = throttle(lattice, "ListServiceNetworkVpcAssociations", times=2)
    sleeps: list[float] = []
    assert complete(delete_event(sn, clock), lattice, clock, sleep=sleeps.append) is True
    assert calls[0] == 3
    assert sleeps == [1.0, 2.0]


def test_persistent_throttling_waits_for_the_next_poll_then_gives_up_at_the_deadline(lattice: Any) -> None:
    clock = Clock(T0)
    sn = network(lattice)
    throttle(lattice, "GetServiceNetwork", times=1000)
    event = delete_event(sn, clock, TimeoutSeconds="60")
    assert complete(event, lattice, clock) is False  # not a failure: the waiter polls again
    clock.now += 61
    assert complete(event, lattice, clock) is True


def test_other_errors_never_fail_the_delete(lattice: Any, caplog: pytest.LogCaptureFixture) -> None:
    clock = Clock(T0)
    sn = network(lattice, vpcs=1)

    def deny(**_: Any) -> None:
        raise ClientError(
            {"Error": {"Code": "AccessDeniedException", "Message": "no"}}, "ListServiceNetworkVpcAssociations"
        )

    lattice.meta.events.register("before-call.vpc-lattice.ListServiceNetworkVpcAssociations", deny)
    with caplog.at_level(logging.ERROR, logger=drain.LOG.name):
        assert complete(delete_event(sn, clock), lattice, clock) is True
    assert "AccessDeniedException" in caplog.text


def test_pagination_sees_every_association(lattice: Any) -> None:
    clock = Clock(T0)
    sn = network(lattice, vpcs=3)
    set_status("DELETE_IN_PROGRESS")
    pages: list[dict[str, Any]] = []

    class OnePerPage:
        """Forwards to moto, asking for one item per page so the handler has to follow nextToken."""

        def __getattr__(self, name: str) -> Any:
            return getattr(lattice, name)

        def list_service_network_vpc_associations(self, **params: Any) -> Any:
            page = lattice.list_service_network_vpc_associations(**params, maxResults=1)
            pages.append(page)
            return page

    assert complete(delete_event(sn, clock), OnePerPage(), clock) is False
    assert [len(p["items"]) for p in pages] == [1, 1, 1]
    drained()
    assert complete(delete_event(sn, clock), OnePerPage(), clock) is True


def test_retries_stop_before_the_lambda_times_out(lattice: Any) -> None:
    clock = Clock(T0)
    sn = network(lattice)
    calls = throttle(lattice, "GetServiceNetwork", times=1000)
    sleeps: list[float] = []

    class Context:
        def get_remaining_time_in_millis(self) -> int:
            return 25_500  # the 10 s margin leaves a whole call (15 s) and 0.5 s: no room for the 1 s back-off

    result = drain.is_complete(delete_event(sn, clock), Context(), client=lattice, clock=clock, sleep=sleeps.append)
    assert result == {"IsComplete": False}
    assert calls[0] == 1
    assert sleeps == []


def test_physical_id_properties_declaration_matches_the_handler() -> None:
    """PHYSICAL_ID_PROPERTIES (read by tools/impact.py) is exactly the set of properties whose change alone gives
    an Update a new PhysicalResourceId, through the real on_event."""
    old = {
        "ServiceToken": "arn:aws:lambda:...:provider",
        "ServiceNetworkId": "sn-0123",
        "TimeoutSeconds": "300",
        "Mode": "drain",
        "ControllerManagedBy": "111122223333/eks-demo/vpc-0abc",
    }
    physical = drain.on_event({"RequestType": "Create", "ResourceProperties": old}, None)["PhysicalResourceId"]
    alternatives = {
        "ServiceToken": "arn:aws:lambda:...:other",
        "ServiceNetworkId": "sn-0456",
        "TimeoutSeconds": "600",
        "Mode": "sweep",  # the same resource never changes mode; the id names the network only
        "ControllerManagedBy": "111122223333/eks-demo/vpc-0def",
    }
    assert set(alternatives) == set(old)
    renaming = {
        key
        for key, value in alternatives.items()
        if drain.on_event(
            {"RequestType": "Update", "PhysicalResourceId": physical, "ResourceProperties": {**old, key: value}}, None
        )["PhysicalResourceId"]
        != physical
    }
    assert renaming == set(drain.PHYSICAL_ID_PROPERTIES)
