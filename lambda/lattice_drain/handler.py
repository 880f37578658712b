"""Waits, on stack delete, until a Lattice service network has no associations left (SPEC §4).

A service network refuses deletion (409 ConflictException) while any VPC, service, resource-configuration or
service-network-endpoint association exists, and only an endpoint's owner can remove an endpoint, by deleting it
(botocore's vpc-lattice 2022-11-30 model, DeleteServiceNetwork's documentation, read 2026-12-05). Lattice removes
associations asynchronously: CloudFormation's delete of an association returns while it is still
DELETE_IN_PROGRESS. Every VPC association depends on this custom resource and this resource depends on the
service network, so CloudFormation deletes the associations, then this resource (which waits here until they
are really gone), then the service network.

Provider-framework handlers (aws_cdk.custom_resources.Provider with on_event and is_complete):
  ResourceProperties: ServiceNetworkId (ID or ARN, required; compared with what Lattice lists by its ID),
  TimeoutSeconds (optional, default 600),
  ControllerManagedBy (optional: `<account>/<cluster>/<cluster VPC>`, the value the AWS Gateway API
  Controller v2.1.3 writes into the `application-networking.k8s.aws/ManagedBy` tag of every Lattice resource
  it creates, pkg/aws/cloud.go getManagedByTag), CleanupAfterSeconds (optional, default 120).
  Create/Update: validate. Delete: complete once nothing but DELETE_FAILED associations remain and nothing
  of this cluster's controller is left, the network is gone, or TimeoutSeconds have passed. The Delete
  never fails for a resource this app did not create: leftovers past the deadline are logged and the
  service network's own delete then reports the conflict.

Mode (optional, default drain): `sweep` is the Gateway stack's copy of this resource (ControllerManagedBy
required). A Gateway-only destroy (docs/troubleshooting.md's recovery for a kept hostname)
deletes the routes, and with the controller down (its finalizers removed by the finalizer guard) their Lattice
services stay: associated with the network, holding their custom domains, so the next deploy's services can't
take them. In sweep mode the Delete, while its whole stack is being removed, removes this cluster's leftovers from the
network in the steps below (after CleanupAfterSeconds while associations of ours remain), waits for nothing else,
and never touches the network, its VPC associations or what other accounts associated.

Leftovers of an unhealthy controller: if the controller was down or had lost its credentials when the
Gateway stack was deleted, the HTTPRoute finalizers never ran, the chart was uninstalled anyway (the kubectl
handler swallows delete errors), and the route's Lattice service stays associated with the network, which
then refuses deletion. With ControllerManagedBy set, once CleanupAfterSeconds have passed (the controller's
own deletes, still running when its pods were told to stop, get that long), the waiter deletes, in the order
Lattice requires, what carries exactly that ManagedBy tag and nothing else:
  1. this network's service associations (a service can't be deleted while associated);
  2. the services that were associated with this network or with none, never one associated with another
     network (DeleteService also deletes their listeners, rules, auth and access-log settings);
  3. the target groups in the cluster VPC, once no service uses them (targets deregistered first, as the
     controller does); one that only services kept in step 2, or not this cluster's, use is left alone and
     not waited for (those services stay, so it would never become free); a service Lattice no longer knows,
     which the group's serviceArns can still list for a while after its delete, is no user.
Steps 2 and 3 run only when CloudFormation removes the whole stack (DescribeStacks of the event's StackId says
DELETE_IN_PROGRESS, or ROLLBACK_IN_PROGRESS: a first create rolled back; lambda/stack_removal/status.py).
The same Delete also comes when an update replaces the network (serviceNetworkName changed). That update cannot
succeed in place: a VPC can be associated with only one service network, and ServiceNetworkVpcAssociation's
ServiceNetworkIdentifier and VpcIdentifier are create-only, so CloudFormation creates the new association while
the old one exists and Lattice refuses it; the rollback then deletes the new
network (docs/update-safety.md's way to rename: destroy the Gateway and Platform stacks, then deploy). Either way the
cluster, its routes and their services live on, so only step 1 runs, on this network's associations (which
nobody can use any more: the VPC associations are deleted before this resource). Only a status actually read
decides: while DescribeStacks fails (throttled, out of the poll's time, refused) the poll answers "not yet" and
the next one reads again; at TimeoutSeconds the waiter gives up on the status, logs that nothing was swept and
what to delete by hand, and goes on as for a replaced network (never failing the Delete).
Every delete is asynchronous in Lattice, so each poll does what the current state allows and the next poll
continues: the steps are idempotent (already gone: done; DELETE_IN_PROGRESS: wait; 409: retry later) and each
removal is logged. The same sweep runs, without the grace period, when no association is left, so a
controller that died between deleting an association and its service leaves nothing behind either. A
resource whose tags can't be read (another account's association) is not ours and is left alone.

Resource-configuration and service-network-endpoint associations are never this app's (it creates neither):
another account, or a consumer's VPC endpoint, added them. They are waited for until TimeoutSeconds and then
reported, naming who created them, never deleted (ListServiceNetworkResourceAssociations and
ListServiceNetworkVpcEndpointAssociations; a failure to list them is logged and does not stop the drain).

DELETE_FAILED associations are not waited for: it is a terminal state (Lattice does not retry), so
waiting could only burn the timeout before the same outcome. They are logged with the other leftovers
(this cluster's own are deleted again by the sweep, which Lattice allows from DELETE_FAILED).
Throttling and 5xx are retried within a poll; if they persist the poll answers "not yet" rather than
raising, because any exception from is_complete fails the resource in the provider framework.

Wiring: the provider's total_timeout must exceed TimeoutSeconds plus one query interval, or the framework
fails the Delete before this handler gives up. IAM: cloudformation:DescribeStacks on its own stack (for the
sweep), vpc-lattice:GetServiceNetwork (on the network's ARN),
vpc-lattice:ListServiceNetworkVpcAssociations, ListServiceNetworkServiceAssociations,
ListServiceNetworkResourceAssociations and ListServiceNetworkVpcEndpointAssociations (List actions without
resource-level permissions: Resource "*"); for the sweep, ListServices, ListTargetGroups
and ListTagsForResource (no resource-level permissions either) and DeleteServiceNetworkServiceAssociation,
DeleteService, ListTargets, DeregisterTargets and DeleteTargetGroup conditioned on the ManagedBy tag.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Mapping
from typing import Any

from stack_removal.status import read_status, removes_whole_stack

from .calls import (
    LOG,
    NotFoundError,
    OutOfTimeError,
    TransientError,
    _Backoff,
    _call,
    _client,
    _cloudformation_client,
    _list_all,
)
from .report import ENDPOINT_ASSOCIATION, RESOURCE_ASSOCIATION, _describe, _log_leftovers
from .sweep import MANAGED_BY_TAG, _owned, _Sweep, _sweep, network_id

DEFAULT_TIMEOUT_SECONDS = 600
DEFAULT_CLEANUP_AFTER_SECONDS = 120
_MANAGED_BY = re.compile(r"^\d{12}/[0-9A-Za-z][0-9A-Za-z_-]*/vpc-[0-9a-f]+$")
# on_event's result is merged into every is_complete event; this carries the Delete's start time.
STARTED_KEY = "DrainStartedAt"
PHYSICAL_ID_PREFIX = "lattice-drain-"
# Mode: drain (the Platform stack's: wait until the network can be deleted) or sweep (the Gateway stack's: remove
# only this cluster's controller leftovers; the network stays).
DRAIN, SWEEP = "drain", "sweep"
# The ResourceProperties the PhysicalResourceId is made of (see on_event): changing one replaces the resource.
# tools/impact.py reads this; a test keeps it true.
PHYSICAL_ID_PROPERTIES = ("ServiceNetworkId",)
TERMINAL_STATUSES = frozenset({"DELETE_FAILED"})
# Stop retrying within a poll this long before the Lambda times out; the next poll tries again.
POLL_MARGIN_SECONDS = 10.0


class NetworkGoneError(Exception):
    """The service network no longer exists, so nothing can be associated with it."""


def on_event(event: Mapping[str, Any], context: Any, *, clock: Callable[[], float] = time.time) -> dict[str, Any]:
    request = event["RequestType"]
    props = event.get("ResourceProperties") or {}
    network = str(props.get("ServiceNetworkId") or "")
    if request == "Delete":
        LOG.info("delete: will wait for the associations of service network %s to drain", network or "(unknown)")
        return {"PhysicalResourceId": event["PhysicalResourceId"], STARTED_KEY: clock()}
    if not network:
        raise ValueError("ResourceProperties.ServiceNetworkId is required")
    # Reject bad values at deploy time, not at delete time.
    _cleanup_after(props, _timeout(props))
    _managed_by(props)
    mode = _mode(props)
    if mode == SWEEP and _managed_by(props) is None:
        raise ValueError("ResourceProperties.ControllerManagedBy is required with Mode sweep: it says what to sweep")
    # Keyed on the network: replacing the network replaces this resource, whose Delete then drains the old one.
    # (Not on Mode: each resource has one for its life.)
    return {"PhysicalResourceId": PHYSICAL_ID_PREFIX + network_id(network)}


def _mode(props: Mapping[str, Any]) -> str:
    mode = str(props.get("Mode") or DRAIN)
    if mode not in (DRAIN, SWEEP):
        raise ValueError(f"Mode must be {DRAIN} or {SWEEP}, got {mode!r}")
    return mode


def is_complete(
    event: Mapping[str, Any],
    context: Any,
    *,
    client: Any = None,
    clock: Callable[[], float] = time.time,
    sleep: Callable[[float], None] = time.sleep,
    cloudformation: Any = None,
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
    elapsed = clock() - float(started)
    try:
        owner = _managed_by(props)
        cleanup_after = _cleanup_after(props, timeout)
    except ValueError as err:
        LOG.warning("not cleaning up controller leftovers: %s", err)
        owner, cleanup_after = None, timeout
    lattice = client if client is not None else _client()
    remaining = getattr(context, "get_remaining_time_in_millis", None)
    until = time.monotonic() + remaining() / 1000.0 - POLL_MARGIN_SECONDS if remaining else None
    backoff = _Backoff(sleep=sleep, until=until)
    sweep = None
    if owner:
        stack = str(event.get("StackId") or "")
        whole = _stack_deleting(cloudformation, stack, backoff) if stack else False
        if whole is None:
            if elapsed < timeout:
                return {"IsComplete": False}  # ask again at the next poll: a misread would skip the sweep for good
            LOG.warning(
                "gave up after %ss: the status of stack %s could not be read, so this cluster's Lattice services and "
                "target groups were not swept (only this network's associations are cleaned up).\n"
                "  If the stack is being deleted, delete what carries the tag %s=%s in the VPC Lattice console.",
                timeout,
                stack,
                MANAGED_BY_TAG,
                owner,
            )
            whole = False
        sweep = _Sweep(owner=owner, past_grace=elapsed >= cleanup_after, stack_deleting=whole)
    try:
        mode = _mode(props)
    except ValueError as err:
        LOG.warning("%s; draining", err)
        mode = DRAIN
    if mode == SWEEP:
        if sweep is None:
            LOG.warning("Mode sweep without a valid ControllerManagedBy: nothing is known to be ours; done")
            return {"IsComplete": True}
        return {"IsComplete": _swept(lattice, network, timeout=timeout, elapsed=elapsed, backoff=backoff, sweep=sweep)}
    drained = _drained(
        lattice, network, timeout=timeout, past_deadline=elapsed >= timeout, backoff=backoff, sweep=sweep
    )
    return {"IsComplete": drained}


def _stack_deleting(cloudformation: Any, stack: str, backoff: _Backoff) -> bool | None:
    """True only if CloudFormation is removing the whole stack (deleted, or a first create rolled back:
    stack_removal.status); False for any other status read (an update's cleanup or rollback: the cluster's
    services may still be in use); None if the status could not be read (throttling or 5xx past the poll's
    retries, out of the poll's time, refused): unknown, for the caller to ask again rather than guess."""
    try:
        client = cloudformation if cloudformation is not None else _cloudformation_client()
        status = read_status(lambda **params: _call(client.describe_stacks, backoff, **params), stack)
    except OutOfTimeError:
        LOG.info("no time left in this poll to read the status of stack %s; asking again at the next", stack)
        return None
    except Exception as err:
        LOG.warning("cannot read the status of stack %s (%s); asking again at the next poll", stack, err)
        return None
    whole = removes_whole_stack(status)
    if not whole:
        LOG.info("stack %s is %s, not being removed: only this network's associations are cleaned up", stack, status)
    return whole


def _swept(  # noqa: PLR0911 - one verdict per case reads best as early returns
    lattice: Any, network: str, *, timeout: int, elapsed: float, backoff: _Backoff, sweep: _Sweep
) -> bool:
    """Mode sweep (the Gateway stack's delete): True once nothing of this cluster's controller is left in Lattice
    -- its service associations on `network`, its services there or nowhere, its target groups -- or at the
    deadline. The network and everything else associated with it stay (they are the Platform stack's, or
    another account's). Our associations still there within CleanupAfterSeconds are the controller's to finish."""
    if not sweep.stack_deleting:
        LOG.info("the stack is not being deleted: the cluster and its Lattice services stay")
        return True
    past_deadline = elapsed >= timeout
    try:
        svc_assocs = _list_all(
            lattice.list_service_network_service_associations, backoff, serviceNetworkIdentifier=network
        )
        if not sweep.past_grace and not past_deadline:
            ours = [a for a in svc_assocs if _owned(lattice, str(a.get("arn")), sweep.owner, backoff)]
            if ours:
                LOG.info(
                    "waiting up to the grace period for the controller's own cleanup of: %s",
                    "; ".join(map(_describe, ours)),
                )
                return False
    except NotFoundError:
        svc_assocs = []  # the network is gone, and its associations with it: sweep what is associated nowhere
    except (TransientError, OutOfTimeError) as err:
        LOG.info("Lattice did not answer in this poll (%s); trying again at the next", err or "out of time")
        return past_deadline
    except Exception:
        LOG.exception("could not list the service associations of %s; not sweeping", network)
        return True
    pending = _sweep(lattice, network, svc_assocs, sweep, backoff)
    if not pending:
        LOG.info("nothing of this cluster's controller (%s=%s) is left in Lattice", MANAGED_BY_TAG, sweep.owner)
        return True
    if past_deadline:
        LOG.warning(
            "gave up after %ss: the cleanup of this cluster's controller leftovers did not finish:\n%s\n"
            "  Delete these in the VPC Lattice console (they carry the tag %s=%s), then deploy again.",
            timeout,
            "\n".join(f"  - {p}" for p in pending),
            MANAGED_BY_TAG,
            sweep.owner,
        )
        return True
    LOG.info("sweeping this cluster's controller leftovers: %s", "; ".join(pending))
    return False


def _drained(
    lattice: Any, network: str, *, timeout: int, past_deadline: bool, backoff: _Backoff, sweep: _Sweep | None
) -> bool:
    """True when the service network's delete can go ahead (or waiting longer cannot help)."""
    try:
        vpc_assocs, svc_assocs, foreign = _associations(lattice, network, backoff)
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

    everything = (*vpc_assocs, *svc_assocs, *foreign)
    waiting = [a for a in everything if a.get("status") not in TERMINAL_STATUSES]
    pending: list[str] = []
    if sweep is not None and (sweep.past_grace or not waiting):
        pending = _sweep(lattice, network, svc_assocs, sweep, backoff)
    if not waiting and not pending:
        if everything:
            _log_leftovers(
                network, vpc_assocs, svc_assocs, reason="associations in DELETE_FAILED (not retried)", foreign=foreign
            )
        else:
            LOG.info("service network %s has no associations left", network)
        return True
    if past_deadline:
        what = "associations still present" if everything else "the cleanup of the controller's leftovers unfinished"
        _log_leftovers(
            network, vpc_assocs, svc_assocs, reason=f"{what} after {timeout}s", pending=pending, foreign=foreign
        )
        return True
    LOG.info(
        "waiting for %d association(s) of %s%s: %s",
        len(waiting),
        network,
        f" and {len(pending)} cleanup item(s)" if pending else "",
        "; ".join([*map(_describe, waiting), *pending]),
    )
    return False


def _timeout(props: Mapping[str, Any]) -> int:
    return _seconds(props, "TimeoutSeconds", DEFAULT_TIMEOUT_SECONDS)


def _cleanup_after(props: Mapping[str, Any], timeout: int) -> int:
    value = _seconds(props, "CleanupAfterSeconds", min(DEFAULT_CLEANUP_AFTER_SECONDS, timeout))
    if value > timeout:
        raise ValueError(f"CleanupAfterSeconds ({value}) must not exceed TimeoutSeconds ({timeout})")
    return value


def _seconds(props: Mapping[str, Any], key: str, default: int) -> int:
    raw = props.get(key)
    if raw in (None, ""):
        return default
    try:
        value = int(str(raw))  # CloudFormation passes every property as a string
    except ValueError:
        raise ValueError(f"{key} must be a whole number of seconds, got {raw!r}") from None
    if value < 0:
        raise ValueError(f"{key} must not be negative, got {value}")
    return value


def _managed_by(props: Mapping[str, Any]) -> str | None:
    raw = props.get("ControllerManagedBy")
    if raw in (None, ""):
        return None
    if not _MANAGED_BY.fullmatch(str(raw)):  # `$` alone would let a trailing newline through
        raise ValueError(f"ControllerManagedBy must be <account>/<cluster>/<vpc-id>, got {raw!r}")
    return str(raw)


Listing = list[dict[str, Any]]


def _associations(client: Any, network: str, backoff: _Backoff) -> tuple[Listing, Listing, Listing]:
    """The network's VPC and service associations, and the others that also block its delete (resource
    configurations, service-network endpoints), each marked with its `kind`."""
    try:
        _call(client.get_service_network, backoff, serviceNetworkIdentifier=network)
        vpc = _list_all(client.list_service_network_vpc_associations, backoff, serviceNetworkIdentifier=network)
        svc = _list_all(client.list_service_network_service_associations, backoff, serviceNetworkIdentifier=network)
        foreign = [
            {**item, "kind": kind}
            for kind, operation in (
                (RESOURCE_ASSOCIATION, "list_service_network_resource_associations"),
                (ENDPOINT_ASSOCIATION, "list_service_network_vpc_endpoint_associations"),
            )
            for item in _list_foreign(client, operation, network, backoff)
        ]
    except NotFoundError as err:
        raise NetworkGoneError(str(err)) from None
    return vpc, svc, foreign


def _list_foreign(client: Any, operation: str, network: str, backoff: _Backoff) -> Listing:
    """One of the listings this app never adds to; one it cannot read (not permitted, not served) is logged and
    counts as empty, so that the VPC and service associations still drain."""
    try:
        return _list_all(getattr(client, operation), backoff, serviceNetworkIdentifier=network)
    except (NotFoundError, TransientError, OutOfTimeError):
        raise
    except Exception as err:
        LOG.warning("could not %s for %s (%s); not waiting for those", operation.replace("_", " "), network, err)
        return []
