"""What the three resources share: their clients, API calls retried through throttling and server faults, paging,
the invocation's remaining time, and the error CloudFormation shows."""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

# One logger for the whole package (the handler and the module of each resource type).
LOG = logging.getLogger("consumer_link")
LOG.setLevel(logging.INFO)


TRANSIENT_CODES = frozenset(
    {
        "Throttling",
        "ThrottlingException",
        "PriorRequestNotComplete",
        "ServiceUnavailable",
        "InternalFailure",
        "InternalError",
        "RequestLimitExceeded",
        "ConcurrentModification",
    }
)


RETRY_DELAYS_SECONDS = (2.0, 4.0, 8.0, 15.0, 30.0)


# IAM propagates a new role and trust policy within seconds, rarely up to a minute.
ASSUME_RETRY_DELAYS_SECONDS = (2.0, 4.0, 8.0, 15.0, 15.0, 15.0)


RESERVE_SECONDS = 20.0  # left at the end of an invocation to report a readable failure


class LinkError(Exception):
    """A failure with a reason CloudFormation shows to the user."""


@dataclass(frozen=True, kw_only=True)
class Clients:
    """Clients in this (the consumer's) account, and a way to reach the zone owner's Route 53."""

    route53: Any
    ram: Any
    ec2: Any
    zone_owner: Callable[[str], Any]  # role ARN -> route53 client with that role's credentials
    organizations: Any = None  # this account's Organizations client (only the share's not-found message uses it)


def _pages(operation: Callable[..., Any], key: str, sleep: Callable[[float], None], **params: Any) -> list[Any]:
    items: list[Any] = []
    while True:
        page = _call(operation, sleep, **params)
        items.extend(page.get(key, []))
        if not page.get("nextToken"):
            return items
        params["nextToken"] = page["nextToken"]


def _seconds_left(context: Any, needed: float) -> bool | None:
    """Whether the invocation has `needed` seconds left beyond a reserve for reporting; None: unknown."""
    remaining = getattr(context, "get_remaining_time_in_millis", None)
    if remaining is None:
        return None
    return bool(remaining() / 1000.0 - RESERVE_SECONDS >= needed)


def _required(props: Mapping[str, Any], key: str) -> str:
    value = str(props.get(key) or "")
    if not value:
        raise LinkError(f"ResourceProperties.{key} is required")
    return value


def _code(err: Exception) -> str | None:
    response = getattr(err, "response", None)
    return response.get("Error", {}).get("Code") if isinstance(response, dict) else None


def _call(operation: Callable[..., Any], sleep: Callable[[float], None], **params: Any) -> Any:
    """One API call; throttling and server faults are retried with backoff."""
    for attempt, delay in enumerate((*RETRY_DELAYS_SECONDS, None), start=1):
        try:
            return operation(**params)
        except Exception as err:
            response = getattr(err, "response", None)
            metadata = response.get("ResponseMetadata", {}) if isinstance(response, dict) else {}
            # 1 for the 0 would change nothing: neither is 429 nor >= 500.
            status = int(metadata.get("HTTPStatusCode") or 0)  # pragma: no mutate -- equivalent: see above
            if delay is None or not (_code(err) in TRANSIENT_CODES or status == 429 or status >= 500):
                raise
            LOG.info(
                "%s: %s (attempt %d); retrying in %.0fs",
                getattr(operation, "__name__", "call"),
                _code(err),
                attempt,
                delay,
            )
            sleep(delay)
    raise AssertionError("unreachable")  # pragma: no mutate -- unreachable: the last attempt returns or raises


def _assume(sts: Any, role_arn: str, sleep: Callable[[float], None]) -> dict[str, str]:
    """The provider's role's credentials. A role (or its trust of this account's role) created moments ago
    is refused until IAM has propagated it (AccessDenied): retried for about a minute."""
    for attempt, delay in enumerate((*ASSUME_RETRY_DELAYS_SECONDS, None), start=1):
        try:
            response = _call(
                sts.assume_role, sleep, RoleArn=role_arn, RoleSessionName="eks-lattice-gateway-consumer-dns"
            )
            credentials: dict[str, str] = response["Credentials"]
            return credentials
        except Exception as err:
            if _code(err) != "AccessDenied":
                raise
            if delay is None:
                raise LinkError(
                    f"could not assume the provider's role {role_arn} (AccessDenied for "
                    f"{sum(ASSUME_RETRY_DELAYS_SECONDS):.0f}s): deploy the provider's Platform stack with this "
                    "account under `consumers` first"
                ) from None
            LOG.info("AssumeRole %s denied (attempt %d; IAM propagation?); retrying in %.0fs", role_arn, attempt, delay)
            sleep(delay)
    raise AssertionError("unreachable")  # pragma: no mutate -- unreachable: the last attempt returns or raises
