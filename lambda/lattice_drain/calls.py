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


class NotFoundError(Exception):
    """Lattice answered ResourceNotFoundException: the resource is gone (or never was)."""


class ConflictError(Exception):
    """Lattice answered ConflictException: the resource is busy (e.g. still associated); try again later."""


class OutOfTimeError(Exception):
    """This poll has used its time; the next poll carries on."""


class TransientError(Exception):
    """Throttling or a server-side failure that outlasted the in-call retries; ask again at the next poll."""


@dataclass(frozen=True, slots=True)
class _Backoff:
    sleep: Callable[[float], None]
    until: float | None  # time.monotonic() by which this poll must be done (None: no limit)

    def pause(self, delay: float) -> bool:
        """Sleep before a retry; False when that would overrun the poll's time."""
        if self.until is not None and time.monotonic() + delay > self.until:
            return False
        self.sleep(delay)
        return True

    def check(self) -> None:
        """Raise OutOfTimeError once the poll's time is up (called before each step of the sweep)."""
        if self.until is not None and time.monotonic() >= self.until:
            raise OutOfTimeError


def _cloudformation_client() -> Any:
    import boto3  # noqa: PLC0415
    from botocore.config import Config  # noqa: PLC0415

    # Three attempts at most: botocore's default (legacy, five) could outlast the poll.
    config = Config(connect_timeout=5, read_timeout=10, retries={"mode": "standard", "total_max_attempts": 3})
    return boto3.client("cloudformation", config=config)


def _client() -> Any:
    import boto3  # noqa: PLC0415 - only the Lambda runtime needs it; tests inject a client
    from botocore.config import Config  # noqa: PLC0415

    # _call retries (bounded by the poll's time); botocore's own retries would multiply the wait.
    config = Config(connect_timeout=5, read_timeout=10, retries={"mode": "standard", "total_max_attempts": 1})
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
    """One API call; throttling and 5xx are retried a few times before giving up for this poll."""
    for attempt, delay in enumerate((*RETRY_DELAYS_SECONDS, None), start=1):
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
