"""lattice_drain against a slow VPC Lattice on 127.0.0.1, through its own client (real boto3 and botocore): a poll
ends within its time (the Lambda's remaining time less POLL_MARGIN_SECONDS), not yet done, and the next poll asks
again. The fault: a call started near the margin could run its whole 5 s + 10 s past it, and DescribeStacks with
botocore's three attempts (each retried by _call) outlasted the 60 s function. The client's timeouts are cut here
so the test waits little: one call may take CONNECT + READ."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from lattice_drain import calls
from lattice_drain import handler as drain

from tests.support.budget import LOADED_SLACK_SECONDS, SLOW_MARGIN_SECONDS, assert_within_budget
from tests.support.clock import RealTimeContext
from tests.support.fixed_answer import FixedAnswerServer
from tests.support.local_aws import use_local_aws

CONNECT, READ = 0.2, 0.6
# One whole call, plus a setup allowance (a cold boto3 client, 0.15 s measured; 0.4 s allowed). The client is built
# within the timed poll: LOADED_SLACK_SECONDS.
BUDGET = round(CONNECT + READ + 0.4, 3)
# Seconds later than the budget and its slack: a client that waits for the answer fails by seconds.
SLOW_SECONDS = BUDGET + SLOW_MARGIN_SECONDS


@pytest.fixture
def slow_lattice(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[FixedAnswerServer]:
    monkeypatch.setattr(calls, "CONNECT_TIMEOUT_SECONDS", CONNECT)
    monkeypatch.setattr(calls, "READ_TIMEOUT_SECONDS", READ)
    body = b'{"id": "sn-0123456789abcdef0", "name": "demo"}'
    with FixedAnswerServer(200, body, {"Content-Type": "application/json"}, delay=SLOW_SECONDS) as lattice:
        use_local_aws(monkeypatch, tmp_path, {"VPC_LATTICE": f"http://127.0.0.1:{lattice.port}"}, region="us-east-1")
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
    context = RealTimeContext(drain.POLL_MARGIN_SECONDS + (CONNECT + READ) / 2)
    assert drain.is_complete(_event(), context) == {"IsComplete": False}
    assert slow_lattice.hits == 0
