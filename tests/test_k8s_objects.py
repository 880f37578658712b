"""The workload's objects (constructs/workload/apps.py, routes.py, manifests.py) and the controller's
(constructs/controller/objects.py): the tutorial's objects, hardened, and valid against the schemas the cluster
enforces."""

from __future__ import annotations

import copy
import datetime as dt
from pathlib import Path
from typing import Any

import jsonschema
import kubernetes_validate
import pytest
import yaml
from constructs.controller.objects import controller_namespace, controller_service_account
from constructs.workload.apps import (
    PRE_STOP_SLEEP_SECONDS,
    TARGET_GROUP_POLICY_API_VERSION,
    TERMINATION_GRACE_SECONDS,
    deployment,
    target_group_policy,
)
from constructs.workload.manifests import workload_objects
from constructs.workload.routes import gateway, gateway_class, route_object
from k8s_schemas import SchemaNotFoundError, validate_core, validate_custom, validate_object

from config.access_policy import Identities
from config.lattice_names import route_digest
from config.loader import parse_context
from config.model import SIGNING_SIDECAR_PORT, AppConfig
from config.versions import CONTROLLER_NAME, CONTROLLER_NAMESPACE, CONTROLLER_SERVICE_ACCOUNT, EKS_VERSIONS

TODAY = dt.date(2026, 11, 28)
Obj = dict[str, Any]

# --------------------------------------------------------------------------------------------- configs


def default_config() -> AppConfig:
    return parse_context({}, today=TODAY)


def rich_config() -> AppConfig:
    """A second namespace, an Exact path, header and method matches, weights, a custom health check, an app that
    calls a route, and a route with every kind of caller."""
    return parse_context(
        {
            "apps": [
                {
                    "name": "demo-app-a",
                    "image": "rlawnsdud/demo:latest",
                    "containerPort": 3000,
                    "env": {"HOST": "0.0.0.0", "ROUTE": "v1", "GLOBAL_PREFIX": "/v1"},
                    "healthPath": "/v1/health",
                },
                {
                    "name": "shop-v1",
                    "namespace": "shop",
                    "image": "public.ecr.aws/nginx/nginx:1.27",
                    "replicas": 3,
                    "containerPort": 8081,  # 8080 is its signing sidecar's (it calls a route)
                    "env": {"MODE": "stable"},
                    "calls": ["demo-http-route"],
                    "healthPath": "/healthz",
                    "healthCheck": {
                        "intervalSeconds": 30,
                        "timeoutSeconds": 10,
                        "healthyThresholdCount": 2,
                        "unhealthyThresholdCount": 5,
                        "protocolVersion": "HTTP2",
                    },
                    "resources": {
                        "cpuRequest": "100m",
                        "memoryRequest": "128Mi",
                        "cpuLimit": "1",
                        "memoryLimit": "256Mi",
                    },
                },
                {
                    "name": "shop-v2",
                    "namespace": "shop",
                    "image": "public.ecr.aws/nginx/nginx:1.27",
                    "containerPort": 8080,
                    "healthPath": "/healthz",
                },
            ],
            "routes": [
                {
                    "name": "demo-http-route",
                    "hostname": "api.example.com",
                    "rules": [{"pathPrefix": "/v1", "backends": [{"app": "demo-app-a"}]}],
                },
                {
                    "name": "shop-route",
                    "namespace": "shop",
                    "hostname": "shop.example.com",
                    "access": {
                        "allow": [
                            {"role": "arn:aws:iam::444455556666:role/ops"},
                            {"app": "demo-app-a"},
                            {"account": "222222222222"},
                        ],
                        "unsigned": True,
                    },
                    "rules": [
                        {
                            "path": "/checkout",
                            "method": "POST",
                            "headers": [{"name": "x-canary", "value": "true"}, {"name": "x-tenant", "value": "t1"}],
                            "backends": [{"app": "shop-v1", "weight": 90}, {"app": "shop-v2", "weight": 10}],
                        },
                        {"pathPrefix": "/", "backends": [{"app": "shop-v1"}]},
                    ],
                },
            ],
            # `account` entries name consumer accounts (config refuses any other).
            "consumers": [{"name": "team-b", "account": "222222222222", "vpcCidr": "10.3.0.0/16"}],
        },
        today=TODAY,
    )


CONFIGS = {"default": default_config, "rich": rich_config}
# Stand-ins for the roles' ARNs (CloudFormation tokens in a synth).
WHO = Identities(
    account="111111111111",
    smoke_role_arn="arn:aws:iam::111111111111:role/smoke",
    client_host_role_arn="arn:aws:iam::111111111111:role/host",
    vpc_ids=("vpc-0aaaaaaaaaaaaaaaa", "vpc-0bbbbbbbbbbbbbbbb"),
    app_role_arns={
        "shop-v1": "arn:aws:iam::111111111111:role/shop-v1",
        "demo-app-a": "arn:aws:iam::111111111111:role/a",
    },
)


def _key(obj: Obj) -> str:
    meta = obj["metadata"]
    return f"{obj['kind']}/{meta.get('namespace', '-')}/{meta['name']}"


def _all_objects() -> list[tuple[str, AppConfig, Obj]]:
    cases = []
    for label, make in CONFIGS.items():
        cfg = make()
        for obj in [controller_namespace(), controller_service_account(), *workload_objects(cfg, identities=WHO)]:
            cases.append((f"{label}:{_key(obj)}", cfg, obj))
    return cases


ALL_OBJECTS = _all_objects()


@pytest.fixture(scope="session")
def crd_root(reference_dir: Path) -> Path:
    return reference_dir / "crds"


# ------------------------------------------------------------------------- the tutorial, transcribed
# From seeds/000_7a80d1c7899bbadb.txt: demo-app.yaml, the TargetGroupPolicies, gateway-class.yaml,
# gateway.yaml and httproute.yaml in its final form (with hostnames, added for the custom domain).


def _tutorial_deployment(name: str, route: str) -> Obj:
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": name},
        "spec": {
            "replicas": 2,
            "selector": {"matchLabels": {"app": name}},
            "template": {
                "metadata": {"labels": {"app": name}},
                "spec": {
                    "containers": [
                        {
                            "name": name,
                            "image": "rlawnsdud/demo:latest",
                            "imagePullPolicy": "Always",
                            "ports": [{"containerPort": 3000}],
                            "env": [
                                {"name": "HOST", "value": "0.0.0.0"},
                                {"name": "PORT", "value": "3000"},
                                {"name": "POD", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}},
                                {"name": "ROUTE", "value": route},
                                {"name": "GLOBAL_PREFIX", "value": f"/{route}"},
                            ],
                            "readinessProbe": {
                                "httpGet": {"path": f"/{route}/health", "port": 3000},
                                "initialDelaySeconds": 5,
                                "periodSeconds": 10,
                            },
                            "livenessProbe": {
                                "httpGet": {"path": f"/{route}/health", "port": 3000},
                                "initialDelaySeconds": 10,
                                "periodSeconds": 20,
                            },
                        }
                    ]
                },
            },
        },
    }


def _tutorial_service(name: str) -> Obj:
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": name},
        "spec": {
            "selector": {"app": name},
            "ports": [{"name": "http", "port": 80, "targetPort": 3000}],
            "type": "ClusterIP",
        },
    }


def _tutorial_tgp(name: str, route: str) -> Obj:
    return {
        "apiVersion": "application-networking.k8s.aws/v1alpha1",
        "kind": "TargetGroupPolicy",
        "metadata": {"name": f"tg-policy-{name}"},
        "spec": {
            "targetRef": {"group": "", "kind": "Service", "name": name},
            "protocol": "HTTP",
            "protocolVersion": "HTTP1",
            "healthCheck": {
                "enabled": True,
                "path": f"/{route}/health",
                "port": 3000,
                "protocol": "HTTP",
                "protocolVersion": "HTTP1",
                "intervalSeconds": 10,
                "timeoutSeconds": 5,
                "healthyThresholdCount": 3,
                "unhealthyThresholdCount": 3,
            },
        },
    }


TUTORIAL: list[Obj] = [
    _tutorial_deployment("demo-app-a", "v1"),
    _tutorial_service("demo-app-a"),
    _tutorial_deployment("demo-app-b", "v2"),
    _tutorial_service("demo-app-b"),
    _tutorial_tgp("demo-app-a", "v1"),
    _tutorial_tgp("demo-app-b", "v2"),
    {
        "apiVersion": "gateway.networking.k8s.io/v1",
        "kind": "GatewayClass",
        "metadata": {"name": "amazon-vpc-lattice"},
        "spec": {"controllerName": "application-networking.k8s.aws/gateway-api-controller"},
    },
    {
        "apiVersion": "gateway.networking.k8s.io/v1",
        "kind": "Gateway",
        "metadata": {"name": "demo-sn"},
        "spec": {
            "gatewayClassName": "amazon-vpc-lattice",
            "listeners": [
                {
                    "name": "http",
                    "protocol": "HTTP",
                    "port": 80,
                    "allowedRoutes": {
                        "namespaces": {"from": "All"},
                        "kinds": [{"kind": "HTTPRoute", "group": "gateway.networking.k8s.io"}],
                    },
                }
            ],
        },
    },
    {
        "apiVersion": "gateway.networking.k8s.io/v1",
        "kind": "HTTPRoute",
        "metadata": {"name": "demo-http-route"},
        "spec": {
            "parentRefs": [{"name": "demo-sn", "sectionName": "http"}],
            "hostnames": ["api.example.com"],
            "rules": [
                {
                    "matches": [{"path": {"type": "PathPrefix", "value": "/v1"}}],
                    "backendRefs": [{"kind": "Service", "name": "demo-app-a", "port": 80}],
                },
                {
                    "matches": [{"path": {"type": "PathPrefix", "value": "/v2"}}],
                    "backendRefs": [{"kind": "Service", "name": "demo-app-b", "port": 80}],
                },
            ],
        },
    },
]

CLUSTER_SCOPED = {"Namespace", "GatewayClass"}


def _as_applied(obj: Obj) -> Obj:
    """The tutorial's objects as `kubectl apply` stores them: namespaced kinds land in "default"."""
    out = copy.deepcopy(obj)
    if out["kind"] not in CLUSTER_SCOPED:
        out["metadata"].setdefault("namespace", "default")
    return out


def _hardened(obj: Obj) -> Obj:
    """The hardening this project adds to each tutorial Deployment."""
    if obj["kind"] != "Deployment":
        return obj
    out = copy.deepcopy(obj)
    pod = out["spec"]["template"]["spec"]
    pod["securityContext"] = {"seccompProfile": {"type": "RuntimeDefault"}}
    pod["terminationGracePeriodSeconds"] = 150
    pod["automountServiceAccountToken"] = False
    (container,) = pod["containers"]
    container["resources"] = {
        "requests": {"cpu": "50m", "memory": "64Mi"},
        "limits": {"cpu": "250m", "memory": "128Mi"},
    }
    container["lifecycle"] = {"preStop": {"sleep": {"seconds": 60}}}
    container["securityContext"] = {
        "allowPrivilegeEscalation": False,
        "capabilities": {"drop": ["ALL"]},
        "seccompProfile": {"type": "RuntimeDefault"},
    }
    return out


def _named_for_its_hostname(obj: Obj) -> Obj:
    """The one deliberate change to the tutorial's HTTPRoute: its name carries the digest of its hostname and it
    fixes its Lattice service name at creation, so a new hostname is a new route and a new Lattice service
    (config/lattice_names.py). Literal values: a change here renames, hence replaces, every deployed route."""
    if obj["kind"] != "HTTPRoute":
        return obj
    out = copy.deepcopy(obj)
    out["metadata"]["name"] = "demo-http-route-06a7ea"
    out["metadata"]["annotations"] = {
        "application-networking.k8s.aws/service-name-override": "demo-http-route-default-06a7ea"
    }
    return out


def test_default_objects_equal_the_tutorial_plus_hardening() -> None:
    ours = {_key(o): o for o in workload_objects(default_config())}
    expected = {_key(o): o for o in (_named_for_its_hostname(_hardened(_as_applied(t))) for t in TUTORIAL)}
    assert ours.keys() == expected.keys()
    for key, obj in expected.items():
        assert ours[key] == obj, key


def test_tutorial_transcription_matches_the_seed_text(seed_text: str) -> None:
    # Guards the transcription above: the seed's YAML parses to the same demo-app objects.
    seed = seed_text
    start = seed.index("# demo-app.yaml")
    end = seed.index("type: ClusterIP그리고")
    docs = [d for d in yaml.safe_load_all(seed[start:end] + "type: ClusterIP\n") if d]
    assert docs == TUTORIAL[:4]


def test_controller_namespace_and_service_account() -> None:
    ns, sa = controller_namespace(), controller_service_account()
    assert ns["metadata"]["name"] == CONTROLLER_NAMESPACE == "aws-application-networking-system"
    assert sa["metadata"] == {"name": CONTROLLER_SERVICE_ACCOUNT, "namespace": CONTROLLER_NAMESPACE}
    # Pod Identity, not IRSA: no role annotation.
    assert "annotations" not in sa["metadata"]


def test_gateway_class_points_at_the_controller() -> None:
    assert gateway_class()["spec"]["controllerName"] == CONTROLLER_NAME


def test_gateway_is_named_after_the_service_network() -> None:
    cfg = parse_context({"serviceNetworkName": "prod-sn"}, today=TODAY)
    gw = gateway(cfg)
    assert gw["metadata"] == {"name": "prod-sn", "namespace": "default"}
    assert route_object(cfg, cfg.routes[0])["spec"]["parentRefs"] == [{"name": "prod-sn", "sectionName": "http"}]


# -------------------------------------------------------------------------------------- rich config


def _by_key(cfg: AppConfig) -> dict[str, Obj]:
    return {_key(o): o for o in workload_objects(cfg)}


def test_rich_config_namespaces_and_parent_refs() -> None:
    objs = _by_key(rich_config())
    assert "Namespace/-/shop" in objs
    assert "Namespace/-/default" not in objs
    shop_route = objs[f"HTTPRoute/shop/shop-route-{route_digest('eks-demo', 'shop.example.com')}"]
    assert shop_route["spec"]["parentRefs"] == [{"name": "demo-sn", "sectionName": "http", "namespace": "default"}]
    demo_route = objs[f"HTTPRoute/default/demo-http-route-{route_digest('eks-demo', 'api.example.com')}"]
    assert demo_route["spec"]["parentRefs"] == [{"name": "demo-sn", "sectionName": "http"}]
    assert objs["TargetGroupPolicy/shop/tg-policy-shop-v1"]["spec"]["targetRef"] == {
        "group": "",
        "kind": "Service",
        "name": "shop-v1",
    }


def test_rich_config_route_matches_and_weights() -> None:
    route = _by_key(rich_config())[f"HTTPRoute/shop/shop-route-{route_digest('eks-demo', 'shop.example.com')}"]
    assert route["spec"]["hostnames"] == ["shop.example.com"]
    first, second = route["spec"]["rules"]
    assert first == {
        "matches": [
            {
                "path": {"type": "Exact", "value": "/checkout"},
                "headers": [
                    {"type": "Exact", "name": "x-canary", "value": "true"},
                    {"type": "Exact", "name": "x-tenant", "value": "t1"},
                ],
                "method": "POST",
            }
        ],
        "backendRefs": [
            {"kind": "Service", "name": "shop-v1", "port": 80, "weight": 90},
            {"kind": "Service", "name": "shop-v2", "port": 80, "weight": 10},
        ],
    }
    assert second == {
        "matches": [{"path": {"type": "PathPrefix", "value": "/"}}],
        "backendRefs": [{"kind": "Service", "name": "shop-v1", "port": 80}],
    }


def test_rich_config_health_check_resources_and_env() -> None:
    cfg = rich_config()
    shop = cfg.app("shop-v1")
    assert target_group_policy(shop)["spec"]["healthCheck"] == {
        "enabled": True,
        "path": "/healthz",
        "port": 8081,
        "protocol": "HTTP",
        "protocolVersion": "HTTP2",
        "intervalSeconds": 30,
        "timeoutSeconds": 10,
        "healthyThresholdCount": 2,
        "unhealthyThresholdCount": 5,
    }
    (container,) = deployment(shop)["spec"]["template"]["spec"]["containers"]
    assert container["resources"] == {
        "requests": {"cpu": "100m", "memory": "128Mi"},
        "limits": {"cpu": "1", "memory": "256Mi"},
    }
    # Without HOST, the builder's PORT and POD lead; PORT follows containerPort.
    assert [e["name"] for e in container["env"]] == ["PORT", "POD", "MODE"]
    assert container["env"][0] == {"name": "PORT", "value": "8081"}
    assert container["readinessProbe"]["httpGet"] == {"path": "/healthz", "port": 8081}
    assert container["ports"] == [{"containerPort": 8081}]


@pytest.mark.parametrize("make", CONFIGS.values(), ids=CONFIGS.keys())
def test_apply_order(make: Any) -> None:
    keys = [_key(o) for o in workload_objects(make(), identities=WHO)]
    kinds = [k.split("/")[0] for k in keys]
    # Namespaces before anything in them; the Gateway API chain in reference order; routes last.
    last_ns = max((i for i, k in enumerate(kinds) if k == "Namespace"), default=-1)
    assert all(k == "Namespace" for k in kinds[: last_ns + 1])
    assert kinds.index("GatewayClass") < kinds.index("Gateway") < kinds.index("HTTPRoute")
    assert max(i for i, k in enumerate(kinds) if k in {"Deployment", "Service", "TargetGroupPolicy"}) < kinds.index(
        "GatewayClass"
    )
    assert all(k in {"HTTPRoute", "IAMAuthPolicy"} for k in kinds[kinds.index("HTTPRoute") :])
    assert len(keys) == len(set(keys))


# ------------------------------------------------------------------------------------------ hardening


@pytest.mark.parametrize("make", CONFIGS.values(), ids=CONFIGS.keys())
def test_every_deployment_is_hardened(make: Any) -> None:
    cfg = make()
    deployments = [o for o in workload_objects(cfg) if o["kind"] == "Deployment"]
    assert len(deployments) == len(cfg.apps)
    for dep in deployments:
        app = cfg.app(dep["metadata"]["name"])
        pod = dep["spec"]["template"]["spec"]
        assert pod["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}
        assert pod["terminationGracePeriodSeconds"] == TERMINATION_GRACE_SECONDS >= 150
        for container in pod["containers"]:
            sc = container["securityContext"]
            assert sc["allowPrivilegeEscalation"] is False
            assert sc["capabilities"] == {"drop": ["ALL"]}
            assert sc["seccompProfile"] == {"type": "RuntimeDefault"}
            assert container["resources"]["requests"] == {
                "cpu": app.resources.cpu_request,
                "memory": app.resources.memory_request,
            }
            assert container["resources"]["limits"] == {
                "cpu": app.resources.cpu_limit,
                "memory": app.resources.memory_limit,
            }
            # The preStop sleep must end well inside the grace period.
            sleep = container["lifecycle"]["preStop"]["sleep"]["seconds"]
            assert sleep == PRE_STOP_SLEEP_SECONDS < TERMINATION_GRACE_SECONDS
        # Deliberately absent: the tutorial's image may run as root.
        assert "runAsNonRoot" not in repr(dep)


# ----------------------------------------------------------------------------------------- validation


@pytest.mark.parametrize(("cfg", "obj"), [c[1:] for c in ALL_OBJECTS], ids=[c[0] for c in ALL_OBJECTS])
def test_object_validates(cfg: AppConfig, obj: Obj, crd_root: Path) -> None:
    validate_object(obj, crd_root=crd_root, kubernetes_version=cfg.kubernetes_version)


@pytest.mark.parametrize("version", EKS_VERSIONS)
def test_core_objects_validate_on_every_supported_kubernetes_version(version: str) -> None:
    # preStop's sleep action, for one, must be known to the oldest version the config accepts.
    for obj in [controller_namespace(), controller_service_account(), *workload_objects(rich_config())]:
        if obj["apiVersion"] in {"v1", "apps/v1"}:
            validate_core(obj, version)


def test_target_group_policy_uses_the_served_storage_version(crd_root: Path) -> None:
    path = crd_root / "aws-gateway-controller-v2.1.3" / "application-networking.k8s.aws_targetgrouppolicies.yaml"
    crd = yaml.safe_load(path.read_text())
    version = TARGET_GROUP_POLICY_API_VERSION.split("/")[1]
    (entry,) = [v for v in crd["spec"]["versions"] if v["name"] == version]
    assert entry["served"]
    assert entry["storage"]


# Each mutation breaks one rule the API server enforces (kind, path, new value, failing JSON-schema keyword);
# the validators must notice, for the stated reason.
_DELETE = object()
_PATH = "spec.rules.0.matches.0"
_CONTAINER = "spec.template.spec.containers.0"
_TOO_MANY_HEADERS = [{"name": f"x-h{i}", "value": "v"} for i in range(17)]  # the CRD's maxItems is 16

CUSTOM_BREAKAGES: dict[str, tuple[str, str, Any, str]] = {
    "tgp interval below 5": ("TargetGroupPolicy", "spec.healthCheck.intervalSeconds", 1, "minimum"),
    "tgp threshold above 10": ("TargetGroupPolicy", "spec.healthCheck.unhealthyThresholdCount", 11, "maximum"),
    "tgp health protocol": ("TargetGroupPolicy", "spec.healthCheck.protocol", "TCP", "enum"),
    "tgp without targetRef": ("TargetGroupPolicy", "spec.targetRef", _DELETE, "required"),
    "tgp targetRef kind": ("TargetGroupPolicy", "spec.targetRef.kind", "9Service", "pattern"),
    "tgp unknown field": ("TargetGroupPolicy", "spec.healthcheck", {}, "additionalProperties"),
    "route regex path type": ("HTTPRoute", f"{_PATH}.path.type", "Regex", "enum"),
    "route too many headers": ("HTTPRoute", f"{_PATH}.headers", _TOO_MANY_HEADERS, "maxItems"),
    "route header name": ("HTTPRoute", f"{_PATH}.headers", [{"name": "bad header", "value": "v"}], "pattern"),
    "route method": ("HTTPRoute", f"{_PATH}.method", "FETCH", "enum"),
    "route weight range": ("HTTPRoute", "spec.rules.0.backendRefs.0.weight", 1_000_001, "maximum"),
    "route hostname": ("HTTPRoute", "spec.hostnames", ["API_example.com"], "pattern"),
    "route parentRef typo": ("HTTPRoute", "spec.parentRefs.0.sectioName", "http", "additionalProperties"),
    "gateway listener typo": ("Gateway", "spec.listeners.0.alowedRoutes", {}, "additionalProperties"),
    "gateway protocol": ("Gateway", "spec.listeners.0.protocol", "http/1.1", "pattern"),
    "gateway without class": ("Gateway", "spec.gatewayClassName", _DELETE, "required"),
    "gatewayclass controller": ("GatewayClass", "spec.controllerName", "no-domain", "pattern"),
    "uppercase name": ("HTTPRoute", "metadata.name", "Demo", "pattern"),
}

CORE_BREAKAGES: dict[str, tuple[str, str, Any, str]] = {
    "unknown container field": ("Deployment", f"{_CONTAINER}.imagePullPolicyy", "Always", "additionalProperties"),
    "replicas as text": ("Deployment", "spec.replicas", "two", "type"),
    "container without name": ("Deployment", f"{_CONTAINER}.name", _DELETE, "required"),
    "preStop sleep as text": ("Deployment", f"{_CONTAINER}.lifecycle.preStop.sleep.seconds", "60", "type"),
    "service port as text": ("Service", "spec.ports.0.port", "eighty", "type"),
    "service port missing": ("Service", "spec.ports.0.port", _DELETE, "required"),
    "uppercase name": ("Service", "metadata.name", "Demo", "pattern"),
}


def _mutated(kind: str, path: str, value: Any) -> tuple[Obj, Obj]:
    """The default config's first object of `kind`, and a copy with `path` set to `value` (or deleted)."""
    original = next(o for o in workload_objects(default_config()) if o["kind"] == kind)
    obj = copy.deepcopy(original)
    *parents, last = path.split(".")
    node: Any = obj
    for part in parents:
        node = node[int(part)] if part.isdigit() else node[part]
    if value is _DELETE:
        del node[last]
    else:
        node[last] = value
    return original, obj


@pytest.mark.parametrize("case", CUSTOM_BREAKAGES)
def test_custom_validation_can_fail(case: str, crd_root: Path) -> None:
    kind, path, value, keyword = CUSTOM_BREAKAGES[case]
    original, broken = _mutated(kind, path, value)
    validate_custom(original, crd_root)
    with pytest.raises(jsonschema.ValidationError) as err:
        validate_custom(broken, crd_root)
    assert err.value.validator == keyword


@pytest.mark.parametrize("case", CORE_BREAKAGES)
def test_core_validation_can_fail(case: str) -> None:
    kind, path, value, keyword = CORE_BREAKAGES[case]
    original, broken = _mutated(kind, path, value)
    validate_core(original, "1.35")
    with pytest.raises(jsonschema.ValidationError) as err:
        validate_core(broken, "1.35")
    assert err.value.validator == keyword


@pytest.mark.parametrize(
    ("api_version", "kind"),
    [
        ("application-networking.k8s.aws/v1alpha2", "TargetGroupPolicy"),
        ("gateway.networking.k8s.io/v1alpha2", "TLSRoute"),  # present in the CRD but no longer served
        ("gateway.networking.k8s.io/v1", "UDPRoute"),  # experimental channel only
    ],
)
def test_unserved_versions_are_rejected(api_version: str, kind: str, crd_root: Path) -> None:
    with pytest.raises(SchemaNotFoundError):
        validate_custom({"apiVersion": api_version, "kind": kind, "metadata": {"name": "x"}}, crd_root)


def test_kubernetes_validate_is_strict() -> None:
    # The core validator must reject unknown fields; otherwise the tests above prove little.
    _, svc = _mutated("Service", "spec.portz", [])
    with pytest.raises(kubernetes_validate.ValidationError):
        validate_core(svc, "1.35")


def test_the_signing_sidecar_listens_on_loopback_with_no_probe_and_no_declared_port() -> None:
    """aws-sigv4-proxy's `--port` is its listen address (default ":8080", every interface) and it serves no
    endpoint of its own (tests/test_pod_containers.py has the sources and the class tests)."""
    cfg = rich_config()
    pod = deployment(cfg.app("shop-v1"), signing_region="ap-northeast-2")["spec"]["template"]["spec"]
    (sidecar,) = pod["initContainers"]
    assert sidecar["args"][sidecar["args"].index("--port") + 1] == f"127.0.0.1:{SIGNING_SIDECAR_PORT}"
    assert sidecar["args"].count("--port") == 1 and not any(a.startswith("--port=") for a in sidecar["args"])
    assert not {"ports", "readinessProbe", "livenessProbe", "startupProbe"} & set(sidecar)
    (app,) = pod["containers"]
    assert app["ports"] == [{"containerPort": 8081}] != [{"containerPort": SIGNING_SIDECAR_PORT}]
