"""The sweep of this cluster's controller leftovers (handler.py's docstring gives the steps and their order): what
carries exactly this cluster's ManagedBy tag, and nothing else, is deleted in the order Lattice requires."""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from .calls import (
    LOG,
    ConflictError,
    NotFoundError,
    OutOfTimeError,
    TransientError,
    _Backoff,
    _call,
    _error_code,
    _list_all,
)
from .report import _describe

# The controller's ownership tag (v2.1.3 pkg/aws/cloud.go: TagBase + "ManagedBy"), value account/cluster/vpc.
MANAGED_BY_TAG = "application-networking.k8s.aws/ManagedBy"


def network_id(network: str) -> str:
    """The ID of a service network given by ID or ARN (arn:...:servicenetwork/sn-...): Lattice lists
    associations with the network's ID, so that is what they are compared with."""
    return network.rsplit("/", 1)[-1]


# Lattice caps DeregisterTargets at 100 targets per call.
DEREGISTER_BATCH = 100


@dataclass(frozen=True, slots=True)
class _Sweep:
    owner: str  # the ManagedBy tag value of this cluster's controller
    past_grace: bool
    stack_deleting: bool  # False: the network is replaced (or rolled back) while the cluster lives on


def _sweep(lattice: Any, network: str, svc_assocs: list[dict[str, Any]], sweep: _Sweep, backoff: _Backoff) -> list[str]:
    """Delete what this cluster's controller left (see handler.py's docstring); returns what is still pending.

    Never raises: an error it can't wait out (e.g. AccessDenied) is logged and ends the sweep, which then
    blocks nothing, since it is not this resource's to fail the delete for.
    """
    pending: list[str] = []
    owner = sweep.owner
    try:
        _sweep_associations(lattice, svc_assocs, owner, backoff, pending)
        if sweep.stack_deleting:
            kept = _sweep_services(lattice, network, owner, backoff, pending)
            _sweep_target_groups(lattice, owner, backoff, pending, kept=kept)
    except OutOfTimeError:
        pending.append("the rest of the cleanup (out of time in this poll)")
    except TransientError as err:
        pending.append(f"the rest of the cleanup (Lattice kept failing: {err})")
    except Exception:
        LOG.exception("cleanup of the controller's leftovers (%s=%s) stopped", MANAGED_BY_TAG, owner)
    return pending


OURS, THEIRS, GONE = "ours", "theirs", "gone"


def _ownership(lattice: Any, arn: str, owner: str, backoff: _Backoff) -> str:
    """OURS only if the resource's ManagedBy tag is exactly `owner`; GONE if Lattice no longer knows it; THEIRS
    otherwise (unreadable tags included)."""
    try:
        tags = _call(lattice.list_tags_for_resource, backoff, resourceArn=arn).get("tags") or {}
    except NotFoundError:
        return GONE
    except (TransientError, OutOfTimeError):
        raise
    except Exception as err:
        code, _ = _error_code(err)
        if code not in {"AccessDeniedException", "AccessDenied"}:
            raise
        LOG.info("cannot read the tags of %s (%s); not ours to delete", arn, code)
        return THEIRS
    return OURS if tags.get(MANAGED_BY_TAG) == owner else THEIRS


def _owned(lattice: Any, arn: str, owner: str, backoff: _Backoff) -> bool:
    return _ownership(lattice, arn, owner, backoff) == OURS


def _delete(operation: Callable[..., Any], backoff: _Backoff, description: str, **params: Any) -> str | None:
    """One delete; returns what is pending afterwards (None: gone already)."""
    try:
        _call(operation, backoff, **params)
    except NotFoundError:
        return None
    except ConflictError as err:
        return f"{description} (busy: {err}; trying again at the next poll)"
    LOG.warning("cleanup: deleting %s", description)
    return f"{description} (deleting)"


def _sweep_associations(
    lattice: Any, svc_assocs: list[dict[str, Any]], owner: str, backoff: _Backoff, pending: list[str]
) -> None:
    for assoc in svc_assocs:
        backoff.check()
        status = assoc.get("status")
        if not _owned(lattice, str(assoc.get("arn")), owner, backoff):
            continue
        description = _describe(assoc)
        if status in {"DELETE_IN_PROGRESS", "CREATE_IN_PROGRESS"}:
            pending.append(description)
            continue
        left = _delete(
            lattice.delete_service_network_service_association,
            backoff,
            description,
            serviceNetworkServiceAssociationIdentifier=assoc["id"],
        )
        if left:
            pending.append(left)


def _sweep_services(lattice: Any, network: str, owner: str, backoff: _Backoff, pending: list[str]) -> frozenset[str]:
    """This cluster's services associated with this network or with none at all (one whose association went
    first); one also associated with another network is in use there and stays. Returns the ARNs of those
    kept, so that their target groups are not waited for."""
    kept: set[str] = set()
    for service in _list_all(lattice.list_services, backoff):
        backoff.check()
        if not _owned(lattice, str(service.get("arn")), owner, backoff):
            continue
        description = f"service {service.get('name')} ({service.get('id')}, {service.get('status')})"
        try:
            assocs = _list_all(
                lattice.list_service_network_service_associations, backoff, serviceIdentifier=service["id"]
            )
        except NotFoundError:
            continue
        elsewhere = sorted({str(a.get("serviceNetworkId")) for a in assocs} - {network_id(network)})
        if elsewhere:
            LOG.info("cleanup: leaving %s alone: associated with service network(s) %s", description, elsewhere)
            kept.add(str(service.get("arn")))
            continue
        if service.get("status") in {"DELETE_IN_PROGRESS", "CREATE_IN_PROGRESS"}:
            pending.append(description)
            continue
        # Rejected with 409 while an association still exists (even one being deleted): the next poll retries.
        left = _delete(lattice.delete_service, backoff, description, serviceIdentifier=service["id"])
        if left:
            pending.append(left)
    return frozenset(kept)


def _sweep_target_groups(
    lattice: Any, owner: str, backoff: _Backoff, pending: list[str], *, kept: frozenset[str] = frozenset()
) -> None:
    """This cluster's target groups in its VPC, once no service uses them. A group used only by services that
    stay (`kept`: in use on another network; or not this cluster's) is left alone: waiting could not free it."""
    vpc = owner.rsplit("/", 1)[-1]
    for group in _list_all(lattice.list_target_groups, backoff, vpcIdentifier=vpc):
        backoff.check()
        if not _owned(lattice, str(group.get("arn")), owner, backoff):
            continue
        description = f"target group {group.get('name')} ({group.get('id')}, {group.get('status')})"
        if group.get("status") in {"DELETE_IN_PROGRESS", "CREATE_IN_PROGRESS"}:
            pending.append(description)
            continue
        arns = [str(arn) for arn in group.get("serviceArns") or []]
        users = {arn: THEIRS if arn in kept else _ownership(lattice, arn, owner, backoff) for arn in arns}
        # A listener rule still routes to it: wait for the delete of a service of ours that is going.
        going = [arn for arn, whose in users.items() if whose == OURS]
        if going:
            pending.append(f"{description} (still used by {', '.join(going)})")
            continue
        if staying := [arn for arn, whose in users.items() if whose == THEIRS]:
            LOG.info("cleanup: leaving %s alone: used by service(s) that stay: %s", description, ", ".join(staying))
            continue
        if users:
            # serviceArns lags a service's delete: a user Lattice no longer knows is no user. If Lattice still
            # refuses the delete (409), it is pending and the next poll tries again.
            LOG.info("cleanup: %s lists only service(s) that are gone: %s", description, ", ".join(users))
        try:
            targets = _list_all(lattice.list_targets, backoff, targetGroupIdentifier=group["id"])
        except NotFoundError:
            continue
        draining = [t for t in targets if t.get("status") == "DRAINING"]
        registered = [
            {"id": t["id"], **({"port": t["port"]} if "port" in t else {})} for t in targets if t not in draining
        ]
        for start in range(0, len(registered), DEREGISTER_BATCH):
            backoff.check()
            batch = registered[start : start + DEREGISTER_BATCH]
            with contextlib.suppress(NotFoundError, ConflictError):  # gone, or busy: the next poll lists again
                _call(lattice.deregister_targets, backoff, targetGroupIdentifier=group["id"], targets=batch)
            LOG.warning("cleanup: deregistering %d target(s) of %s", len(batch), description)
        if registered or draining:
            pending.append(f"{description} ({len(registered) + len(draining)} target(s) draining)")
            continue
        left = _delete(lattice.delete_target_group, backoff, description, targetGroupIdentifier=group["id"])
        if left:
            pending.append(left)
