"""The provider-side wait for a RAM share's resource associations (lambda/ram_share_wait, issue 20 review 1).

moto's RAM answers GetResourceShareAssociations, but always ASSOCIATED; the states RAM goes through
(ASSOCIATING, FAILED with a statusMessage) come from botocore's Stubber, which checks every request and response
against RAM's service model (so the operation, its parameters and the status values are RAM's own).
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError
from botocore.stub import Stubber
from ram_share_wait import handler
from ram_share_wait.handler import ShareWaitError

from tests.support.budget import LOADED_SLACK_SECONDS, assert_within_budget
from tests.support.clock import FakeClock as Clock
from tests.support.clock import RealTimeContext
from tests.support.fixed_answer import FixedAnswerServer
from tests.support.local_aws import SLOW_CALL_BUDGET, SLOW_CONNECT, SLOW_READ, slow_local_service

SHARE = "arn:aws:ram:us-east-1:111111111111:resource-share/0a1b2c3d-0000-0000-0000-000000000000"
NETWORK = "arn:aws:vpc-lattice:us-east-1:111111111111:servicenetwork/sn-0123456789abcdef0"
T0 = 1_900_000_000.0
NO_SLEEP = lambda _: None  # noqa: E731


def event(request: str = "Create", **props: Any) -> dict[str, Any]:
    properties = {"ResourceShareArn": SHARE, "ResourceArns": [NETWORK], "TimeoutSeconds": "600", **props}
    found: dict[str, Any] = {"RequestType": request, "ResourceProperties": properties, handler.STARTED_KEY: T0}
    if request != "Create":
        found["PhysicalResourceId"] = SHARE
    return found


def stubbed() -> tuple[Any, Stubber]:
    ram = boto3.client("ram", region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="x")
    return ram, Stubber(ram)


def answer(
    stub: Stubber, *items: tuple[str, str, str], next_token: str | None = None, token: str | None = None
) -> None:
    """One GetResourceShareAssociations page: (resource ARN, status, statusMessage) per association."""
    response: dict[str, Any] = {
        "resourceShareAssociations": [
            {
                "resourceShareArn": SHARE,
                "associatedEntity": arn,
                "associationType": "RESOURCE",
                "status": status,
                **({"statusMessage": message} if message else {}),
            }
            for arn, status, message in items
        ]
    }
    if next_token:
        response["nextToken"] = next_token
    expected: dict[str, Any] = {"associationType": "RESOURCE", "resourceShareArns": [SHARE]}
    if token:
        expected["nextToken"] = token
    stub.add_response("get_resource_share_associations", response, expected)


def poll(ram: Any, ev: dict[str, Any], clock: Clock | None = None) -> dict[str, Any]:
    return handler.is_complete(ev, None, client=ram, clock=clock or Clock(T0), sleep=NO_SLEEP)


def test_on_event_starts_the_clock_and_names_the_share() -> None:
    assert handler.on_event(event(), None, clock=Clock(T0)) == {"PhysicalResourceId": SHARE, handler.STARTED_KEY: T0}


@pytest.mark.parametrize(
    ("props", "message"),
    [
        ({"ResourceShareArn": ""}, "ResourceShareArn must be a resource share ARN"),
        ({"ResourceArns": []}, "ResourceArns must be a non-empty list"),
        ({"ResourceArns": NETWORK}, "ResourceArns must be a non-empty list"),
        ({"TimeoutSeconds": "ten"}, "TimeoutSeconds must be a whole number, not 'ten'"),
        ({"TimeoutSeconds": "0"}, "TimeoutSeconds must be at least 1"),
    ],
)
def test_bad_properties_fail_the_deploy_at_once_with_the_key_named(props: dict[str, Any], message: str) -> None:
    with pytest.raises(ShareWaitError, match=message):
        handler.on_event(event(**props), None, clock=Clock(T0))


def test_waits_while_associating_then_completes_once_associated() -> None:
    ram, stub = stubbed()
    answer(stub, (NETWORK, "ASSOCIATING", ""))
    answer(stub, (NETWORK, "ASSOCIATED", ""))
    with stub:
        assert poll(ram, event()) == {"IsComplete": False}
        assert poll(ram, event()) == {"IsComplete": True}
    stub.assert_no_pending_responses()


def test_a_refused_association_fails_at_once_with_rams_status_message() -> None:
    ram, stub = stubbed()
    why = "The permission is not compatible with the resource type"
    answer(stub, (NETWORK, "FAILED", why))
    with stub, pytest.raises(ShareWaitError) as caught:
        poll(ram, event())
    text = str(caught.value)
    assert f"RAM refused to associate {NETWORK} with resource share {SHARE}" in text
    assert why in text and "Deploying again will not help" in text


def test_past_the_timeout_it_fails_naming_each_status() -> None:
    ram, stub = stubbed()
    answer(stub)  # not listed at all yet
    answer(stub)
    with stub:
        assert poll(ram, event(), Clock(T0 + 599)) == {"IsComplete": False}
        with pytest.raises(ShareWaitError, match=f"after 600 s .*{NETWORK} not listed"):
            poll(ram, event(), Clock(T0 + 600))


def test_every_page_is_read() -> None:
    other = "arn:aws:ec2:us-east-1:111111111111:subnet/subnet-0"
    ram, stub = stubbed()
    answer(stub, (other, "ASSOCIATED", ""), next_token="t1")
    answer(stub, (NETWORK, "ASSOCIATED", ""), token="t1")
    with stub:
        assert poll(ram, event()) == {"IsComplete": True}


def test_throttling_is_retried_and_a_persistent_fault_is_only_not_yet() -> None:
    ram, stub = stubbed()
    stub.add_client_error("get_resource_share_associations", "ThrottlingException", http_status_code=400)
    answer(stub, (NETWORK, "ASSOCIATED", ""))
    with stub:
        assert poll(ram, event()) == {"IsComplete": True}
    ram, stub = stubbed()
    for _ in range(len(handler.RETRY_DELAYS_SECONDS) + 1):
        stub.add_client_error("get_resource_share_associations", "ServiceUnavailableException", http_status_code=503)
    with stub:
        assert poll(ram, event()) == {"IsComplete": False}


def test_other_errors_are_not_swallowed() -> None:
    ram, stub = stubbed()
    stub.add_client_error("get_resource_share_associations", "UnknownResourceException", http_status_code=400)
    with stub, pytest.raises(ClientError, match="UnknownResourceException"):
        poll(ram, event())


def test_delete_never_fails_and_calls_nothing() -> None:
    """This resource creates nothing: its Delete (also a failed Create's rollback) always succeeds."""
    ram, stub = stubbed()
    with stub:
        assert handler.on_event(event("Delete", ResourceShareArn=""), None) == {"PhysicalResourceId": SHARE}
        assert poll(ram, event("Delete", ResourceArns=None)) == {"IsComplete": True}


def test_against_motos_ram(mocked_aws: str) -> None:
    """The real client's request shape against moto's RAM (a subnet: moto can't share a service network)."""
    ram = boto3.client("ram", region_name=mocked_aws)
    subnet = f"arn:aws:ec2:{mocked_aws}:123456789012:subnet/subnet-0123456789abcdef0"
    share = ram.create_resource_share(name="s", resourceArns=[subnet], principals=["222222222222"])
    arn = share["resourceShare"]["resourceShareArn"]
    ev = event(ResourceShareArn=arn, ResourceArns=[subnet])
    assert handler.is_complete(ev, None, client=ram, clock=Clock(T0), sleep=NO_SLEEP) == {"IsComplete": True}
    missing = event(ResourceShareArn=arn, ResourceArns=[NETWORK])
    assert handler.is_complete(missing, None, client=ram, clock=Clock(T0), sleep=NO_SLEEP) == {"IsComplete": False}


def test_physical_id_properties_are_exactly_what_renames_the_resource() -> None:
    """tools/impact.py reads PHYSICAL_ID_PROPERTIES: a new share is a new physical id; nothing else is."""
    base = handler.on_event(event(), None, clock=Clock(T0))["PhysicalResourceId"]
    renaming = set()
    changes: dict[str, Any] = {"ResourceShareArn": SHARE + "x", "ResourceArns": [NETWORK + "x"], "TimeoutSeconds": "5"}
    for key, value in changes.items():
        changed = {**event(), "ResourceProperties": {**event()["ResourceProperties"], key: value}}
        if handler.on_event(changed, None, clock=Clock(T0))["PhysicalResourceId"] != base:
            renaming.add(key)
    assert renaming == set(handler.PHYSICAL_ID_PROPERTIES)


# A slow RAM on 127.0.0.1, met by the handler's own client (real boto3 and botocore): tests/support/local_aws.py.
RAM_BUDGET = SLOW_CALL_BUDGET


@pytest.fixture
def slow_ram(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[FixedAnswerServer]:
    body = b'{"resourceShareAssociations": []}'
    with slow_local_service(monkeypatch, tmp_path, timeouts_of=handler, service="RAM", body=body) as ram:
        yield ram


def test_a_slow_ram_ends_the_poll_within_its_time(slow_ram: FixedAnswerServer) -> None:
    """The fault: botocore's three attempts of 5 s + 20 s (and _call's retries of them) outlasted the function's
    60 s; the poll now ends within its time, not yet done, and the next poll asks again. Red before: the poll
    waited for RAM's slow answer (1.7 s against a 1.2 s budget)."""
    started = time.monotonic()
    result = handler.is_complete(event(), RealTimeContext(handler.POLL_MARGIN_SECONDS + RAM_BUDGET))
    assert_within_budget(time.monotonic() - started, RAM_BUDGET, slack=LOADED_SLACK_SECONDS)
    assert result == {"IsComplete": False}
    assert slow_ram.hits == 1, "one call, which met the slow RAM; no retry without time for a whole call"


def test_no_call_starts_without_time_for_a_whole_one(slow_ram: FixedAnswerServer) -> None:
    context = RealTimeContext(handler.POLL_MARGIN_SECONDS + (SLOW_CONNECT + SLOW_READ) / 2)
    assert handler.is_complete(event(), context) == {"IsComplete": False}
    assert slow_ram.hits == 0
