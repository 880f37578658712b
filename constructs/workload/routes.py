"""The Gateway API objects, as plain dicts: GatewayClass, Gateway (its listeners follow from the routes), one
route object per configured route (HTTPRoute, GRPCRoute or TLSRoute) and its IAMAuthPolicy.

Pure functions of the config (no CDK imports), as constructs/workload/apps.py.
"""

from __future__ import annotations

from constructs.workload.apps import SERVICE_PORT, TARGET_GROUP_POLICY_API_VERSION, Obj, object_meta

from config.lattice_names import (
    SERVICE_NAME_OVERRIDE_ANNOTATION,
    route_digest,
    route_object_name,
    service_name_override,
)
from config.model import ROUTE_KINDS, AppConfig, Route, RouteRule
from config.versions import CONTROLLER_NAME

GATEWAY_API_VERSION = "gateway.networking.k8s.io/v1"
GATEWAY_CLASS_NAME = "amazon-vpc-lattice"
# The tutorial applies its Gateway without a namespace, i.e. into "default"; routes elsewhere refer to it.
GATEWAY_NAMESPACE = "default"
LISTENER_NAME = "http"
# Listeners for the other protocols (issue 26), from controller v2.1.3 docs/guides/https.md and tls-passthrough.md
# (read 2026-12-05): HTTPS is mode Terminate, its certificate the listener option CERTIFICATE_ARN_OPTION (else
# discovered from ACM by the route's hostname); certificateRefs "is required per API spec, but currently not used
# by the controller" (the Gateway API v1.5.1 Gateway CRD's CEL: "certificateRefs or options must be specified when
# mode is Terminate"). TLS passthrough is protocol TLS, mode Passthrough. A listener admits the route kinds its
# allowedRoutes name (the controller's IsRouteAllowedByListener).
HTTPS_LISTENER_NAME = "https"
CERTIFICATE_ARN_OPTION = "application-networking.k8s.aws/certificate-arn"
UNUSED_CERTIFICATE_REF = "unused"
IAM_AUTH_POLICY_KIND = "IAMAuthPolicy"


def gateway_class() -> Obj:
    return {
        "apiVersion": GATEWAY_API_VERSION,
        "kind": "GatewayClass",
        "metadata": object_meta(GATEWAY_CLASS_NAME),
        "spec": {"controllerName": CONTROLLER_NAME},
    }


def gateway(cfg: AppConfig) -> Obj:
    """The Gateway's name must equal the (CloudFormation-owned) service network's: the controller finds it by name."""
    return {
        "apiVersion": GATEWAY_API_VERSION,
        "kind": "Gateway",
        "metadata": object_meta(cfg.service_network_name, GATEWAY_NAMESPACE),
        "spec": {
            "gatewayClassName": GATEWAY_CLASS_NAME,
            "listeners": [_listener(name, protocol, port, route) for name, protocol, port, route in listeners(cfg)],
        },
    }


def listener_name(route: Route, cluster_name: str) -> str:
    """The Gateway listener (sectionName) `route` attaches to: `http`, `https`, `https-<digest>` (HTTPS or GRPC
    with certificateArn: a listener of its own, for its hostname, that carries the certificate) or `tls-<port>`."""
    if route.protocol == "HTTP":
        return LISTENER_NAME
    if route.protocol == "TLS":
        return f"tls-{route.listener_port}"
    if route.certificate_arn is None:
        return HTTPS_LISTENER_NAME
    return f"{HTTPS_LISTENER_NAME}-{route_digest(cluster_name, route.hostname)}"


def listeners(cfg: AppConfig) -> list[tuple[str, str, int, Route | None]]:
    """(name, protocol, port, the route whose certificate it carries) per listener the routes use, in first-use
    order; HTTP first, as the tutorial's only listener always was."""
    found: dict[str, tuple[str, str, int, Route | None]] = {}
    for route in sorted(cfg.routes, key=lambda r: r.protocol != "HTTP"):
        name = listener_name(route, cfg.cluster_name)
        protocol = "TLS" if route.protocol == "TLS" else "HTTP" if route.protocol == "HTTP" else "HTTPS"
        found.setdefault(name, (name, protocol, route.listener_port, route if route.certificate_arn else None))
    return list(found.values())


def _listener(name: str, protocol: str, port: int, route: Route | None) -> Obj:
    kinds = {"HTTP": ["HTTPRoute"], "HTTPS": ["HTTPRoute", "GRPCRoute"], "TLS": ["TLSRoute"]}[protocol]
    listener: Obj = {"name": name, "protocol": protocol, "port": port}
    if route is not None:
        # The certificate's listener serves only its route's hostname (Gateway API: listeners on one port and
        # protocol differ by hostname).
        listener["hostname"] = route.hostname
    if protocol == "HTTPS":
        tls: Obj = {"mode": "Terminate", "certificateRefs": [{"name": UNUSED_CERTIFICATE_REF}]}
        if route is not None:
            tls = {"mode": "Terminate", "options": {CERTIFICATE_ARN_OPTION: route.certificate_arn}}
        listener["tls"] = tls
    elif protocol == "TLS":
        listener["tls"] = {"mode": "Passthrough"}
    listener["allowedRoutes"] = {
        "namespaces": {"from": "All"},
        "kinds": [{"kind": kind, "group": "gateway.networking.k8s.io"} for kind in kinds],
    }
    return listener


def _match(rule: RouteRule) -> Obj:
    match: Obj = {"path": {"type": rule.path_type, "value": rule.path}}
    if rule.headers:
        match["headers"] = [{"type": "Exact", "name": h.name, "value": h.value} for h in rule.headers]
    if rule.method is not None:
        match["method"] = rule.method
    return match


def _backend_ref(app_name: str, weight: int | None) -> Obj:
    ref: Obj = {"kind": "Service", "name": app_name, "port": SERVICE_PORT}
    if weight is not None:
        ref["weight"] = weight
    return ref


def _grpc_match(rule: RouteRule) -> Obj:
    match: Obj = {}
    if rule.grpc_service is not None:
        method: Obj = {"type": "Exact", "service": rule.grpc_service}
        if rule.grpc_method is not None:
            method["method"] = rule.grpc_method
        match["method"] = method
    if rule.headers:
        match["headers"] = [{"type": "Exact", "name": h.name, "value": h.value} for h in rule.headers]
    return match


def _rule(rule: RouteRule, protocol: str = "HTTP") -> Obj:
    # Lattice takes one match per rule (SPEC §3); the loader guarantees it. A rule without any match is the
    # route's default (no `matches`: Gateway API matches everything; the controller a "/" prefix).
    backends = [_backend_ref(b.app, b.weight) for b in rule.backends]
    if protocol == "TLS" or rule.is_default:
        return {"backendRefs": backends}
    return {"matches": [_grpc_match(rule) if protocol == "GRPC" else _match(rule)], "backendRefs": backends}


def route_object(cfg: AppConfig, route: Route) -> Obj:
    """The route as its kind: HTTPRoute (HTTP, HTTPS), GRPCRoute or TLSRoute, all gateway.networking.k8s.io/v1 in
    the pinned Gateway API v1.5.1 CRDs (TLSRoute's v1 is the one served there; v1alpha2 and v1alpha3 are not)."""
    parent: Obj = {"name": cfg.service_network_name, "sectionName": listener_name(route, cfg.cluster_name)}
    if route.namespace != GATEWAY_NAMESPACE:
        # A parentRef without a namespace means the route's own namespace.
        parent["namespace"] = GATEWAY_NAMESPACE
    # Named after the hostname too, and with the Lattice service name fixed at creation: a new hostname is a
    # new route object and a new Lattice service (config/lattice_names.py says why).
    meta = object_meta(route_object_name(route, cfg.cluster_name), route.namespace)
    meta["annotations"] = {SERVICE_NAME_OVERRIDE_ANNOTATION: service_name_override(route, cfg.cluster_name)}
    return {
        "apiVersion": GATEWAY_API_VERSION,
        "kind": ROUTE_KINDS[route.protocol],
        "metadata": meta,
        "spec": {
            "parentRefs": [parent],
            # Lattice makes only the first hostname the service's custom domain name (for TLS also the SNI match).
            "hostnames": [route.hostname],
            "rules": [_rule(r, route.protocol) for r in route.rules],
        },
    }


def iam_auth_policy(cfg: AppConfig, route: Route, policy: str) -> Obj:
    """The route's auth policy (`policy`: JSON text, config.access_policy.route_policy). The controller attaches
    it to the route's Lattice service and sets the service's auth type to AWS_IAM. Never on the Gateway: that
    would replace the service network's policy, which CloudFormation owns."""
    name = route_object_name(route, cfg.cluster_name)
    return {
        "apiVersion": TARGET_GROUP_POLICY_API_VERSION,
        "kind": IAM_AUTH_POLICY_KIND,
        "metadata": object_meta(name, route.namespace),
        "spec": {
            "targetRef": {"group": "gateway.networking.k8s.io", "kind": ROUTE_KINDS[route.protocol], "name": name},
            "policy": policy,
        },
    }


def has_auth_policy(cfg: AppConfig, route: Route) -> bool:
    """Under AWS_IAM each route gets an IAMAuthPolicy, except TLS routes: the v2.1.3 controller takes targetRef kinds
    Gateway, HTTPRoute and GRPCRoute only (pkg/k8s/policyhelper/policy.go, IAMAuthPolicy's TargetRefKinds; read
    2026-12-05), and a TLS listener admits anonymous principals only anyway; their `unsigned` access is the service
    network's policy (config/access_policy.py)."""
    return cfg.service_network_auth_type == "AWS_IAM" and route.protocol != "TLS"
