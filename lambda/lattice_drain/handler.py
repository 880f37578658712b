"""Waits, on stack delete, until a Lattice service network has no associations left (SPEC §4).

A service network refuses deletion (409 ConflictException) while any VPC or service association exists,
and Lattice removes associations asynchronously: CloudFormation's delete of an association returns while
it is still DELETE_IN_PROGRESS. Every VPC association depends on this custom resource and this resource
depends on the service network, so CloudFormation deletes the associations, then this resource (which
waits here until they are really gone), then the service network.

Provider-framework handlers (aws_cdk.custom_resources.Provider with on_event and is_complete):
  ResourceProperties: ServiceNetworkId (ID or ARN, required), TimeoutSeconds (optional, default 600).
  Create/Update: nothing to do. Delete: complete once nothing but DELETE_FAILED associations remain, the
  network is gone, or TimeoutSeconds have passed. This resource owns none of the associations, so it
  never fails a Delete: leftovers past the deadline are logged and the service network's own delete then
  reports the conflict.

DELETE_FAILED associations are not waited for: it is a terminal state (Lattice does not retry), so
waiting could only burn the timeout before the same outcome. They are logged with the other leftovers.
Throttling and 5xx are retried within a poll; if they persist the poll answers "not yet" rather than
raising, because any exception from is_complete fails the resource in the provider framework.

Wiring: the provider's total_timeout must exceed TimeoutSeconds plus one query interval, or the framework
fails the Delete before this handler gives up. IAM: vpc-lattice:GetServiceNetwork (on the network's ARN),
vpc-lattice:ListServiceNetworkVpcAssociations and vpc-lattice:ListServiceNetworkServiceAssociations (List
actions without resource-level permissions: Resource "*").
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

LOG = logging.getLogger(__name__)
LOG.setLevel(logging.INFO)

DEFAULT_TIMEOUT_SECONDS = 600
# on_event's result is merged into every is_complete event; this carries the Delete's start time.
STARTED_KEY = "DrainStartedAt"
PHYSICAL_ID_PREFIX = "lattice-drain-"
# The ResourceProperties the PhysicalResourceId is made of (see on_event): changing one replaces the resource.
# tools/impact.py reads this; a test keeps it true.
PHYSICAL_ID_PROPERTIES = ("ServiceNetworkId",)
TERMINAL_STATUSES = frozenset({"DELETE_FAILED"})
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
# Stop retrying within a poll this long before the Lambda times out; the next poll tries again.
POLL_MARGIN_SECONDS = 10.0


class NetworkGoneError(Exception):
    """The service network no longer exists, so nothing can be associated with it."""


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


def on_event(event: Mapping[str, Any], context: Any, *, clock: Callable[[], float] = time.time) -> dict[str, Any]:
    request = event["RequestType"]
    props = event.get("ResourceProperties") or {}
    network = str(props.get("ServiceNetworkId") or "")
    if request == "Delete":
        LOG.info("delete: will wait for the associations of service network %s to drain", network or "(unknown)")
        return {"PhysicalResourceId": event["PhysicalResourceId"], STARTED_KEY: clock()}
    if not network:
        raise ValueError("ResourceProperties.ServiceNetworkId is required")
    _timeout(props)  # reject a bad TimeoutSeconds at deploy time, not at delete time
    # Keyed on the network: replacing the network replaces this resource, whose Delete then drains the old one.
    return {"PhysicalResourceId": PHYSICAL_ID_PREFIX + network.rsplit("/", 1)[-1]}


def is_complete(
    event: Mapping[str, Any],
    context: Any,
    *,
    client: Any = None,
    clock: Callable[[], float] = time.time,
    sleep: Callable[[float], None] = time.sleep,
) -> dict[str, Any]:
    if event["RequestType"] != "Delete":
        return {"IsComplete": True}
    props = event.get("ResourceProperties") or {}
    network = str(props.get("ServiceNetworkId") or "")
    if not network:
        LOG.warning("no ServiceNetworkId in the resource properties; nothing to wait for")
        return {"IsComplete": True}
    try:
        timeout = _timeout(props)
    except ValueError:
        timeout = DEFAULT_TIMEOUT_SECONDS
    started = event.get(STARTED_KEY)
    if started is None:
        # Only without the provider framework's merge; the provider's totalTimeout then bounds the wait.
        LOG.warning("no %s in the event; waiting without a deadline of our own", STARTED_KEY)
        started = clock()
    past_deadline = clock() >= float(started) + timeout
    lattice = client if client is not None else _client()
    remaining = getattr(context, "get_remaining_time_in_millis", None)
    until = time.monotonic() + remaining() / 1000.0 - POLL_MARGIN_SECONDS if remaining else None
    backoff = _Backoff(sleep=sleep, until=until)
    return {"IsComplete": _drained(lattice, network, timeout=timeout, past_deadline=past_deadline, backoff=backoff)}


def _drained(lattice: Any, network: str, *, timeout: int, past_deadline: bool, backoff: _Backoff) -> bool:
    """True when the service network's delete can go ahead (or waiting longer cannot help)."""
    try:
        vpc_assocs, svc_assocs = _associations(lattice, network, backoff)
    except NetworkGoneError:
        LOG.info("service network %s is already gone; nothing to wait for", network)
        return True
    except TransientError as err:
        if past_deadline:
            LOG.warning(
                "gave up after %ss: Lattice kept failing (%s); the service network delete will report", timeout, err
            )
        else:
            LOG.info("transient Lattice error (%s); trying again at the next poll", err)
        return past_deadline
    except Exception:
        # Not ours to block on (e.g. AccessDenied): a failed Delete here would wedge the whole stack.
        LOG.exception("could not list the associations of %s; not waiting", network)
        return True

    everything = (*vpc_assocs, *svc_assocs)
    waiting = [a for a in everything if a.get("status") not in TERMINAL_STATUSES]
    if not waiting:
        if everything:
            _log_leftovers(network, vpc_assocs, svc_assocs, reason="associations in DELETE_FAILED (not retried)")
        else:
            LOG.info("service network %s has no associations left", network)
        return True
    if past_deadline:
        _log_leftovers(network, vpc_assocs, svc_assocs, reason=f"associations still present after {timeout}s")
        return True
    LOG.info("waiting for %d association(s) of %s: %s", len(waiting), network, ", ".join(map(_describe, waiting)))
    return False


def _timeout(props: Mapping[str, Any]) -> int:
    raw = props.get("TimeoutSeconds")
    if raw in (None, ""):
        return DEFAULT_TIMEOUT_SECONDS
    try:
        value = int(str(raw))  # CloudFormation passes every property as a string
    except ValueError:
        raise ValueError(f"TimeoutSeconds must be a whole number of seconds, got {raw!r}") from None
    if value < 0:
        raise ValueError(f"TimeoutSeconds must not be negative, got {value}")
    return value


def _client() -> Any:
    import boto3  # noqa: PLC0415 - only the Lambda runtime needs it; tests inject a client
    from botocore.config import Config  # noqa: PLC0415

    # _call retries (bounded by the poll's time); botocore's own retries would multiply the wait.
    config = Config(connect_timeout=5, read_timeout=10, retries={"mode": "standard", "max_attempts": 1})
    return boto3.client("vpc-lattice", config=config)


def _associations(client: Any, network: str, backoff: _Backoff) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    _call(client.get_service_network, backoff, serviceNetworkIdentifier=network)
    vpc = _list_all(client.list_service_network_vpc_associations, backoff, serviceNetworkIdentifier=network)
    svc = _list_all(client.list_service_network_service_associations, backoff, serviceNetworkIdentifier=network)
    return vpc, svc


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
                raise NetworkGoneError(str(err)) from None
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


def _describe(assoc: Mapping[str, Any]) -> str:
    status = assoc.get("status", "?")
    if "vpcId" in assoc:
        return f"VPC association {assoc.get('id')} ({assoc.get('vpcId')}, {status})"
    service = assoc.get("serviceName") or assoc.get("serviceId") or "?"
    return f"service association {assoc.get('id')} (service {service}, {status})"


def _log_leftovers(
    network: str, vpc_assocs: list[dict[str, Any]], svc_assocs: list[dict[str, Any]], *, reason: str
) -> None:
    lines = [f"service network {network}: {reason}; not waiting any longer. Its delete will fail with 409 until:"]
    lines += [f"  - {_describe(a)}" for a in vpc_assocs]
    lines += [f"  - {_describe(a)}" for a in svc_assocs]
    if svc_assocs:
        lines.append(
            "  Service associations are probably Lattice services the AWS Gateway API Controller left behind "
            "(an HTTPRoute outlived the controller): delete the HTTPRoutes first while the controller runs, "
            "or delete these associations and services in the VPC Lattice console, then retry the stack delete."
        )
    if vpc_assocs:
        lines.append("  Delete the VPC associations (or retry the failed ones) before retrying the stack delete.")
    LOG.warning("\n".join(lines))
