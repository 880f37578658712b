"""Every Kubernetes object of the workload, as plain dicts with Kubernetes camelCase keys.

Pure functions of the config (no CDK imports), so tests can compare them with the tutorial's manifests
and validate them against the CRD and Kubernetes schemas. With the default config they equal the
tutorial's objects (SPEC §1) plus explicit namespaces, the route's hostname and the hardening below.
"""

from __future__ import annotations

from typing import Any

from config.lattice_names import SERVICE_NAME_OVERRIDE_ANNOTATION, route_object_name, service_name_override
from config.model import App, AppConfig, HealthCheck, Route, RouteRule
from config.versions import CONTROLLER_NAME, CONTROLLER_NAMESPACE, CONTROLLER_SERVICE_ACCOUNT

Obj = dict[str, Any]

GATEWAY_API_VERSION = "gateway.networking.k8s.io/v1"
# The v2.1.3 chart's TargetGroupPolicy CRD serves (and stores) only v1alpha1, the tutorial's version.
TARGET_GROUP_POLICY_API_VERSION = "application-networking.k8s.aws/v1alpha1"
GATEWAY_CLASS_NAME = "amazon-vpc-lattice"
# The tutorial applies its Gateway without a namespace, i.e. into "default"; routes elsewhere refer to it.
GATEWAY_NAMESPACE = "default"
LISTENER_NAME = "http"
SERVICE_PORT = 80

# Lattice keeps routing to a terminating pod until the controller has deregistered it and the change has
# propagated; aws-application-networking-k8s docs/faq.md ("How do I prevent 503 errors during
# deployments?", v2.1.3) advises terminationGracePeriod >= 150 s and a 60 s preStop sleep.
TERMINATION_GRACE_SECONDS = 150
PRE_STOP_SLEEP_SECONDS = 60


def _meta(name: str, namespace: str | None = None) -> Obj:
    meta: Obj = {"name": name}
    if namespace is not None:
        meta["namespace"] = namespace
    return meta


# ----------------------------------------------------------------------------------------- controller


def controller_namespace() -> Obj:
    """The controller's namespace, as upstream files/controller-installation/deploy-namesystem.yaml."""
    return {
        "apiVersion": "v1",
        "kind": "Namespace",
        "metadata": {"name": CONTROLLER_NAMESPACE, "labels": {"control-plane": "gateway-api-controller"}},
    }


def controller_service_account() -> Obj:
    """Created outside the chart so the Pod Identity association can exist before the controller's pods.

    No eks.amazonaws.com/role-arn annotation: that is IRSA; Pod Identity binds the role by association.
    """
    return {
        "apiVersion": "v1",
        "kind": "ServiceAccount",
        "metadata": _meta(CONTROLLER_SERVICE_ACCOUNT, CONTROLLER_NAMESPACE),
    }


# ----------------------------------------------------------------------------------------------- apps


def namespace(name: str) -> Obj:
    return {"apiVersion": "v1", "kind": "Namespace", "metadata": _meta(name)}


def _env(app: App) -> list[Obj]:
    # The tutorial's order: the bind address, then PORT and POD (set here, not in config), then the rest.
    configured: list[Obj] = [{"name": k, "value": v} for k, v in app.env]
    lead = [e for e in configured if e["name"] == "HOST"]
    rest = [e for e in configured if e["name"] != "HOST"]
    builder: list[Obj] = [
        {"name": "PORT", "value": str(app.container_port)},
        {"name": "POD", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}},
    ]
    return lead + builder + rest


def _probe(app: App, *, delay: int, period: int) -> Obj:
    return {
        "httpGet": {"path": app.health_check.path, "port": app.container_port},
        "initialDelaySeconds": delay,
        "periodSeconds": period,
    }


def _container(app: App) -> Obj:
    res = app.resources
    return {
        "name": app.name,
        "image": app.image,
        "imagePullPolicy": "Always",
        "ports": [{"containerPort": app.container_port}],
        "env": _env(app),
        "readinessProbe": _probe(app, delay=5, period=10),
        "livenessProbe": _probe(app, delay=10, period=20),
        "resources": {
            "requests": {"cpu": res.cpu_request, "memory": res.memory_request},
            "limits": {"cpu": res.cpu_limit, "memory": res.memory_limit},
        },
        # Kubernetes' native sleep action (GA in 1.34, on by default since 1.30) needs no shell in the image.
        "lifecycle": {"preStop": {"sleep": {"seconds": PRE_STOP_SLEEP_SECONDS}}},
        # Pod Security "restricted" minus runAsNonRoot: the tutorial's image (rlawnsdud/demo) may run as
        # root, and forcing non-root would stop it from starting. readOnlyRootFilesystem is left out for the
        # same reason (unknown image, may write temp files).
        "securityContext": {
            "allowPrivilegeEscalation": False,
            "capabilities": {"drop": ["ALL"]},
            "seccompProfile": {"type": "RuntimeDefault"},
        },
    }


def _labels(app: App) -> Obj:
    # A fresh dict per use: shared dicts would alias in the output (YAML anchors, surprise mutations).
    return {"app": app.name}


def deployment(app: App) -> Obj:
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": _meta(app.name, app.namespace),
        "spec": {
            "replicas": app.replicas,
            "selector": {"matchLabels": _labels(app)},
            "template": {
                "metadata": {"labels": _labels(app)},
                "spec": {
                    "containers": [_container(app)],
                    "securityContext": {"seccompProfile": {"type": "RuntimeDefault"}},
                    "terminationGracePeriodSeconds": TERMINATION_GRACE_SECONDS,
                    # The demo app never calls the Kubernetes API; don't hand it a token.
                    "automountServiceAccountToken": False,
                },
            },
        },
    }


def service(app: App) -> Obj:
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": _meta(app.name, app.namespace),
        "spec": {
            "selector": _labels(app),
            "ports": [{"name": "http", "port": SERVICE_PORT, "targetPort": app.container_port}],
            "type": "ClusterIP",
        },
    }


def _health_check(hc: HealthCheck) -> Obj:
    return {
        "enabled": True,
        "path": hc.path,
        "port": hc.port,
        "protocol": hc.protocol,
        "protocolVersion": hc.protocol_version,
        "intervalSeconds": hc.interval_seconds,
        "timeoutSeconds": hc.timeout_seconds,
        "healthyThresholdCount": hc.healthy_threshold_count,
        "unhealthyThresholdCount": hc.unhealthy_threshold_count,
    }


def target_group_policy(app: App) -> Obj:
    return {
        "apiVersion": TARGET_GROUP_POLICY_API_VERSION,
        "kind": "TargetGroupPolicy",
        "metadata": _meta(f"tg-policy-{app.name}", app.namespace),
        "spec": {
            "targetRef": {"group": "", "kind": "Service", "name": app.name},
            # The Service carries plain HTTP/1.1 to the pods; protocol changes would replace the target group.
            "protocol": "HTTP",
            "protocolVersion": "HTTP1",
            "healthCheck": _health_check(app.health_check),
        },
    }


def app_objects(app: App) -> list[Obj]:
    # The policy follows its Service so the controller builds the target group with the right health check.
    return [deployment(app), service(app), target_group_policy(app)]


# ------------------------------------------------------------------------------------------ gateway API


def gateway_class() -> Obj:
    return {
        "apiVersion": GATEWAY_API_VERSION,
        "kind": "GatewayClass",
        "metadata": _meta(GATEWAY_CLASS_NAME),
        "spec": {"controllerName": CONTROLLER_NAME},
    }


def gateway(cfg: AppConfig) -> Obj:
    """The Gateway's name must equal the (CloudFormation-owned) service network's: the controller finds it by name."""
    return {
        "apiVersion": GATEWAY_API_VERSION,
        "kind": "Gateway",
        "metadata": _meta(cfg.service_network_name, GATEWAY_NAMESPACE),
        "spec": {
            "gatewayClassName": GATEWAY_CLASS_NAME,
            "listeners": [
                {
                    "name": LISTENER_NAME,
                    "protocol": "HTTP",
                    "port": 80,
                    "allowedRoutes": {
                        "namespaces": {"from": "All"},
                        "kinds": [{"kind": "HTTPRoute", "group": "gateway.networking.k8s.io"}],
                    },
                }
            ],
        },
    }


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


def _rule(rule: RouteRule) -> Obj:
    # Lattice takes one match per rule (SPEC §3); the loader guarantees it, so each rule has exactly one.
    return {
        "matches": [_match(rule)],
        "backendRefs": [_backend_ref(b.app, b.weight) for b in rule.backends],
    }


def http_route(cfg: AppConfig, route: Route) -> Obj:
    parent: Obj = {"name": cfg.service_network_name, "sectionName": LISTENER_NAME}
    if route.namespace != GATEWAY_NAMESPACE:
        # A parentRef without a namespace means the route's own namespace.
        parent["namespace"] = GATEWAY_NAMESPACE
    # Named after the hostname too, and with the Lattice service name fixed at creation: a new hostname is a
    # new route object and a new Lattice service (config/lattice_names.py says why).
    meta = _meta(route_object_name(route), route.namespace)
    meta["annotations"] = {SERVICE_NAME_OVERRIDE_ANNOTATION: service_name_override(route)}
    return {
        "apiVersion": GATEWAY_API_VERSION,
        "kind": "HTTPRoute",
        "metadata": meta,
        "spec": {
            "parentRefs": [parent],
            # Lattice makes only the first hostname the service's custom domain name.
            "hostnames": [route.hostname],
            "rules": [_rule(r) for r in route.rules],
        },
    }


# -------------------------------------------------------------------------------------------- ordering


def extra_namespaces(cfg: AppConfig) -> list[Obj]:
    """Namespace objects for every namespace the workload uses besides "default"."""
    return [namespace(ns) for ns in cfg.namespaces if ns != "default"]


def workload_objects(cfg: AppConfig) -> list[Obj]:
    """Everything applied after the controller is installed, in apply order.

    Namespaces first; apps before routes so a route's backends exist when the controller builds its
    target groups; GatewayClass → Gateway → HTTPRoutes as each refers to the one before. (The TargetGroupPolicy
    CRD ships with the controller chart, hence "after the controller".)
    """
    objects = extra_namespaces(cfg)
    for app in cfg.apps:
        objects += app_objects(app)
    objects += [gateway_class(), gateway(cfg)]
    objects += [http_route(cfg, r) for r in cfg.routes]
    return objects
