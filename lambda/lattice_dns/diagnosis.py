"""What one poll of the cluster saw, and what a wait that ran out tells the operator to check."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from k8s_api import KubeApiError, KubeClient

from .props import Props
from .routes import ANNOTATION, CONTROLLER_NAMESPACE, controller_status, httproutes_served, parent_status


@dataclass
class Observation:
    """What one poll of the cluster saw."""

    route: dict[str, Any] | None = None
    error: KubeApiError | None = None
    kube: KubeClient | None = None


def _timeout_message(props: Props, seen: Observation, elapsed: float) -> str:
    head = (
        f"gave up after {elapsed:.0f} s waiting for the VPC Lattice domain name of HTTPRoute "
        f"{props.namespace}/{props.route_name} on EKS cluster {props.cluster_name} (needed for the CNAME "
        f"{props.hostname} in hosted zone {props.zone_id}): "
    )
    if seen.route is None and seen.error is not None:
        return head + f"the Kubernetes API could not be read. Last error: {seen.error}"
    if seen.route is None:
        text = (
            f"the HTTPRoute does not exist (GET {props.route_path} answered 404). Is the workload deployed? "
            f"Check: kubectl get httproute -n {props.namespace} {props.route_name}."
        )
        if seen.kube is not None and httproutes_served(seen.kube) is False:
            text += (
                " The API server does not serve gateway.networking.k8s.io/v1 httproutes: "
                "are the Gateway API CRDs installed?"
            )
        return head + text
    parents = parent_status(seen.route)
    route_state = (
        "; ".join(parents)
        if parents
        else "no parent status (no controller has processed the route: does its parentRef name the Gateway, "
        "and does the GatewayClass name controller application-networking.k8s.aws/gateway-api-controller?)"
    )
    controller = controller_status(seen.kube) if seen.kube is not None else "unknown"
    return head + (
        f"the HTTPRoute exists but has no {ANNOTATION} annotation, which the AWS Gateway API Controller adds once it "
        f"has created the Lattice service. Is the controller running? Controller ({CONTROLLER_NAMESPACE}): "
        f"{controller}. Route status: {route_state}."
    )
