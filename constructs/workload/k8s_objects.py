"""Every Kubernetes object of the workload, as plain dicts with Kubernetes camelCase keys.

Pure functions of the config (no CDK imports), so tests can compare them with the tutorial's manifests
and validate them against the CRD and Kubernetes schemas. With the default config they equal the
tutorial's objects (SPEC §1) plus explicit namespaces, the route's hostname and the hardening below.
"""

from __future__ import annotations

from typing import Any

from config.access_policy import Identities, policy_text, route_policy, service_account
from config.lattice_names import (
    SERVICE_NAME_OVERRIDE_ANNOTATION,
    route_digest,
    route_object_name,
    service_name_override,
)
from config.model import ROUTE_KINDS, SIGNING_SIDECAR_PORT, App, AppConfig, HealthCheck, Route, RouteRule
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
# Listeners for the other protocols (issue 26), from controller v2.1.3 docs/guides/https.md and tls-passthrough.md
# (read 2026-12-05): HTTPS is mode Terminate, its certificate the listener option CERTIFICATE_ARN_OPTION (else
# discovered from ACM by the route's hostname); certificateRefs "is required per API spec, but currently not used
# by the controller" (the Gateway API v1.5.1 Gateway CRD's CEL: "certificateRefs or options must be specified when
# mode is Terminate"). TLS passthrough is protocol TLS, mode Passthrough. A listener admits the route kinds its
# allowedRoutes name (the controller's IsRouteAllowedByListener).
HTTPS_LISTENER_NAME = "https"
CERTIFICATE_ARN_OPTION = "application-networking.k8s.aws/certificate-arn"
UNUSED_CERTIFICATE_REF = "unused"

# Lattice keeps routing to a terminating pod until the controller has deregistered it and the change has
# propagated; aws-application-networking-k8s docs/faq.md ("How do I prevent 503 errors during
# deployments?", v2.1.3) advises terminationGracePeriod >= 150 s and a 60 s preStop sleep.
TERMINATION_GRACE_SECONDS = 150
PRE_STOP_SLEEP_SECONDS = 60

# The signing sidecar of apps that call routes: AWS's maintained SigV4 proxy (github.com/awslabs/aws-sigv4-proxy),
# pinned by version. It signs for vpc-lattice-svcs with the pod's Pod Identity credentials and forwards to the
# request's Host header over plain HTTP (the Gateway's only listener). What image 1.11.1 does, from the source at
# tag v1.11.1 (commit ed72b374, read 2026-12-05), cmd/aws-sigv4-proxy/main.go and handler/handler.go:
# - `--port` is the listen address handed to http.ListenAndServe ("port and optional ip/hostname ... E.g., :8080,
#   127.0.0.1:8080"), default ":8080", every interface. Bound to loopback here: only the pod's own containers may
#   make it sign with the app's role.
# - Every request is proxied (handler.Handler.ServeHTTP -> ProxyClient.Do); there is no health endpoint, and the
#   image is FROM scratch (no shell for an exec probe). A probe through it would be forwarded to its Host header,
#   the pod IP and port: itself. So it has no probe; and kubelet's probes reach the pod IP, never its loopback.
# - Its aws-sdk-go v1.55.7 (go.mod) takes Pod Identity's credentials: AWS_CONTAINER_CREDENTIALS_FULL_URI on
#   169.254.170.23 with AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE (vendor/github.com/aws/aws-sdk-go/aws/defaults).
# - `--host` ("Host to proxy to", main.go) replaces the Host it forwards to; without it ProxyClient.Do
#   (handler/proxy_client.go) forwards to the request's own Host, so a pod could make it sign (and add the role's
#   session token to) a request to any host. An app that calls exactly one hostname gets `--host <it>`.
SIGV4_PROXY_IMAGE = "public.ecr.aws/aws-observability/aws-sigv4-proxy:1.11.1"
SIGV4_PROXY_PORT = SIGNING_SIDECAR_PORT
SIGV4_PROXY_LISTEN = f"127.0.0.1:{SIGV4_PROXY_PORT}"
IAM_AUTH_POLICY_KIND = "IAMAuthPolicy"


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


def _probe(app: App, *, delay: int, period: int, kind: str = "HTTP") -> Obj:
    """HTTP apps: GET healthPath. gRPC apps: Kubernetes' gRPC probe (grpc.health.v1.Health/Check, GA in 1.27:
    https://kubernetes.io/docs/tasks/configure-pod-container/configure-liveness-readiness-startup-probes/, read
    2026-12-05). TLS apps: a TCP connect (the kubelet would not trust the pod's certificate)."""
    action: Obj
    if kind == "GRPC":
        action = {"grpc": {"port": app.container_port}}
    elif kind == "TCP":
        action = {"tcpSocket": {"port": app.container_port}}
    else:
        action = {"httpGet": {"path": app.health_check.path, "port": app.container_port}}
    return {**action, "initialDelaySeconds": delay, "periodSeconds": period}


def _container(app: App, kind: str = "HTTP") -> Obj:
    res = app.resources
    return {
        "name": app.name,
        "image": app.image,
        "imagePullPolicy": "Always",
        **({"args": list(app.args)} if app.args else {}),
        "ports": [{"containerPort": app.container_port}],
        "env": _env(app),
        "readinessProbe": _probe(app, delay=5, period=10, kind=kind),
        "livenessProbe": _probe(app, delay=10, period=20, kind=kind),
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


def caller_service_account(app: App) -> Obj:
    """The ServiceAccount an app that calls routes runs as; Pod Identity binds its role to it by association."""
    return {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": _meta(service_account(app), app.namespace)}


def _sigv4_proxy(region: str, host: str | None, scheme: str = "http") -> Obj:
    """A native sidecar (an init container that keeps running): up before the app starts, stopped after it. It
    listens on the pod's loopback only, declares no containerPort (nothing outside the pod may reach it) and has
    no probe (see SIGV4_PROXY_IMAGE). `host`: the one hostname it may forward to (None: the request's Host)."""
    return {
        "name": "sigv4-proxy",
        "image": SIGV4_PROXY_IMAGE,
        "restartPolicy": "Always",
        "args": [
            "--name",
            "vpc-lattice-svcs",
            "--region",
            region,
            "--unsigned-payload",
            "--upstream-url-scheme",
            scheme,
            "--port",
            SIGV4_PROXY_LISTEN,
            *(["--host", host] if host else []),
        ],
        "resources": {"requests": {"cpu": "10m", "memory": "32Mi"}, "limits": {"cpu": "100m", "memory": "64Mi"}},
        "securityContext": {
            "allowPrivilegeEscalation": False,
            "capabilities": {"drop": ["ALL"]},
            "readOnlyRootFilesystem": True,
            "seccompProfile": {"type": "RuntimeDefault"},
        },
    }


def deployment(
    app: App,
    *,
    signing_region: str | None = None,
    called_hosts: tuple[str, ...] = (),
    kind: str = "HTTP",
    scheme: str = "http",
) -> Obj:
    """`signing_region`: the app calls routes (`called_hosts`, AppConfig.called_hostnames); its pods run as their
    ServiceAccount with the signing sidecar, held to the one hostname when there is one, forwarding with `scheme`
    (https when the routes it calls are HTTPS). `kind`: the target group protocol (the probes')."""
    pod: Obj = {
        "containers": [_container(app, kind)],
        "securityContext": {"seccompProfile": {"type": "RuntimeDefault"}},
        "terminationGracePeriodSeconds": TERMINATION_GRACE_SECONDS,
        # The demo app never calls the Kubernetes API; don't hand it a token. (Pod Identity mounts its own.)
        "automountServiceAccountToken": False,
    }
    if signing_region is not None:
        pod["serviceAccountName"] = service_account(app)
        host = called_hosts[0] if len(called_hosts) == 1 else None
        pod["initContainers"] = [_sigv4_proxy(signing_region, host, scheme)]
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": _meta(app.name, app.namespace),
        "spec": {
            "replicas": app.replicas,
            "selector": {"matchLabels": _labels(app)},
            "template": {
                "metadata": {"labels": _labels(app)},
                "spec": pod,
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


# Target groups of gRPC and TLS routes, from the v2.1.3 TargetGroupPolicy CRD (helm/crds/application-networking.
# k8s.aws_targetgrouppolicies.yaml) and pkg/gateway/model_build_targetgroup.go, read 2026-12-05:
# - spec.protocol "HTTP (default), HTTPS and TCP"; spec.protocolVersion is a free string ("When a policy is behind
#   GRPCRoute, this field value will be ignored as GRPC is only supported through HTTP/2"): a GRPCRoute's target
#   groups get protocol version GRPC from the controller whatever the policy says; GRPC is written here so the
#   policy says what Lattice builds. A TLSRoute's get protocol TCP, and a TCP policy with a protocolVersion is an
#   error ("protocolVersion is not supported for TCP protocol TargetGroupPolicy").
# - spec.healthCheck.protocol is HTTP|HTTPS and protocolVersion HTTP1|HTTP2: the CRD has no gRPC (or TCP) health
#   check. Lattice health checks are off by default for TCP target groups (VPC Lattice User Guide, TLS listeners),
#   and the controller turns them off for every non-HTTP1 group (pkg/deploy/lattice/target_group_manager.go,
#   getDefaultHealthCheckConfig). So gRPC and TLS apps get `enabled: false`, and their pods' readiness probes
#   (Kubernetes' gRPC probe, a TCP probe) decide which endpoints the controller registers.
GRPC_PROTOCOL_VERSION = "GRPC"


def target_group_policy(app: App, kind: str = "HTTP") -> Obj:
    """`kind`: the target group protocol of the routes the app backs (AppConfig.target_kind)."""
    spec: Obj = {"targetRef": {"group": "", "kind": "Service", "name": app.name}}
    if kind == "TCP":
        spec |= {"protocol": "TCP", "healthCheck": {"enabled": False}}
    elif kind == "GRPC":
        spec |= {"protocol": "HTTP", "protocolVersion": GRPC_PROTOCOL_VERSION, "healthCheck": {"enabled": False}}
    else:
        # The Service carries plain HTTP/1.1 to the pods; protocol changes would replace the target group.
        spec |= {"protocol": "HTTP", "protocolVersion": "HTTP1", "healthCheck": _health_check(app.health_check)}
    return {
        "apiVersion": TARGET_GROUP_POLICY_API_VERSION,
        "kind": "TargetGroupPolicy",
        "metadata": _meta(f"tg-policy-{app.name}", app.namespace),
        "spec": spec,
    }


def app_objects(
    app: App,
    *,
    signing_region: str | None = None,
    called_hosts: tuple[str, ...] = (),
    kind: str = "HTTP",
    scheme: str = "http",
) -> list[Obj]:
    """`signing_region`: the app calls routes (AppConfig.calling_apps; `called_hosts`, AppConfig.called_hostnames);
    its ServiceAccount (caller_service_account) is a manifest of its own, applied before these. `kind`:
    AppConfig.target_kind; `scheme`: see deployment."""
    # The policy follows its Service so the controller builds the target group with the right health check.
    pod = deployment(app, signing_region=signing_region, called_hosts=called_hosts, kind=kind, scheme=scheme)
    return [pod, service(app), target_group_policy(app, kind)]


def _app_objects(cfg: AppConfig, app: App, signing_region: str) -> list[Obj]:
    callers = cfg.calling_apps
    called = [r for r in cfg.routes if app in cfg.callers(r)] if app in callers else []
    # The model allows an app to call only HTTP or only HTTPS routes (the sidecar has one scheme).
    scheme = "https" if called and all(r.protocol == "HTTPS" for r in called) else "http"
    return app_objects(
        app,
        signing_region=signing_region if app in callers else None,
        called_hosts=cfg.called_hostnames(app),
        kind=cfg.target_kind(app),
        scheme=scheme,
    )


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
    meta = _meta(route_object_name(route, cfg.cluster_name), route.namespace)
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
        "metadata": _meta(name, route.namespace),
        "spec": {
            "targetRef": {"group": "gateway.networking.k8s.io", "kind": ROUTE_KINDS[route.protocol], "name": name},
            "policy": policy,
        },
    }


# -------------------------------------------------------------------------------------------- ordering


def extra_namespaces(cfg: AppConfig) -> list[Obj]:
    """Namespace objects for every namespace the workload uses besides "default"."""
    return [namespace(ns) for ns in cfg.namespaces if ns != "default"]


def workload_objects(
    cfg: AppConfig, *, signing_region: str = "us-east-1", identities: Identities | None = None
) -> list[Obj]:
    """Everything applied after the controller is installed, in apply order.

    Namespaces first; apps before routes so a route's backends exist when the controller builds its
    target groups; GatewayClass → Gateway → HTTPRoutes as each refers to the one before, each route followed by
    its IAMAuthPolicy (with `identities`, under AWS_IAM). (The TargetGroupPolicy
    CRD ships with the controller chart, hence "after the controller".)
    """
    objects = extra_namespaces(cfg)
    callers = cfg.calling_apps
    for app in cfg.apps:
        objects += [caller_service_account(app)] if app in callers else []
        objects += _app_objects(cfg, app, signing_region)
    objects += [gateway_class(), gateway(cfg)]
    for route in cfg.routes:
        objects.append(route_object(cfg, route))
        if identities is not None and has_auth_policy(cfg, route):
            objects.append(iam_auth_policy(cfg, route, policy_text(route_policy(cfg, route, identities))))
    return objects


def has_auth_policy(cfg: AppConfig, route: Route) -> bool:
    """Under AWS_IAM each route gets an IAMAuthPolicy, except TLS routes: the v2.1.3 controller takes targetRef kinds
    Gateway, HTTPRoute and GRPCRoute only (pkg/k8s/policyhelper/policy.go, IAMAuthPolicy's TargetRefKinds; read
    2026-12-05), and a TLS listener admits anonymous principals only anyway; their `unsigned` access is the service
    network's policy (config/access_policy.py)."""
    return cfg.service_network_auth_type == "AWS_IAM" and route.protocol != "TLS"


# ------------------------------------------------------------------------------------- manifest resources
#
# How the objects are grouped into KubernetesManifest resources decides what a config change leaves behind. The
# CDK kubectl handler (aws-cdk-lib 2.273.0, custom-resource-handlers/dist/aws-eks-v2/kubectl-handler/apply) runs
# `kubectl apply` on Create (Overwrite), `kubectl apply --prune -l <the resource's prune label>` on Update and
# `kubectl delete -f <the old manifest>` on Delete. kubectl prunes only its default allowlist of core, apps, batch
# and networking kinds, and namespaced ones only in namespaces the new manifest names (tools/impact.py,
# KUBECTL_PRUNE_ALLOWLIST): an IAMAuthPolicy, TargetGroupPolicy, HTTPRoute, Gateway, ServiceAccount or RBAC object
# dropped from an *updated* manifest stays on the cluster. So each resource's id names the identity (kind,
# namespace, name) of every object it holds, and a resource holds only objects that come and go together:
# - an object that leaves the config takes its resource with it, and CloudFormation's Delete deletes it;
# - an object that stays never changes resource, so no cleanup Delete removes what another resource applied.
# Ids that deployments made before this layout already have are kept (App-<name> for the default namespace,
# Route-..., Gateway), so upgrading moves only objects of kinds prune never touches (IAMAuthPolicy,
# ServiceAccount, RoleBinding) out of updated manifests into new ones, which adopt them (`kubectl apply`).


def app_manifest_id(app: App) -> str:
    """The app's Deployment, Service and TargetGroupPolicy (always together). The namespace is part of the id
    (left out for `default`, the ids made before): an app moved to another namespace is a new resource, and the
    old one's Delete removes the old objects, which prune would not (a namespace the new manifest doesn't name)."""
    return f"App-{app.name}" if app.namespace == "default" else f"App-{app.name}.{app.namespace}"


def service_account_manifest_id(app: App) -> str:
    """A calling app's ServiceAccount: it comes and goes with `calls`, without the app."""
    return f"ServiceAccount-{service_account(app)}.{app.namespace}"  # "." is in neither name


def route_manifest_id(cfg: AppConfig, route: Route) -> str:
    # The id carries the object name's digest: a new hostname is a new resource, so CloudFormation creates the new
    # route before its cleanup deletes the old one (`kubectl delete`).
    return f"Route-{route.namespace}-{route.name}-{route_digest(cfg.cluster_name, route.hostname)}"


def auth_policy_manifest_id(cfg: AppConfig, route: Route) -> str:
    """The route's IAMAuthPolicy: it comes and goes with serviceNetworkAuthType, without the route."""
    return f"AuthPolicy-{route.namespace}-{route.name}-{route_digest(cfg.cluster_name, route.hostname)}"


def workload_manifests(
    cfg: AppConfig, *, signing_region: str = "us-east-1", identities: Identities | None = None
) -> dict[str, list[Obj]]:
    """The workload's KubernetesManifest resources (construct id -> objects), as constructs/workload/gateway_workload.py
    builds them; `identities` as for workload_objects."""
    manifests: dict[str, list[Obj]] = {}
    if namespaces := extra_namespaces(cfg):
        # Namespaces are cluster-scoped and on kubectl's allowlist: one dropped from this manifest is pruned.
        manifests["Namespaces"] = namespaces
    callers = cfg.calling_apps
    for app in cfg.apps:
        if app in callers:
            manifests[service_account_manifest_id(app)] = [caller_service_account(app)]
        manifests[app_manifest_id(app)] = _app_objects(cfg, app, signing_region)
    manifests["GatewayClass"] = [gateway_class()]
    # The Gateway's name is serviceNetworkName, which cannot change in place (README, impact table).
    manifests["Gateway"] = [gateway(cfg)]
    for route in cfg.routes:
        manifests[route_manifest_id(cfg, route)] = [route_object(cfg, route)]
        if identities is not None and has_auth_policy(cfg, route):
            policy = policy_text(route_policy(cfg, route, identities))
            manifests[auth_policy_manifest_id(cfg, route)] = [iam_auth_policy(cfg, route, policy)]
    return manifests
