"""Waits, on the provider side, until RAM has really associated a resource share's resources.

RAM associates a share's resources asynchronously: CloudFormation's AWS::RAM::ResourceShare is CREATE_COMPLETE
while each resource's association is still ASSOCIATING, and an association RAM refuses (for example when the
share's permission does not fit the resource type) ends FAILED with a statusMessage, which nothing else in the
provider stack reads. Without this wait the refusal only shows in a consumer account, as a share that never
lists the resource.

Provider-framework handlers (aws_cdk.custom_resources.Provider with on_event and is_complete):
  ResourceProperties: ResourceShareArn (required), ResourceArns (the resources the share must hold, required),
  TimeoutSeconds (optional, default 600).
  Create/Update: poll GetResourceShareAssociations(associationType=RESOURCE, resourceShareArns=[share]) until
  every resource is ASSOCIATED; fail at once with RAM's statusMessage when one is FAILED, and past TimeoutSeconds
  with each resource's status (or, when RAM did not answer that poll, with its last call's failure). Delete:
  nothing to undo (this resource creates nothing), so it never fails.

Names and values from botocore's RAM model (ram 2018-01-04 service-2.json, botocore 1.44.8, read 2026-12-05):
GetResourceShareAssociations takes associationType (required; PRINCIPAL | RESOURCE | SOURCE), resourceShareArns,
nextToken; answers resourceShareAssociations [{resourceShareArn, associatedEntity, associationType, status,
statusMessage}] and nextToken; ResourceShareAssociationStatus is ASSOCIATING | ASSOCIATED | FAILED |
DISASSOCIATING | DISASSOCIATED | SUSPENDED | SUSPENDING | RESTORING; its errors include ServerInternalException
and ServiceUnavailableException (retried within a poll, as are throttling, 5xx and timeouts).
IAM: ram:GetResourceShareAssociations.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any

LOG = logging.getLogger(__name__)
LOG.setLevel(logging.INFO)

DEFAULT_TIMEOUT_SECONDS = 600
STARTED_KEY = "ShareWaitStartedAt"
# The share is the resource: a new share is a new wait (tools/impact.py reads this; a test keeps it true).
PHYSICAL_ID_PROPERTIES = ("ResourceShareArn",)
ASSOCIATED = "ASSOCIATED"
FAILED = "FAILED"
TRANSIENT_CODES = frozenset(
    {"ServerInternalException", "ServiceUnavailableException", "ThrottlingException", "Throttling",
     "TooManyRequestsException", "RequestLimitExceeded"}
)  # fmt: skip
RETRY_DELAYS_SECONDS = (1.0, 2.0, 4.0)
POLL_MARGIN_SECONDS = 10.0
# One RAM call lasts at most connect + read: botocore makes a single attempt (its retries "total_max_attempts" counts
# the first call, botocore/config.py 1.44.8, read 2026-12-06), and _call retries only while the poll has time for
# another whole call. (Three botocore attempts of 5 s + 20 s outlasted the 60 s function, 10 s margin aside.)
CONNECT_TIMEOUT_SECONDS = 5.0
READ_TIMEOUT_SECONDS = 20.0


class ShareWaitError(Exception):
    """A failure with a reason CloudFormation shows to the user."""


class NotYetError(Exception):
    """RAM kept throttling or failing within this poll; the next poll asks again."""


def on_event(event: Mapping[str, Any], context: Any, *, clock: Callable[[], float] = time.time) -> dict[str, Any]:
    if event["RequestType"] == "Delete":
        return {"PhysicalResourceId": event["PhysicalResourceId"]}
    props = event.get("ResourceProperties") or {}
    share = _share(props)
    _resources(props)
    _timeout(props)  # bad values fail the deploy now, not after the wait
    return {"PhysicalResourceId": share, STARTED_KEY: clock()}


def is_complete(
    event: Mapping[str, Any],
    context: Any,
    *,
    client: Any = None,
    clock: Callable[[], float] = time.time,
    sleep: Callable[[float], None] = time.sleep,
) -> dict[str, Any]:
    if event["RequestType"] == "Delete":
        return {"IsComplete": True}
    props = event.get("ResourceProperties") or {}
    share, wanted = _share(props), _resources(props)
    ram = client if client is not None else _client()
    remaining = getattr(context, "get_remaining_time_in_millis", None)
    until = time.monotonic() + remaining() / 1000.0 - POLL_MARGIN_SECONDS if remaining else None
    unanswered: NotYetError | None = None
    try:
        statuses = associations(ram, share, sleep=sleep, until=until)
    except NotYetError as err:
        LOG.info("not yet: %s", err)
        statuses, unanswered = {}, err
    failed = {arn: statuses[arn] for arn in wanted if arn in statuses and statuses[arn][0] == FAILED}
    if failed:
        reasons = "; ".join(f"{arn}: {message or 'no statusMessage'}" for arn, (_, message) in failed.items())
        raise ShareWaitError(
            f"RAM refused to associate {', '.join(failed)} with resource share {share} (FAILED: {reasons}). "
            "Deploying again will not help: the share's permission may not be accepted for this resource type "
            "(constructs/sharing/network_share.py SHARED_NETWORK_ACTIONS); see the share in the RAM console"
        )
    pending = [arn for arn in wanted if statuses.get(arn, ("", ""))[0] != ASSOCIATED]
    if not pending:
        LOG.info("resource share %s holds %s", share, ", ".join(wanted))
        return {"IsComplete": True}
    elapsed = clock() - float(event.get(STARTED_KEY, clock()))
    timeout = _timeout(props)
    seen = ", ".join(f"{arn} {statuses.get(arn, ('not listed', ''))[0]}" for arn in pending)
    if elapsed >= timeout and unanswered is not None:
        # RAM never answered this poll: its failure, not RAM's association state, is the news.
        raise ShareWaitError(
            f"after {timeout} s RAM could not be asked whether resource share {share} holds its resources: "
            f"the last call failed ({unanswered}); check the Lambda's network path to RAM and RAM's health"
        )
    if elapsed >= timeout:
        raise ShareWaitError(
            f"after {timeout} s RAM has still not associated resource share {share} with its resources ({seen}); "
            "see the share's resources in the RAM console (aws ram get-resource-share-associations "
            f"--association-type RESOURCE --resource-share-arns {share})"
        )
    LOG.info("waiting: %s", seen)
    return {"IsComplete": False}


def associations(
    ram: Any, share: str, *, sleep: Callable[[float], None], until: float | None
) -> dict[str, tuple[str, str]]:
    """Resource ARN -> (status, statusMessage) of the share's resource associations (every page)."""
    found: dict[str, tuple[str, str]] = {}
    params: dict[str, Any] = {"associationType": "RESOURCE", "resourceShareArns": [share]}
    while True:
        page = _call(ram.get_resource_share_associations, params, sleep, until)
        for item in page.get("resourceShareAssociations", []):
            if item.get("resourceShareArn", share) == share:
                message = str(item.get("statusMessage") or "")
                found[str(item.get("associatedEntity"))] = (str(item.get("status")), message)
        if not page.get("nextToken"):
            return found
        params = {**params, "nextToken": page["nextToken"]}


def _share(props: Mapping[str, Any]) -> str:
    share = str(props.get("ResourceShareArn") or "")
    if not share.startswith("arn:"):
        raise ShareWaitError(f"ResourceProperties.ResourceShareArn must be a resource share ARN, not {share!r}")
    return share


def _resources(props: Mapping[str, Any]) -> list[str]:
    value = props.get("ResourceArns")
    if not isinstance(value, Sequence) or isinstance(value, str) or not value:
        raise ShareWaitError("ResourceProperties.ResourceArns must be a non-empty list of ARNs")
    return [str(v) for v in value]


def _timeout(props: Mapping[str, Any]) -> int:
    raw = props.get("TimeoutSeconds", DEFAULT_TIMEOUT_SECONDS)
    try:
        seconds = int(str(raw))
    except ValueError:
        raise ShareWaitError(f"ResourceProperties.TimeoutSeconds must be a whole number, not {raw!r}") from None
    if seconds < 1:
        raise ShareWaitError(f"ResourceProperties.TimeoutSeconds must be at least 1, not {seconds}")
    return seconds


def _code(err: Exception) -> str | None:
    response = getattr(err, "response", None)
    return response.get("Error", {}).get("Code") if isinstance(response, dict) else None


def _call_seconds() -> float:
    return CONNECT_TIMEOUT_SECONDS + READ_TIMEOUT_SECONDS


def _transient(err: Exception) -> bool:
    """Throttling, a server fault, or no answer at all (botocore's ConnectionError and HTTPClientError: timeouts,
    refused or dropped connections, which its standard mode retries too: botocore/retries/standard.py)."""
    from botocore.exceptions import ConnectionError as BotoConnectionError  # noqa: PLC0415
    from botocore.exceptions import HTTPClientError  # noqa: PLC0415

    if isinstance(err, BotoConnectionError | HTTPClientError):
        return True
    response = getattr(err, "response", None)
    metadata = response.get("ResponseMetadata", {}) if isinstance(response, dict) else {}
    status = int(metadata.get("HTTPStatusCode") or 0)
    return _code(err) in TRANSIENT_CODES or status == 429 or status >= 500


def _call(operation: Callable[..., Any], params: Mapping[str, Any], sleep: Any, until: float | None) -> Any:
    """One call; throttling, server faults and timeouts are retried while the poll has time for another whole call
    (_call_seconds), then NotYetError; no call starts without that time."""
    for delay in (*RETRY_DELAYS_SECONDS, None):
        if until is not None and time.monotonic() + _call_seconds() > until:
            raise NotYetError(f"out of time for another call ({_call_seconds():.0f} s) in this poll")
        try:
            return operation(**params)
        except Exception as err:
            if not _transient(err):
                raise
            if delay is None or (until is not None and time.monotonic() + delay + _call_seconds() > until):
                raise NotYetError(f"{_code(err) or type(err).__name__}: {err}") from None
            sleep(delay)
    raise AssertionError("unreachable")  # pragma: no mutate -- the last attempt returns or raises


def _client() -> Any:
    import boto3  # noqa: PLC0415 - the Lambda runtime's boto3; tests inject a client
    from botocore.config import Config  # noqa: PLC0415

    config = Config(
        connect_timeout=CONNECT_TIMEOUT_SECONDS,
        read_timeout=READ_TIMEOUT_SECONDS,
        retries={"mode": "standard", "total_max_attempts": 1},
    )
    return boto3.client("ram", config=config)
