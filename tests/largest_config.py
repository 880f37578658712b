"""The largest configuration (issue 24 item 2): every list at its maximum length, every string at its longest,
every number at its maximum, every option on, consumers included, with the maxima read from config/schema.json
(so a lowered or raised maximum changes the fixture with it). Not every key at its maximum at once: the service
network's auth policy takes every route's role ARNs, so only the first route's are at the longest and the others'
shorter (OTHER_ROUTES_ROLE_LENGTH); with every route's at 550 characters the configuration is refused.

`largest_context()` builds it; `shortfalls()` walks the schema beside it and names every key the fixture leaves
short of its maximum, every list or string the schema leaves without one, and every key it never sets: a new key
fails tests/test_largest_config.py until it is here. Where the longest string cannot be used, EXEMPT says why.
Every route protocol is on some route (EVERY_VALUE); the lists a config with all of them cannot fill (a TLS route's
one rule, apps split by target-group kind, calls of one protocol) reach the bound FEWER gives, with the reason.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Mapping
from functools import cache
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
SCHEMA_PATH = ROOT / "config" / "schema.json"
PROVIDER_ACCOUNT, PROVIDER_REGION = "111111111111", "ap-northeast-2"
# grpc.health.v1.Health/Check: the call the smoke test makes on a GRPC route (constructs/smoke/checks.py)
GRPC_HEALTH_SERVICE, GRPC_HEALTH_METHOD = "grpc.health.v1.Health", "Check"

# Schema paths (keys joined by ".", "[]" for list items, "{}" for a map's values) whose string is not at its
# maxLength in the fixture, with the reason.
EXEMPT = {
    "clusterVpcCidr": "a CIDR's text length follows from its address: the fixture takes VPC ranges that fit",
    "clientVpcCidr": "a CIDR's text length follows from its address",
    "consumers[].vpcCidr": "a CIDR's text length follows from its address: 50 disjoint /16 ranges",
    "availabilityZones[]": "names of zones the region has (ap-northeast-2a...)",
    "nodeInstanceType": "a type EC2 lists (config/ec2_instance_types.txt), not a string of the longest length",
    "clientInstanceType": "a type EC2 lists",
    "privateZoneName": "every route hostname (MAX_ROUTE_HOSTNAME at most) lies inside it, one label longer",
    "consumers[].region": "must equal the app's region (ap-northeast-2)",
    "shareWithOrganization": "an organization ARN of the aws partition: its id at the longest the pattern takes",
    "routes[].rules[].grpcService": "the Lattice path /service/method it becomes is at most routes[].rules[].path's "
    "maxLength (config/model.py RouteRule): service and method share those characters, the path at its longest",
    "routes[].rules[].grpcMethod": "shares the path's characters with grpcService (above)",
    "routes[].caBundle": "a PEM file the repository holds: the protocols tests' CA bundle (tests/support/test-ca.pem)",
}
# Every value of these enums appears somewhere in the fixture (each protocol builds different resources).
EVERY_VALUE = {"routes[].protocol"}
# Lists that cannot all be at their maxItems in one configuration that carries every route protocol: the longest
# must reach the bound given, and the reason says why.
FEWER: dict[str, tuple[str, Callable[[], int]]] = {
    "routes[].rules": (
        "a TLS route has exactly one rule (its listener's default action); the others have the most",
        lambda: most("routes[].rules"),
    ),
    "routes[].rules[].backends": (
        "an app backs routes of one target-group kind (HTTP, gRPC or TCP), so the GRPC and TLS routes take one app "
        "each and the HTTP and HTTPS rules the other apps",
        lambda: most("apps") - 2,
    ),
    "apps[].calls": (
        "an app calls routes of one protocol, HTTP or HTTPS (its sidecar's one scheme), never GRPC or TLS: every "
        "app calls every HTTP route (all but the HTTPS, GRPC and TLS ones)",
        lambda: most("routes") - 3,
    ),
}
# Each route names its own role ARNs in access.allow (distinct across routes), and the service network's auth policy
# holds every one of them beside the consumer accounts: at 550 characters each, 7 routes' 3 roles would make it
# 13,129 bytes, over Lattice's 10,000 (config.access_policy refuses that). So the first route's roles are at the
# longest and the other routes' at 360 characters (376 measured to fit, 2026-12-05): what fits at once.
OTHER_ROUTES_ROLE_LENGTH = 360
# Keys the fixture leaves out, with the reason.
LEFT_OUT = {
    "pipeline": "its own model (config/pipeline.py) and stack: tests/test_pipeline_size.py synthesizes its maximum",
}


@cache
def schema() -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(SCHEMA_PATH.read_text())
    return loaded


def _plain(node: Mapping[str, Any]) -> dict[str, Any]:
    """The node with its $ref (direct or in allOf) resolved and a nullable anyOf reduced to its non-null branch."""
    out = dict(node)
    ref = out.pop("$ref", None) or next((p["$ref"] for p in out.pop("allOf", []) if "$ref" in p), None)
    if ref:
        out = {**schema()["$defs"][ref.rsplit("/", 1)[-1]], **out}
    branches = [b for b in out.get("anyOf", []) if b.get("type") != "null"]
    if len(branches) == 1:
        out = {**{k: v for k, v in out.items() if k != "anyOf"}, **_plain(branches[0])}
    return out


def key(path: str) -> dict[str, Any]:
    """The schema of a key path: "apps[].env{}", "routes[].rules[].headers"."""
    node = _plain(schema()["$defs"]["Context"])
    for part in path.replace("[]", ".[]").replace("{}", ".{}").split("."):
        if part == "[]":
            node = _plain(node["items"])
        elif part == "{}":
            node = _plain(node["additionalProperties"])
        else:
            node = _plain(node["properties"][part])
    return node


def most(path: str) -> int:
    """A list's maxItems, a map's maxProperties, a string's maxLength or a number's maximum."""
    node = key(path)
    for bound in ("maxItems", "maxProperties", "maxLength", "maximum"):
        if bound in node:
            return int(node[bound])
    if "enum" in node:
        return int(max(node["enum"]))
    raise KeyError(f"{path} has no maximum in config/schema.json")


def fill(head: str, length: int, pad: str = "x") -> str:
    """`head`, padded to exactly `length` characters (ending in `pad`, so still a valid name)."""
    assert len(head) < length, (head, length)
    return head + pad * (length - len(head))


def _hostname(index: int, zone: str) -> str:
    """A name of exactly the schema's maxLength inside `zone`, with labels of at most 63."""
    total = most("routes[].hostname")
    labels: list[str] = []
    rest = total - len(zone) - 1
    while rest > 0:
        size = min(63, rest - 1 if rest > 63 else rest)
        if 0 < rest - size - 1 < 1:  # never leave a remainder that cannot hold a label
            size -= 1
        labels.append(fill(f"h{index}-", size) if len(labels) == 0 else fill("l", size))
        rest -= size + 1
    return ".".join([*labels, zone])


def _role(index: int) -> str:
    prefix = "arn:aws-us-gov:iam::123456789012:role/"
    return fill(f"{prefix}r{index}-", most("clusterAdminRoleArns[]"))


def largest_context() -> dict[str, Any]:
    """The configuration, as cdk.json context (lists and objects as JSON values, as a user writes them)."""
    n_apps, n_routes = most("apps"), most("routes")
    n_backends = most("routes[].rules[].backends")
    assert n_apps % n_backends == 0, "the apps fill whole namespaces of n_backends each"
    namespaces = [fill(f"ns{g}-", most("apps[].namespace")) for g in range(n_apps // n_backends)]
    app_name = most("apps[].name")
    apps_in = {ns: [fill(f"a{g}-{i}-", app_name) for i in range(n_backends)] for g, ns in enumerate(namespaces)}
    zone = fill("zone-", 63 - 12, "z") + ".example.com"
    routes_at = [(fill(f"r{i}-", most("routes[].name")), namespaces[i % len(namespaces)]) for i in range(n_routes)]
    # Every protocol, the heavy HTTP and HTTPS routes the most: the last three routes are HTTPS, GRPC and TLS, and
    # the last two apps back the GRPC and the TLS route (an app backs one target-group kind: FEWER).
    protocols = ["HTTP"] * (n_routes - 3) + ["HTTPS", "GRPC", "TLS"]
    http_apps = {ns: names[:-2] for ns, names in apps_in.items()}
    own_app = {"GRPC": -2, "TLS": -1}
    calls = [f"{ns}/{name}" for (name, ns), protocol in zip(routes_at, protocols, strict=True) if protocol == "HTTP"]
    assert all(len(c) == most("apps[].calls[]") for c in calls) and len(calls) == FEWER["apps[].calls"][1]()
    image_tail = ":" + "t" * 128 + "@sha256:" + "0" * 64
    image_head = "registry.example.com:5000/"
    image = image_head + "p" * (most("apps[].image") - len(image_head) - len(image_tail)) + image_tail
    quantity = "1." + "0" * (most("apps[].resources.cpuRequest") - 4) + "Gi"
    n_env, env_value = most("apps[].env"), most("apps[].env{}")
    apps = [
        {
            "name": name,
            "namespace": ns,
            "image": image,
            "replicas": most("apps[].replicas"),
            "containerPort": most("apps[].containerPort"),
            "env": {
                fill(f"V{j}_", key("apps[].env")["propertyNames"]["maxLength"], "N"): fill(f"{j}-", env_value, "v")
                for j in range(n_env)
            },
            "healthPath": fill("/health/", most("apps[].healthPath"), "h"),
            "healthCheck": {
                "protocol": "HTTPS",
                "protocolVersion": "HTTP2",
                "intervalSeconds": most("apps[].healthCheck.intervalSeconds"),
                "timeoutSeconds": most("apps[].healthCheck.timeoutSeconds"),
                "healthyThresholdCount": most("apps[].healthCheck.healthyThresholdCount"),
                "unhealthyThresholdCount": most("apps[].healthCheck.unhealthyThresholdCount"),
            },
            "resources": dict.fromkeys(("cpuRequest", "memoryRequest", "cpuLimit", "memoryLimit"), quantity),
            "calls": calls,
            "args": [fill(f"--a{j}=", most("apps[].args[]"), "a") for j in range(most("apps[].args"))],
        }
        for ns, names in apps_in.items()
        for name in names
    ]
    consumers = [
        {
            "name": fill(f"c{i}-", most("consumers[].name")),
            "account": str(222222222200 + i),
            "region": PROVIDER_REGION,
            **({"vpcCidr": f"10.{10 + i}.0.0/16"} if i % 2 else {"vpcId": f"vpc-{i:017x}"}),
            "testHost": True,
        }
        for i in range(most("consumers"))
    ]
    n_callers = most("routes[].access.allow")

    def role(route: int, k: int) -> str:
        """Each route names its own role ARNs (distinct across routes, as separate teams' would be)."""
        length = most("routes[].access.allow[].role") if route == 0 else OTHER_ROUTES_ROLE_LENGTH
        return fill(f"arn:aws-us-gov:iam::123456789012:role/r{route}-{k}-", length)

    def allow(route: int) -> list[dict[str, Any]]:
        return [
            {"clientHost": True},
            {"account": consumers[0]["account"]},
            {"app": apps[0]["name"]},
            *({"role": role(route, k)} for k in range(n_callers - 3)),
        ]

    def allow_no_app(route: int) -> list[dict[str, Any]]:
        """An app calls HTTP routes only (FEWER): the HTTPS and GRPC routes name one more role in its place."""
        return [c if "app" not in c else {"role": role(route, n_callers)} for c in allow(route)]

    header_name, header_value = most("routes[].rules[].headers[].name"), most("routes[].rules[].headers[].value")
    path = most("routes[].rules[].path")
    weight = most("routes[].rules[].backends[].weight")
    headers = [
        {"name": fill(f"x-{h}-", header_name, "n"), "value": fill(f"{h}-", header_value, "v"), "type": "Exact"}
        for h in range(most("routes[].rules[].headers"))
    ]
    certificate = fill(
        f"arn:aws:acm:{PROVIDER_REGION}:{PROVIDER_ACCOUNT}:certificate/", most("routes[].certificateArn"), "0"
    )
    # A gRPC match becomes the Lattice path /service/method, at most `path` characters (EXEMPT).
    service_length = path // 2

    def http_rule(i: int, k: int, ns: str) -> dict[str, Any]:
        return {
            ("path" if k % 2 else "pathPrefix"): fill(f"/{i}/{k}/", path, "p"),
            "headers": headers,
            "method": "OPTIONS",
            "backends": [{"app": app, "weight": weight} for app in http_apps[ns]],
        }

    def grpc_rule(i: int, k: int, ns: str) -> dict[str, Any]:
        backends = [{"app": apps_in[ns][own_app["GRPC"]], "weight": weight}]
        if k == 0:  # the rule the smoke test's health call takes (constructs/smoke/checks.py): no header to send
            return {"grpcService": GRPC_HEALTH_SERVICE, "grpcMethod": GRPC_HEALTH_METHOD, "backends": backends}
        return {
            "grpcService": fill(f"r{i}.s{k}.S", service_length, "s"),
            "grpcMethod": fill("M", path - service_length - 2, "m"),
            "headers": headers,
            "backends": backends,
        }

    def route(i: int, name: str, ns: str, protocol: str) -> dict[str, Any]:
        head = {"name": name, "namespace": ns, "hostname": _hostname(i, zone), "protocol": protocol}
        n_rules = most("routes[].rules")
        if protocol == "TLS":
            return {
                **head,
                "rules": [{"backends": [{"app": apps_in[ns][own_app["TLS"]], "weight": weight}]}],
                "access": {"unsigned": True},  # a TLS route names no callers (config/model.py TLS_ACCESS_WHY)
                "port": most("routes[].port"),
                "caBundle": "tests/support/test-ca.pem",
                "expectSubject": fill("cn-", most("routes[].expectSubject")),
            }
        if protocol == "GRPC":
            return {
                **head,
                "rules": [grpc_rule(i, k, ns) for k in range(n_rules)],
                "access": {"allow": allow_no_app(i), "unsigned": True},
                "certificateArn": certificate,
                "caBundle": "tests/support/test-ca.pem",
            }
        return {
            **head,
            "rules": [http_rule(i, k, ns) for k in range(n_rules)],
            "access": {"allow": allow(i) if protocol == "HTTP" else allow_no_app(i), "unsigned": True},
            **({"certificateArn": certificate} if protocol == "HTTPS" else {}),
        }

    routes = [route(i, name, ns, protocols[i]) for i, (name, ns) in enumerate(routes_at)]
    return {
        "clusterName": fill("c", most("clusterName")),
        "stackPrefix": fill("S", most("stackPrefix")),
        "nodeGroupName": fill("ng", most("nodeGroupName"), "g"),
        "kubernetesVersion": "1.35",
        "nodeInstanceType": "m7g.large",  # Graviton: the ARM64 AMI
        "clientInstanceType": "t4g.micro",
        "controllerChartVersion": "v2.1.3",
        "gatewayApiVersion": "v1.5.1",
        "clusterVpcCidr": "10.1.0.0/16",
        "clientVpcCidr": "10.2.0.0/16",
        "availabilityZones": [f"{PROVIDER_REGION}{z}" for z in "abc"][: most("availabilityZones")],
        "nodeMinSize": most("nodeMinSize"),
        "nodeDesiredSize": most("nodeDesiredSize"),
        "nodeMaxSize": most("nodeMaxSize"),
        "clusterEndpointAccess": "PUBLIC_AND_PRIVATE",
        "clusterEndpointPublicCidrs": [f"223.255.{100 + i}.255/32" for i in range(most("clusterEndpointPublicCidrs"))],
        "clusterAdminRoleArns": [_role(100 + i) for i in range(most("clusterAdminRoleArns"))],
        "controllerLogLevel": "debug",
        "serviceNetworkName": fill("sn", most("serviceNetworkName"), "n").replace("sn", "xn", 1),
        "serviceNetworkAuthType": "AWS_IAM",
        "latticeIpv6": True,
        "privateZoneName": zone,
        "logRetentionDays": most("logRetentionDays"),
        "dnsRecordTimeoutMinutes": most("dnsRecordTimeoutMinutes"),
        "dnsResyncMinutes": most("dnsResyncMinutes"),
        "apps": apps,
        "routes": routes,
        "consumers": consumers,
        "goneConsumerAccounts": [str(333333333300 + i) for i in range(most("goneConsumerAccounts"))],
        "shareWithOrganization": "arn:aws:organizations::111111111111:organization/o-" + "a" * 32,
        "alarms": {
            "email": _email(most("alarms.email")),
            "errorRatePercent": most("alarms.errorRatePercent"),
            "latencyP99Ms": most("alarms.latencyP99Ms"),
            "evaluationPeriods": most("alarms.evaluationPeriods"),
            "periodSeconds": most("alarms.periodSeconds"),
            "targetHealthMinutes": most("alarms.targetHealthMinutes"),
        },
    }


def _email(length: int) -> str:
    """A 64-character local part and a domain of 63-character labels, `length` in all."""
    local = "o" * 64
    rest = length - len(local) - 1 - len(".com")
    labels = []
    while rest > 0:
        size = min(63, rest) if rest - min(63, rest) != 1 else 62
        labels.append("d" * size)
        rest -= size + 1
    return f"{local}@{'.'.join(labels)}.com"


# --------------------------------------------------------------------------------------------------- coverage


def _values(value: Any, parts: list[str]) -> Iterator[Any]:
    """Every value at a schema path in the context (lists fan out)."""
    if not parts:
        yield value
        return
    head, *rest = parts
    if head == "[]":
        for item in value if isinstance(value, list) else []:
            yield from _values(item, rest)
    elif head == "{}":
        for item in value.values() if isinstance(value, dict) else []:
            yield from _values(item, rest)
    elif isinstance(value, dict) and head in value:
        yield from _values(value[head], rest)


def paths(node: Mapping[str, Any], path: str, seen: frozenset[str]) -> Iterator[tuple[str, dict[str, Any]]]:
    node = _plain(node)
    yield path, node
    for name, sub in (node.get("properties") or {}).items():
        yield from paths(sub, f"{path}.{name}" if path else name, seen)
    if isinstance(node.get("items"), dict):
        yield from paths(node["items"], f"{path}[]", seen)
    if isinstance(node.get("additionalProperties"), dict):
        yield from paths(node["additionalProperties"], f"{path}{{}}", seen)


def context_schema_top() -> dict[str, Any]:
    """The context's schema without its patternProperties (CDK's feature flags)."""
    return {k: v for k, v in schema()["$defs"]["Context"].items() if k != "patternProperties"}


def shortfalls(context: Mapping[str, Any]) -> list[str]:
    """Why `context` is not the largest configuration config/schema.json allows ([] when it is)."""
    found = []
    for path, node in paths(context_schema_top(), "", frozenset()):
        if not path or path.split(".")[0].split("[")[0] in LEFT_OUT:
            continue
        values = list(_values(dict(context), path.replace("[]", ".[]").replace("{}", ".{}").split(".")))
        kind = node.get("type")
        if not values:
            found.append(f"{path}: never set")
        elif kind == "array" and "maxItems" not in node:
            found.append(f"{path}: a list without maxItems")
        elif kind == "array" and path in FEWER and "maxItems" in node:
            if max(len(v) for v in values) != FEWER[path][1]():
                found.append(f"{path}: no list at its bound {FEWER[path][1]()} ({FEWER[path][0]})")
        elif kind == "array" and any(len(v) != node["maxItems"] for v in values):
            found.append(f"{path}: a list shorter than its maxItems {node['maxItems']}")
        elif kind == "object" and isinstance(node.get("additionalProperties"), dict) and "maxProperties" not in node:
            found.append(f"{path}: a map without maxProperties")
        elif kind == "object" and "maxProperties" in node and any(len(v) != node["maxProperties"] for v in values):
            found.append(f"{path}: a map with fewer entries than its maxProperties {node['maxProperties']}")
        elif kind == "string" and not ({"maxLength", "enum", "const"} & set(node)):
            found.append(f"{path}: a string without maxLength")
        elif kind == "string" and "maxLength" in node and path not in EXEMPT:
            if max(len(v) for v in values) != node["maxLength"]:
                found.append(f"{path}: never at its maxLength {node['maxLength']}")
        elif kind == "string" and path in EVERY_VALUE and set(node["enum"]) - set(values):
            found.append(f"{path}: never {', '.join(sorted(set(node['enum']) - set(values)))}")
        elif kind == "boolean" and True not in values:
            found.append(f"{path}: never on")
        elif kind in ("integer", "number") and max(values) != most(path):
            found.append(f"{path}: never at its maximum {most(path)}")
        names = node.get("propertyNames") or {}
        if kind == "object" and "maxLength" not in names and isinstance(node.get("additionalProperties"), dict):
            found.append(f"{path}: keys without maxLength")
        elif kind == "object" and names and max(len(k) for v in values for k in v) != names["maxLength"]:
            found.append(f"{path}: no key at its maxLength {names['maxLength']}")
    return found


def largest_overrides() -> dict[str, Any]:
    """largest_context() as `-c` delivers it: the list-valued keys of objects as JSON text."""
    return {k: json.dumps(v) if k in ("apps", "routes", "consumers") else v for k, v in largest_context().items()}
