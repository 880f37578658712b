"""Every limit of the configuration from both sides: the largest (or smallest) value accepted and the first one
refused, with the exact line the user sees. Lattice's limits (SPEC §3) and Kubernetes' and AWS's formats."""

from __future__ import annotations

from typing import Any

import pytest

from config import ConfigError, parse_context
from config.limits import MAX_APPS, MAX_ENV_NAME, MAX_IMAGE, MAX_ROUTES
from tests.conftest import TODAY

DEMO = {"image": "nginx:1.27", "containerPort": 80, "healthPath": "/"}


def app(name: str = "a", **fields: Any) -> dict[str, Any]:
    return {"name": name, **DEMO, **fields}


def rule(*apps: str, **fields: Any) -> dict[str, Any]:
    return {"pathPrefix": "/", "backends": [{"app": a} for a in apps or ("a",)], **fields}


def route(*rules: dict[str, Any], **fields: Any) -> dict[str, Any]:
    return {"name": "r", "hostname": "api.example.com", "rules": list(rules) or [rule()], **fields}


def apps_named(n: int) -> list[dict[str, Any]]:
    return [app(f"app-{i}") for i in range(n)]


def raw(**overrides: Any) -> dict[str, Any]:
    return {"apps": [app()], "routes": [route()], **overrides}


def lines(overrides: dict[str, Any]) -> tuple[str, ...]:
    with pytest.raises(ConfigError) as caught:
        parse_context(raw(**overrides), today=TODAY)
    return caught.value.lines


ARN = "arn:aws:iam::123456789012:role/"
LABEL63 = "a" * 63
NAME253 = ".".join([LABEL63] * 3 + ["b" * 49, "example.com"])  # 63*3 + 49 + 11 + 4 dots = 253
NAME232 = ".".join([LABEL63] * 3 + ["b" * 28, "example.com"])  # a route hostname's most: 253 less the DNS marker

# (id, overrides): the largest (or smallest) value of each limit, accepted.
ACCEPTED: list[tuple[str, dict[str, Any]]] = [
    ("nodes at 1", {"nodeMinSize": 1, "nodeDesiredSize": 1, "nodeMaxSize": 1}),
    ("nodes at 100", {"nodeMinSize": 100, "nodeDesiredSize": 100, "nodeMaxSize": 100}),
    ("desired at min", {"nodeMinSize": 2, "nodeDesiredSize": 2, "nodeMaxSize": 5}),
    ("desired at max", {"nodeMinSize": 2, "nodeDesiredSize": 5, "nodeMaxSize": 5}),
    ("dns timeout 2", {"dnsRecordTimeoutMinutes": 2}),
    ("dns timeout 60", {"dnsRecordTimeoutMinutes": 60}),
    ("resync off", {"dnsResyncMinutes": 0}),
    ("resync 5", {"dnsResyncMinutes": 5}),
    ("resync 1440", {"dnsResyncMinutes": 1440}),
    ("retention 1", {"logRetentionDays": 1}),
    ("retention 3653", {"logRetentionDays": 3653}),
    ("cluster /16", {"clusterVpcCidr": "10.1.0.0/16"}),
    ("cluster /22", {"clusterVpcCidr": "10.1.0.0/22"}),
    ("client /26", {"clientVpcCidr": "10.2.0.0/26"}),
    ("adjacent VPCs", {"clusterVpcCidr": "10.1.0.0/16", "clientVpcCidr": "10.2.0.0/16"}),
    ("no zones", {"availabilityZones": []}),
    ("2 zones", {"availabilityZones": ["us-east-1a", "us-east-1b"]}),
    ("3 zone ids", {"availabilityZones": ["use1-az1", "use1-az2", "use1-az4"]}),
    ("cluster name 1", {"clusterName": "e"}),
    ("cluster name 100", {"clusterName": "e" * 100}),
    ("sn name 3", {"serviceNetworkName": "abc"}),
    ("sn name 63", {"serviceNetworkName": "s" * 63}),
    ("hostname 232", {"routes": [route(hostname=NAME232)]}),
    ("zone label 63", {"privateZoneName": LABEL63 + ".com", "routes": [route(hostname=f"a.{LABEL63}.com")]}),
    ("public cidrs 1", {"clusterEndpointPublicCidrs": ["8.8.4.0/24"]}),
    ("private endpoint, no cidrs", {"clusterEndpointAccess": "PRIVATE", "clusterEndpointPublicCidrs": []}),
    ("admin role 512", {"clusterAdminRoleArns": [ARN + "r" * 512]}),
    # apps
    ("app name 63", {"apps": [app(LABEL63)], "routes": [route(rule(LABEL63))]}),
    ("namespace 63", {"apps": [app(namespace=LABEL63)], "routes": [route(namespace=LABEL63)]}),
    ("replicas 0", {"apps": [app(replicas=0)]}),
    ("replicas 100", {"apps": [app(replicas=100)]}),
    ("port 1", {"apps": [app(containerPort=1)]}),
    ("port 65535", {"apps": [app(containerPort=65535)]}),
    ("health path 200", {"apps": [app(healthPath="/" + "h" * 199)]}),
    ("interval 5, timeout 4", {"apps": [app(healthCheck={"intervalSeconds": 5, "timeoutSeconds": 4})]}),
    ("interval 300", {"apps": [app(healthCheck={"intervalSeconds": 300})]}),
    ("timeout 1", {"apps": [app(healthCheck={"timeoutSeconds": 1})]}),
    ("timeout 120", {"apps": [app(healthCheck={"intervalSeconds": 121, "timeoutSeconds": 120})]}),
    ("thresholds 2", {"apps": [app(healthCheck={"healthyThresholdCount": 2, "unhealthyThresholdCount": 2})]}),
    ("thresholds 10", {"apps": [app(healthCheck={"healthyThresholdCount": 10, "unhealthyThresholdCount": 10})]}),
    # routes: Lattice's limits
    ("10 rules", {"routes": [route(*(rule(pathPrefix=f"/{i}") for i in range(10)))]}),
    ("5 headers", {"routes": [route(rule(headers=[{"name": f"x-{i}", "value": "v"} for i in range(5)]))]}),
    ("header name 100", {"routes": [route(rule(headers=[{"name": "h" * 100, "value": "v"}]))]}),
    ("header value 1", {"routes": [route(rule(headers=[{"name": "h", "value": "v"}]))]}),
    ("header value 200", {"routes": [route(rule(headers=[{"name": "h", "value": "v" * 200}]))]}),
    ("weight 999", {"routes": [route(rule(backends=[{"app": "a", "weight": 999}]))]}),
    (
        "weight 0 beside 1",
        {
            "apps": [app(), app("b")],
            "routes": [route(rule(backends=[{"app": "a", "weight": 0}, {"app": "b", "weight": 1}]))],
        },
    ),
    ("most routes", {"routes": [route(name=f"r{i}", hostname=f"h{i}.example.com") for i in range(MAX_ROUTES)]}),
    # A rule names each app at most once: MAX_APPS (6) bounds a route's target groups before Lattice's 10 does.
    (
        "a backend per app",
        {"apps": apps_named(MAX_APPS), "routes": [route(rule(*(f"app-{i}" for i in range(MAX_APPS))))]},
    ),
    (
        "every app over 10 rules",
        {
            "apps": apps_named(MAX_APPS),
            "routes": [
                route(
                    *(rule(f"app-{i % MAX_APPS}", f"app-{(i + 1) % MAX_APPS}", pathPrefix=f"/{i}") for i in range(10))
                )
            ],
        },
    ),
    ("route name 63", {"routes": [route(name=LABEL63)]}),
    # alarms
    ("error rate 100", {"alarms": {"errorRatePercent": 100}}),
    ("error rate 0.01", {"alarms": {"errorRatePercent": 0.01}}),
    ("latency 1", {"alarms": {"latencyP99Ms": 1}}),
    ("latency 600000", {"alarms": {"latencyP99Ms": 600_000}}),
    ("periods 1", {"alarms": {"evaluationPeriods": 1}}),
    ("periods 60", {"alarms": {"evaluationPeriods": 60}}),
    ("period 3600", {"alarms": {"periodSeconds": 3600}}),
    ("email 254", {"alarms": {"email": "o" * 64 + "@" + ".".join(["d" * 63, "d" * 63, "d" * 61])}}),
]


@pytest.mark.parametrize("overrides", [o for _, o in ACCEPTED], ids=[i for i, _ in ACCEPTED])
def test_the_largest_value_of_each_limit_is_accepted(overrides: dict[str, Any]) -> None:
    parse_context(raw(**overrides), today=TODAY)


# (overrides, the line shown): the first value beyond each limit, refused.
REFUSED: list[tuple[dict[str, Any], str]] = [
    ({"nodeMinSize": 0}, "nodeMinSize: 0 is out of range 1..100"),
    ({"nodeMaxSize": 101}, "nodeMaxSize: 101 is out of range 1..100"),
    ({"nodeDesiredSize": 0}, "nodeDesiredSize: 0 is out of range 1..100"),
    ({"nodeMinSize": 100, "nodeDesiredSize": 101, "nodeMaxSize": 100}, "nodeDesiredSize: 101 is out of range 1..100"),
    (
        {"nodeMinSize": 2, "nodeDesiredSize": 1, "nodeMaxSize": 5},
        "nodeDesiredSize: 1 must lie between nodeMinSize (2) and nodeMaxSize (5)",
    ),
    (
        {"nodeMinSize": 2, "nodeDesiredSize": 6, "nodeMaxSize": 5},
        "nodeDesiredSize: 6 must lie between nodeMinSize (2) and nodeMaxSize (5)",
    ),
    ({"dnsRecordTimeoutMinutes": 1}, "dnsRecordTimeoutMinutes: 1 is out of range 2..60"),
    ({"dnsRecordTimeoutMinutes": 61}, "dnsRecordTimeoutMinutes: 61 is out of range 2..60"),
    ({"dnsResyncMinutes": -1}, "dnsResyncMinutes: -1 must be 0 (off) or 5..1440"),
    ({"dnsResyncMinutes": 1}, "dnsResyncMinutes: 1 must be 0 (off) or 5..1440"),
    ({"dnsResyncMinutes": 4}, "dnsResyncMinutes: 4 must be 0 (off) or 5..1440"),
    ({"dnsResyncMinutes": 1441}, "dnsResyncMinutes: 1441 must be 0 (off) or 5..1440"),
    (
        {"logRetentionDays": 0},
        "logRetentionDays: 0 is not a CloudWatch retention period (1, 3, 5, 7, 14, 30, 60, "
        "90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653)",
    ),
    (
        {"logRetentionDays": 3654},
        "logRetentionDays: 3654 is not a CloudWatch retention period (1, 3, 5, 7, 14, "
        "30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653)",
    ),
    (
        {"clusterVpcCidr": "10.0.0.0/15"},
        "clusterVpcCidr: 10.0.0.0/15 is a /15; VPCs here need a prefix from /16 to /22 (room for the subnets)",
    ),
    (
        {"clusterVpcCidr": "10.1.0.0/23"},
        "clusterVpcCidr: 10.1.0.0/23 is a /23; VPCs here need a prefix from /16 to /22 (room for the subnets)",
    ),
    (
        {"clientVpcCidr": "10.2.0.0/27"},
        "clientVpcCidr: 10.2.0.0/27 is a /27; VPCs here need a prefix from /16 to /26 (room for the subnets)",
    ),
    (
        {"clientVpcCidr": "10.1.255.192/26"},
        "clientVpcCidr: 10.1.255.192/26 overlaps clusterVpcCidr (10.1.0.0/16); the two VPCs need separate ranges",
    ),
    (
        {"availabilityZones": ["us-east-1a"]},
        "availabilityZones: needs 2 or 3 zones (EKS needs subnets in two), or [] for the region's first two",
    ),
    (
        {"availabilityZones": ["us-east-1a", "us-east-1b", "us-east-1c", "us-east-1d"]},
        "availabilityZones: 4 entries; at most 3",
    ),
    ({"clusterName": ""}, "clusterName: '' is not a valid EKS cluster name (letters, digits, '-' and '_', 1-100)"),
    (
        {"clusterName": "e" * 101},
        f"clusterName: '{'e' * 101}' is not a valid EKS cluster name (letters, digits, '-' and '_', 1-100)",
    ),
    (
        {"serviceNetworkName": "ab"},
        "serviceNetworkName: 'ab' is not a valid Lattice service network name (3-63 lowercase letters, digits and "
        "single hyphens; not starting with 'sn-')",
    ),
    (
        {"serviceNetworkName": "s" * 64},
        f"serviceNetworkName: '{'s' * 64}' is not a valid Lattice service network name (3-63 lowercase letters, "
        "digits and single hyphens; not starting with 'sn-')",
    ),
    (
        {"serviceNetworkName": "a--b"},
        "serviceNetworkName: 'a--b' is not a valid Lattice service network name ('sn-' and '--' are reserved)",
    ),
    (
        {"privateZoneName": "c" + NAME253},
        f"privateZoneName: 'c{NAME253}' is not a valid lowercase DNS name (at least two labels, like example.com)",
    ),
    (
        {"routes": [route(hostname="c" + NAME232)]},
        f"routes[0].hostname: 'c{NAME232}' is not a valid lowercase DNS name of at most 232 characters (the DNS "
        "record's ownership marker _eks-lattice-gateway.<hostname> must fit DNS's 253)",
    ),
    (
        {"privateZoneName": "a" * 64 + ".com"},
        f"privateZoneName: '{'a' * 64}.com' is not a valid lowercase DNS name (at least two labels, like example.com)",
    ),
    # the issue's example: no public CIDR with a public endpoint would lock everyone out
    (
        {"clusterEndpointPublicCidrs": []},
        "clusterEndpointPublicCidrs: is empty; use clusterEndpointAccess=PRIVATE instead",
    ),
    (
        {"clusterEndpointAccess": "PUBLIC_AND_PRIVATE", "clusterEndpointPublicCidrs": "[]"},
        "clusterEndpointPublicCidrs: is empty; use clusterEndpointAccess=PRIVATE instead",
    ),
    (
        {"clusterAdminRoleArns": [ARN + "r" * 513]},
        f"clusterAdminRoleArns[0]: '{ARN}{'r' * 513}' is not an IAM role ARN "
        "(arn:<partition>:iam::<account>:role/<name>)",
    ),
    # apps
    ({"apps": []}, "apps: needs at least 1 entry"),
    (
        {"apps": [app("a" * 64)]},
        f"apps[0].name: '{'a' * 64}' is not a valid Kubernetes name (lowercase letters, digits and '-', start with a "
        "letter, at most 63 characters)",
    ),
    (
        {"apps": [app(namespace="n" * 64)]},
        f"apps[0].namespace: '{'n' * 64}' is not a valid Kubernetes name (lowercase letters, digits and '-', at most "
        "63 characters)",
    ),
    ({"apps": [app(replicas=-1)]}, "apps[0].replicas: -1 is out of range 0..100"),
    ({"apps": [app(replicas=101)]}, "apps[0].replicas: 101 is out of range 0..100"),
    ({"apps": [app(containerPort=0)]}, "apps[0].containerPort: 0 is out of range 1..65535"),
    ({"apps": [app(containerPort=65536)]}, "apps[0].containerPort: 65536 is out of range 1..65535"),
    (
        {"apps": [app(healthPath="/" + "h" * 200)]},
        f"apps[0].healthPath: '/{'h' * 200}' must start with '/' and have at most 200 characters, each a letter, "
        "digit, one of - . _ ~ & + = : @ / or a %XX escape",
    ),
    (
        {"apps": [app(healthCheck={"intervalSeconds": 4})]},
        "apps[0].healthCheck.intervalSeconds: 4 is out of range 5..300",
    ),
    (
        {"apps": [app(healthCheck={"intervalSeconds": 301})]},
        "apps[0].healthCheck.intervalSeconds: 301 is out of range 5..300",
    ),
    (
        {"apps": [app(healthCheck={"timeoutSeconds": 0})]},
        "apps[0].healthCheck.timeoutSeconds: 0 is out of range 1..120",
    ),
    (
        {"apps": [app(healthCheck={"intervalSeconds": 300, "timeoutSeconds": 121})]},
        "apps[0].healthCheck.timeoutSeconds: 121 is out of range 1..120",
    ),
    (
        {"apps": [app(healthCheck={"intervalSeconds": 5, "timeoutSeconds": 5})]},
        "apps[0].healthCheck.timeoutSeconds: 5 must be shorter than intervalSeconds (5)",
    ),
    (
        {"apps": [app(healthCheck={"healthyThresholdCount": 1})]},
        "apps[0].healthCheck.healthyThresholdCount: 1 is out of range 2..10",
    ),
    (
        {"apps": [app(healthCheck={"unhealthyThresholdCount": 11})]},
        "apps[0].healthCheck.unhealthyThresholdCount: 11 is out of range 2..10",
    ),
    # routes: Lattice's limits
    ({"routes": []}, "routes: needs at least 1 entry"),
    (
        {"routes": [route(*(rule(pathPrefix=f"/{i}") for i in range(11)))]},
        "routes[0].rules: 11 rules; a Lattice listener takes at most 10",
    ),
    (
        {"routes": [route(rule(headers=[{"name": f"x-{i}", "value": "v"} for i in range(6)]))]},
        "routes[0].rules[0].headers: 6 header matches; Lattice takes at most 5",
    ),
    (
        {"routes": [route(rule(headers=[{"name": "h" * 101, "value": "v"}]))]},
        f"routes[0].rules[0].headers[0].name: '{'h' * 101}' is not a valid HTTP header name of at most 100 "
        "characters (Lattice's limit)",
    ),
    (
        {"routes": [route(rule(headers=[{"name": "h", "value": ""}]))]},
        "routes[0].rules[0].headers[0].value: must be 1-200 characters (Lattice's limit)",
    ),
    (
        {"routes": [route(rule(headers=[{"name": "h", "value": "v" * 201}]))]},
        "routes[0].rules[0].headers[0].value: must be 1-200 characters (Lattice's limit)",
    ),
    (
        {"routes": [route(rule(backends=[{"app": "a", "weight": 1000}]))]},
        "routes[0].rules[0].backends[0].weight: 1000 is out of range 0..999",
    ),
    (
        {"routes": [route(rule(backends=[{"app": "a", "weight": -1}]))]},
        "routes[0].rules[0].backends[0].weight: -1 is out of range 0..999",
    ),
    # More apps than MAX_APPS, more backends in a rule than apps there can be, more routes than MAX_ROUTES (a
    # route's own 10-target-group rule: tests/test_config.py).
    ({"apps": apps_named(MAX_APPS + 1)}, f"apps: {MAX_APPS + 1} entries; at most {MAX_APPS}"),
    (
        {"routes": [route(rule(*(f"app-{i}" for i in range(MAX_APPS + 1))))]},
        f"routes[0].rules[0].backends: {MAX_APPS + 1} entries; at most {MAX_APPS}",
    ),
    (
        {"routes": [route(name=f"r{i}", hostname=f"h{i}.example.com") for i in range(MAX_ROUTES + 1)]},
        f"routes: {MAX_ROUTES + 1} entries; at most {MAX_ROUTES}",
    ),
    (
        {"routes": [route(name="r" * 64)]},
        f"routes[0].name: '{'r' * 64}' is not a valid Kubernetes name (lowercase letters, digits and '-', at most "
        "63 characters)",
    ),
    # alarms
    ({"alarms": {"errorRatePercent": 0}}, "alarms.errorRatePercent: 0 must be above 0 and at most 100"),
    ({"alarms": {"errorRatePercent": 100.01}}, "alarms.errorRatePercent: 100.01 must be above 0 and at most 100"),
    ({"alarms": {"latencyP99Ms": 0}}, "alarms.latencyP99Ms: 0 is out of range 1..600000"),
    ({"alarms": {"latencyP99Ms": 600_001}}, "alarms.latencyP99Ms: 600001 is out of range 1..600000"),
    ({"alarms": {"evaluationPeriods": 0}}, "alarms.evaluationPeriods: 0 is out of range 1..60"),
    ({"alarms": {"evaluationPeriods": 61}}, "alarms.evaluationPeriods: 61 is out of range 1..60"),
    ({"alarms": {"periodSeconds": 3601}}, "alarms.periodSeconds: 3601 is not one of 60, 300, 900, 3600"),
    (
        {"alarms": {"email": "o" * 65 + "@" + ".".join(["d" * 63, "d" * 63, "d" * 61])}},
        f"alarms.email: '{'o' * 65}@{'d' * 63}.{'d' * 63}.{'d' * 61}' is not an email address (like ops@example.com)",
    ),
]


@pytest.mark.parametrize(("overrides", "line"), REFUSED, ids=[line[:50] for _, line in REFUSED])
def test_the_first_value_beyond_each_limit_is_refused_with_one_line(overrides: dict[str, Any], line: str) -> None:
    assert lines(overrides) == (line,)


# ------------------------------------------------------------------------- formats: images and env names


@pytest.mark.parametrize(
    "image",
    [
        "nginx",
        "nginx:1.27",
        "library/nginx:1.27-alpine",
        "public.ecr.aws/nginx/nginx:stable",
        "123456789012.dkr.ecr.us-east-1.amazonaws.com/team/app:v1.2.3",
        "localhost:5000/app",
        "nginx@sha256:" + "a" * 64,
        "nginx:1.27@sha256:" + "b" * 64,
        "my_registry/app__x:Tag_1",  # "__" joins path components too
        "team/my--app",  # so do runs of dashes
        "Registry.Example.com:443/app",  # the registry's host is not case sensitive
        "app:" + "t" * 128,  # the longest tag
    ],
)
def test_container_image_references_are_accepted(image: str) -> None:
    (a,) = parse_context(raw(apps=[app(image=image)]), today=TODAY).apps
    assert a.image == image


@pytest.mark.parametrize(
    "image",
    [
        "",
        "Nginx",
        "nginx:",
        "nginx latest",
        ":tag",
        "-nginx",
        "nginx//app",
        "nginx:1.27\n",
        "/nginx",
        "nginx:1.27:2",  # one tag
        "team/App",  # path components are lowercase
        "Team/app",  # ... and a first part without "." or port is one
        "app___x",
        "app-",
        "nginx:-x",  # a tag starts with a letter, digit or "_"
        "app:" + "t" * 129,  # one character past the longest tag
        "nginx@sha256:abc",  # a digest has at least 32 hex digits
        "nginx@sha256",
    ],
)
def test_invalid_container_image_references_are_refused(image: str) -> None:
    why = f"is not a container image reference of at most {MAX_IMAGE} characters"
    assert lines({"apps": [app(image=image)]}) == (f"apps[0].image: {image!r} {why}",)


@pytest.mark.parametrize("name", ["A", "_x", "a.b-c", "X1", "-x", "HTTP_PROXY", "p" * MAX_ENV_NAME, "PORTS", "port"])
def test_environment_variable_names_are_accepted(name: str) -> None:
    (a,) = parse_context(raw(apps=[app(env={name: "1", "Z": ""})]), today=TODAY).apps
    assert a.env == ((name, "1"), ("Z", ""))


@pytest.mark.parametrize("name", ["1X", "A B", "A=B", "é", "a\n", "$A"])
def test_invalid_environment_variable_names_are_refused(name: str) -> None:
    assert lines({"apps": [app(env={"OK": "1", name: "x"})]}) == (
        f"apps[0].env.{name}: is not a valid environment variable name of at most {MAX_ENV_NAME} characters",
    )


@pytest.mark.parametrize("name", ["PORT", "POD"])
def test_names_the_app_sets_itself_are_refused(name: str) -> None:
    assert lines({"apps": [app(env={name: "x"})]}) == (
        f"apps[0].env.{name}: is set by the app (PORT = containerPort, POD = the pod's name)",
    )


# ------------------------------------------------------------------------------------------ zones


@pytest.mark.parametrize(
    ("zones", "line"),
    [
        (["use1-az1", "use1-az1"], "availabilityZones: names a zone twice"),
        (["us-east-1a", "us-east-1a"], "availabilityZones: names a zone twice"),
        (["us-east-1a", "use1-az2"], "availabilityZones: mixes AZ names and AZ IDs; give only names or only IDs"),
        (["us-east-1a", "us-east-2b"], "availabilityZones: us-east-1a, us-east-2b are not in one region"),
    ],
)
def test_zones_are_distinct_of_one_kind_and_one_region(zones: list[str], line: str) -> None:
    assert lines({"availabilityZones": zones}) == (line,)


def test_zone_ids_are_zone_ids() -> None:
    cfg = parse_context(raw(availabilityZones=["usw2-az1", "usw2-az2"]), today=TODAY)
    assert cfg.uses_az_ids


# -------------------------------------------------------------------------------- duplicates, once


def test_a_name_used_three_times_is_reported_once() -> None:
    assert lines({"apps": [app(), app(), app()]}) == ("apps: duplicate name 'a'",)


def test_one_constant_for_the_lattice_auth_policy_limit() -> None:
    """The model's refusal and the synthesized-policy check (tests/support/policy_sizes.py) use one limit; no other
    module of the app defines its own copy."""
    import ast

    from config import access_policy, limits
    from tests.conftest import ROOT

    assert access_policy.MAX_AUTH_POLICY_BYTES == limits.LATTICE_AUTH_POLICY.limit == 10_000
    copies = []
    for path in [
        *(ROOT / "config").glob("*.py"),
        *(ROOT / "stacks").glob("*.py"),
        *(ROOT / "constructs").rglob("*.py"),
    ]:
        for node in ast.walk(ast.parse(path.read_text())):
            ten_k = isinstance(node, ast.BinOp) and ast.unparse(node).replace(" ", "") == "10*1024"
            if isinstance(node, ast.expr) and (ten_k or (isinstance(node, ast.Constant) and node.value == 10_000)):
                copies.append(f"{path.name}:{node.lineno}")
    assert copies == [f"limits.py:{_line_of('LATTICE_AUTH_POLICY = DocumentLimit(10_000')}"], copies


def _line_of(text: str) -> int:
    from tests.conftest import ROOT

    lines = (ROOT / "config" / "limits.py").read_text().splitlines()
    return next(i for i, line in enumerate(lines, 1) if text in line)


def test_the_lattice_limits_match_botocores_vpc_lattice_model() -> None:
    """config/model.py's Lattice limits are the service model's: header matches, a rule's target groups, weights."""
    import gzip
    import json
    from pathlib import Path

    import botocore

    from config import model

    path = Path(botocore.__file__).parent / "data" / "vpc-lattice" / "2022-11-30" / "service-2.json.gz"
    shapes = json.loads(gzip.decompress(path.read_bytes()))["shapes"]
    assert shapes["HeaderMatchList"]["max"] == model.MAX_HEADER_MATCHES
    assert shapes["WeightedTargetGroupList"]["max"] == model.MAX_TARGET_GROUPS_PER_SERVICE
    assert (shapes["TargetGroupWeight"]["min"], shapes["TargetGroupWeight"]["max"]) == (0, model.MAX_LATTICE_WEIGHT)
