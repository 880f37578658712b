"""ram_share_wait when RAM never answers (reviewer c, dupes item 1): the wait's final error names the last call's
failure, through the handler's own client (real boto3 and botocore) against 127.0.0.1, and does not send the user
to the RAM console about associations RAM never reported."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path

import pytest
from ram_share_wait import handler
from ram_share_wait.handler import ShareWaitError

from tests.support.clock import FakeClock, RealTimeContext
from tests.support.fixed_answer import FixedAnswerServer
from tests.support.local_aws import use_local_aws

SHARE = "arn:aws:ram:us-east-1:111111111111:resource-share/0a1b2c3d-0000-0000-0000-000000000000"
NETWORK = "arn:aws:vpc-lattice:us-east-1:111111111111:servicenetwork/sn-0123456789abcdef0"
T0 = 1_900_000_000.0
TIMEOUT = 600
# RAM's ServiceUnavailableException: httpStatusCode 503 in ram 2018-01-04 service-2.json (protocol rest-json, whose
# errors botocore reads from the body's __type), botocore 1.44.8, read 2026-12-06.
UNAVAILABLE = b'{"__type": "ServiceUnavailableException", "message": "RAM is unavailable"}'


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(params=["closed port", "503"])
def unreachable_ram(
    request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> Iterator[tuple[str, str]]:
    """(RAM's endpoint, the text the final error must carry) for a RAM that fails every call."""
    if request.param == "closed port":
        url = f"http://127.0.0.1:{closed_port()}"
        use_local_aws(monkeypatch, tmp_path, {"RAM": url}, region="us-east-1")
        yield url, "Could not connect to the endpoint URL"
        return
    with FixedAnswerServer(503, UNAVAILABLE, {"Content-Type": "application/x-amz-json-1.1"}) as ram:
        url = f"http://127.0.0.1:{ram.port}"
        use_local_aws(monkeypatch, tmp_path, {"RAM": url}, region="us-east-1")
        yield url, "ServiceUnavailableException"


def poll(elapsed: float) -> dict[str, object]:
    event = {
        "RequestType": "Create",
        "ResourceProperties": {"ResourceShareArn": SHARE, "ResourceArns": [NETWORK], "TimeoutSeconds": str(TIMEOUT)},
        handler.STARTED_KEY: T0,
    }
    # Time for whole calls within the poll (the closed port and the 503 answer at once; retries sleep nothing).
    context = RealTimeContext(handler.POLL_MARGIN_SECONDS + handler._call_seconds() + 5)
    return handler.is_complete(event, context, clock=FakeClock(T0 + elapsed), sleep=lambda _: None)


def test_before_the_deadline_an_unreachable_ram_is_only_not_yet(unreachable_ram: tuple[str, str]) -> None:
    assert poll(TIMEOUT - 1) == {"IsComplete": False}


def test_at_the_deadline_the_error_names_the_last_calls_failure(unreachable_ram: tuple[str, str]) -> None:
    """Red before: 'has still not associated ...; see the share's resources in the RAM console' (RAM never
    answered)."""
    _, failure = unreachable_ram
    with pytest.raises(ShareWaitError) as caught:
        poll(TIMEOUT)
    message = str(caught.value)
    assert failure in message
    assert f"after {TIMEOUT} s RAM could not be asked" in message
    assert "RAM console" not in message and "has still not associated" not in message
