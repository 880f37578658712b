"""Resolves the ids that VPC Lattice's CloudWatch metrics are keyed on, for the dashboard and alarms.

Lattice publishes service metrics under the `Service` dimension and target-group metrics under `TargetGroup`,
and both carry the resource's id (svc-..., tg-...), not its name (the id is the last part of the ARN:
prometheus-community/yet-another-cloudwatch-exporter pkg/config/services.go, AWS/VpcLattice). The controller
creates both when a route is reconciled, so their ids exist only at deploy time:
  - a route's service has the name the controller gives it (config/lattice_names.py: the service-name
    override), so it is found by name (ListServices);
  - a target group is named `k8s-<namespace>-<service>-<10 random letters>` (controller v2.1.3
    pkg/model/lattice/targetgroup.go GenerateTgName), so it is found by the tags the controller writes on it
    (TagsFromTGTagFields: ClusterName, ServiceName, ServiceNamespace, RouteName, RouteNamespace, SourceTypeKey)
    among the cluster VPC's target groups whose names carry that prefix.

Provider-framework handlers (aws_cdk.custom_resources.Provider with on_event and is_complete):
  ResourceProperties: Services [{Key, Name}], TargetGroups [{Key, ClusterName, RouteName, RouteNamespace,
  ServiceName, ServiceNamespace}] (optional; the app sends none), VpcId (the cluster VPC, needed with
  TargetGroups), TimeoutSeconds (default 600).
  Create/Update: poll until every service and target group is found, then return their ids as Data
  (`<Key>` -> id); past TimeoutSeconds fail with what is missing. Delete: nothing to undo (this resource
  creates nothing), so it never fails.

Throttling and 5xx are retried within a poll; a poll that runs out of time answers "not yet".
IAM: vpc-lattice:ListServices (no resource-level permissions); with TargetGroups also ListTargetGroups and
ListTagsForResource. The publisher in health.py reuses the paging and retries below.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import Any

LOG = logging.getLogger(__name__)
LOG.setLevel(logging.INFO)

DEFAULT_TIMEOUT_SECONDS = 600
PHYSICAL_ID = "lattice-metric-dimensions"
# A read-only lookup: no property change makes it a new resource (tools/impact.py reads this; a test keeps it).
PHYSICAL_ID_PROPERTIES: tuple[str, ...] = ()
STARTED_KEY = "MetricDimensionsStartedAt"
TAG_BASE = "application-networking.k8s.aws/"  # controller v2.1.3 pkg/aws/cloud.go TagBase
TG_NAME_PART = 55  # controller MaxNamespaceLength / MaxNameLength in the target-group name prefix
TRANSIENT_CODES = frozenset(
    {"ThrottlingException", "Throttling", "TooManyRequestsException", "InternalServerException",
     "InternalFailure", "ServiceUnavailable", "ServiceUnavailableException"}
)  # fmt: skip
RETRY_DELAYS_SECONDS = (1.0, 2.0, 4.0)
POLL_MARGIN_SECONDS = 10.0
GONE = ("DELETE_IN_PROGRESS", "DELETE_FAILED")
# Each Lattice call is bounded (connect + read, one attempt: _client), and none starts unless that much time is
# left before `until`: a run over hundreds of target groups ends readably before the function's timeout.
CONNECT_SECONDS, READ_SECONDS = 2, 5
CALL_SECONDS_MAX = CONNECT_SECONDS + READ_SECONDS


class NotYetError(Exception):
    """Lattice kept throttling or failing within this poll; the next poll asks again."""


def on_event(event: Mapping[str, Any], context: Any, *, clock: Callable[[], float] = time.time) -> dict[str, Any]:
    if event["RequestType"] != "Delete":
        _timeout(event.get("ResourceProperties") or {})  # a bad value fails the deploy now, not after the wait
    return {"PhysicalResourceId": PHYSICAL_ID, STARTED_KEY: clock()}


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
    lattice = client if client is not None else _client()
    remaining = getattr(context, "get_remaining_time_in_millis", None)
    until = time.monotonic() + remaining() / 1000.0 - POLL_MARGIN_SECONDS if remaining else None
    try:
        found, missing = resolve(lattice, props, sleep=sleep, until=until, account=_account(context))
    except NotYetError as err:
        LOG.info("not yet: %s", err)
        found, missing = {}, ["(Lattice did not answer in this poll)"]
    if not missing:
        LOG.info("resolved %s", found)
        return {"IsComplete": True, "Data": found}
    elapsed = clock() - float(event.get(STARTED_KEY, clock()))
    timeout = _timeout(props)
    if elapsed >= timeout:
        raise RuntimeError(
            f"after {timeout} s, Lattice still has no {'; no '.join(missing)}: the controller has not created "
            "them (check the routes' status: kubectl get httproutes -A, and the controller's log)"
        )
    LOG.info("waiting for %s", "; ".join(missing))
    return {"IsComplete": False}


def resolve(
    lattice: Any,
    props: Mapping[str, Any],
    *,
    sleep: Callable[[float], None],
    until: float | None,
    account: str | None = None,
) -> tuple[dict[str, str], list[str]]:
    """(Data key -> id, what is still missing) for the wanted services and target groups, of `account` only
    (ListServices also lists services other accounts share with this one: one may carry the same name)."""
    found: dict[str, str] = {}
    missing: list[str] = []
    listed = _owned(_pages(lattice, "list_services", {}, sleep, until), account)
    services = {s["name"]: s for s in listed if s.get("status") not in GONE}
    for want in props.get("Services", []):
        if (svc := services.get(want["Name"])) is not None:
            found[want["Key"]] = svc["id"]
        else:
            missing.append(f"service {want['Name']}")
    wanted_groups = props.get("TargetGroups", [])
    if not wanted_groups:  # the app's lookups ask for services only (a target group's health has its own metric)
        return found, missing
    groups = [
        g
        for g in _owned(_pages(lattice, "list_target_groups", {"vpcIdentifier": props["VpcId"]}, sleep, until), account)
        if g.get("status") not in GONE
    ]
    tags: dict[str, dict[str, str]] = {}
    for want in wanted_groups:
        prefix = target_group_prefix(want["ServiceNamespace"], want["ServiceName"])
        matches = []
        for group in (g for g in groups if g["name"].startswith(prefix)):
            if group["arn"] not in tags:
                tags[group["arn"]] = _call(lattice, "list_tags_for_resource", {"resourceArn": group["arn"]},
                                           sleep, until).get("tags", {})  # fmt: skip
            if _owned_by(tags[group["arn"]], want):
                matches.append(group)
        if matches:
            # A target group being replaced can overlap its successor: the newest is the one in use.
            found[want["Key"]] = max(matches, key=lambda g: str(g.get("createdAt", "")))["id"]
        else:
            route = f"{want['RouteNamespace']}/{want['RouteName']}"
            missing.append(f"target group for {want['ServiceNamespace']}/{want['ServiceName']} of route {route}")
    return found, missing


def target_group_prefix(namespace: str, service: str) -> str:
    """The controller's TgNamePrefix plus the '-' before its random suffix."""
    return f"k8s-{namespace[:TG_NAME_PART].strip('-')}-{service[:TG_NAME_PART].strip('-')}-"


def _owned_by(tags: Mapping[str, str], want: Mapping[str, str]) -> bool:
    expected = {
        "ClusterName": want["ClusterName"],
        "ServiceName": want["ServiceName"],
        "ServiceNamespace": want["ServiceNamespace"],
        "RouteName": want["RouteName"],
        "RouteNamespace": want["RouteNamespace"],
        "SourceTypeKey": "HTTPRoute",
    }
    return all(tags.get(TAG_BASE + key) == value for key, value in expected.items())


def _owned(items: Iterable[dict[str, Any]], account: str | None) -> list[dict[str, Any]]:
    """The items whose ARN is in `account` (arn:partition:vpc-lattice:region:account:...); all when None."""
    if account is None:
        return list(items)
    return [i for i in items if str(i.get("arn", "")).split(":")[4:5] == [account]]


def _account(context: Any) -> str | None:
    """The invoked function's account, from its ARN (arn:aws:lambda:region:account:function:name)."""
    arn = getattr(context, "invoked_function_arn", None)
    parts = arn.split(":") if isinstance(arn, str) else []
    return parts[4] if len(parts) > 4 else None


def _pages(
    lattice: Any, method: str, args: dict[str, Any], sleep: Callable[[float], None], until: float | None
) -> Iterator[dict[str, Any]]:
    token: str | None = None  # pragma: no mutate -- equivalent: only its truth is read before it is set
    while True:
        page = _call(lattice, method, {**args, **({"nextToken": token} if token else {})}, sleep, until)
        yield from page.get("items", [])
        token = page.get("nextToken")
        if not token:
            return


def _call(
    lattice: Any, method: str, args: dict[str, Any], sleep: Callable[[float], None], until: float | None
) -> dict[str, Any]:
    for delay in (*RETRY_DELAYS_SECONDS, None):
        if until is not None and time.monotonic() + CALL_SECONDS_MAX > until:
            raise NotYetError(f"{method}: out of time")
        try:
            result: dict[str, Any] = getattr(lattice, method)(**args)
            return result
        except Exception as err:  # botocore ClientError, without importing botocore at module level
            code = getattr(err, "response", {}).get("Error", {}).get("Code")
            if code not in TRANSIENT_CODES:
                raise
            if delay is None or (until is not None and time.monotonic() + delay + CALL_SECONDS_MAX > until):
                raise NotYetError(f"{method}: {code}") from err
            sleep(delay)
    raise AssertionError("unreachable")  # pragma: no cover, no mutate -- the last attempt returns or raises


def _timeout(props: Mapping[str, Any]) -> int:
    raw = props.get("TimeoutSeconds", DEFAULT_TIMEOUT_SECONDS)
    try:
        value = int(raw)
    except (TypeError, ValueError):
        raise ValueError(f"TimeoutSeconds must be a whole number of seconds, got {raw!r}") from None
    if value <= 0:
        raise ValueError(f"TimeoutSeconds must be positive, got {value}")
    return value


def _client() -> Any:
    import boto3  # noqa: PLC0415 - the runtime's boto3; imported here so tests can inject a client
    from botocore.config import Config  # noqa: PLC0415

    # One attempt per call: _call retries within the poll's margin. (botocore's "max_attempts" counts retries
    # after the first attempt, so {"max_attempts": 1} meant two attempts and a backoff outside that margin.)
    config = Config(connect_timeout=CONNECT_SECONDS, read_timeout=READ_SECONDS, retries={"total_max_attempts": 1})
    return boto3.client("vpc-lattice", config=config)
