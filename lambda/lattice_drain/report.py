"""How the drain names what it waits for, and what it tells the operator when it stops waiting."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .calls import LOG

# The `kind` given to the associations this app never creates (see handler._associations).
RESOURCE_ASSOCIATION = "resource-configuration"


ENDPOINT_ASSOCIATION = "service-network-endpoint"


def _describe(assoc: Mapping[str, Any]) -> str:
    status = assoc.get("status", "?")
    if assoc.get("kind") == RESOURCE_ASSOCIATION:
        name = assoc.get("resourceConfigurationName") or assoc.get("resourceConfigurationId") or "?"
        return (
            f"resource configuration association {assoc.get('id')} (resource configuration {name}, "
            f"created by account {assoc.get('createdBy', '?')}, {status})"
        )
    if assoc.get("kind") == ENDPOINT_ASSOCIATION:
        return (
            f"service-network endpoint {assoc.get('vpcEndpointId')} (VPC {assoc.get('vpcId')} of account "
            f"{assoc.get('vpcEndpointOwnerId', '?')}, {assoc.get('state', '?')})"
        )
    if "vpcId" in assoc:
        return f"VPC association {assoc.get('id')} ({assoc.get('vpcId')}, {status})"
    service = assoc.get("serviceName") or assoc.get("serviceId") or "?"
    return f"service association {assoc.get('id')} (service {service}, {status})"


def _log_leftovers(
    network: str,
    vpc_assocs: list[dict[str, Any]],
    svc_assocs: list[dict[str, Any]],
    *,
    reason: str,
    pending: list[str] | None = None,
    foreign: list[dict[str, Any]] | None = None,
) -> None:
    foreign = foreign or []
    lines = [f"service network {network}: {reason}; not waiting any longer."]
    if vpc_assocs or svc_assocs or foreign:  # with nothing associated, the network's own delete goes through
        lines[0] += " Its delete will fail with 409 until:"
    lines += [f"  - {_describe(a)}" for a in (*vpc_assocs, *svc_assocs, *foreign)]
    if pending:
        lines.append("  The cleanup of this cluster's controller leftovers did not finish:")
        lines += [f"  - {p}" for p in pending]
    if svc_assocs:
        lines.append(
            "  Service associations are probably Lattice services the AWS Gateway API Controller left behind "
            "(an HTTPRoute outlived the controller): delete the HTTPRoutes first while the controller runs, "
            "or delete these associations and services in the VPC Lattice console, then retry the stack delete."
        )
    if vpc_assocs:
        lines.append("  Delete the VPC associations (or retry the failed ones) before retrying the stack delete.")
    if any(a.get("kind") == RESOURCE_ASSOCIATION for a in foreign):
        lines.append(
            "  Resource configuration associations are not this app's: ask the account that created each to "
            "remove it from the service network (or remove it yourself if it is unwanted), then retry."
        )
    if any(a.get("kind") == ENDPOINT_ASSOCIATION for a in foreign):
        lines.append(
            "  Service-network endpoints belong to their VPC's owner: only that account can remove one, by "
            "deleting the VPC endpoint. Ask it to, then retry the stack delete."
        )
    LOG.warning("\n".join(lines))
