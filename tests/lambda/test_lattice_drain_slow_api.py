"""lattice_drain against a slow VPC Lattice on 127.0.0.1, through its own client (real boto3 and botocore): a poll
ends within its time (the Lambda's remaining time less POLL_MARGIN_SECONDS), not yet done, and the next poll asks
again. The fault: a call started near the margin could run its whole 5 s + 10 s past it, and DescribeStacks with
botocore's three attempts (each retried by _call) outlasted the 60 s function. The client's timeouts are cut here
so the test waits little: one call may take SLOW_CONNECT + SLOW_READ (tests/support/local_aws.py)."""

from __future__ import annotations

import logging
import socket
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from lattice_drain import calls
from lattice_drain import handler as drain

from tests.support.budget import LOADED_SLACK_SECONDS, assert_within_budget
from tests.support.clock import RealTimeContext
from tests.support.fixed_answer import FixedAnswerServer
from tests.support.local_aws import SLOW_CALL_BUDGET, SLOW_CONNECT, SLOW_READ, slow_local_service, use_local_aws

BUDGET = SLOW_CALL_BUDGET


@pytest.fixture
def slow_lattice(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[FixedAnswerServer]:
    body = b'{"id": "sn-0123456789abcdef0", "name": "demo"}'
    with slow_local_service(monkeypatch, tmp_path, timeouts_of=calls, service="VPC_LATTICE", body=body) as lattice:
        yield lattice


def _event() -> dict[str, object]:
    return {
        "RequestType": "Delete",
        "PhysicalResourceId": "lattice-drain-sn",
        drain.STARTED_KEY: time.time(),
        "ResourceProperties": {"ServiceNetworkId": "sn-0123456789abcdef0"},
    }


def test_a_slow_lattice_ends_the_poll_within_its_time(slow_lattice: FixedAnswerServer) -> None:
    """Red before: 8.9 s against 1.2 s (each of its calls waited for the slow answer; its 10 s read timeout was
    never reached)."""
    started = time.monotonic()
    result = drain.is_complete(_event(), RealTimeContext(drain.POLL_MARGIN_SECONDS + BUDGET))
    assert_within_budget(time.monotonic() - started, BUDGET, slack=LOADED_SLACK_SECONDS)
    assert result == {"IsComplete": False}
    assert slow_lattice.hits == 1, "one call, which met the slow API; no retry without time for a whole call"


def test_no_call_starts_without_time_for_a_whole_one(slow_lattice: FixedAnswerServer) -> None:
    """Red before: with half a call's time left it still called (and answered done)."""
    context = RealTimeContext(drain.POLL_MARGIN_SECONDS + (SLOW_CONNECT + SLOW_READ) / 2)
    assert drain.is_complete(_event(), context) == {"IsComplete": False}
    assert slow_lattice.hits == 0


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(params=["closed port", "503"])
def failing_lattice(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[str]:
    """A VPC Lattice that fails every call; yields the failure the final word must name."""
    if request.param == "closed port":
        url = f"http://127.0.0.1:{_closed_port()}"
        use_local_aws(monkeypatch, tmp_path, {"VPC_LATTICE": url}, region="us-east-1")
        yield "EndpointConnectionError"
        return
    # VPC Lattice's 5xx: InternalServerException, httpStatusCode 500 (vpc-lattice 2022-11-30 service-2.json,
    # botocore 1.44.8, read 2026-12-06); a proxy's 503 is as transient.
    headers = {"Content-Type": "application/json", "x-amzn-ErrorType": "InternalServerException"}
    with FixedAnswerServer(503, b'{"message": "unavailable"}', headers) as lattice:
        use_local_aws(monkeypatch, tmp_path, {"VPC_LATTICE": f"http://127.0.0.1:{lattice.port}"}, region="us-east-1")
        yield "InternalServerException"


def test_at_the_deadline_the_last_word_names_the_last_calls_failure(
    failing_lattice: str, caplog: pytest.LogCaptureFixture
) -> None:
    """Class (reviewer c of dupes, item 1): a Lattice that never answers, up to the deadline, is reported as what it
    was, not as drained or still associated. Delete never fails, so the last word is the warning it logs."""
    event = {**_event(), drain.STARTED_KEY: time.time() - drain.DEFAULT_TIMEOUT_SECONDS}
    # Time for a whole call after the first backoff (1 s, real sleep), not after the second: two attempts, ~1 s.
    context = RealTimeContext(drain.POLL_MARGIN_SECONDS + calls._call_seconds() + 1.5)
    with caplog.at_level(logging.INFO, logger=drain.LOG.name):
        assert drain.is_complete(event, context) == {"IsComplete": True}
    warnings = [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]
    assert any("gave up after" in w and "Lattice kept failing" in w and failing_lattice in w for w in warnings), (
        warnings
    )
