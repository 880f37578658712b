"""lattice_drain.handler pinned rule by rule: both sides of every limit (seconds, the ManagedBy format, the
deregister batch, the poll's time), retry counts and the no-retry answers, ownership only for this cluster's
exact ManagedBy tag, and the messages the Delete logs. A plain in-process fake API, no moto, no server: each
test runs in milliseconds."""

from __future__ import annotations

import logging
import sys
import time
from collections.abc import Callable
from types import SimpleNamespace
from typing import Any

import pytest
from botocore.exceptions import ClientError, EndpointConnectionError, ReadTimeoutError
from lattice_drain import calls, report
from lattice_drain import handler as drain
from lattice_drain import sweep as leftovers
from lattice_drain.calls import ConflictError, NotFoundError, OutOfTimeError, TransientError, _Backoff
from lattice_drain.sweep import _Sweep

from tests.support.scripted_aws import ScriptedClient as Api
from tests.support.stack_statuses import WHOLE_STACK_REMOVAL as STACK_REMOVAL
from tests.support.stack_statuses import botocore_stack_statuses

OWNER = "111122223333/eks-demo/vpc-0abc"
TAG = drain.MANAGED_BY_TAG
NETWORK = "sn-0123456789abcdef0"
STACK = "arn:aws:cloudformation:us-east-1:111122223333:stack/EksLatticeGateway-Platform/5e1f0a2b"


def error(code: str, status: int = 400, message: str = "it failed") -> ClientError:
    return ClientError(
        {"Error": {"Code": code, "Message": message}, "ResponseMetadata": {"HTTPStatusCode": status}}, "Op"
    )


def backoff(until: float | None = None) -> tuple[_Backoff, list[float]]:
    slept: list[float] = []
    return _Backoff(sleep=slept.append, until=until), slept


# -- properties: both sides of each limit, and the message that names the key -----------------------------------


@pytest.mark.parametrize("raw", [None, ""])
def test_seconds_default_when_absent(raw: Any) -> None:
    assert drain._seconds({"TimeoutSeconds": raw}, "TimeoutSeconds", 77) == 77
    assert drain._seconds({}, "TimeoutSeconds", 77) == 77


@pytest.mark.parametrize(("raw", "value"), [("0", 0), (0, 0), ("1", 1), ("600", 600), (" 5", 5)])
def test_seconds_accept_whole_numbers_from_zero(raw: Any, value: int) -> None:
    assert drain._seconds({"K": raw}, "K", 9) == value


def test_seconds_refuse_negatives_from_minus_one() -> None:
    with pytest.raises(ValueError, match=r"^K must not be negative, got -1$"):
        drain._seconds({"K": "-1"}, "K", 9)


@pytest.mark.parametrize("raw", ["1.5", "ten", "1e3", "[]"])
def test_seconds_refuse_what_is_not_a_whole_number(raw: str) -> None:
    with pytest.raises(ValueError, match=r".") as caught:  # the whole message is compared below
        drain._seconds({"TimeoutSeconds": raw}, "TimeoutSeconds", 9)
    assert str(caught.value) == f"TimeoutSeconds must be a whole number of seconds, got {raw!r}"
    assert caught.value.__cause__ is None and caught.value.__suppress_context__


def test_timeout_reads_its_own_key_and_default() -> None:
    assert drain._timeout({}) == 600
    assert drain._timeout({"TimeoutSeconds": "30", "CleanupAfterSeconds": "5"}) == 30
    with pytest.raises(ValueError, match=r"^TimeoutSeconds must not be negative"):
        drain._timeout({"TimeoutSeconds": "-1"})


def test_cleanup_after_may_equal_the_timeout_but_not_exceed_it() -> None:
    assert drain._cleanup_after({"CleanupAfterSeconds": "300"}, 300) == 300
    with pytest.raises(ValueError, match=r".") as caught:  # the whole message is compared below
        drain._cleanup_after({"CleanupAfterSeconds": "301"}, 300)
    assert str(caught.value) == "CleanupAfterSeconds (301) must not exceed TimeoutSeconds (300)"
    with pytest.raises(ValueError, match=r"^CleanupAfterSeconds must not be negative"):
        drain._cleanup_after({"CleanupAfterSeconds": "-1"}, 300)


@pytest.mark.parametrize(("timeout", "default"), [(600, 120), (121, 120), (120, 120), (119, 119), (0, 0)])
def test_cleanup_after_defaults_to_120_s_or_the_timeout_if_shorter(timeout: int, default: int) -> None:
    assert drain._cleanup_after({}, timeout) == default


@pytest.mark.parametrize(
    "value",
    [
        OWNER,
        "111122223333/a/vpc-0",
        "111122223333/A_b-9/vpc-0123456789abcdef0",
        "111122223333/9/vpc-f",
    ],
)
def test_managed_by_accepts_account_cluster_and_vpc(value: str) -> None:
    assert drain._managed_by({"ControllerManagedBy": value}) == value


@pytest.mark.parametrize(
    "value",
    [
        "11112222333/eks-demo/vpc-0abc",  # 11 digits
        "1111222233334/eks-demo/vpc-0abc",  # 13 digits
        "x111122223333/eks-demo/vpc-0abc",
        "111122223333/eks-demo/vpc-0abc/x",
        "111122223333/eks-demo/vpc-0ABC",
        "111122223333/eks-demo/vpc-",
        "111122223333//vpc-0abc",
        "111122223333/-eks/vpc-0abc",
        "111122223333/_eks/vpc-0abc",
        "111122223333/eks.demo/vpc-0abc",
        "111122223333/eks-demo/subnet-0abc",
        "111122223333/eks-demo/vpc-0abc\n",
        "111122223333/eks-demo",
    ],
)
def test_managed_by_refuses_anything_else_naming_the_key(value: str) -> None:
    with pytest.raises(ValueError, match=r".") as caught:  # the whole message is compared below
        drain._managed_by({"ControllerManagedBy": value})
    assert str(caught.value) == f"ControllerManagedBy must be <account>/<cluster>/<vpc-id>, got {value!r}"


@pytest.mark.parametrize("raw", [None, ""])
def test_managed_by_is_optional(raw: Any) -> None:
    assert drain._managed_by({"ControllerManagedBy": raw}) is None
    assert drain._managed_by({}) is None


@pytest.mark.parametrize(
    ("props", "message"),
    [
        ({}, "ResourceProperties.ServiceNetworkId is required"),
        ({"ServiceNetworkId": ""}, "ResourceProperties.ServiceNetworkId is required"),
        ({"ServiceNetworkId": NETWORK, "TimeoutSeconds": "x"}, "TimeoutSeconds must be a whole number of seconds"),
        ({"ServiceNetworkId": NETWORK, "CleanupAfterSeconds": "601"}, "CleanupAfterSeconds (601) must not exceed"),
        ({"ServiceNetworkId": NETWORK, "ControllerManagedBy": "me"}, "ControllerManagedBy must be"),
    ],
)
@pytest.mark.parametrize("request_type", ["Create", "Update"])
def test_create_and_update_refuse_each_bad_property(request_type: str, props: dict[str, str], message: str) -> None:
    with pytest.raises(ValueError, match=r".") as caught:  # the whole message is compared below
        drain.on_event({"RequestType": request_type, "ResourceProperties": props}, None)
    assert str(caught.value).startswith(message)


def test_create_accepts_the_largest_cleanup_and_names_the_network() -> None:
    props = {"ServiceNetworkId": f"arn:aws:vpc-lattice:us-east-1:1:servicenetwork/{NETWORK}", "TimeoutSeconds": "60"}
    event = {"RequestType": "Create", "ResourceProperties": {**props, "CleanupAfterSeconds": "60"}}
    assert drain.on_event(event, None) == {"PhysicalResourceId": f"lattice-drain-{NETWORK}"}


def test_delete_logs_the_network_it_drains(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.INFO, logger=drain.LOG.name):
        got = drain.on_event({"RequestType": "Delete", "PhysicalResourceId": "p"}, None, clock=lambda: 5.0)
        drain.on_event(
            {"RequestType": "Delete", "PhysicalResourceId": "p", "ResourceProperties": {"ServiceNetworkId": NETWORK}},
            None,
        )
    assert got == {"PhysicalResourceId": "p", "DrainStartedAt": 5.0}
    assert caplog.messages == [
        "delete: will wait for the associations of service network (unknown) to drain",
        f"delete: will wait for the associations of service network {NETWORK} to drain",
    ]


# -- the poll's time -------------------------------------------------------------------------------------------


def test_backoff_sleeps_while_the_delay_fits_and_not_past_the_poll() -> None:
    unbounded, slept = backoff()
    assert unbounded.pause(4.0) is True and slept == [4.0]
    now = time.monotonic()
    roomy, slept = backoff(until=now + 60)
    assert roomy.pause(2.0) is True and slept == [2.0]
    tight, slept = backoff(until=now + 2)
    assert tight.pause(30.0) is False and slept == []


def test_backoff_check_raises_once_the_poll_is_over() -> None:
    backoff()[0].check()
    backoff(until=time.monotonic() + 60)[0].check()
    with pytest.raises(OutOfTimeError):
        backoff(until=time.monotonic())[0].check()
    with pytest.raises(OutOfTimeError):
        backoff(until=time.monotonic() - 1)[0].check()


# -- calls: retry counts, delays, the no-retry answers ------------------------------------------------------------


@pytest.mark.parametrize(
    "fault",
    [
        error("ThrottlingException", 429),
        error("Throttling"),
        error("TooManyRequestsException"),
        error("RequestLimitExceeded"),
        error("InternalServerException", 500),
        error("InternalFailure"),
        error("ServiceUnavailable"),
        error("ServiceUnavailableException"),
        error("Whatever", 429),
        error("Whatever", 500),
        error("Whatever", 503),
        EndpointConnectionError(endpoint_url="https://vpc-lattice"),
        ReadTimeoutError(endpoint_url="https://vpc-lattice"),
    ],
)
def test_transient_faults_are_retried_three_times_with_growing_delays(fault: Exception) -> None:
    api = Api(list_services=[fault, fault, fault, {"items": []}])
    pause, slept = backoff()
    assert calls._call(api.list_services, pause, maxResults=5) == {"items": []}
    assert slept == [1.0, 2.0, 4.0]
    assert api.calls == [("list_services", {"maxResults": 5})] * 4


def test_a_fourth_transient_fault_ends_the_poll_with_its_code(caplog: pytest.LogCaptureFixture) -> None:
    api = Api(list_services=error("ThrottlingException", 429))
    pause, slept = backoff()
    with caplog.at_level(logging.INFO, logger=drain.LOG.name), pytest.raises(TransientError) as caught:
        calls._call(api.list_services, pause)
    assert str(caught.value) == "ThrottlingException after 4 attempts"
    assert caught.value.__suppress_context__
    assert slept == [1.0, 2.0, 4.0] and len(api.calls) == 4
    assert caplog.messages == [f"list_services: ThrottlingException (attempt {n})" for n in (1, 2, 3, 4)]


def test_a_connection_fault_is_named_by_its_type() -> None:
    api = Api(list_services=EndpointConnectionError(endpoint_url="https://x"))
    with pytest.raises(TransientError, match=r"^EndpointConnectionError after 4 attempts$"):
        calls._call(api.list_services, backoff()[0])


def test_a_retry_that_would_overrun_the_poll_is_not_made() -> None:
    api = Api(list_services=error("ThrottlingException", 429))
    # The 1 s wait and a whole call (15 s) fit, the 2 s one does not (sleep is fake).
    pause, slept = backoff(until=time.monotonic() + calls._call_seconds() + 1.5)
    with pytest.raises(TransientError, match=r"^ThrottlingException after 2 attempts$"):
        calls._call(api.list_services, pause)
    assert slept == [1.0] and len(api.calls) == 2


@pytest.mark.parametrize(
    "fault",
    [
        error("AccessDeniedException", 403),
        error("ValidationException", 400),
        error("Whatever", 499),
        error("Whatever", 428),
        ValueError("a bug"),
    ],
)
def test_other_errors_are_not_retried(fault: Exception) -> None:
    api = Api(list_services=fault)
    pause, slept = backoff()
    with pytest.raises(type(fault)) as caught:
        calls._call(api.list_services, pause)
    assert caught.value is fault
    assert slept == [] and len(api.calls) == 1


def test_not_found_and_conflict_become_their_own_errors_without_a_retry() -> None:
    for code, kind in (("ResourceNotFoundException", NotFoundError), ("ConflictException", ConflictError)):
        fault = error(code, 404 if kind is NotFoundError else 409, "the message")
        api = Api(delete_service=fault)
        with pytest.raises(kind) as caught:
            calls._call(api.delete_service, backoff()[0])
        assert str(caught.value) == str(fault)
        assert caught.value.__suppress_context__
        assert len(api.calls) == 1


def test_a_server_error_code_is_retried_even_with_a_404_not_found_status() -> None:
    api = Api(list_services=[error("ServiceUnavailable", 404), {"items": [1]}])
    assert calls._call(api.list_services, backoff()[0]) == {"items": [1]}


def test_error_codes_are_read_only_from_a_response() -> None:
    assert calls._error_code(ValueError("x")) == (None, 0)
    assert calls._error_code(error("Busy", 409)) == ("Busy", 409)
    no_status = ClientError({"Error": {"Code": "X"}}, "Op")
    assert calls._error_code(no_status) == ("X", 0)
    odd = SimpleNamespace(response={"ResponseMetadata": {"HTTPStatusCode": "500"}})
    assert calls._error_code(odd) == (None, 500)  # type: ignore[arg-type]


def test_list_all_follows_next_tokens() -> None:
    api = Api(
        list_targets=[
            {"items": [1, 2], "nextToken": "t1"},
            {"items": None, "nextToken": "t2"},
            {"items": [3], "nextToken": ""},
        ]
    )
    assert calls._list_all(api.list_targets, backoff()[0], targetGroupIdentifier="tg") == [1, 2, 3]
    assert [kw for _, kw in api.calls] == [
        {"targetGroupIdentifier": "tg"},
        {"targetGroupIdentifier": "tg", "nextToken": "t1"},
        {"targetGroupIdentifier": "tg", "nextToken": "t2"},
    ]


# -- describing associations and the leftovers message ------------------------------------------------------------


def test_associations_are_described_by_kind() -> None:
    vpc = {"id": "snva-1", "vpcId": "vpc-1", "status": "ACTIVE"}
    assert report._describe(vpc) == "VPC association snva-1 (vpc-1, ACTIVE)"
    assert report._describe({"id": "snsa-1", "serviceName": "web", "serviceId": "svc-1", "status": "ACTIVE"}) == (
        "service association snsa-1 (service web, ACTIVE)"
    )
    assert report._describe({"id": "snsa-2", "serviceId": "svc-2"}) == "service association snsa-2 (service svc-2, ?)"
    assert report._describe({"id": "snsa-3", "serviceName": ""}) == "service association snsa-3 (service ?, ?)"


VPC_ASSOC = {"id": "snva-1", "vpcId": "vpc-1", "status": "DELETE_FAILED"}
SVC_ASSOC = {"id": "snsa-1", "serviceName": "web", "status": "ACTIVE", "arn": "arn:snsa-1"}


def test_the_leftovers_message_says_what_blocks_the_delete_and_what_to_do(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.INFO, logger=drain.LOG.name):
        report._log_leftovers(NETWORK, [VPC_ASSOC], [SVC_ASSOC], reason="R", pending=["p1", "p2"])
    (record,) = caplog.records
    assert record.levelno == logging.WARNING
    assert record.getMessage().split("\n") == [
        f"service network {NETWORK}: R; not waiting any longer. Its delete will fail with 409 until:",
        "  - VPC association snva-1 (vpc-1, DELETE_FAILED)",
        "  - service association snsa-1 (service web, ACTIVE)",
        "  The cleanup of this cluster's controller leftovers did not finish:",
        "  - p1",
        "  - p2",
        "  Service associations are probably Lattice services the AWS Gateway API Controller left behind "
        "(an HTTPRoute outlived the controller): delete the HTTPRoutes first while the controller runs, "
        "or delete these associations and services in the VPC Lattice console, then retry the stack delete.",
        "  Delete the VPC associations (or retry the failed ones) before retrying the stack delete.",
    ]


def test_with_nothing_associated_the_leftovers_message_promises_no_409(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.INFO, logger=drain.LOG.name):
        report._log_leftovers(NETWORK, [], [], reason="R", pending=["p1"])
        report._log_leftovers(NETWORK, [VPC_ASSOC], [], reason="R")
        report._log_leftovers(NETWORK, [], [SVC_ASSOC], reason="R", pending=[])
    first, only_vpc, only_svc = (m.split("\n") for m in caplog.messages)
    assert first == [
        f"service network {NETWORK}: R; not waiting any longer.",
        "  The cleanup of this cluster's controller leftovers did not finish:",
        "  - p1",
    ]
    assert only_vpc[-1].startswith("  Delete the VPC associations") and len(only_vpc) == 3
    assert only_svc[-1].startswith("  Service associations are probably") and len(only_svc) == 3


def test_foreign_associations_are_described_with_what_is_known_and_a_mark_for_what_is_not() -> None:
    resource = {"kind": report.RESOURCE_ASSOCIATION, "id": "snra-1", "status": "ACTIVE"}
    assert report._describe({**resource, "resourceConfigurationId": "rcfg-1", "createdBy": "444455556666"}) == (
        "resource configuration association snra-1 (resource configuration rcfg-1, created by account "
        "444455556666, ACTIVE)"
    )
    assert report._describe(resource) == (
        "resource configuration association snra-1 (resource configuration ?, created by account ?, ACTIVE)"
    )
    endpoint = {"kind": report.ENDPOINT_ASSOCIATION, "vpcEndpointId": "vpce-1", "vpcId": "vpc-9"}
    assert report._describe(endpoint) == "service-network endpoint vpce-1 (VPC vpc-9 of account ?, ?)"


def test_the_leftovers_message_says_who_can_remove_a_foreign_association(caplog: pytest.LogCaptureFixture) -> None:
    foreign = [
        {"kind": report.RESOURCE_ASSOCIATION, "id": "snra-1", "status": "ACTIVE"},
        {"kind": report.ENDPOINT_ASSOCIATION, "vpcEndpointId": "vpce-1", "vpcId": "vpc-9", "state": "ACTIVE"},
    ]
    with caplog.at_level(logging.INFO, logger=drain.LOG.name):
        report._log_leftovers(NETWORK, [], [], reason="R", foreign=foreign)
    assert caplog.messages[0].split("\n")[-2:] == [
        "  Resource configuration associations are not this app's: ask the account that created each to "
        "remove it from the service network (or remove it yourself if it is unwanted), then retry.",
        "  Service-network endpoints belong to their VPC's owner: only that account can remove one, by "
        "deleting the VPC endpoint. Ask it to, then retry the stack delete.",
    ]


# -- the stack's status: only a whole-stack removal is a delete (every status: tests/lambda/test_stack_removal.py)


@pytest.mark.parametrize(
    ("answer", "deleting"),
    [
        ({"Stacks": [{"StackStatus": "DELETE_IN_PROGRESS"}]}, True),
        ({"Stacks": [{"StackStatus": "ROLLBACK_IN_PROGRESS"}]}, True),
        ({"Stacks": [{"StackStatus": "UPDATE_COMPLETE_CLEANUP_IN_PROGRESS"}]}, False),
        ({"Stacks": [{"StackStatus": "DELETE_COMPLETE"}]}, False),
        ({"Stacks": []}, False),
        ({}, False),
    ],
)
def test_only_a_stack_being_deleted_counts(
    answer: dict[str, Any], deleting: bool, caplog: pytest.LogCaptureFixture
) -> None:
    cloudformation = Api(describe_stacks=[error("Throttling"), answer])
    with caplog.at_level(logging.INFO, logger=drain.LOG.name):
        assert drain._stack_deleting(cloudformation, STACK, backoff()[0]) is deleting
    assert cloudformation.calls == [("describe_stacks", {"StackName": STACK})] * 2
    notes = [m for m in caplog.messages if m.startswith("stack ")]
    if deleting:
        assert notes == []
    else:
        status = (answer.get("Stacks") or [{}])[0].get("StackStatus", "")
        assert notes == [
            f"stack {STACK} is {status}, not being removed: only this network's associations are cleaned up"
        ]


@pytest.mark.parametrize(
    ("failure", "detail"),
    [
        (error("AccessDenied", 403, "no"), "An error occurred (AccessDenied) when calling the Op operation: no"),
        (error("Throttling"), "Throttling after 4 attempts"),
    ],
)
def test_an_unreadable_stack_status_is_unknown_not_a_verdict(
    failure: Exception, detail: str, caplog: pytest.LogCaptureFixture
) -> None:
    """Neither "being deleted" nor "not": the caller asks again (tests/lambda/test_lattice_drain_cleanup.py)."""
    cloudformation = Api(describe_stacks=failure)
    with caplog.at_level(logging.WARNING, logger=drain.LOG.name):
        assert drain._stack_deleting(cloudformation, STACK, backoff()[0]) is None
    (record,) = caplog.records
    assert record.levelno == logging.WARNING
    assert record.getMessage() == f"cannot read the status of stack {STACK} ({detail}); asking again at the next poll"


# -- ownership: exactly this cluster's ManagedBy tag ---------------------------------------------------------


@pytest.mark.parametrize(
    ("answer", "owned"),
    [
        ({"tags": {TAG: OWNER}}, True),
        ({"tags": {TAG: OWNER + "1"}}, False),
        ({"tags": {TAG: "111122223333/eks-demo-2/vpc-0abc"}}, False),
        ({"tags": {"other": OWNER}}, False),
        ({"tags": None}, False),
        ({}, False),
        (error("ResourceNotFoundException", 404), False),
        (error("AccessDeniedException", 403), False),
        (error("AccessDenied", 403), False),
    ],
)
def test_ours_only_with_our_exact_tag(answer: Any, owned: bool) -> None:
    api = Api(list_tags_for_resource=answer)
    assert leftovers._owned(api, "arn:x", OWNER, backoff()[0]) is owned
    assert api.calls == [("list_tags_for_resource", {"resourceArn": "arn:x"})]


def test_unreadable_tags_are_logged_as_not_ours(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.INFO, logger=drain.LOG.name):
        leftovers._owned(Api(list_tags_for_resource=error("AccessDeniedException", 403)), "arn:x", OWNER, backoff()[0])
    assert caplog.messages == ["cannot read the tags of arn:x (AccessDeniedException); not ours to delete"]


@pytest.mark.parametrize(
    ("fault", "raised"),
    [
        (error("ValidationException"), ClientError),
        (ValueError("bug"), ValueError),
        (error("ThrottlingException", 429), TransientError),
    ],
)
def test_other_tag_errors_stop_the_sweep(fault: Exception, raised: type[Exception]) -> None:
    with pytest.raises(raised):
        leftovers._owned(Api(list_tags_for_resource=fault), "arn:x", OWNER, backoff()[0])


def test_out_of_time_while_reading_tags_stops_the_sweep() -> None:
    def late(**_: Any) -> Any:
        raise OutOfTimeError

    with pytest.raises(OutOfTimeError):
        leftovers._owned(Api(list_tags_for_resource=late), "arn:x", OWNER, backoff()[0])


# -- deletes ------------------------------------------------------------------------------------------------------


def test_a_delete_reports_what_is_left(caplog: pytest.LogCaptureFixture) -> None:
    api = Api(delete_service=[{}, error("ResourceNotFoundException", 404), error("ConflictException", 409, "busy")])
    with caplog.at_level(logging.INFO, logger=drain.LOG.name):
        assert leftovers._delete(api.delete_service, backoff()[0], "service s", serviceIdentifier="svc-1") == (
            "service s (deleting)"
        )
        assert caplog.messages == ["cleanup: deleting service s"]
        assert leftovers._delete(api.delete_service, backoff()[0], "service s", serviceIdentifier="svc-1") is None
        left = leftovers._delete(api.delete_service, backoff()[0], "service s", serviceIdentifier="svc-1")
    assert left == (
        "service s (busy: An error occurred (ConflictException) when calling the Op operation: busy; "
        "trying again at the next poll)"
    )
    assert len(caplog.messages) == 1
    assert api.calls == [("delete_service", {"serviceIdentifier": "svc-1"})] * 3


# -- the sweep: associations, services, target groups ---------------------------------------------------------


def tags_by_arn(owned: set[str]) -> Callable[..., Any]:
    return lambda **kw: {"tags": {TAG: OWNER if kw["resourceArn"] in owned else "111122223333/x/vpc-1"}}


def test_only_our_idle_service_associations_are_deleted() -> None:
    assocs = [
        {"id": f"snsa-{status}", "arn": f"arn:{status}", "status": status, "serviceName": status}
        for status in ("ACTIVE", "DELETE_FAILED", "DELETE_IN_PROGRESS", "CREATE_IN_PROGRESS", "theirs")
    ]
    api = Api(
        list_tags_for_resource=tags_by_arn({f"arn:{a['status']}" for a in assocs[:4]}),
        delete_service_network_service_association={},
    )
    pending: list[str] = []
    leftovers._sweep_associations(api, assocs, OWNER, backoff()[0], pending)
    deleted = [kw for op, kw in api.calls if op.startswith("delete")]
    assert deleted == [
        {"serviceNetworkServiceAssociationIdentifier": "snsa-ACTIVE"},
        {"serviceNetworkServiceAssociationIdentifier": "snsa-DELETE_FAILED"},
    ]
    assert pending == [
        "service association snsa-ACTIVE (service ACTIVE, ACTIVE) (deleting)",
        "service association snsa-DELETE_FAILED (service DELETE_FAILED, DELETE_FAILED) (deleting)",
        "service association snsa-DELETE_IN_PROGRESS (service DELETE_IN_PROGRESS, DELETE_IN_PROGRESS)",
        "service association snsa-CREATE_IN_PROGRESS (service CREATE_IN_PROGRESS, CREATE_IN_PROGRESS)",
    ]


def test_an_association_gone_already_leaves_nothing_pending() -> None:
    api = Api(
        list_tags_for_resource={"tags": {TAG: OWNER}},
        delete_service_network_service_association=error("ResourceNotFoundException", 404),
    )
    pending: list[str] = []
    leftovers._sweep_associations(api, [{"id": "snsa-1", "arn": "a", "status": "ACTIVE"}], OWNER, backoff()[0], pending)
    assert pending == []


def service(name: str, status: str = "ACTIVE") -> dict[str, Any]:
    return {"id": f"svc-{name}", "arn": f"arn:svc-{name}", "name": name, "status": status}


def test_our_services_on_this_network_or_none_go_and_those_used_elsewhere_stay(
    caplog: pytest.LogCaptureFixture,
) -> None:
    services = [service(n) for n in ("here", "nowhere", "elsewhere", "both", "theirs", "vanished")]
    services += [service("going", "DELETE_IN_PROGRESS"), service("coming", "CREATE_IN_PROGRESS")]
    networks = {
        "svc-here": [NETWORK],
        "svc-elsewhere": ["sn-other"],
        "svc-both": [NETWORK, "sn-other", "sn-third"],
        "svc-going": [NETWORK],
        "svc-coming": [],
    }

    def associations(**kw: str) -> Any:
        if kw["serviceIdentifier"] == "svc-vanished":
            return error("ResourceNotFoundException", 404)
        return {"items": [{"serviceNetworkId": n} for n in networks.get(kw["serviceIdentifier"], [])]}

    api = Api(
        list_services={"items": services},
        list_tags_for_resource=tags_by_arn({s["arn"] for s in services} - {"arn:svc-theirs"}),
        list_service_network_service_associations=associations,
        delete_service={},
    )
    pending: list[str] = []
    with caplog.at_level(logging.INFO, logger=drain.LOG.name):
        kept = leftovers._sweep_services(api, NETWORK, OWNER, backoff()[0], pending)
    assert kept == frozenset({"arn:svc-elsewhere", "arn:svc-both"})
    assert [kw for op, kw in api.calls if op == "delete_service"] == [
        {"serviceIdentifier": "svc-here"},
        {"serviceIdentifier": "svc-nowhere"},
    ]
    assert pending == [
        "service here (svc-here, ACTIVE) (deleting)",
        "service nowhere (svc-nowhere, ACTIVE) (deleting)",
        "service going (svc-going, DELETE_IN_PROGRESS)",
        "service coming (svc-coming, CREATE_IN_PROGRESS)",
    ]
    assert (
        "cleanup: leaving service both (svc-both, ACTIVE) alone: associated with service network(s) "
        "['sn-other', 'sn-third']" in caplog.messages
    )
    assert ("list_service_network_service_associations", {"serviceIdentifier": "svc-here"}) in api.calls


def group(name: str, status: str = "ACTIVE", users: tuple[str, ...] = ()) -> dict[str, Any]:
    return {"id": f"tg-{name}", "arn": f"arn:tg-{name}", "name": name, "status": status, "serviceArns": list(users)}


def test_target_groups_go_once_unused_and_empty(caplog: pytest.LogCaptureFixture) -> None:
    groups = [
        group("empty"),
        group("theirs"),
        group("going", "DELETE_IN_PROGRESS"),
        group("coming", "CREATE_IN_PROGRESS"),
        group("used", users=("arn:svc-ours", "arn:svc-kept")),
        group("kept", users=("arn:svc-kept", "arn:svc-theirs")),
        group("vanished"),
        group("busy"),
    ]
    owned = {g["arn"] for g in groups} - {"arn:tg-theirs"} | {"arn:svc-ours", "arn:svc-kept"}

    def targets(**kw: str) -> Any:
        return (
            error("ResourceNotFoundException", 404) if kw["targetGroupIdentifier"] == "tg-vanished" else {"items": []}
        )

    def delete(**kw: str) -> Any:
        return error("ConflictException", 409, "in use") if kw["targetGroupIdentifier"] == "tg-busy" else {}

    api = Api(
        list_target_groups={"items": groups},
        list_tags_for_resource=tags_by_arn(owned),
        list_targets=targets,
        delete_target_group=delete,
    )
    pending: list[str] = []
    with caplog.at_level(logging.INFO, logger=drain.LOG.name):
        leftovers._sweep_target_groups(api, OWNER, backoff()[0], pending, kept=frozenset({"arn:svc-kept"}))
    assert api.calls[0] == ("list_target_groups", {"vpcIdentifier": "vpc-0abc"})
    assert [kw for op, kw in api.calls if op == "delete_target_group"] == [
        {"targetGroupIdentifier": "tg-empty"},
        {"targetGroupIdentifier": "tg-busy"},
    ]
    assert pending == [
        "target group empty (tg-empty, ACTIVE) (deleting)",
        "target group going (tg-going, DELETE_IN_PROGRESS)",
        "target group coming (tg-coming, CREATE_IN_PROGRESS)",
        "target group used (tg-used, ACTIVE) (still used by arn:svc-ours)",
        "target group busy (tg-busy, ACTIVE) (busy: An error occurred (ConflictException) when calling the Op "
        "operation: in use; trying again at the next poll)",
    ]
    assert (
        "cleanup: leaving target group kept (tg-kept, ACTIVE) alone: used by service(s) that stay: "
        "arn:svc-kept, arn:svc-theirs"
    ) in caplog.messages
    # The kept service's tags are never read: kept is decided before ownership.
    assert ("list_tags_for_resource", {"resourceArn": "arn:svc-kept"}) not in api.calls


@pytest.mark.parametrize(("count", "batches"), [(100, [100]), (101, [100, 1]), (201, [100, 100, 1])])
def test_targets_are_deregistered_at_most_100_per_call(
    count: int, batches: list[int], caplog: pytest.LogCaptureFixture
) -> None:
    targets = [{"id": f"10.0.0.{i}", "port": 8080, "status": "HEALTHY"} for i in range(count)]
    api = Api(
        list_target_groups={"items": [group("g")]},
        list_tags_for_resource={"tags": {TAG: OWNER}},
        list_targets={"items": targets},
        deregister_targets={},
    )
    pending: list[str] = []
    with caplog.at_level(logging.INFO, logger=drain.LOG.name):
        leftovers._sweep_target_groups(api, OWNER, backoff()[0], pending)
    calls = [kw for op, kw in api.calls if op == "deregister_targets"]
    assert [len(c["targets"]) for c in calls] == batches
    assert all(c["targetGroupIdentifier"] == "tg-g" for c in calls)
    assert [t for c in calls for t in c["targets"]] == [{"id": t["id"], "port": 8080} for t in targets]
    assert pending == [f"target group g (tg-g, ACTIVE) ({count} target(s) draining)"]
    assert [m for m in caplog.messages if "deregistering" in m] == [
        f"cleanup: deregistering {n} target(s) of target group g (tg-g, ACTIVE)" for n in batches
    ]
    assert "delete_target_group" not in api.ops()


def test_draining_targets_are_waited_for_not_deregistered_again() -> None:
    targets = [
        {"id": "i-1", "status": "DRAINING", "port": 80},
        {"id": "i-2", "status": "HEALTHY"},
        {"id": "i-3", "status": "UNUSED", "port": 0},
    ]
    api = Api(
        list_target_groups={"items": [group("g")]},
        list_tags_for_resource={"tags": {TAG: OWNER}},
        list_targets={"items": targets},
        deregister_targets=error("ConflictException", 409),
    )
    pending: list[str] = []
    leftovers._sweep_target_groups(api, OWNER, backoff()[0], pending)
    (call,) = [kw for op, kw in api.calls if op == "deregister_targets"]
    assert call["targets"] == [{"id": "i-2"}, {"id": "i-3", "port": 0}]
    assert pending == ["target group g (tg-g, ACTIVE) (3 target(s) draining)"]

    only_draining = Api(
        list_target_groups={"items": [group("g")]},
        list_tags_for_resource={"tags": {TAG: OWNER}},
        list_targets={"items": targets[:1]},
    )
    pending = []
    leftovers._sweep_target_groups(only_draining, OWNER, backoff()[0], pending)
    assert pending == ["target group g (tg-g, ACTIVE) (1 target(s) draining)"]
    assert "deregister_targets" not in only_draining.ops()


@pytest.mark.parametrize(
    ("fault", "note"),
    [
        (OutOfTimeError(), "the rest of the cleanup (out of time in this poll)"),
        (
            error("ThrottlingException", 429),
            "the rest of the cleanup (Lattice kept failing: ThrottlingException after 4 attempts)",
        ),
    ],
)
def test_a_sweep_cut_short_says_the_rest_is_pending(fault: Exception, note: str) -> None:
    def late(**_: Any) -> Any:
        raise fault

    api = Api(list_tags_for_resource=late)
    assocs = [{"id": "snsa-1", "arn": "a", "status": "ACTIVE"}]
    sweep = _Sweep(owner=OWNER, past_grace=True, stack_deleting=True)
    assert leftovers._sweep(api, NETWORK, assocs, sweep, backoff()[0]) == [note]


def test_a_sweep_error_is_logged_and_blocks_nothing(caplog: pytest.LogCaptureFixture) -> None:
    api = Api(
        list_tags_for_resource={"tags": {TAG: OWNER}},
        delete_service_network_service_association={},
        list_services=error("AccessDeniedException", 403),
    )
    assocs = [{"id": "snsa-1", "arn": "a", "status": "ACTIVE"}]
    sweep = _Sweep(owner=OWNER, past_grace=True, stack_deleting=True)
    with caplog.at_level(logging.INFO, logger=drain.LOG.name):
        pending = leftovers._sweep(api, NETWORK, assocs, sweep, backoff()[0])
    assert pending == ["service association snsa-1 (service ?, ACTIVE) (deleting)"]
    (record,) = [r for r in caplog.records if r.levelno == logging.ERROR]
    assert record.getMessage() == f"cleanup of the controller's leftovers ({TAG}={OWNER}) stopped"


def test_a_network_replaced_under_a_living_stack_loses_only_its_associations() -> None:
    api = Api(list_tags_for_resource={"tags": {TAG: OWNER}}, delete_service_network_service_association={})
    sweep = _Sweep(owner=OWNER, past_grace=True, stack_deleting=False)
    leftovers._sweep(api, NETWORK, [{"id": "snsa-1", "arn": "a", "status": "ACTIVE"}], sweep, backoff()[0])
    assert api.ops() == ["list_tags_for_resource", "delete_service_network_service_association"]


def test_each_step_of_the_sweep_checks_the_time() -> None:
    over = backoff(until=time.monotonic() - 1)[0]
    for step in (
        lambda api: leftovers._sweep_associations(api, [{"id": "x", "arn": "a"}], OWNER, over, []),
        lambda api: leftovers._sweep_services(api, NETWORK, OWNER, over, []),
        lambda api: leftovers._sweep_target_groups(api, OWNER, over, []),
    ):
        api = Api(list_services={"items": [service("s")]}, list_target_groups={"items": [group("g")]})
        with pytest.raises(OutOfTimeError):
            step(api)
        assert "list_tags_for_resource" not in api.ops()


# -- one poll: when the network's delete may go ahead -------------------------------------------------------------


def lattice(vpc: list[dict[str, Any]], svc: list[dict[str, Any]], **more: Any) -> Api:
    return Api(
        **{
            "get_service_network": {},
            "list_service_network_vpc_associations": {"items": vpc},
            "list_service_network_service_associations": {"items": svc},
            "list_service_network_resource_associations": {"items": []},
            "list_service_network_vpc_endpoint_associations": {"items": []},
            **more,
        }
    )


def drained(api: Api, *, past_deadline: bool = False, sweep: _Sweep | None = None) -> bool:
    return drain._drained(api, NETWORK, timeout=900, past_deadline=past_deadline, backoff=backoff()[0], sweep=sweep)


def test_the_network_is_asked_for_by_its_id() -> None:
    api = lattice([], [])
    assert drained(api) is True
    assert api.calls == [
        ("get_service_network", {"serviceNetworkIdentifier": NETWORK}),
        ("list_service_network_vpc_associations", {"serviceNetworkIdentifier": NETWORK}),
        ("list_service_network_service_associations", {"serviceNetworkIdentifier": NETWORK}),
        ("list_service_network_resource_associations", {"serviceNetworkIdentifier": NETWORK}),
        ("list_service_network_vpc_endpoint_associations", {"serviceNetworkIdentifier": NETWORK}),
    ]


@pytest.mark.parametrize(
    ("fault", "past_deadline", "done", "message"),
    [
        (
            error("ResourceNotFoundException", 404),
            False,
            True,
            f"service network {NETWORK} is already gone; nothing to wait for",
        ),
        (
            error("ThrottlingException", 429),
            False,
            False,
            "transient Lattice error (ThrottlingException after 4 attempts); trying again at the next poll",
        ),
        (
            error("ThrottlingException", 429),
            True,
            True,
            "gave up after 900s: Lattice kept failing "
            "(ThrottlingException after 4 attempts); the service network "
            "delete will report",
        ),
        (
            error("AccessDeniedException", 403),
            False,
            True,
            f"could not list the associations of {NETWORK}; not waiting",
        ),
    ],
)
def test_a_network_that_cannot_be_read(
    fault: Exception, past_deadline: bool, done: bool, message: str, caplog: pytest.LogCaptureFixture
) -> None:
    api = Api(get_service_network={}, list_service_network_vpc_associations=fault)
    with caplog.at_level(logging.INFO, logger=drain.LOG.name):
        assert drained(api, past_deadline=past_deadline) is done
    assert message in caplog.messages


def test_waiting_names_what_it_waits_for(caplog: pytest.LogCaptureFixture) -> None:
    vpc = [{"id": "snva-1", "vpcId": "vpc-1", "status": "DELETE_IN_PROGRESS"}, VPC_ASSOC]
    with caplog.at_level(logging.INFO, logger=drain.LOG.name):
        assert drained(lattice(vpc, [])) is False
    assert caplog.messages == [
        f"waiting for 1 association(s) of {NETWORK}: VPC association snva-1 (vpc-1, DELETE_IN_PROGRESS)"
    ]


def test_only_delete_failed_associations_left_end_the_wait_with_their_list(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.INFO, logger=drain.LOG.name):
        assert drained(lattice([VPC_ASSOC], [])) is True
    assert caplog.messages[-1].startswith(
        f"service network {NETWORK}: associations in DELETE_FAILED (not retried); not waiting any longer. Its delete"
    )


def test_nothing_left_says_so(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.INFO, logger=drain.LOG.name):
        assert drained(lattice([], [])) is True
    assert caplog.messages == [f"service network {NETWORK} has no associations left"]


def test_past_the_deadline_the_leftovers_are_logged_and_the_wait_ends(caplog: pytest.LogCaptureFixture) -> None:
    active = {"id": "snva-2", "vpcId": "vpc-2", "status": "ACTIVE"}
    with caplog.at_level(logging.INFO, logger=drain.LOG.name):
        assert drained(lattice([active], []), past_deadline=True) is True
    assert caplog.messages[-1].startswith(
        f"service network {NETWORK}: associations still present after 900s; not waiting any longer."
    )


def test_within_the_grace_period_our_leftovers_wait_for_the_controller() -> None:
    api = lattice([], [SVC_ASSOC], list_tags_for_resource={"tags": {TAG: OWNER}})
    assert drained(api, sweep=_Sweep(owner=OWNER, past_grace=False, stack_deleting=True)) is False
    assert "list_tags_for_resource" not in api.ops()


def test_past_the_grace_period_the_sweep_runs_and_its_progress_is_waited_for(
    caplog: pytest.LogCaptureFixture,
) -> None:
    api = lattice(
        [],
        [SVC_ASSOC],
        list_tags_for_resource={"tags": {TAG: OWNER}},
        delete_service_network_service_association={},
    )
    with caplog.at_level(logging.INFO, logger=drain.LOG.name):
        assert drained(api, sweep=_Sweep(owner=OWNER, past_grace=True, stack_deleting=False)) is False
    assert caplog.messages[-1] == (
        f"waiting for 1 association(s) of {NETWORK} and 1 cleanup item(s): service association snsa-1 (service web, "
        "ACTIVE); service association snsa-1 (service web, ACTIVE) (deleting)"
    )


def test_with_nothing_associated_the_sweep_runs_without_grace_and_its_leftovers_are_waited_for(
    caplog: pytest.LogCaptureFixture,
) -> None:
    api = lattice(
        [],
        [],
        list_tags_for_resource={"tags": {TAG: OWNER}},
        list_services={"items": [service("s")]},
        delete_service={},
        list_target_groups={"items": []},
    )
    sweep = _Sweep(owner=OWNER, past_grace=False, stack_deleting=True)
    assert drained(api, sweep=sweep) is False
    assert ("delete_service", {"serviceIdentifier": "svc-s"}) in api.calls
    with caplog.at_level(logging.INFO, logger=drain.LOG.name):
        assert drained(api, sweep=sweep, past_deadline=True) is True
    assert caplog.messages[-1].split("\n") == [
        f"service network {NETWORK}: the cleanup of the controller's leftovers unfinished after 900s; not waiting "
        "any longer.",
        "  The cleanup of this cluster's controller leftovers did not finish:",
        "  - service s (svc-s, ACTIVE) (deleting)",
    ]


# -- is_complete: its properties, the clock and the Lambda's time ---------------------------------------------


def event(started: float | None = 1000.0, /, **props: str) -> dict[str, Any]:
    base = {"RequestType": "Delete", "StackId": STACK, "PhysicalResourceId": "lattice-drain-sn"}
    return {
        **base,
        **({drain.STARTED_KEY: started} if started is not None else {}),
        "ResourceProperties": {"ServiceNetworkId": NETWORK, **props},
    }


def complete(evt: dict[str, Any], api: Api, now: float, **kw: Any) -> bool:
    result = drain.is_complete(evt, kw.pop("context", None), client=api, clock=lambda: now, sleep=lambda _: None, **kw)
    assert set(result) == {"IsComplete"}
    return bool(result["IsComplete"])


ACTIVE = [{"id": "snva-2", "vpcId": "vpc-2", "status": "ACTIVE"}]


@pytest.mark.parametrize("request_type", ["Create", "Update"])
def test_only_a_delete_waits(request_type: str) -> None:
    api = Api()
    assert drain.is_complete({"RequestType": request_type}, None, client=api) == {"IsComplete": True}
    assert api.calls == []


def test_without_a_network_there_is_nothing_to_wait_for(caplog: pytest.LogCaptureFixture) -> None:
    api = Api()
    with caplog.at_level(logging.INFO, logger=drain.LOG.name):
        assert drain.is_complete({"RequestType": "Delete"}, None, client=api) == {"IsComplete": True}
    assert caplog.messages == ["no ServiceNetworkId in the resource properties; nothing to wait for"]
    assert api.calls == []


@pytest.mark.parametrize(
    ("props", "deadline"),
    [({"TimeoutSeconds": "60"}, 60), ({}, 600), ({"TimeoutSeconds": "soon"}, 600), ({"TimeoutSeconds": "-5"}, 600)],
)
def test_the_deadline_is_the_timeout_after_the_start_both_sides(props: dict[str, str], deadline: int) -> None:
    assert complete(event(**props), lattice(ACTIVE, []), 1000.0 + deadline - 1) is False
    assert complete(event(**props), lattice(ACTIVE, []), 1000.0 + deadline) is True


def test_without_a_start_time_the_poll_waits_without_a_deadline(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.INFO, logger=drain.LOG.name):
        assert complete(event(None, TimeoutSeconds="1"), lattice(ACTIVE, []), 10**9) is False
    assert caplog.messages[0] == "no DrainStartedAt in the event; waiting without a deadline of our own"


def test_the_start_time_may_come_as_a_string() -> None:
    evt = {**event(TimeoutSeconds="60"), drain.STARTED_KEY: "1000.5"}
    assert complete(evt, lattice(ACTIVE, []), 1060.4) is False
    assert complete(evt, lattice(ACTIVE, []), 1060.5) is True


def sweeping_api() -> Api:
    return lattice([], [SVC_ASSOC], list_tags_for_resource={"tags": {TAG: OWNER}})


@pytest.mark.parametrize(("props", "grace"), [({"CleanupAfterSeconds": "30"}, 30), ({}, 120)])
def test_the_sweep_starts_at_the_end_of_the_grace_period_both_sides(props: dict[str, str], grace: int) -> None:
    cfn = Api(describe_stacks={"Stacks": [{"StackStatus": "UPDATE_COMPLETE"}]})
    evt = event(ControllerManagedBy=OWNER, **props)
    api = sweeping_api()
    complete(evt, api, 1000.0 + grace - 1, cloudformation=cfn)
    assert "list_tags_for_resource" not in api.ops()
    api = sweeping_api()
    complete(evt, api, 1000.0 + grace, cloudformation=cfn)
    assert "list_tags_for_resource" in api.ops()


def test_a_bad_owner_or_grace_turns_the_sweep_off_with_a_warning(caplog: pytest.LogCaptureFixture) -> None:
    for props in ({"ControllerManagedBy": "me"}, {"ControllerManagedBy": OWNER, "CleanupAfterSeconds": "601"}):
        api, cfn = sweeping_api(), Api()
        with caplog.at_level(logging.INFO, logger=drain.LOG.name):
            complete(event(**props), api, 10**9, cloudformation=cfn)
        assert "list_tags_for_resource" not in api.ops() and cfn.calls == []
    warnings = [m for m in caplog.messages if m.startswith("not cleaning up")]
    assert (
        warnings[0] == "not cleaning up controller leftovers: ControllerManagedBy must be "
        "<account>/<cluster>/<vpc-id>, got 'me'"
    )
    assert warnings[1].startswith("not cleaning up controller leftovers: CleanupAfterSeconds (601) must not exceed")


def test_the_stack_status_is_read_only_with_an_owner_and_a_stack_id() -> None:
    cfn = Api(describe_stacks={"Stacks": [{"StackStatus": "DELETE_IN_PROGRESS"}]})
    complete(event(), lattice([], []), 1000.0, cloudformation=cfn)
    assert cfn.calls == []
    complete({**event(ControllerManagedBy=OWNER), "StackId": ""}, lattice([], []), 1000.0, cloudformation=cfn)
    assert cfn.calls == []
    api = lattice([], [], list_services={"items": []}, list_target_groups={"items": []})
    complete(event(ControllerManagedBy=OWNER), api, 1000.0, cloudformation=cfn)
    assert cfn.calls == [("describe_stacks", {"StackName": STACK})]
    assert {"list_services", "list_target_groups"} <= set(api.ops())  # the whole sweep: the stack goes


@pytest.mark.parametrize(
    ("millis", "retries"), [(29_000, 3), (28_999, 2), (26_000, 1), (25_999, 0), (25_000, 0), (24_999, -1)]
)
def test_retries_stop_the_poll_margin_before_the_lambda_times_out(
    millis: int, retries: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The poll may use the Lambda's remaining time less 10 s; a call starts only with time for a whole one (5 s to
    connect + 10 s to read, one botocore attempt), and a retry waits only if its delay and that call fit (the clock
    stands still here: 4 s + 15 s fit in 19 s, not in 18.999 s; with under 15 s, no call at all)."""
    monkeypatch.setattr(drain.time, "monotonic", lambda: 500.0)
    api = Api(get_service_network=error("ThrottlingException", 429))
    context = SimpleNamespace(get_remaining_time_in_millis=lambda: millis)
    assert complete(event(), api, 1000.0, context=context) is False
    assert len(api.calls) == 1 + retries


# -- the clients (created only in the Lambda; tests inject theirs) -------------------------------------------------


def test_the_clients_time_out_connects_after_5_s_and_reads_after_10_s(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_DEFAULT_REGION", "eu-west-1")
    for client, service_name in ((calls._client(), "vpc-lattice"), (calls._cloudformation_client(), "cloudformation")):
        assert client.meta.service_model.service_name == service_name
        assert client.meta.region_name == "eu-west-1"
        config = client.meta.config
        assert (config.connect_timeout, config.read_timeout) == (5, 10)
    # One attempt per call, Lattice's and the stack status's (_call retries within the poll): botocore's three
    # for DescribeStacks, each retried by _call, outlasted the 60 s function.
    assert calls._client().meta.config.retries == {"mode": "standard", "total_max_attempts": 1}
    assert calls._cloudformation_client().meta.config.retries == {"mode": "standard", "total_max_attempts": 1}
    assert calls._call_seconds() == 15


def test_a_wait_that_ends_exactly_at_the_polls_end_is_still_made(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(drain.time, "monotonic", lambda: 100.0)
    pause, slept = backoff(until=102.0 + calls._call_seconds())  # a wait is made only with time for a call after it
    assert pause.pause(2.0) is True and pause.pause(2.5) is False
    assert slept == [2.0]
    assert backoff(until=115.0)[0].room() is True
    assert backoff(until=114.999)[0].room() is False
    backoff(until=100.5)[0].check()
    with pytest.raises(OutOfTimeError):
        backoff(until=100.0)[0].check()


def test_without_botocore_an_unknown_fault_is_not_transient(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "botocore.exceptions", None)
    assert calls._is_transient(OSError("reset"), None, 0) is False
    assert calls._is_transient(OSError("reset"), None, 503) is True


class Flaky(Api):
    """Each operation's first call is throttled: every call of the sweep must go through the poll's retries."""

    def __getattr__(self, operation: str) -> Callable[..., Any]:
        call = super().__getattr__(operation)

        def flaky(**kwargs: Any) -> Any:
            if not any(op == operation for op, _ in self.calls):
                self.calls.append((operation, kwargs))
                raise error("ThrottlingException", 429)
            return call(**kwargs)

        flaky.__name__ = operation
        return flaky


def test_every_call_of_the_sweep_is_retried_within_the_poll() -> None:
    api = Flaky(
        list_services={"items": [service("s")]},
        list_tags_for_resource={"tags": {TAG: OWNER}},
        list_service_network_service_associations={"items": [{"serviceNetworkId": NETWORK}]},
        delete_service={},
        delete_service_network_service_association={},
        list_target_groups={"items": [group("used", users=("arn:svc-s",)), group("g"), group("e")]},
        list_targets=lambda **kw: {"items": [{"id": "i-1"}] if kw["targetGroupIdentifier"] == "tg-g" else []},
        deregister_targets={},
        delete_target_group={},
    )
    pause, slept = backoff()
    sweep = _Sweep(owner=OWNER, past_grace=True, stack_deleting=True)
    pending = leftovers._sweep(api, NETWORK, [{"id": "snsa-1", "arn": "a", "status": "ACTIVE"}], sweep, pause)
    assert pending == [
        "service association snsa-1 (service ?, ACTIVE) (deleting)",
        "service s (svc-s, ACTIVE) (deleting)",
        "target group used (tg-used, ACTIVE) (still used by arn:svc-s)",
        "target group g (tg-g, ACTIVE) (1 target(s) draining)",
        "target group e (tg-e, ACTIVE) (deleting)",
    ]
    assert slept == [1.0] * 9  # one retry per operation


def test_a_target_group_gone_while_deregistering_is_listed_again_next_poll() -> None:
    api = Api(
        list_target_groups={"items": [group("g")]},
        list_tags_for_resource={"tags": {TAG: OWNER}},
        list_targets={"items": [{"id": "i-1", "port": 80}]},
        deregister_targets=error("ResourceNotFoundException", 404),
    )
    pending: list[str] = []
    leftovers._sweep_target_groups(api, OWNER, backoff()[0], pending)
    assert pending == ["target group g (tg-g, ACTIVE) (1 target(s) draining)"]


def test_a_foreign_association_first_does_not_end_the_sweep() -> None:
    assocs = [{"id": f"snsa-{n}", "arn": f"arn:{n}", "status": "ACTIVE"} for n in ("theirs", "ours")]
    api = Api(list_tags_for_resource=tags_by_arn({"arn:ours"}), delete_service_network_service_association={})
    leftovers._sweep_associations(api, assocs, OWNER, backoff()[0], [])
    assert [kw for op, kw in api.calls if op.startswith("delete")] == [
        {"serviceNetworkServiceAssociationIdentifier": "snsa-ours"}
    ]


def test_a_group_names_every_service_of_ours_still_using_it() -> None:
    api = Api(
        list_target_groups={"items": [group("g", users=("arn:a", "arn:b"))]},
        list_tags_for_resource={"tags": {TAG: OWNER}},
    )
    pending: list[str] = []
    leftovers._sweep_target_groups(api, OWNER, backoff()[0], pending)
    assert pending == ["target group g (tg-g, ACTIVE) (still used by arn:a, arn:b)"]


def test_without_a_stack_id_the_sweep_takes_the_network_for_replaced() -> None:
    api = lattice([], [], list_tags_for_resource={"tags": {TAG: OWNER}}, list_services={"items": []})
    complete({**event(ControllerManagedBy=OWNER), "StackId": ""}, api, 1000.0, cloudformation=Api())
    assert "list_services" not in api.ops()


def test_the_stack_status_read_is_retried_within_the_poll() -> None:
    cfn = Flaky(describe_stacks={"Stacks": [{"StackStatus": "DELETE_IN_PROGRESS"}]})
    api = lattice([], [], list_services={"items": []}, list_target_groups={"items": []})
    complete(event(ControllerManagedBy=OWNER), api, 1000.0, cloudformation=cfn)
    assert cfn.ops() == ["describe_stacks", "describe_stacks"]
    assert "list_services" in api.ops()


def test_ownership_reads_of_services_and_groups_are_retried_within_the_poll() -> None:
    for sweep_step in (
        lambda api: leftovers._sweep_services(api, NETWORK, OWNER, backoff()[0], []),
        lambda api: leftovers._sweep_target_groups(api, OWNER, backoff()[0], []),
    ):
        api = Flaky(
            list_services={"items": [service("s")]},
            list_target_groups={"items": [group("g", users=("arn:svc-s",))]},
            list_tags_for_resource={"tags": {TAG: OWNER}},
            list_service_network_service_associations={"items": [{"serviceNetworkId": "sn-other"}]},
        )
        sweep_step(api)
        assert api.ops().count("list_tags_for_resource") >= 2


def test_the_service_associations_listing_is_retried_within_the_poll() -> None:
    api = Flaky(
        get_service_network={},
        list_service_network_vpc_associations={"items": []},
        list_service_network_service_associations={"items": []},
    )
    assert drained(api) is True
    assert api.ops().count("list_service_network_service_associations") == 2


@pytest.mark.parametrize("network", [NETWORK, f"arn:aws:vpc-lattice:us-east-1:111122223333:servicenetwork/{NETWORK}"])
def test_the_physical_id_names_the_network_by_id_or_arn(network: str) -> None:
    event = {"RequestType": "Update", "ResourceProperties": {"ServiceNetworkId": network}}
    assert drain.on_event(event, None) == {"PhysicalResourceId": f"lattice-drain-{NETWORK}"}


# -- what else blocks DeleteServiceNetwork: resource configurations and service-network endpoints (issue 23.10) ----

RESOURCE_ASSOC = {
    "id": "snra-0a1b",
    "arn": "arn:aws:vpc-lattice:us-east-1:444455556666:servicenetworkresourceassociation/snra-0a1b",
    "status": "ACTIVE",
    "createdBy": "444455556666",
    "resourceConfigurationName": "their-db",
    "serviceNetworkId": NETWORK,
}
ENDPOINT_ASSOC = {
    "id": "sne-0c2d",
    "vpcEndpointId": "vpce-0123",
    "vpcId": "vpc-0their",
    "vpcEndpointOwnerId": "444455556666",
    "state": "Available",
}


@pytest.mark.parametrize(
    ("listing", "item", "described", "advice"),
    [
        (
            "list_service_network_resource_associations",
            RESOURCE_ASSOC,
            "resource configuration association snra-0a1b (resource configuration their-db, created by account "
            "444455556666, ACTIVE)",
            "Resource configuration associations are not this app's",
        ),
        (
            "list_service_network_vpc_endpoint_associations",
            ENDPOINT_ASSOC,
            "service-network endpoint vpce-0123 (VPC vpc-0their of account 444455556666, Available)",
            "only that account can remove one, by deleting the VPC endpoint",
        ),
    ],
)
def test_every_kind_of_association_that_blocks_the_network_delete_is_waited_for_then_reported_never_deleted(
    listing: str, item: dict[str, Any], described: str, advice: str, caplog: pytest.LogCaptureFixture
) -> None:
    """The class: DeleteServiceNetwork refuses while anything is associated (botocore's model lists VPCs, services,
    resource configurations and service-network endpoints). Each is listed and waited for; one this app did not
    add is reported with who added it and what to do, and nothing of it is deleted, even with the sweep on."""
    sweep = _Sweep(owner=OWNER, past_grace=True, stack_deleting=True)
    more = {
        listing: {"items": [item]},
        "list_tags_for_resource": error("AccessDeniedException", 403),
        "list_services": {"items": []},
        "list_target_groups": {"items": []},
    }
    api = lattice([], [], **more)
    with caplog.at_level(logging.INFO, logger=drain.LOG.name):
        assert drained(api, sweep=sweep) is False
    assert described in caplog.messages[-1]
    with caplog.at_level(logging.INFO, logger=drain.LOG.name):
        assert drained(api, past_deadline=True, sweep=sweep) is True
    report = caplog.messages[-1]
    assert "Its delete will fail with 409 until:" in report
    assert f"  - {described}" in report and advice in report
    assert not [op for op in api.ops() if op.startswith(("delete", "deregister"))]


def test_every_listing_operation_the_drain_calls_is_one_botocore_knows_and_takes_the_network() -> None:
    """The listings are real vpc-lattice operations that filter by serviceNetworkIdentifier (botocore's model)."""
    import boto3

    model = boto3.session.Session(region_name="us-east-1").client("vpc-lattice").meta.service_model
    api = lattice([], [])
    drained(api)
    names = {op.name: op for op in (model.operation_model(n) for n in model.operation_names)}
    by_method = {drain_name: name for name in names if (drain_name := _snake(name))}
    for op, params in api.calls:
        operation = names[by_method[op]]
        assert set(params) <= set(operation.input_shape.members), op
    delete = model.operation_model("DeleteServiceNetwork").documentation
    blockers = {"services", "VPCs", "resource configurations", "service network endpoints"}
    assert all(b in delete for b in blockers), "DeleteServiceNetwork's blockers changed: list them all"
    assert {op for op, _ in api.calls} >= {
        "list_service_network_vpc_associations",
        "list_service_network_service_associations",
        "list_service_network_resource_associations",
        "list_service_network_vpc_endpoint_associations",
    }


def _snake(name: str) -> str:
    from botocore import xform_name

    return str(xform_name(name))


@pytest.mark.parametrize(
    "fault", [error("AccessDeniedException", 403), error("404", 404, "Not yet implemented"), AttributeError("op")]
)
def test_a_listing_of_foreign_associations_that_fails_is_logged_and_the_rest_still_drains(
    fault: Exception, caplog: pytest.LogCaptureFixture
) -> None:
    api = lattice([], [], list_service_network_resource_associations=fault)
    with caplog.at_level(logging.INFO, logger=drain.LOG.name):
        assert drained(api) is True
    assert any("could not list service network resource associations" in m for m in caplog.messages)


@pytest.mark.parametrize("arn", [False, True], ids=["id", "arn"])
def test_services_on_the_network_are_swept_whether_it_is_named_by_id_or_arn(arn: bool) -> None:
    """ServiceNetworkId may be an ARN; Lattice lists associations with the network's ID. Either way our service
    associated only with this network goes."""
    network = f"arn:aws:vpc-lattice:us-east-1:111122223333:servicenetwork/{NETWORK}" if arn else NETWORK
    service = {"id": "svc-1", "arn": "arn:aws:vpc-lattice:us-east-1:111122223333:service/svc-1", "status": "ACTIVE"}
    api = Api(
        list_services={"items": [service]},
        list_tags_for_resource={"tags": {TAG: OWNER}},
        list_service_network_service_associations={"items": [{"serviceNetworkId": NETWORK, "status": "ACTIVE"}]},
        delete_service={},
    )
    pending: list[str] = []
    kept = leftovers._sweep_services(api, network, OWNER, backoff()[0], pending)
    assert kept == frozenset()
    assert ("delete_service", {"serviceIdentifier": "svc-1"}) in api.calls
    assert drain.network_id(network) == NETWORK


# -- Mode sweep: the Gateway stack's copy (issue 23.9), each lifecycle path --------------------------------------

SWEEP_PROPS = {"ServiceNetworkId": NETWORK, "Mode": "sweep", "ControllerManagedBy": OWNER}


@pytest.mark.parametrize("request_type", ["Create", "Update"])
def test_sweep_create_and_update_validate_and_call_nothing(request_type: str) -> None:
    event = {"RequestType": request_type, "PhysicalResourceId": f"lattice-drain-{NETWORK}"}
    assert drain.on_event({**event, "ResourceProperties": SWEEP_PROPS}, None) == {
        "PhysicalResourceId": f"lattice-drain-{NETWORK}"
    }
    assert drain.is_complete({**event, "ResourceProperties": SWEEP_PROPS}, None, client=Api()) == {"IsComplete": True}
    with pytest.raises(ValueError, match="ControllerManagedBy is required with Mode sweep"):
        drain.on_event({**event, "ResourceProperties": {**SWEEP_PROPS, "ControllerManagedBy": ""}}, None)
    with pytest.raises(ValueError, match="Mode must be drain or sweep, got 'Sweep'"):
        drain.on_event({**event, "ResourceProperties": {**SWEEP_PROPS, "Mode": "Sweep"}}, None)


def sweep_delete(props: dict[str, str], api: Api, *, stack: str = "DELETE_IN_PROGRESS", elapsed: float = 0) -> bool:
    request = {"RequestType": "Delete", "StackId": STACK, "PhysicalResourceId": "x", "ResourceProperties": props}
    event = {**request, **drain.on_event(request, None, clock=lambda: 1000.0)}
    cloudformation = Api(describe_stacks={"Stacks": [{"StackStatus": stack}]})
    result = drain.is_complete(
        event, None, client=api, clock=lambda: 1000.0 + elapsed, sleep=lambda _: None, cloudformation=cloudformation
    )
    return bool(result["IsComplete"])


def test_sweep_delete_after_a_failed_create_calls_nothing_and_completes(caplog: pytest.LogCaptureFixture) -> None:
    api = Api()
    with caplog.at_level(logging.WARNING, logger=drain.LOG.name):
        assert sweep_delete({"Mode": "sweep"}, api) is True  # no network: a Create that failed on its properties
        assert sweep_delete({**SWEEP_PROPS, "ControllerManagedBy": "nonsense"}, api) is True
    assert api.calls == []
    assert "Mode sweep without a valid ControllerManagedBy" in caplog.text


@pytest.mark.parametrize("stack", botocore_stack_statuses())
def test_sweep_deletes_only_while_the_whole_stack_is_removed(stack: str) -> None:
    """Every CloudFormation stack status (botocore's enum): a stack deleted, or a first create rolled back, is
    swept; in any other status (a replaced sweep in an update's cleanup or rollback) the cluster's services stay."""
    service = {"id": "svc-1", "arn": "arn:svc-1", "status": "ACTIVE", "name": "r"}
    api = Api(
        list_service_network_service_associations=[
            {"items": [SVC_ASSOC]},  # by network
            {"items": []},  # by service: associated nowhere
        ],
        list_services={"items": [service]},
        list_tags_for_resource={"tags": {TAG: OWNER}},
        delete_service_network_service_association={},
        delete_service={},
        list_target_groups={"items": []},
    )
    done = sweep_delete(SWEEP_PROPS, api, stack=stack, elapsed=drain.DEFAULT_CLEANUP_AFTER_SECONDS)
    if STACK_REMOVAL[stack]:
        assert done is False  # deleting
        assert ("delete_service", {"serviceIdentifier": "svc-1"}) in api.calls
    else:
        assert done is True
        assert api.calls == []


def test_sweep_waits_out_the_grace_while_our_associations_remain_then_sweeps() -> None:
    theirs = {**SVC_ASSOC, "id": "snsa-theirs", "arn": "arn:theirs"}
    tags = {SVC_ASSOC["arn"]: {TAG: OWNER}, "arn:theirs": {TAG: "111122223333/other/vpc-0abc"}}
    api = lattice(
        [],
        [SVC_ASSOC, theirs],
        list_tags_for_resource=lambda **kw: {"tags": tags.get(kw["resourceArn"], {})},
        delete_service_network_service_association={},
        list_services={"items": []},
        list_target_groups={"items": []},
    )
    assert sweep_delete(SWEEP_PROPS, api, elapsed=drain.DEFAULT_CLEANUP_AFTER_SECONDS - 1) is False
    assert not [op for op in api.ops() if op.startswith("delete")]
    assert sweep_delete(SWEEP_PROPS, api, elapsed=drain.DEFAULT_CLEANUP_AFTER_SECONDS) is False  # deleting
    deleted = [kw for op, kw in api.calls if op == "delete_service_network_service_association"]
    assert deleted == [{"serviceNetworkServiceAssociationIdentifier": SVC_ASSOC["id"]}]
    # Never the network's VPC associations nor the other listings: the network is the Platform stack's.
    assert not {"list_service_network_vpc_associations", "get_service_network"} & set(api.ops())


def test_sweep_with_only_foreign_associations_completes_without_the_grace() -> None:
    theirs = {**SVC_ASSOC, "id": "snsa-theirs", "arn": "arn:theirs"}
    api = lattice(
        [],
        [theirs],
        list_tags_for_resource={"tags": {TAG: "111122223333/other/vpc-0abc"}},
        list_services={"items": []},
        list_target_groups={"items": []},
    )
    assert sweep_delete(SWEEP_PROPS, api) is True
    assert not [op for op in api.ops() if op.startswith("delete")]


def test_sweep_of_a_network_already_gone_still_removes_our_unassociated_services() -> None:
    service = {"id": "svc-1", "arn": "arn:svc-1", "status": "ACTIVE", "name": "r"}
    api = Api(
        list_service_network_service_associations=[
            error("ResourceNotFoundException", 404),  # by network: gone
            {"items": []},  # by service: associated nowhere
        ],
        list_services={"items": [service]},
        list_tags_for_resource={"tags": {TAG: OWNER}},
        delete_service={},
        list_target_groups={"items": []},
    )
    assert sweep_delete(SWEEP_PROPS, api) is False  # the delete is under way
    assert ("delete_service", {"serviceIdentifier": "svc-1"}) in api.calls


@pytest.mark.parametrize(("elapsed", "done"), [(0, False), (drain.DEFAULT_TIMEOUT_SECONDS, True)])
def test_sweep_waits_through_lattice_faults_until_the_deadline(elapsed: float, done: bool) -> None:
    api = Api(list_service_network_service_associations=error("ThrottlingException", 429))
    assert sweep_delete(SWEEP_PROPS, api, elapsed=elapsed) is done


def test_sweep_unfinished_at_the_deadline_is_reported_and_never_fails_the_delete(
    caplog: pytest.LogCaptureFixture,
) -> None:
    stuck = {"id": "svc-1", "arn": "arn:svc-1", "status": "CREATE_IN_PROGRESS", "name": "r"}
    api = lattice(
        [],
        [],
        list_services={"items": [stuck]},
        list_tags_for_resource={"tags": {TAG: OWNER}},
        list_target_groups={"items": []},
    )
    assert sweep_delete(SWEEP_PROPS, api) is False
    with caplog.at_level(logging.WARNING, logger=drain.LOG.name):
        assert sweep_delete(SWEEP_PROPS, api, elapsed=drain.DEFAULT_TIMEOUT_SECONDS) is True
    assert "gave up after 600s" in caplog.text and "service r (svc-1, CREATE_IN_PROGRESS)" in caplog.text
    assert f"{TAG}={OWNER}" in caplog.text


def test_a_target_group_whose_listed_service_is_gone_is_deleted_not_left_for_good(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Issue 23 item 11: serviceArns lags a service's delete. The user that Lattice no longer knows (its tags: 404)
    is no user: the group is deleted; while Lattice still refuses (409) it is pending, and the next poll retries.
    A group with such a user and one that stays is still left alone."""
    gone, theirs = "arn:svc-gone", "arn:svc-theirs"
    groups = [group("lagging", users=(gone,)), group("shared", users=(gone, theirs))]

    def tags(**kw: str) -> Any:
        arn = kw["resourceArn"]
        if arn == gone:
            return error("ResourceNotFoundException", 404)
        return {"tags": {TAG: "111122223333/other/vpc-0def"}} if arn == theirs else {"tags": {TAG: OWNER}}

    api = Api(
        list_target_groups={"items": groups},
        list_tags_for_resource=tags,
        list_targets={"items": []},
        delete_target_group=[error("ConflictException", 409, "in use"), {}],
    )
    polls: list[list[str]] = []
    with caplog.at_level(logging.INFO, logger=drain.LOG.name):
        for _ in range(2):
            pending: list[str] = []
            leftovers._sweep_target_groups(api, OWNER, backoff()[0], pending)
            polls.append(pending)
    assert [kw for op, kw in api.calls if op == "delete_target_group"] == [{"targetGroupIdentifier": "tg-lagging"}] * 2
    assert polls == [
        [
            "target group lagging (tg-lagging, ACTIVE) (busy: An error occurred (ConflictException) when calling the "
            "Op operation: in use; trying again at the next poll)"
        ],
        ["target group lagging (tg-lagging, ACTIVE) (deleting)"],
    ]
    assert "cleanup: target group lagging (tg-lagging, ACTIVE) lists only service(s) that are gone: arn:svc-gone" in (
        caplog.messages
    )
    assert (
        "cleanup: leaving target group shared (tg-shared, ACTIVE) alone: used by service(s) that stay: arn:svc-theirs"
    ) in caplog.messages
