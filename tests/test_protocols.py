"""HTTPS, gRPC and TLS passthrough routes (issue 26): the config refuses what a protocol cannot carry, naming the
key; the Gateway's listeners follow from the routes and every route attaches to one that admits it; every object
validates against the pinned CRDs (schemas and CEL rules); the smoke checks keep the contract the smoke Lambda
reads; examples/all-protocols.json synthesizes clean under cdk-nag and cfn-lint (checkov: tests/test_checkov.py)."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import aws_cdk as cdk
import pytest
import yaml
from constructs.dns.records import route_resource
from constructs.smoke.checks import ca_bundle_files, smoke_checks
from constructs.workload.apps import target_group_policy
from constructs.workload.manifests import workload_objects
from constructs.workload.routes import CERTIFICATE_ARN_OPTION, gateway, route_object
from k8s_schemas import validate_object

import config.model
from config import AppConfig, ConfigError, parse_context
from config.access_policy import Identities
from config.limits import MAX_ROUTES
from config.model import MAX_GATEWAY_LISTENERS, ROUTE_KINDS, certificate_arns
from stacks.gateway_stack import GatewayStack
from tests.conftest import PROTOCOLS_CERTIFICATE, Synthesized, protocols_context
from tests.crd_rules import violations
from tests.support import docs, scans
from tests.support.egress import egress_rules

TODAY = dt.date(2026, 11, 28)
EXAMPLE = Path(__file__).resolve().parent.parent / "examples" / "all-protocols.json"
IDENTITIES = Identities(
    account="111111111111",
    smoke_role_arn="arn:aws:iam::111111111111:role/smoke",
    client_host_role_arn="arn:aws:iam::111111111111:role/client",
    vpc_ids=("vpc-0123456789abcdef0",),
)


def parse(**overrides: Any) -> AppConfig:
    return parse_context({k: v if isinstance(v, str) else json.dumps(v) for k, v in overrides.items()}, today=TODAY)


def example() -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(EXAMPLE.read_text())
    return loaded


def example_config() -> AppConfig:
    return parse_context(protocols_context(), today=TODAY)


APP = {"name": "web", "image": "nginx:1.27", "containerPort": 80, "healthPath": "/"}
GRPC_APP = {**APP, "name": "grpc", "containerPort": 5000}
TLS_APP = {**APP, "name": "tls", "containerPort": 8443}


def _route(name: str, protocol: str, **more: Any) -> dict[str, Any]:
    health = {"grpcService": "grpc.health.v1.Health", "backends": [{"app": "grpc"}]}
    rules: dict[str, list[dict[str, Any]]] = {"TLS": [{"backends": [{"app": "tls"}]}], "GRPC": [health]}
    route: dict[str, Any] = {"name": name, "protocol": protocol, "hostname": f"{name}.example.com"}
    route["rules"] = rules.get(protocol, [{"pathPrefix": "/", "backends": [{"app": "web"}]}])
    if protocol == "TLS":
        route["access"] = {"unsigned": True}
    return {**route, **more}


def config_of(*routes: dict[str, Any], **more: Any) -> dict[str, Any]:
    return {"apps": [APP, GRPC_APP, TLS_APP], "routes": list(routes), **more}


# ------------------------------------------------------------------------------------------ bad input

CERT = "arn:aws:acm:us-east-1:111111111111:certificate/0123abcd-0000-4000-8000-00000000cafe"
BAD: list[tuple[dict[str, Any], str]] = [
    # certificateArn belongs to a listener that terminates TLS (controller docs/guides/https.md).
    (config_of(_route("a", "HTTP", certificateArn=CERT)), "routes[0].certificateArn: is for HTTPS and GRPC routes"),
    (config_of(_route("a", "TLS", certificateArn=CERT)), "routes[0].certificateArn: is for HTTPS and GRPC routes"),
    (config_of(_route("a", "HTTPS", certificateArn="arn:aws:acm:us-east-1:1:certificate/x")), "not an ACM certificate"),
    (config_of(_route("a", "HTTPS", certificateArn=CERT.replace(":acm:", ":iam:"))), "not an ACM certificate"),
    # A TLS listener has only the default rule (VPC Lattice User Guide, TLS listeners).
    (
        config_of(_route("a", "TLS", rules=[{"pathPrefix": "/x", "backends": [{"app": "tls"}]}])),
        "routes[0].rules[0].pathPrefix: a TLS listener has only the default rule",
    ),
    (
        config_of(_route("a", "TLS", rules=[{"headers": [{"name": "x", "value": "1"}], "backends": [{"app": "tls"}]}])),
        "routes[0].rules[0].headers: a TLS listener has only the default rule",
    ),
    (
        config_of(_route("a", "TLS", rules=[{"backends": [{"app": "tls"}]}, {"backends": [{"app": "tls"}]}])),
        "routes[0].rules: 2 rules; a TLS route has exactly one",
    ),
    # gRPC matches exist on GRPCRoute only; a GRPCRoute has no path or HTTP method match (Gateway API v1.5.1).
    (
        config_of(_route("a", "HTTP", rules=[{"grpcService": "a.B", "backends": [{"app": "web"}]}])),
        "routes[0].rules[0].grpcService: is a gRPC match (GRPCRoute); this route's protocol is HTTP",
    ),
    (
        config_of(
            _route("a", "HTTPS", rules=[{"grpcMethod": "M", "grpcService": "a.B", "backends": [{"app": "web"}]}])
        ),
        "routes[0].rules[0].grpcMethod: is a gRPC match",
    ),
    (
        config_of(_route("a", "GRPC", rules=[{"pathPrefix": "/a", "backends": [{"app": "grpc"}]}])),
        "routes[0].rules[0].pathPrefix: a GRPCRoute matches gRPC services and methods",
    ),
    (
        config_of(_route("a", "GRPC", rules=[{"grpcMethod": "M", "backends": [{"app": "grpc"}]}])),
        "routes[0].rules[0].grpcMethod: needs grpcService",
    ),
    # Controller v2.1.3 reads a GRPCRoute match's method without a nil check (model_build_rule.go 205-210).
    (
        config_of(
            _route("a", "GRPC", rules=[{"headers": [{"name": "x", "value": "1"}], "backends": [{"app": "grpc"}]}])
        ),
        "routes[0].rules[0].headers: needs grpcService on a GRPC route",
    ),
    (
        config_of(_route("a", "GRPC", rules=[{"grpcService": "1x", "backends": [{"app": "grpc"}]}])),
        "not a gRPC service",
    ),
    (
        config_of(_route("a", "GRPC", rules=[{"grpcService": "a" * 199, "backends": [{"app": "grpc"}]}])),
        "routes[0].rules[0].grpcService: /" + "a" * 199 + "/ (the Lattice path it becomes) is longer",
    ),
    # One hostname, two protocols: two Lattice services with one custom domain name (unique per network).
    (
        config_of(_route("a", "HTTP"), _route("b", "HTTPS", hostname="a.example.com")),
        "routes[1].hostname: 'a.example.com' is already default/a's (HTTP); in this app a route has one protocol",
    ),
    # TLS listeners read no identities (VPC Lattice User Guide, TLS listeners).
    (
        config_of(_route("a", "TLS", access={"allow": [{"clientHost": True}]})),
        "routes[0].access.allow: names callers on a TLS route; a TLS (passthrough) listener cannot read identities",
    ),
    (
        config_of(_route("a", "TLS", access=None)),
        'routes[0].access: must be {"unsigned": true} on a TLS route under AWS_IAM',
    ),
    # Keys of one protocol on another.
    (config_of(_route("a", "HTTPS", port=8443)), "routes[0].port: is for TLS routes only"),
    (config_of(_route("a", "HTTP", caBundle="tests/support/test-ca.pem")), "routes[0].caBundle: is for HTTPS"),
    (config_of(_route("a", "HTTPS", expectSubject="x")), "routes[0].expectSubject: is for TLS routes only"),
    (config_of(_route("a", "HTTPS", caBundle="nope.pem")), "routes[0].caBundle: 'nope.pem' is not a file"),
    (config_of(_route("a", "HTTPS", caBundle="README.md.pem")), "is not a file"),
    (config_of(_route("a", "HTTPS", caBundle="a/../x.pem")), "routes[0].caBundle: 'a/../x.pem' leaves the project"),
    (config_of(_route("a", "HTTPS", caBundle="pyproject.toml")), "is not a relative path of a .pem file"),
    # One TargetGroupPolicy per Service: an app backs routes of one target kind.
    (
        config_of(_route("a", "HTTP"), _route("b", "TLS", rules=[{"backends": [{"app": "web"}]}])),
        "apps[0].name: backs routes whose target groups differ",
    ),
    # The signing sidecar forwards HTTP/1.1 with one scheme.
    (
        config_of(_route("a", "GRPC"), apps=[{**APP, "calls": ["a"]}, GRPC_APP, TLS_APP]),
        "apps[0].calls: calls routes of protocol GRPC",
    ),
    (
        config_of(_route("a", "HTTP"), _route("b", "HTTPS"), apps=[{**APP, "calls": ["a", "b"]}, GRPC_APP, TLS_APP]),
        "apps[0].calls: calls routes of protocol HTTP, HTTPS",
    ),
    (config_of(_route("a", "QUIC")), "routes[0].protocol"),
]


@pytest.mark.parametrize(("overrides", "expected"), BAD, ids=[e[:60] for _, e in BAD])
def test_bad_input_is_refused_naming_the_key(overrides: dict[str, Any], expected: str) -> None:
    with pytest.raises(ConfigError) as refused:
        parse(**overrides)
    assert any(expected in line for line in refused.value.lines), refused.value.lines


def _stack(account: str | None, region: str | None) -> cdk.Stack:
    env = None if account is None and region is None else cdk.Environment(account=account, region=region)
    return cdk.Stack(cdk.App(), "S", env=env)


def test_every_certificate_arn_a_config_holds_is_checked_against_the_stacks_account_and_region() -> None:
    """Every ACM ARN in the configuration (found by value: routes with their own certificate, two of them here),
    moved in turn to another account and to another region, is refused naming its key once the stack's account or
    region is known, and accepted in its own or where neither is known (Lattice takes a certificate of its own
    region, service-byoc.html; ACM shares none across accounts)."""
    home = ("111111111111", "us-east-1")
    routes = [
        _route("a", "HTTPS", certificateArn=CERT),
        _route("b", "GRPC", certificateArn=CERT.replace("cafe", "beef")),
    ]
    cfg = parse(**config_of(*routes))
    found = certificate_arns(cfg)
    assert [k for k, _ in found] == ["routes[0].certificateArn", "routes[1].certificateArn"]
    assert len(found) == json.dumps(cfg.model_dump(by_alias=True)).count('"arn:aws:acm:')
    for env in (home, (home[0], None), (None, home[1]), (None, None)):
        GatewayStack._certificates_in_environment(_stack(*env), cfg)  # type: ignore[arg-type]
    for i, (key, arn) in enumerate(found):
        for what, elsewhere in (
            ("account", arn.replace(home[0], "999999999999")),
            ("region", arn.replace(home[1], "eu-west-1")),
        ):
            moved = [dict(r) for r in routes]
            moved[i]["certificateArn"] = elsewhere
            cfg_moved = parse(**config_of(*moved))
            with pytest.raises(ConfigError) as refused:
                GatewayStack._certificates_in_environment(_stack(*home), cfg_moved)  # type: ignore[arg-type]
            assert refused.value.lines[0].startswith(f"{key}: '{elsewhere}' is in {what} "), refused.value.lines
            # The other half of the environment unknown: that half is not checked.
            other = (home[0], None) if what == "region" else (None, home[1])
            GatewayStack._certificates_in_environment(_stack(*other), cfg_moved)  # type: ignore[arg-type]


PRIVATE = _route("p", "HTTPS", caBundle="tests/support/test-ca.pem")
CALLER_SHAPES: dict[str, tuple[dict[str, Any], str]] = {
    "calls": (config_of(PRIVATE, apps=[{**APP, "calls": ["p"]}, GRPC_APP, TLS_APP]), "apps[0].calls[0]"),
    "allow": (
        config_of({**PRIVATE, "access": {"allow": [{"clientHost": True}, {"app": "web"}]}}),
        "routes[0].access.allow[1]",
    ),
    "neither": (config_of(PRIVATE), ""),
    "public certificate": (config_of(_route("p", "HTTPS"), apps=[{**APP, "calls": ["p"]}, GRPC_APP, TLS_APP]), ""),
}


@pytest.mark.parametrize("shape", list(CALLER_SHAPES))
def test_every_certificate_a_routes_client_must_trust_is_in_that_clients_environment(shape: str) -> None:
    """The clients of a route: its calling apps (through the signing sidecar, aws-sigv4-proxy, whose image holds
    public roots only) and the smoke test (the caBundle ships beside its handler). A config is accepted only if
    every client of a route with a private CA has that CA: so no app calls such a route, and the smoke check of the
    route names a bundle that ships; else it is refused naming the app's calls or allow entry."""
    overrides, refused_at = CALLER_SHAPES[shape]
    if refused_at:
        with pytest.raises(ConfigError) as refused:
            parse(**overrides)
        assert refused.value.lines[0].startswith(f"{refused_at}: web would call default/p"), refused.value.lines
        return
    cfg = parse(**overrides)
    shipped = ca_bundle_files(cfg)
    for route in cfg.routes:
        if route.ca_bundle is None:
            continue
        assert not [a for a in cfg.calling_apps if a in cfg.callers(route)]  # the sidecar has public roots only
        checks = [c for c in smoke_checks(cfg) if c["route"] == f"{route.namespace}/{route.name}"]
        assert checks and all(c.get("caBundle") in shipped for c in checks), (checks, shipped.keys())


PROTOCOLS = sorted(set(ROUTE_KINDS))


@pytest.mark.parametrize(("first", "second"), [(a, b) for a in PROTOCOLS for b in PROTOCOLS if a != b])
def test_one_hostname_on_two_protocols_is_refused_for_this_apps_reason(first: str, second: str) -> None:
    """Every pair of protocols on one hostname: refused naming the key, for this app's one-protocol-per-route model
    (Lattice itself can carry HTTP:80 and HTTPS:443 on one service: controller v2.1.3 docs/guides/https.md attaches
    one HTTPRoute to both listeners), never for a claim that Lattice cannot."""
    second_route = _route("b", second, hostname="a.example.com")
    with pytest.raises(ConfigError) as refused:
        parse(**config_of(_route("a", first), second_route))
    (line,) = [x for x in refused.value.lines if x.startswith("routes[1].hostname:")]
    assert f"is already default/a's ({first}); in this app a route has one protocol" in line
    assert f"serve {second} on another hostname" in line


def test_the_listener_cap_is_the_gateway_crds(reference_dir: Path) -> None:
    """MAX_GATEWAY_LISTENERS is spec.listeners' maxItems in every served version of the pinned Gateway CRD."""
    crd = yaml.safe_load(
        (reference_dir / "crds" / "gateway-api-v1.5.1" / "gateway.networking.k8s.io_gateways.yaml").read_text()
    )
    limits = {
        v["schema"]["openAPIV3Schema"]["properties"]["spec"]["properties"]["listeners"]["maxItems"]
        for v in crd["spec"]["versions"]
        if v["served"]
    }
    assert limits == {MAX_GATEWAY_LISTENERS}


@pytest.mark.parametrize("protocol", ["TLS", "HTTPS", "GRPC"])
def test_more_listeners_than_a_gateway_holds_are_refused_naming_the_key(
    protocol: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Each kind of route that adds a listener of its own (a TLS port, an HTTPS or gRPC hostname with a
    certificate): up to the cap the config is accepted and the Gateway has exactly that many listeners; one more
    is refused at the route that needs it.

    With routes at most MAX_ROUTES (config/limits.py, issue 24's maxima) no accepted configuration reaches the
    CRD's 64 listeners today: the check stays for a raised maximum, and is exercised here with the cap lowered to
    what MAX_ROUTES routes can pass."""
    assert MAX_ROUTES + 1 <= MAX_GATEWAY_LISTENERS  # unreachable today (one listener per route, plus HTTP's)
    cap = MAX_ROUTES - 1
    monkeypatch.setattr(config.model, "MAX_GATEWAY_LISTENERS", cap)

    def route(n: int) -> dict[str, Any]:
        more = {"port": 1000 + n} if protocol == "TLS" else {"certificateArn": CERT}
        return _route(f"r{n}", protocol, **more)

    # The HTTP route's listener is the first: the cap leaves cap - 1 for the others.
    fits = [_route("h", "HTTP"), *(route(n) for n in range(cap - 1))]
    cfg = parse(**config_of(*fits))
    assert len(gateway(cfg)["spec"]["listeners"]) == cap
    with pytest.raises(ConfigError) as refused:
        parse(**config_of(*fits, route(cap)))
    key = "port" if protocol == "TLS" else "certificateArn"
    assert refused.value.lines[0].startswith(f"routes[{cap}].{key}: needs listener {cap + 1} of the Gateway")


GRPC_RULE_KEYS: dict[str, Any] = {
    "grpcService": "a.B",
    "grpcMethod": "M",
    "headers": [{"name": "x-team", "value": "1"}],
}


@pytest.mark.parametrize(
    "keys",
    [tuple(k for i, k in enumerate(GRPC_RULE_KEYS) if mask >> i & 1) for mask in range(2 ** len(GRPC_RULE_KEYS))],
)
def test_every_grpc_rule_the_model_accepts_names_a_service_in_every_match(keys: tuple[str, ...]) -> None:
    """Every shape of gRPC rule (each subset of its match keys): accepted only if each match of the GRPCRoute it
    becomes has method.service, or it has no matches (the default rule). Controller v2.1.3's rule builder reads the
    match's method without a nil check (pkg/gateway/model_build_rule.go lines 205-210, read 2026-12-05)."""
    rule = {**{k: GRPC_RULE_KEYS[k] for k in keys}, "backends": [{"app": "grpc"}]}
    try:
        cfg = parse(**config_of(_route("a", "GRPC", rules=[rule])))
    except ConfigError:
        return
    (built,) = route_object(cfg, cfg.routes[0])["spec"]["rules"]
    assert all(m.get("method", {}).get("service") for m in built.get("matches", [])), built


def test_good_input_of_every_protocol_is_accepted() -> None:
    cfg = parse(
        **config_of(
            _route("a", "HTTP", rules=[{"backends": [{"app": "web"}]}]),
            _route("b", "HTTPS", certificateArn=CERT, caBundle="tests/support/test-ca.pem"),
            _route("c", "GRPC", rules=[{"grpcService": "a.B", "grpcMethod": "M", "backends": [{"app": "grpc"}]}]),
            _route("d", "TLS", port=8443, expectSubject="d.example.com"),
            _route("e", "TLS"),
        )
    )
    assert [r.protocol for r in cfg.routes] == ["HTTP", "HTTPS", "GRPC", "TLS", "TLS"]


def test_tls_routes_under_none_need_no_access() -> None:
    parse(**config_of(_route("a", "TLS", access=None), serviceNetworkAuthType="NONE"))


# ------------------------------------------------------------------------------ the default is unchanged


def test_the_default_config_dumps_and_renders_as_before_the_protocols() -> None:
    """New keys stay out of the dumps digests are made of (producer inputs, metric ids) while unset, and the
    Gateway keeps the tutorial's one listener."""
    cfg = parse_context({}, today=TODAY)
    dumped = cfg.model_dump(mode="json", by_alias=True, warnings=False)
    for route in dumped["routes"]:
        assert not {"protocol", "certificateArn", "port", "caBundle", "expectSubject"} & set(route)
        assert not any({"grpcService", "grpcMethod"} & set(rule) for rule in route["rules"])
    assert not any("args" in app for app in dumped["apps"])
    assert [listener["name"] for listener in gateway(cfg)["spec"]["listeners"]] == ["http"]


# ------------------------------------------------------------------------------ listeners and attachment

CONFIGS = {
    "example": example_config,
    "every-listener": lambda: parse(
        **config_of(
            _route("a", "HTTP"),
            _route("b", "HTTPS"),
            _route("c", "HTTPS", certificateArn=CERT),
            _route("d", "GRPC", certificateArn=CERT),
            _route("e", "GRPC"),
            _route("f", "TLS"),
            _route("g", "TLS", port=8443),
            apps=[APP, GRPC_APP, TLS_APP, {**APP, "name": "web2"}],
        )
    ),
    "no-http": lambda: parse(**config_of(_route("a", "GRPC"), _route("b", "TLS", port=9443))),
}


@pytest.mark.parametrize("name", sorted(CONFIGS))
def test_every_route_attaches_to_a_listener_that_admits_it(name: str) -> None:
    cfg = CONFIGS[name]()
    listeners = {listener["name"]: listener for listener in gateway(cfg)["spec"]["listeners"]}
    used = set()
    for route in cfg.routes:
        obj = route_object(cfg, route)
        assert obj["kind"] == ROUTE_KINDS[route.protocol]
        (parent,) = obj["spec"]["parentRefs"]
        listener = listeners[parent["sectionName"]]
        used.add(parent["sectionName"])
        assert {"kind": obj["kind"], "group": "gateway.networking.k8s.io"} in listener["allowedRoutes"]["kinds"]
        assert listener["protocol"] == {"HTTP": "HTTP", "HTTPS": "HTTPS", "GRPC": "HTTPS", "TLS": "TLS"}[route.protocol]
        assert listener["port"] == route.listener_port
        if "hostname" in listener:
            assert listener["hostname"] == route.hostname
        if route.certificate_arn is not None:
            assert listener["tls"]["options"] == {CERTIFICATE_ARN_OPTION: route.certificate_arn}
        elif route.protocol in ("HTTPS", "GRPC"):
            assert "hostname" not in listener and listener["tls"]["mode"] == "Terminate"
        if route.protocol == "TLS":
            assert listener["tls"] == {"mode": "Passthrough"}
            assert [set(rule) for rule in obj["spec"]["rules"]] == [{"backendRefs"}]
    assert used == set(listeners), "a listener no route uses"


@pytest.mark.parametrize("name", sorted(CONFIGS))
def test_every_object_validates_against_the_pinned_crds_and_their_rules(name: str, reference_dir: Path) -> None:
    cfg = CONFIGS[name]()
    crd_root = reference_dir / "crds"
    found: list[str] = []
    for obj in workload_objects(cfg, identities=IDENTITIES):
        validate_object(obj, crd_root=crd_root, kubernetes_version=cfg.kubernetes_version)
        if "/" in obj["apiVersion"] and not obj["apiVersion"].startswith("apps/"):
            found += [f"{obj['kind']} {obj['metadata']['name']}: {v}" for v in violations(obj, crd_root)]
    assert found == []


def test_target_groups_follow_the_route_kind() -> None:
    """GRPC: protocol version GRPC; TLS: TCP without a protocolVersion (the controller refuses one) and without
    a health check the CRD cannot express; both disable Lattice's check and probe the pods by gRPC or TCP."""
    cfg = CONFIGS["every-listener"]()
    objects = {(o["kind"], o["metadata"]["name"]): o for o in workload_objects(cfg)}
    grpc = objects[("TargetGroupPolicy", "tg-policy-grpc")]["spec"]
    assert (grpc["protocol"], grpc["protocolVersion"], grpc["healthCheck"]) == ("HTTP", "GRPC", {"enabled": False})
    tcp = objects[("TargetGroupPolicy", "tg-policy-tls")]["spec"]
    assert tcp["protocol"] == "TCP" and "protocolVersion" not in tcp and tcp["healthCheck"] == {"enabled": False}
    assert objects[("TargetGroupPolicy", "tg-policy-web")]["spec"]["protocolVersion"] == "HTTP1"
    probes = {
        name: objects[("Deployment", name)]["spec"]["template"]["spec"]["containers"][0]["readinessProbe"]
        for name in ("web", "grpc", "tls")
    }
    assert "httpGet" in probes["web"] and probes["grpc"]["grpc"] == {"port": 5000}
    assert probes["tls"]["tcpSocket"] == {"port": 8443}
    assert target_group_policy(cfg.app("web"))["spec"]["protocol"] == "HTTP"


def test_auth_policies_target_the_route_kind_and_never_a_tls_route() -> None:
    """The v2.1.3 controller's IAMAuthPolicy takes Gateway, HTTPRoute and GRPCRoute targets only."""
    cfg = CONFIGS["every-listener"]()
    policies = [o for o in workload_objects(cfg, identities=IDENTITIES) if o["kind"] == "IAMAuthPolicy"]
    kinds = {p["spec"]["targetRef"]["name"].rsplit("-", 1)[0]: p["spec"]["targetRef"]["kind"] for p in policies}
    assert kinds == {"a": "HTTPRoute", "b": "HTTPRoute", "c": "HTTPRoute", "d": "GRPCRoute", "e": "GRPCRoute"}


# ------------------------------------------------------------------------------------------ smoke checks

HTTP_KEYS = {"name", "route", "caller", "method", "url", "expect"}
CONTRACT = {
    "HTTPS": HTTP_KEYS | {"protocol", "port", "host", "caBundle"},
    "GRPC": {"name", "route", "caller", "host", "protocol", "port", "tls", "caBundle", "grpcService"},
    "TLS": {"name", "route", "caller", "host", "protocol", "port", "sni", "expectSubject", "caBundle"},
}


def test_smoke_checks_keep_the_contract_of_each_protocol() -> None:
    """The check dicts the smoke Lambda runs (constructs/smoke/checks.py's docstring; agreed with its runner)."""
    cfg = CONFIGS["every-listener"]()
    checks = smoke_checks(cfg)
    by_route = {c["route"]: c for c in checks}
    for route in cfg.routes:
        check = by_route[f"default/{route.name}"]
        if route.protocol == "HTTP":
            assert "protocol" not in check and set(check) <= HTTP_KEYS | {"headers"}
            continue
        assert set(check) == CONTRACT[route.protocol], route.name
        assert (check["protocol"], check["port"], check["host"]) == (
            route.protocol,
            route.listener_port,
            route.hostname,
        )
        if route.protocol == "TLS":
            assert check["sni"] == route.hostname
        if route.protocol == "GRPC":
            assert check["tls"] is True and check["grpcService"] == ""
        if route.protocol == "HTTPS":
            assert check["url"].startswith(f"https://{route.hostname}/")


def test_a_grpc_route_whose_rules_cannot_route_the_health_call_gets_no_check() -> None:
    cfg = parse(**config_of(_route("a", "GRPC", rules=[{"grpcService": "a.B", "backends": [{"app": "grpc"}]}])))
    assert smoke_checks(cfg) == []
    health = [{"grpcService": "grpc.health.v1.Health", "grpcMethod": "Check", "backends": [{"app": "grpc"}]}]
    assert [c["grpcService"] for c in smoke_checks(parse(**config_of(_route("a", "GRPC", rules=health))))] == [""]


def test_the_ca_bundle_travels_beside_the_handler_under_the_name_the_check_gives() -> None:
    cfg = example_config()
    files = ca_bundle_files(cfg)
    (https,) = [c for c in smoke_checks(cfg) if c.get("protocol") == "HTTPS"][:1]
    assert https["caBundle"] in files and "BEGIN CERTIFICATE" in files[https["caBundle"]]


# ------------------------------------------------------------------------------ the example, synthesized


def test_the_example_is_the_one_the_protocols_page_shows() -> None:
    assert "examples/all-protocols.json" in docs.page("protocols.md").read_text()
    assert {r.get("protocol", "HTTP") for r in example()["routes"]} == {"HTTP", "HTTPS", "GRPC", "TLS"}


def test_example_synthesizes_without_cdk_nag_findings(protocols: Synthesized) -> None:
    report = protocols.validation_report
    assert report is not None, "cdk-nag did not run"
    assert [v["ruleName"] for p in report["pluginReports"] for v in p["violations"]] == []


@pytest.mark.parametrize("stack_name", ["EksLatticeGateway-Platform", "EksLatticeGateway-Gateway"])
def test_example_passes_cfn_lint(protocols: Synthesized, stack_name: str) -> None:
    from tests.test_compliance import CFN_LINT_IGNORES

    findings = scans.cfn_lint(Path(protocols.stacks[stack_name].template_full_path), regions=["ap-northeast-2"])
    assert [str(f) for f in findings if f.rule not in CFN_LINT_IGNORES] == []


def test_example_dns_records_read_each_route_kind(protocols: Synthesized) -> None:
    """The same CNAME for every protocol: each record reads its route's kind for the Lattice name."""
    records = [
        r["Properties"]
        for r in protocols.templates["EksLatticeGateway-Gateway"]["Resources"].values()
        if r["Type"] == "Custom::LatticeDnsRecord"
    ]
    cfg = protocols.config
    assert sorted(r["Hostname"] for r in records) == sorted(r.hostname for r in cfg.routes)
    expected = {r.hostname: route_resource(r) for r in cfg.routes}
    assert {r["Hostname"]: r.get("RouteResource", "httproutes") for r in records} == expected


def test_example_smoke_function_reaches_the_listener_ports(protocols: Synthesized) -> None:
    template = protocols.templates["EksLatticeGateway-Gateway"]
    ports = {e["FromPort"] for group, e in egress_rules(template) if "Smoke" in group}
    assert {80, 443} <= ports
    assert PROTOCOLS_CERTIFICATE in json.dumps(template)


def test_the_example_reaches_the_app_through_cdk_context_arguments() -> None:
    """tools/context_args.py turns the example into `-c key=value` words; the shell splits them back and the
    loader parses each value as the CLI delivers it (a string)."""
    import shlex

    from tools.context_args import context_args

    words = shlex.split(" ".join(context_args(EXAMPLE)))
    assert words[::2] == ["-c"] * (len(words) // 2)
    context = dict(word.split("=", 1) for word in words[1::2])
    assert set(context) == set(example())
    assert parse_context(context, today=TODAY).routes == parse(**example()).routes


def test_no_target_health_alarm_where_lattice_checks_no_health(protocols: Synthesized) -> None:
    """gRPC and TLS target groups have Lattice's health check off: their targets read UNAVAILABLE, never HEALTHY."""
    descriptions = [
        r["Properties"].get("AlarmDescription", "")
        for template in protocols.templates.values()
        for r in template["Resources"].values()
        if r["Type"] == "AWS::CloudWatch::Alarm"
    ]
    watched = [d for d in descriptions if "has no healthy Lattice target" in d]
    assert any("demo-app-a" in d for d in watched)
    assert not [d for d in watched if "grpc-health" in d or "tls-echo" in d]


def test_a_consumer_checks_only_the_grpc_and_tls_routes_that_admit_it() -> None:
    consumer = {"name": "team-b", "account": "222222222222", "vpcCidr": "10.3.0.0/16"}
    admitted = _route("g", "GRPC", access={"allow": [{"account": "222222222222"}]})
    cfg = parse(**config_of(admitted, _route("h", "GRPC"), _route("t", "TLS"), consumers=[consumer]))
    checks = smoke_checks(cfg, caller="consumer team-b", account="222222222222")
    assert [c["route"] for c in checks] == ["default/g"]
