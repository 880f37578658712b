"""The config object: defaults, `-c` parsing, the support calendar, and every bad input failing cleanly."""

from __future__ import annotations

import datetime as dt
import json
import re
from typing import Any

import pytest
from pydantic import ValidationError

from config import DEFAULTS, ConfigError, parse_context
from config.limits import MAX_APPS
from tests.conftest import TODAY, cdk_json_context


def parse(**overrides: Any) -> Any:
    return parse_context(overrides, today=TODAY)


def test_defaults_are_the_tutorials_values_with_spec_updates() -> None:
    cfg = parse()
    assert (cfg.cluster_name, cfg.kubernetes_version, cfg.cluster_vpc_cidr, cfg.client_vpc_cidr) == (
        "eks-demo",
        "1.35",
        "10.1.0.0/16",
        "10.2.0.0/16",
    )
    assert (cfg.node_instance_type, cfg.node_desired_size) == ("t3.medium", 2)
    assert (cfg.controller_chart_version, cfg.gateway_api_version) == ("v2.1.3", "v1.5.1")
    assert (cfg.service_network_name, cfg.service_network_auth_type, cfg.private_zone_name) == (
        "demo-sn",
        "AWS_IAM",
        "example.com",
    )
    assert [a.name for a in cfg.apps] == ["demo-app-a", "demo-app-b"]
    (route,) = cfg.routes
    assert (route.name, route.hostname) == ("demo-http-route", "api.example.com")
    assert [(r.path_type, r.path, r.backends[0].app) for r in route.rules] == [
        ("PathPrefix", "/v1", "demo-app-a"),
        ("PathPrefix", "/v2", "demo-app-b"),
    ]
    assert cfg.warnings == ()


def test_cdk_json_repeats_the_code_defaults() -> None:
    context = cdk_json_context()
    assert {k: context[k] for k in DEFAULTS} == DEFAULTS


def test_c_overrides_arrive_as_strings_and_are_json_decoded() -> None:
    cfg = parse(
        nodeDesiredSize="3",
        nodeMaxSize="4",
        latticeIpv6="true",
        clusterEndpointPublicCidrs='["8.8.4.0/24"]',
        clusterName="prod-1",
        kubernetesVersion="1.34",
    )
    assert (cfg.node_desired_size, cfg.lattice_ipv6, cfg.cluster_endpoint_public_cidrs) == (
        3,
        True,
        ("8.8.4.0/24",),
    )
    assert (cfg.cluster_name, cfg.kubernetes_version) == ("prod-1", "1.34")


def test_config_is_immutable() -> None:
    cfg = parse()
    with pytest.raises(ValidationError, match="frozen"):
        cfg.cluster_name = "x"
    with pytest.raises(ValidationError, match="frozen"):
        cfg.apps[0].health_check.timeout_seconds = 1


def test_extended_support_warns_once_with_the_cost() -> None:
    cfg = parse(kubernetesVersion="1.33")
    (warning,) = cfg.warnings
    assert "1.33" in warning and "extended support" in warning and "$0.60/h" in warning


def test_version_past_extended_support_is_refused() -> None:
    with pytest.raises(ConfigError, match=r"kubernetesVersion: 1\.32 left EKS extended support on 2027-03-23"):
        parse_context({"kubernetesVersion": "1.32"}, today=dt.date(2027, 3, 24))


def test_version_in_standard_support_has_no_warning() -> None:
    assert parse(kubernetesVersion="1.36").warnings == ()


def _route(**rule: Any) -> str:
    base = {"pathPrefix": "/v1", "backends": [{"app": "demo-app-a"}]}
    return json.dumps([{"name": "r", "hostname": "api.example.com", "rules": [{**base, **rule}]}])


def _app(**fields: Any) -> str:
    base = {"name": "demo-app-a", "image": "nginx:1.27", "containerPort": 80, "healthPath": "/"}
    return json.dumps([{**base, **fields}])


BAD_INPUTS: list[tuple[dict[str, Any], str]] = [
    ({"clusterVpcCidr": "10.1.0.0/33"}, "clusterVpcCidr: '10.1.0.0/33' is not an IPv4 CIDR"),
    ({"clusterVpcCidr": "10.1.0.1/16"}, "clusterVpcCidr: '10.1.0.1/16' is not an IPv4 CIDR"),
    ({"clusterVpcCidr": "banana"}, "clusterVpcCidr: 'banana' is not an IPv4 CIDR"),
    (
        {"clusterVpcCidr": "10.1.0.0/24"},
        "clusterVpcCidr: 10.1.0.0/24 is a /24; VPCs here need a prefix from /16 to /22",
    ),
    ({"clientVpcCidr": "10.2.0.0/28"}, "clientVpcCidr: 10.2.0.0/28 is a /28"),
    ({"clusterVpcCidr": "10.0.0.0/8"}, "clusterVpcCidr: 10.0.0.0/8 is a /8"),
    ({"clientVpcCidr": "8.8.0.0/16"}, "clientVpcCidr: 8.8.0.0/16 is not a private address range"),
    ({"kubernetesVersion": "1.29"}, "kubernetesVersion: '1.29' is not supported here"),
    ({"kubernetesVersion": "1.31"}, "kubernetesVersion: '1.31' is not supported here"),
    ({"serviceNetworkAuthType": "OPEN"}, "serviceNetworkAuthType: 'OPEN' is not one of NONE, AWS_IAM"),
    ({"clusterEndpointAccess": "PUBLIC"}, "clusterEndpointAccess: 'PUBLIC' is not one of"),
    ({"controllerLogLevel": "trace"}, "controllerLogLevel: 'trace' is not one of info, debug"),
    ({"routes": "[{"}, "routes: expected JSON (list)"),
    ({"nodeDesiredSize": "two"}, "nodeDesiredSize: expected JSON (int)"),
    ({"nodeDesiredSize": -1}, "nodeDesiredSize: -1 is out of range 1..100"),
    ({"nodeDesiredSize": 5}, "nodeDesiredSize: 5 must lie between nodeMinSize (1) and nodeMaxSize (3)"),
    ({"nodeDesiredSize": True}, "nodeDesiredSize: expected int, got true"),
    ({"nodeInstanceType": "t3medium"}, "nodeInstanceType: 't3medium' is not an EC2 instance type"),
    ({"clusterName": "eks demo"}, "clusterName: 'eks demo' is not a valid EKS cluster name"),
    ({"nodeGroupName": "-ng"}, "nodeGroupName: '-ng' is not a valid EKS node group name"),
    ({"nodeGroupName": "ng-"}, "nodeGroupName: 'ng-' is not a valid EKS node group name"),
    ({"nodeGroupName": "ng_"}, "nodeGroupName: 'ng_' is not a valid EKS node group name"),
    ({"nodeGroupName": "n" * 64}, "nodeGroupName: '" + "n" * 64 + "' is not a valid EKS node group name"),
    ({"serviceNetworkName": "Demo_SN"}, "serviceNetworkName: 'Demo_SN' is not a valid Lattice service network name"),
    ({"serviceNetworkName": "sn-demo"}, "serviceNetworkName: 'sn-demo' is not a valid Lattice"),
    ({"serviceNetworkName": "ab"}, "serviceNetworkName: 'ab' is not a valid Lattice"),
    ({"privateZoneName": "Example.COM"}, "privateZoneName: 'Example.COM' is not a valid lowercase DNS name"),
    ({"controllerChartVersion": "v1.1.4"}, "controllerChartVersion: 'v1.1.4' is not supported; known: v2.1.3"),
    ({"gatewayApiVersion": "v1.1.0"}, "gatewayApiVersion: 'v1.1.0' has no pinned CRD hashes"),
    ({"logRetentionDays": 10}, "logRetentionDays: 10 is not a CloudWatch retention period"),
    ({"dnsResyncMinutes": 2}, "dnsResyncMinutes: 2 must be 0 (off) or 5..1440"),
    ({"dnsRecordTimeoutMinutes": 1}, "dnsRecordTimeoutMinutes: 1 is out of range 2..60"),
    ({"dnsRecordTimeoutMinutes": 61}, "dnsRecordTimeoutMinutes: 61 is out of range 2..60"),
    (
        {"clusterAdminRoleArns": '["arn:aws:iam::111111111111:role/a", "arn:aws:iam::111111111111:role/a"]'},
        "clusterAdminRoleArns[1]: 'arn:aws:iam::111111111111:role/a' is listed twice",
    ),
    ({"clusterEndpointPublicCidrs": '["1.2.3.4/40"]'}, "clusterEndpointPublicCidrs[0]: '1.2.3.4/40' is not"),
    ({"clusterAdminRoleArns": '["arn:aws:iam::123:user/bob"]'}, "clusterAdminRoleArns[0]: 'arn:aws:iam::123:user/bob'"),
    ({"clustername": "x"}, "clustername: unknown configuration key (did you mean 'clusterName'?)"),
    # apps
    ({"apps": "[]"}, "apps: needs at least 1 entry"),
    ({"apps": _app(name="Demo")}, "apps[0].name: 'Demo' is not a valid Kubernetes name"),
    ({"apps": _app(name="1app")}, "apps[0].name: '1app' is not a valid Kubernetes name"),
    ({"apps": _app(containerPort=70000)}, "apps[0].containerPort: 70000 is out of range 1..65535"),
    ({"apps": _app(replicas=-2)}, "apps[0].replicas: -2 is out of range 0..100"),
    ({"apps": _app(env={"PORT": "1"})}, "apps[0].env.PORT: is set by the app"),
    ({"apps": _app(healthPath="health")}, "apps[0].healthPath: 'health' must start with '/'"),
    ({"apps": _app(healthCheck={"intervalSeconds": 400})}, "apps[0].healthCheck.intervalSeconds: 400 is out of range"),
    ({"apps": _app(healthCheck={"timeoutSeconds": 0})}, "apps[0].healthCheck.timeoutSeconds: 0 is out of range 1..120"),
    ({"apps": _app(healthCheck={"healthyThresholdCount": 11})}, "healthyThresholdCount: 11 is out of range 2..10"),
    ({"apps": _app(healthCheck={"unhealthyThresholdCount": 1})}, "unhealthyThresholdCount: 1 is out of range 2..10"),
    ({"apps": _app(healthCheck={"protocol": "TCP"})}, "apps[0].healthCheck.protocol: 'TCP' is not one of HTTP, HTTPS"),
    ({"apps": _app(healthCheck={"protocolVersion": "GRPC"})}, "protocolVersion: 'GRPC' is not one of HTTP1, HTTP2"),
    ({"apps": _app(healthCheck={"timeoutSeconds": 10})}, "timeoutSeconds: 10 must be shorter than intervalSeconds"),
    ({"apps": _app(resources={"cpuLimit": "lots"})}, "apps[0].resources.cpuLimit: 'lots' is not a Kubernetes quantity"),
    ({"apps": _app(imagePullPolicy="Never")}, "apps[0].imagePullPolicy: unknown field"),
    ({"apps": json.dumps([json.loads(_app())[0]] * 2)}, "apps: duplicate name 'demo-app-a'"),
    # routes
    ({"routes": _route(backends=[{"app": "ghost"}])}, "routes[0].rules[0].backends[0].app: 'ghost' is not one of"),
    (
        {"routes": _route(pathRegex="/v[0-9]+")},
        "routes[0].rules[0].pathRegex: RegularExpression paths are not supported",
    ),
    ({"routes": _route(matches=[{}, {}])}, "routes[0].rules[0].matches: one match per rule only"),
    ({"routes": _route(queryParams=[{"name": "a"}])}, "routes[0].rules[0].queryParams: query parameter matches"),
    ({"routes": _route(filters=[{"type": "URLRewrite"}])}, "routes[0].rules[0].filters: HTTPRoute filters"),
    ({"routes": _route(path="/v1")}, "routes[0].rules[0]: give at most one of pathPrefix or path"),
    ({"routes": _route(headers=[{"name": f"x-h{i}", "value": "1"} for i in range(6)])}, "6 header matches"),
    ({"routes": _route(headers=[{"name": "x", "value": "1", "type": "RegularExpression"}])}, "only Exact header"),
    ({"routes": _route(headers=[{"name": "bad header", "value": "1"}])}, "'bad header' is not a valid HTTP header"),
    ({"routes": _route(method="FETCH")}, "routes[0].rules[0].method: 'FETCH' is not one of"),
    ({"routes": _route(backends=[{"app": "demo-app-a", "weight": 5000}])}, "weight: 5000 is out of range 0..999"),
    ({"routes": _route(backends=[{"app": "demo-app-a", "weight": 0}])}, "every weight is 0"),
    ({"routes": _route(backends=[])}, "routes[0].rules[0].backends: needs at least 1 entry"),
    (
        {"routes": json.dumps([{"name": "r", "hostname": "api.other.org", "rules": json.loads(_route())[0]["rules"]}])},
        "routes[0].hostname: 'api.other.org' is outside privateZoneName 'example.com'",
    ),
    (
        {
            "routes": json.dumps(
                [{"name": "r", "hostname": "a.example.com", "hostnames": ["a.example.com"], "rules": []}]
            )
        },
        "routes[0].hostnames: Lattice uses only the first hostname",
    ),
    (
        {
            "routes": json.dumps(
                [{"name": "r", "hostname": "api.example.com", "rules": [json.loads(_route())[0]["rules"][0]] * 11}]
            )
        },
        "routes[0].rules: 11 rules; a Lattice listener takes at most 10",
    ),
    (
        {"routes": json.dumps([json.loads(_route())[0], {**json.loads(_route())[0], "hostname": "b.example.com"}])},
        "routes: duplicate name 'default/r'",
    ),
    (
        {"routes": json.dumps([json.loads(_route())[0], {**json.loads(_route())[0], "name": "s"}])},
        "routes[1].hostname: 'api.example.com' is already used by another route",
    ),
    (
        {
            "routes": json.dumps(
                [
                    {
                        "name": "r",
                        "hostname": "api.example.com",
                        "rules": [
                            {"pathPrefix": "/V1", "backends": [{"app": "demo-app-a"}]},
                            {"pathPrefix": "/v1", "backends": [{"app": "demo-app-b"}]},
                        ],
                    }
                ]
            )
        },
        "routes[0].rules[1]: repeats an earlier rule's match",
    ),
]


_ELEVEN_APPS = [{**json.loads(_app())[0], "name": f"app-{i}"} for i in range(11)]
BAD_INPUTS += [
    # nested types, unknown nested keys (with a hint), environment names
    ({"apps": _app(containerPort="80")}, 'apps[0].containerPort: expected int, got "80"'),
    ({"apps": _app(healthpath="/")}, "apps[0].healthpath: unknown field (did you mean 'healthPath'?)"),
    ({"apps": _app(healthCheck={"path": "/x"})}, "apps[0].healthCheck.path: unknown field"),
    ({"apps": _app(env={"1X": "y"})}, "apps[0].env.1X: is not a valid environment variable name"),
    ({"apps": _app(env={"X": 1})}, "apps[0].env.X: expected str, got 1"),
    ({"apps": "[1]"}, "apps[0]: expected dict, got 1"),
    ({"kubernetesVersion": 1.35}, "kubernetesVersion: expected str, got 1.35"),
    ({"privateZoneName": "localhost"}, "privateZoneName: 'localhost' is not a valid lowercase DNS name"),
    ({"dnsResyncMinutes": 2000}, "dnsResyncMinutes: 2000 must be 0 (off) or 5..1440"),
    ({"clientVpcCidr": "10.1.128.0/20"}, "clientVpcCidr: 10.1.128.0/20 overlaps clusterVpcCidr (10.1.0.0/16)"),
    # availability zones
    ({"availabilityZones": '["us-east-1a"]'}, "availabilityZones: needs 2 or 3 zones"),
    ({"availabilityZones": ["a", "b", "c", "d"]}, "availabilityZones[0]: 'a' is neither an AZ name"),
    ({"availabilityZones": ["us-east-1a"] * 4}, "availabilityZones: 4 entries; at most 3"),
    ({"availabilityZones": ["us-east-1a", "use1-az1"]}, "availabilityZones: mixes AZ names and AZ IDs"),
    ({"availabilityZones": ["use1-az1", "use1-az1"]}, "availabilityZones: names a zone twice"),
    ({"availabilityZones": ["us-east-1a", "us-west-2b"]}, "availabilityZones: us-east-1a, us-west-2b are not in"),
    ({"availabilityZones": ["us-west-2-lax-1a", "us-west-2a"]}, "availabilityZones[0]: 'us-west-2-lax-1a' is neither"),
    ({"availabilityZones": "us-east-1a"}, "availabilityZones: expected JSON (list)"),
    # routes: the rest of Lattice's limits and the backends' apps
    (
        {"routes": _route(headers=[{"name": "X-A", "value": "1"}, {"name": "x-a", "value": "2"}])},
        "duplicate name 'x-a'",
    ),
    ({"routes": _route(backends=[{"app": "demo-app-a"}] * 2)}, "routes[0].rules[0].backends: duplicate name"),
    ({"routes": _route(method=5)}, "routes[0].rules[0].method: 5 is not one of GET, HEAD"),
    (
        # 11 distinct backends would pass Lattice's 10 target groups a service; 11 apps are refused first (MAX_APPS).
        {"apps": json.dumps(_ELEVEN_APPS), "routes": _route(backends=[{"app": a["name"]} for a in _ELEVEN_APPS])},
        f"apps: 11 entries; at most {MAX_APPS}",
    ),
    (
        {"apps": _app(namespace="team-a")},
        "routes[0].rules[0].backends[0].app: 'demo-app-a' is in namespace 'team-a', the route in 'default'",
    ),
]


@pytest.mark.parametrize(("overrides", "message"), BAD_INPUTS, ids=[m[:40] for _, m in BAD_INPUTS])
def test_bad_input_names_the_key_and_the_reason(overrides: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigError) as caught:
        parse(**overrides)
    line = str(caught.value)
    assert message in line
    assert "\n" not in line
    key = caught.value.key
    assert line.startswith(f"{key}: ")
    assert re.split(r"[.\[]", key)[0] in DEFAULTS or "unknown configuration key" in line


@pytest.mark.parametrize(
    ("instance_type", "arm"),
    [("t4g.micro", True), ("m7g.large", True), ("c7gn.xlarge", True), ("x2gd.large", True),
     ("t3.medium", False), ("m5.large", False), ("g5.xlarge", False), ("inf2.xlarge", False)],
)  # fmt: skip
def test_graviton_types_get_arm64_images(instance_type: str, arm: bool) -> None:
    from config.model import is_graviton

    assert is_graviton(instance_type) is arm


def test_every_problem_is_reported_on_its_own_line_in_key_order() -> None:
    with pytest.raises(ConfigError) as caught:
        parse(clusterName="a b", nodeMinSize=0, apps=_app(replicas=-1, env={"POD": "x"}))
    assert caught.value.lines == (
        "clusterName: 'a b' is not a valid EKS cluster name (letters, digits, '-' and '_', 1-100)",
        "nodeMinSize: 0 is out of range 1..100",
        "apps[0].replicas: -1 is out of range 0..100",
        "apps[0].env.POD: is set by the app (PORT = containerPort, POD = the pod's name)",
    )
    assert str(caught.value) == caught.value.lines[0]


WRONG_VALUES: list[Any] = [None, 1.5, True, "x", [], {}, [1], {"a": 1}]


@pytest.mark.parametrize("key", [k for k in DEFAULTS if k not in ("apps", "routes")] + ["apps[0]", "routes[0]"])
def test_any_wrong_value_gets_our_wording_never_pydantics(key: str) -> None:
    """The class of fault: an error type the loader has no wording for would show pydantic's own sentence
    ("Input should be ...") or an empty key. Every wrong value, at every key and every field of an app and a
    route, must come out as `<key>: <reason>` lines in our words."""
    app, route = json.loads(_app())[0], json.loads(_route())[0]
    rule = route["rules"][0]
    cases: list[dict[str, Any]] = []
    for bad in WRONG_VALUES:
        if key == "apps[0]":
            cases += [{"apps": [{**app, field: bad}]} for field in (*app, "namespace", "env", "healthCheck")]
        elif key == "routes[0]":
            cases += [{"routes": [{**route, field: bad}]} for field in route]
            cases += [{"routes": [{**route, "rules": [{**rule, field: bad}]}]} for field in (*rule, "headers")]
        else:
            cases.append({key: bad})
    for overrides in cases:
        try:
            parse(**overrides)
        except ConfigError as err:
            for line in err.lines:
                assert re.match(r"^[a-zA-Z][\w.\[\]-]*: \S", line), (overrides, line)
                assert "Input should" not in line and "Value error" not in line and "\n" not in line, (overrides, line)


def test_a_route_over_lattices_target_groups_is_refused_whatever_the_app_limit() -> None:
    """Lattice's 10 target groups a service, checked on the route itself: with MAX_APPS at 10 no whole config
    reaches it, but a raised MAX_APPS would."""
    from pydantic import ValidationError

    from config.model import Route

    rules = [{"pathPrefix": f"/{k}", "backends": [{"app": f"app-{k}-{i}"} for i in range(6)]} for k in range(2)]
    with pytest.raises(ValidationError, match="12 distinct backends; a Lattice service takes at most 10"):
        Route.model_validate({"name": "r", "hostname": "api.example.com", "rules": rules})
