"""Calls to Lattice and CloudFormation for the drain: the retry of throttling and 5xx within a poll's time, the
errors the drain tells apart, and paging. See handler.py for why a poll must answer rather than raise."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

# One logger for the whole package (the handler and its helper modules).
LOG = logging.getLogger("lattice_drain")
LOG.setLevel(logging.INFO)


TRANSIENT_CODES = frozenset(
    {
        "ThrottlingException",
        "Throttling",
        "TooManyRequestsException",
        "RequestLimitExceeded",
        "InternalServerException",
        "InternalFailure",
        "ServiceUnavailable",
        "ServiceUnavailableException",
    }
)


RETRY_DELAYS_SECONDS = (1.0, 2.0, 4.0)
# One call (VPC Lattice or CloudFormation) lasts at most connect + read: botocore makes a single attempt (retries
# "total_max_attempts" counts the first call, botocore/config.py 1.44.8, read 2026-12-06) and _call retries only while
# the poll has time for another whole call. (CloudFormation's three botocore attempts of 5 s + 10 s, each retried
# by _call, outlasted the 60 s function, 10 s margin aside; so could one 15 s call started near the margin.)
CONNECT_TIMEOUT_SECONDS = 5.0
READ_TIMEOUT_SECONDS = 10.0


def _call_seconds() -> float:
    return CONNECT_TIMEOUT_SECONDS + READ_TIMEOUT_SECONDS


class NotFoundError(Exception):
    """Lattice answered ResourceNotFoundException: the resource is gone (or never was)."""


class ConflictError(Exception):
    """Lattice answered ConflictException: the resource is busy (e.g. still associated); try again later."""


class TransientError(Exception):
    """Throttling or a server-side failure that outlasted the in-call retries; ask again at the next poll."""


class OutOfTimeError(TransientError):
    """This poll has used its time; the next poll carries on (wherever a fault would be asked again, so is this)."""


@dataclass(frozen=True, slots=True)
class _Backoff:
    sleep: Callable[[float], None]
    until: float | None  # time.monotonic() by which this poll must be done (None: no limit)

    def pause(self, delay: float) -> bool:
        """Sleep before a retry; False when that and another whole call would overrun the poll's time."""
        if self.until is not None and time.monotonic() + delay + _call_seconds() > self.until:
            return False
        self.sleep(delay)
        return True

    def room(self) -> bool:
        """Whether the poll has time for one more whole call (asked before each one)."""
        return self.until is None or time.monotonic() + _call_seconds() <= self.until

    def check(self) -> None:
        """Raise OutOfTimeError once the poll's time is up (called before each step of the sweep)."""
        if self.until is not None and time.monotonic() >= self.until:
            raise OutOfTimeError


def _cloudformation_client() -> Any:
    import boto3  # noqa: PLC0415
    from botocore.config import Config  # noqa: PLC0415

    # _call retries (bounded by the poll's time); botocore's own retries would multiply the wait.
    config = Config(
        connect_timeout=CONNECT_TIMEOUT_SECONDS,
        read_timeout=READ_TIMEOUT_SECONDS,
        retries={"mode": "standard", "total_max_attempts": 1},
    )
    return boto3.client("cloudformation", config=config)


def _client() -> Any:
    import boto3  # noqa: PLC0415 - only the Lambda runtime needs it; tests inject a client
    from botocore.config import Config  # noqa: PLC0415

    # _call retries (bounded by the poll's time); botocore's own retries would multiply the wait.
    config = Config(
        connect_timeout=CONNECT_TIMEOUT_SECONDS,
        read_timeout=READ_TIMEOUT_SECONDS,
        retries={"mode": "standard", "total_max_attempts": 1},
    )
    return boto3.client("vpc-lattice", config=config)


def _list_all(operation: Callable[..., Any], backoff: _Backoff, **params: Any) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    token: str | None = None
    while True:
        page = _call(operation, backoff, **params, **({"nextToken": token} if token else {}))
        items.extend(page.get("items") or [])
        token = page.get("nextToken")
        if not token:
            return items


def _call(operation: Callable[..., Any], backoff: _Backoff, **params: Any) -> Any:
    """One API call; throttling, 5xx and timeouts are retried a few times before giving up for this poll. No
    attempt starts without time for a whole call (OutOfTimeError: the next poll carries on)."""
    for attempt, delay in enumerate((*RETRY_DELAYS_SECONDS, None), start=1):
        if not backoff.room():
            raise OutOfTimeError(f"out of time for another call ({_call_seconds():.0f} s) in this poll")
        try:
            return operation(**params)
        except Exception as err:
            code, status = _error_code(err)
            if code == "ResourceNotFoundException":
                raise NotFoundError(str(err)) from None
            if code == "ConflictException":
                raise ConflictError(str(err)) from None
            if not _is_transient(err, code, status):
                raise
            LOG.info("%s: %s (attempt %d)", getattr(operation, "__name__", "call"), code or err, attempt)
            if delay is None or not backoff.pause(delay):
                raise TransientError(f"{code or type(err).__name__} after {attempt} attempts") from None
    raise AssertionError("unreachable: the last attempt returns or raises")


def _error_code(err: Exception) -> tuple[str | None, int]:
    response = getattr(err, "response", None)
    if not isinstance(response, dict):
        return None, 0
    code = response.get("Error", {}).get("Code")
    status = int(response.get("ResponseMetadata", {}).get("HTTPStatusCode") or 0)
    return code, status


def _is_transient(err: Exception, code: str | None, status: int) -> bool:
    if code in TRANSIENT_CODES or status == 429 or status >= 500:
        return True
    try:
        from botocore.exceptions import ConnectionError as BotoConnectionError  # noqa: PLC0415
        from botocore.exceptions import HTTPClientError  # noqa: PLC0415
    except ImportError:  # pragma: no cover - botocore ships with the Lambda runtime
        return False
    return isinstance(err, BotoConnectionError | HTTPClientError)
