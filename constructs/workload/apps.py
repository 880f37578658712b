"""The apps' Kubernetes objects, as plain dicts with Kubernetes camelCase keys: Deployment (with the signing
sidecar of an app that calls routes), Service, TargetGroupPolicy, a caller's ServiceAccount.

Pure functions of the config (no CDK imports), so tests can compare them with the tutorial's manifests and validate
them against the CRD and Kubernetes schemas. With the default config they equal the tutorial's objects (SPEC §1)
plus explicit namespaces and the hardening below.
"""

from __future__ import annotations

from typing import Any

from config.access_policy import service_account
from config.model import SIGNING_SIDECAR_PORT, App, AppConfig, HealthCheck

Obj = dict[str, Any]

# The v2.1.3 chart's TargetGroupPolicy CRD serves (and stores) only v1alpha1, the tutorial's version.
TARGET_GROUP_POLICY_API_VERSION = "application-networking.k8s.aws/v1alpha1"
SERVICE_PORT = 80

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


def object_meta(name: str, namespace: str | None = None) -> Obj:
    """An object's metadata: its name, and its namespace unless it is cluster-scoped."""
    meta: Obj = {"name": name}
    if namespace is not None:
        meta["namespace"] = namespace
    return meta


def namespace(name: str) -> Obj:
    return {"apiVersion": "v1", "kind": "Namespace", "metadata": object_meta(name)}


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
    return {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": object_meta(service_account(app), app.namespace)}


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
        "metadata": object_meta(app.name, app.namespace),
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
        "metadata": object_meta(app.name, app.namespace),
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
        "metadata": object_meta(f"tg-policy-{app.name}", app.namespace),
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


def config_app_objects(cfg: AppConfig, app: App, signing_region: str) -> list[Obj]:
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
