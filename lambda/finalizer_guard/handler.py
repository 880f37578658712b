"""CloudFormation custom resource (provider framework on_event): on Delete, delete one of this app's objects that
the controller finalizes (an HTTPRoute, its IAMAuthPolicy, the Gateway) and make sure the controller's finalizer
cannot keep it alive.

Why: controller v2.1.3 puts a finalizer on every HTTPRoute (`httproute.k8s.aws/resources`), IAMAuthPolicy
(`application-networking.k8s.aws/iam-auth-policy`) and Gateway (`gateway.k8s.aws/resources`) and removes it
only after it has cleaned up Lattice (constructs/workload/finalizer_guard.py FINALIZED_KINDS cites the source).
aws-cdk-lib's kubectl handler deletes a manifest with `kubectl delete` (waits for the object to go), so
with the controller down or without credentials that Lambda times out and the Gateway stack ends DELETE_FAILED.
This resource depends on its object, so CloudFormation deletes it first: it deletes the object itself, waits
while the controller is healthy (a ready replica with Pod Identity credentials) for up to GraceSeconds, and
otherwise, only while CloudFormation removes the guard's whole stack (deleted, or a first create rolled back:
DescribeStacks of the event's StackId, lambda/stack_removal/status.py), removes the controller's finalizer --
only that one, only on this object -- so the object goes and the later `kubectl delete` finds it gone. The
Lattice resources the controller did not clean up are then swept by the Gateway stack's service sweep and, on a
whole destroy, the Platform stack's drain waiter (lambda/lattice_drain/handler.py), which also run only then.
In an update's cleanup (a route dropped, serviceNetworkAuthType -> NONE drops the IAMAuthPolicies) nothing
sweeps and the stack lives on, so the finalizer stays: the Delete returns with the object Terminating and the
controller, when it is back, removes the route's service or resets the auth type and then its finalizer
(v2.1.3 has no other garbage collection for services). An unreadable stack status counts as an update.

ResourceProperties: ClusterName, Path (the object's API path), Finalizer (the controller's finalizer on its
kind), ControllerNamespace, ControllerServiceAccount (required); GraceSeconds (default 300).
Create/Update: nothing (the physical id names the object). Delete: as above; never fails for an object that is
gone; fails with a readable reason only when the Kubernetes API cannot be reached within the Lambda's time.
Needs AWS_REGION, eks:DescribeCluster, cloudformation:DescribeStacks on its own stack; Kubernetes RBAC:
get/delete/patch the object, list the controller's Deployments and pods.
"""

from __future__ import annotations

import json
import logging
import math
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from controller_credentials.handler import Settings as ControllerSettings
from controller_credentials.handler import observe
from k8s_api import KubeApiError, KubeClient
from stack_removal.status import read_status, removes_whole_stack

logger = logging.getLogger(__name__)
logger.setLevel(logging.INFO)

DEFAULT_GRACE_SECONDS = 300.0
# Leave this much of the Lambda's time for reporting instead of being killed.
LAMBDA_TIME_RESERVE_SECONDS = 20.0
PHYSICAL_ID_PREFIX = "finalizer-guard/"
# The properties whose change gives a new physical id (tools/impact.py reads this; a test keeps it in step).
PHYSICAL_ID_PROPERTIES = ("ClusterName", "Path")
MERGE_PATCH = "application/merge-patch+json"
_REQUIRED = ("ClusterName", "Path", "Finalizer", "ControllerNamespace", "ControllerServiceAccount")


class GuardError(RuntimeError):
    """Deployment-time failure; the message is what CloudFormation shows."""


@dataclass(frozen=True)
class Settings:
    cluster_name: str
    path: str
    finalizer: str
    controller_namespace: str
    controller_service_account: str
    grace: float


def parse_properties(props: Mapping[str, Any]) -> Settings:
    values = {key: str(props.get(key) or "").strip() for key in _REQUIRED}
    for key, value in values.items():
        if not value:
            raise GuardError(f"{key} property is required")
    if not values["Path"].startswith("/apis/"):
        raise GuardError(f"Path must be an API path (/apis/...), got {values['Path']!r}")
    raw = props.get("GraceSeconds")
    try:
        grace = float(raw) if raw not in (None, "") else DEFAULT_GRACE_SECONDS
    except (TypeError, ValueError):
        raise GuardError(f"GraceSeconds must be a number, got {raw!r}") from None
    if grace < 0:
        raise GuardError(f"GraceSeconds must not be negative, got {raw!r}")
    return Settings(
        values["ClusterName"],
        values["Path"],
        values["Finalizer"],
        values["ControllerNamespace"],
        values["ControllerServiceAccount"],
        grace,
    )


def physical_id(settings: Settings) -> str:
    return f"{PHYSICAL_ID_PREFIX}{settings.cluster_name}{settings.path}"


def _default_stack_status(stack: str) -> str:
    import boto3  # noqa: PLC0415 - only the Lambda runtime needs it; tests inject a reader
    from botocore.config import Config  # noqa: PLC0415

    # Bounded (two attempts, at most ~16 s) so it fits in the 2 polls release() keeps after the grace.
    config = Config(connect_timeout=3, read_timeout=5, retries={"mode": "standard", "total_max_attempts": 2})
    return read_status(boto3.client("cloudformation", config=config).describe_stacks, stack)


def _default_kube_client(cluster_name: str, time_left: Callable[[], float]) -> KubeClient:
    # DescribeCluster (k8s_api.bounded_eks_config) and the Kubernetes calls end within the invocation's time.
    return KubeClient.for_lambda(cluster_name, error=GuardError, time_left=time_left)


@dataclass
class Deps:
    """Collaborators, replaceable in tests."""

    kube_client: Callable[[str, Callable[[], float]], KubeClient] = _default_kube_client
    # The StackStatus of a stack, by id (DescribeStacks); raising means "cannot tell".
    stack_status: Callable[[str], str] = _default_stack_status
    sleep: Callable[[float], None] = time.sleep
    clock: Callable[[], float] = time.monotonic
    poll_interval: float = 10.0


def controller_healthy(client: KubeClient, settings: Settings) -> bool:
    """A ready controller replica with credentials could still remove the finalizer itself."""
    controller = ControllerSettings(
        settings.cluster_name,  # pragma: no mutate -- equivalent: observe() reads no cluster name
        settings.controller_namespace,
        settings.controller_service_account,
        1.0,  # pragma: no mutate -- equivalent: nor a timeout
    )
    try:
        return bool(observe(client, controller).ready_with_credentials)
    except KubeApiError as err:
        # Its namespace gone, or no way to look: nothing shows a controller that could clean up.
        logger.warning("cannot see the controller (%s): treating it as down", err)
        return False


def _finalizers(obj: Mapping[str, Any]) -> list[str]:
    return [str(f) for f in (obj.get("metadata") or {}).get("finalizers") or []]


def _strip(client: KubeClient, settings: Settings, obj: Mapping[str, Any]) -> None:
    """Remove only the controller's finalizer; resourceVersion makes a concurrent change a 409, not a loss."""
    meta = obj.get("metadata") or {}
    rest = [f for f in _finalizers(obj) if f != settings.finalizer]
    patch = {"metadata": {"finalizers": rest or None, "resourceVersion": meta.get("resourceVersion")}}
    if patch["metadata"]["resourceVersion"] is None:
        del patch["metadata"]["resourceVersion"]
    client.request("PATCH", settings.path, body=json.dumps(patch).encode(), content_type=MERGE_PATCH)


def whole_stack_removed(stack: str, deps: Deps) -> bool:
    """True only while CloudFormation removes the guard's whole stack (stack_removal.status); an unreadable or
    unknown status is not a removal: leaving a finalizer only delays, stripping it in an update strands Lattice
    resources nobody sweeps."""
    if not stack:
        logger.warning("no StackId in the event: cannot tell a stack delete from an update; keeping the finalizer")
        return False
    try:
        status = deps.stack_status(stack)
    except Exception as err:
        logger.warning("cannot read the status of stack %s (%s); keeping the finalizer", stack, err)
        return False
    whole = removes_whole_stack(status)
    if not whole:
        logger.info("stack %s is %s: not removed as a whole", stack, status)
    return whole


def release(  # noqa: PLR0911 - one outcome per way out reads best as early returns
    client: KubeClient, settings: Settings, *, deps: Deps, budget: float, stack: str = ""
) -> str:
    """Delete the object and see it gone, or (only while the whole stack is being removed) its controller
    finalizer removed, or left for the controller to finish; returns what happened."""
    deadline = deps.clock() + budget
    # The grace ends early enough to strip within the budget.
    grace_end = deps.clock() + min(settings.grace, max(0.0, budget - 2 * deps.poll_interval))
    whole: bool | None = None  # read once, when it matters
    try:
        obj = client.get(settings.path)
        if obj is None:
            return "already gone"
        if not (obj.get("metadata") or {}).get("deletionTimestamp"):
            try:
                client.request("DELETE", settings.path, query={"propagationPolicy": "Background"})
            except KubeApiError as err:
                if err.status != 404:
                    raise
                return "already gone"
        while True:
            obj = client.get(settings.path)
            if obj is None:
                return "deleted"
            if settings.finalizer not in _finalizers(obj):
                # What still holds it is not the controller's: not ours to remove, nor to wait for.
                return f"deleting; held only by {', '.join(_finalizers(obj)) or 'nothing'}"
            healthy = controller_healthy(client, settings)
            if not healthy or deps.clock() >= grace_end:
                why = "the controller has no ready replica with credentials" if not healthy else "grace ran out"
                if whole is None:
                    whole = whole_stack_removed(stack, deps)
                if not whole:
                    # An update's cleanup (a route dropped, auth NONE): the stack and the controller stay, and no
                    # sweep runs, so only the controller can undo this object in Lattice; it does when it returns.
                    logger.warning(
                        "%s is being deleted but %s; its stack is not being removed, so the finalizer %s stays for "
                        "the controller to finish its Lattice cleanup when it is back",
                        settings.path,
                        why,
                        settings.finalizer,
                    )
                    return f"deleting; finalizer left for the controller ({why})"
                try:
                    _strip(client, settings, obj)
                except KubeApiError as err:
                    if err.status == 404:
                        return "deleted"
                    if err.status != 409:
                        raise
                    continue  # changed meanwhile: look again
                logger.warning(
                    "removed finalizer %s from %s (%s); the drain waiter sweeps what it left in Lattice",
                    settings.finalizer,
                    settings.path,
                    why,
                )
                return f"finalizer removed: {why}"
            if deps.clock() >= deadline:
                raise GuardError(f"timed out after {budget:g}s waiting for {settings.path} to be deleted")
            deps.sleep(deps.poll_interval)
    except KubeApiError as err:
        raise GuardError(f"deleting {settings.path}: {err}") from err


def _time_left(context: Any) -> Callable[[], float]:
    remaining_ms = getattr(context, "get_remaining_time_in_millis", None)
    if not callable(remaining_ms):
        return lambda: math.inf
    return lambda: remaining_ms() / 1000.0 - LAMBDA_TIME_RESERVE_SECONDS


def on_event(event: Mapping[str, Any], context: Any = None, *, deps: Deps | None = None) -> dict[str, Any]:
    request_type = event.get("RequestType")
    try:
        settings = parse_properties(event.get("ResourceProperties") or {})
    except GuardError:
        if request_type == "Delete":  # a Create that failed on its properties made nothing
            return {"PhysicalResourceId": event.get("PhysicalResourceId") or PHYSICAL_ID_PREFIX}
        raise
    if request_type in ("Create", "Update"):
        return {"PhysicalResourceId": physical_id(settings)}
    if request_type != "Delete":
        raise GuardError(f"unknown RequestType {request_type!r}")
    deps = deps or Deps()
    time_left = _time_left(context)
    try:
        client = deps.kube_client(settings.cluster_name, time_left)
    except KubeApiError as err:
        raise GuardError(str(err)) from err
    budget = max(1.0, min(time_left(), 3600.0))
    outcome = release(client, settings, deps=deps, budget=budget, stack=str(event.get("StackId") or ""))
    logger.info("%s: %s", settings.path, outcome)
    return {"PhysicalResourceId": event.get("PhysicalResourceId") or physical_id(settings)}
