"""Kubernetes side: the HTTPRoute's Lattice annotation, and what to report when it never shows up."""

from __future__ import annotations

import re
import ssl
from typing import Any

from botocore.exceptions import ClientError
from k8s_api import KubeApiError, KubeClient

ANNOTATION = "application-networking.k8s.aws/lattice-assigned-domain-name"
CONTROLLER_NAMESPACE = "aws-application-networking-system"
GATEWAY_API_V1 = "/apis/gateway.networking.k8s.io/v1"
_DNS_NAME = re.compile(r"^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)+$")
# DescribeCluster answers that waiting will not change.
_FATAL_EKS_CODES = frozenset({"AccessDeniedException", "ResourceNotFoundException", "UnrecognizedClientException"})


# The route kinds (resources, plural) whose Lattice annotation this function reads: every route kind the controller
# annotates with the Lattice name (v2.1.3 docs/guides/grpc.md and tls-passthrough.md show it on GRPCRoute and
# TLSRoute, read 2026-12-05).
ROUTE_RESOURCES = ("httproutes", "grpcroutes", "tlsroutes")


def route_path(namespace: str, name: str, resource: str = "httproutes") -> str:
    return f"{GATEWAY_API_V1}/namespaces/{namespace}/{resource}/{name}"


def lattice_domain(route: dict[str, Any] | None) -> str | None:
    """The annotation's value, lower-cased; None while the controller has not set it."""
    if not route:
        return None
    value = ((route.get("metadata") or {}).get("annotations") or {}).get(ANNOTATION)
    if not isinstance(value, str) or not value.strip():
        return None
    domain = value.strip().rstrip(".").lower()
    if not _DNS_NAME.match(domain):
        raise ValueError(
            f"annotation {ANNOTATION} holds {value!r}, which is not a DNS name; refusing to point DNS at it"
        )
    return domain


def is_fatal(err: KubeApiError) -> bool:
    """Errors that more polling will not cure (bad credentials, permissions, wrong CA, missing cluster)."""
    if err.status is not None:
        return 400 <= err.status < 500 and err.status not in (404, 408, 429)
    cause = err.__cause__
    if isinstance(cause, ssl.SSLCertVerificationError):
        return True
    return isinstance(cause, ClientError) and cause.response.get("Error", {}).get("Code") in _FATAL_EKS_CODES


def parent_status(route: dict[str, Any]) -> list[str]:
    """One line per parent in status.parents, e.g. "demo-sn/http: Accepted=False (NotAllowedByListeners: ...)"."""
    lines = []
    for parent in (route.get("status") or {}).get("parents") or []:
        ref = parent.get("parentRef") or {}
        name = ref.get("name", "?")
        if ref.get("namespace"):
            name = f"{ref['namespace']}/{name}"
        if ref.get("sectionName"):
            name += f"/{ref['sectionName']}"
        conditions = []
        for cond in parent.get("conditions") or []:
            text = f"{cond.get('type')}={cond.get('status')}"
            if cond.get("status") != "True" and (cond.get("reason") or cond.get("message")):
                text += f" ({cond.get('reason', '')}: {cond.get('message', '')})".replace(" (: ", " (")
            conditions.append(text)
        lines.append(f"parent {name}: {', '.join(conditions) or 'no conditions'}")
    return lines


def controller_status(kube: KubeClient) -> str:
    """Readiness of the controller's Deployments, or why it could not be read."""
    path = f"/apis/apps/v1/namespaces/{CONTROLLER_NAMESPACE}/deployments"
    try:
        listing = kube.get(path)
    except KubeApiError as err:
        if err.status == 403:
            return (
                f"not permitted to list Deployments in {CONTROLLER_NAMESPACE} (give this Lambda's access entry a "
                "view policy for that namespace to see controller readiness here)"
            )
        return f"could not list Deployments in {CONTROLLER_NAMESPACE}: {err}"
    items = (listing or {}).get("items") or []
    if not items:
        return f"no Deployment in namespace {CONTROLLER_NAMESPACE}: is the AWS Gateway API Controller installed?"
    parts = []
    for item in items:
        name = (item.get("metadata") or {}).get("name", "?")
        desired = (item.get("spec") or {}).get("replicas", 1)
        status = item.get("status") or {}
        text = f"Deployment {name} {status.get('readyReplicas', 0)}/{desired} ready"
        for cond in status.get("conditions") or []:
            if cond.get("type") == "Available" and cond.get("status") != "True":
                text += f" (Available={cond.get('status')}: {cond.get('reason', '')} {cond.get('message', '')})"
        parts.append(text.rstrip())  # pragma: no mutate -- equivalent: text starts "Deployment", ends "ready" or ")"
    return "; ".join(parts) + f" (logs: kubectl logs -n {CONTROLLER_NAMESPACE} deploy/<name>)"


def httproutes_served(kube: KubeClient) -> bool | None:
    """Whether the API server serves gateway.networking.k8s.io/v1 httproutes; None if it could not tell."""
    try:
        resources = kube.get(GATEWAY_API_V1)
    except KubeApiError:
        return None
    if resources is None:
        return False
    return any(r.get("name") == "httproutes" for r in resources.get("resources") or [])
