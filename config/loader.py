"""Parse and validate the configuration once, at the edge.

Every problem raises `ConfigError` with one line that names the key and the reason; `app.py` prints it
and exits before any construct exists, so a bad value never leaves half-written templates behind.
"""

from __future__ import annotations

import datetime as dt
import difflib
import ipaddress
import json
import re
from collections.abc import Mapping
from typing import Any, TypeVar, cast

from config.consumers import parse_sharing
from config.model import (
    App,
    AppConfig,
    Backend,
    HeaderMatch,
    HealthCheck,
    Resources,
    Route,
    RouteRule,
)
from config.versions import (
    CONTROLLER_RELEASES,
    EKS_EXTENDED_HOURLY_USD,
    EKS_STANDARD_HOURLY_USD,
    EKS_VERSIONS,
    GATEWAY_API_RELEASES,
)


class ConfigError(ValueError):
    """A configuration value that cannot be deployed. `str()` is the one line shown to the user."""

    def __init__(self, key: str, reason: str) -> None:
        super().__init__(f"{key}: {reason}")
        self.key = key
        self.reason = reason


# The defaults: the tutorial's values with SPEC §2's updates. cdk.json repeats them for users to edit
# (a test keeps the two equal).
DEFAULTS: dict[str, Any] = {
    "clusterName": "eks-demo",
    "kubernetesVersion": "1.35",
    "clusterVpcCidr": "10.1.0.0/16",
    "clientVpcCidr": "10.2.0.0/16",
    "nodeInstanceType": "t3.medium",
    "nodeDesiredSize": 2,
    "nodeMinSize": 1,
    "nodeMaxSize": 3,
    "clusterEndpointAccess": "PUBLIC_AND_PRIVATE",
    "clusterEndpointPublicCidrs": ["0.0.0.0/0"],
    "clusterAdminRoleArns": [],
    "controllerChartVersion": "v2.1.3",
    "controllerLogLevel": "info",
    "gatewayApiVersion": "v1.5.1",
    "serviceNetworkName": "demo-sn",
    "serviceNetworkAuthType": "AWS_IAM",
    "latticeIpv6": False,
    "privateZoneName": "example.com",
    "clientInstanceType": "t3.micro",
    "logRetentionDays": 30,
    "dnsRecordTimeoutMinutes": 20,
    "dnsResyncMinutes": 0,
    # Other accounts that get the service network (issue 13; validated in config/consumers.py).
    "consumers": [],
    "shareWithOrganization": "",
    "apps": [
        {
            "name": "demo-app-a",
            "image": "rlawnsdud/demo:latest",
            "replicas": 2,
            "containerPort": 3000,
            "env": {"HOST": "0.0.0.0", "ROUTE": "v1", "GLOBAL_PREFIX": "/v1"},  # noqa: S104 (the pod listens on all)
            "healthPath": "/v1/health",
        },
        {
            "name": "demo-app-b",
            "image": "rlawnsdud/demo:latest",
            "replicas": 2,
            "containerPort": 3000,
            "env": {"HOST": "0.0.0.0", "ROUTE": "v2", "GLOBAL_PREFIX": "/v2"},  # noqa: S104
            "healthPath": "/v2/health",
        },
    ],
    "routes": [
        {
            "name": "demo-http-route",
            "hostname": "api.example.com",
            "rules": [
                {"pathPrefix": "/v1", "backends": [{"app": "demo-app-a"}]},
                {"pathPrefix": "/v2", "backends": [{"app": "demo-app-b"}]},
            ],
        }
    ],
}

# Context keys that belong to other tools (CDK feature flags, the pipeline issue's key); not ours to check.
_FOREIGN_KEYS = {"pipeline"}

# CloudWatch Logs accepts only these retention periods.
_LOG_RETENTION_DAYS = {
    1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653,
}  # fmt: skip

_DNS_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")  # RFC 1123 label (namespaces)
_DNS_1035 = re.compile(r"^[a-z]([-a-z0-9]*[a-z0-9])?$")  # Service names must start with a letter
_CLUSTER_NAME = re.compile(r"^[0-9A-Za-z][A-Za-z0-9\-_]{0,99}$")  # EKS CreateCluster name pattern
_INSTANCE_TYPE = re.compile(r"^[a-z][a-z0-9-]*[0-9][a-z0-9-]*\.[a-z0-9]+$")
_ENV_NAME = re.compile(r"^[-._a-zA-Z][-._a-zA-Z0-9]*$")
_HEADER_NAME = re.compile(r"^[A-Za-z0-9!#$%&'*+\-.^_`|~]{1,256}$")  # RFC 7230 token, as the CRD
_HTTP_METHODS = ("GET", "HEAD", "POST", "PUT", "DELETE", "CONNECT", "OPTIONS", "TRACE", "PATCH")
_IMAGE = re.compile(r"^[a-z0-9]+([._\-/:@][a-zA-Z0-9]+)*$")
_ROLE_ARN = re.compile(r"^arn:aws[a-z-]*:iam::\d{12}:role/[\w+=,.@/-]{1,512}$")
# Kubernetes env names reserved by the manifest builder (PORT follows containerPort, POD is the pod name).
_RESERVED_ENV = {"PORT", "POD"}

# Lattice and controller limits (SPEC §3).
MAX_RULES_PER_ROUTE = 10
MAX_HEADER_MATCHES = 5
MAX_TARGET_GROUPS_PER_SERVICE = 10
MAX_LATTICE_WEIGHT = 999

T = TypeVar("T")


def parse_context(raw: Mapping[str, Any], *, today: dt.date) -> AppConfig:
    """Build the config from context values (cdk.json merged with `-c` overrides, as CDK hands them over)."""
    _reject_unknown_keys(raw)
    values = {**DEFAULTS, **{k: v for k, v in raw.items() if k in DEFAULTS}}
    values = {k: _decode(k, v) for k, v in values.items()}
    return _build(values, today=today)


def _reject_unknown_keys(raw: Mapping[str, Any]) -> None:
    for key in raw:
        # Feature flags ("@aws-cdk/...") and CDK's own keys ("aws:cdk:...") are namespaced; ours are plain.
        if key in DEFAULTS or key in _FOREIGN_KEYS or not re.fullmatch(r"[A-Za-z][A-Za-z0-9]*", key):
            continue
        hint = difflib.get_close_matches(key, DEFAULTS, n=1)
        raise ConfigError(key, "unknown configuration key" + (f" (did you mean {hint[0]!r}?)" if hint else ""))


def _decode(key: str, value: Any) -> Any:
    """`-c key=value` delivers strings; JSON-decode them where the key takes a list, object, number or bool."""
    default = DEFAULTS[key]
    if not isinstance(value, str) or isinstance(default, str):
        return value
    try:
        return json.loads(value)
    except json.JSONDecodeError as err:
        raise ConfigError(key, f"expected JSON ({type(default).__name__}), got {value!r}: {err.msg}") from None


# ----------------------------------------------------------------------------------------------- helpers


def expect_type(key: str, value: Any, kind: type[T]) -> T:
    # bool is an int in Python; never accept it where a number is meant.
    if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        raise ConfigError(key, f"expected {kind.__name__}, got {json.dumps(value)}")
    return value


def _int(key: str, value: Any, lo: int, hi: int) -> int:
    number = expect_type(key, value, int)
    if not lo <= number <= hi:
        raise ConfigError(key, f"{number} is out of range {lo}..{hi}")
    return number


def _choice(key: str, value: Any, choices: tuple[str, ...]) -> str:
    text = expect_type(key, value, str)
    if text not in choices:
        raise ConfigError(key, f"{text!r} is not one of {', '.join(choices)}")
    return text


def expect_object(key: str, value: Any, allowed: set[str], required: set[str] = frozenset()) -> dict[str, Any]:  # type: ignore[assignment]
    obj = expect_type(key, value, dict)
    for name in obj:
        if name not in allowed:
            hint = difflib.get_close_matches(name, allowed, n=1)
            raise ConfigError(f"{key}.{name}", "unknown field" + (f" (did you mean {hint[0]!r}?)" if hint else ""))
    for name in sorted(required - obj.keys()):
        raise ConfigError(f"{key}.{name}", "is required")
    return cast(dict[str, Any], obj)


def expect_list(key: str, value: Any, *, min_len: int = 0) -> list[Any]:
    items = expect_type(key, value, list)
    if len(items) < min_len:
        raise ConfigError(key, f"needs at least {min_len} entr{'y' if min_len == 1 else 'ies'}")
    return cast(list[Any], items)


def _unique(key: str, names: list[str]) -> None:
    seen: set[str] = set()
    for name in names:
        if name in seen:
            raise ConfigError(key, f"duplicate name {name!r}")
        seen.add(name)


def _k8s_name(key: str, value: Any, pattern: re.Pattern[str] = _DNS_LABEL, max_len: int = 63) -> str:
    name = expect_type(key, value, str)
    if len(name) > max_len or not pattern.match(name):
        what = "start with a letter, " if pattern is _DNS_1035 else ""
        raise ConfigError(
            key,
            f"{name!r} is not a valid Kubernetes name (lowercase letters, digits and '-', {what}"
            f"at most {max_len} characters)",
        )
    return name


def _cidr(key: str, value: Any, *, max_prefix: int) -> ipaddress.IPv4Network:
    text = expect_type(key, value, str)
    try:
        net = ipaddress.IPv4Network(text, strict=True)
    except ValueError as err:
        raise ConfigError(key, f"{text!r} is not an IPv4 CIDR block ({err})") from None
    if not 16 <= net.prefixlen <= max_prefix:
        raise ConfigError(
            key,
            f"{text} is a /{net.prefixlen}; VPCs here need a prefix from /16 to /{max_prefix} (room for the subnets)",
        )
    if not net.is_private:
        raise ConfigError(key, f"{text} is not a private address range (RFC 1918)")
    return net


def _hostname(key: str, value: Any) -> str:
    name = expect_type(key, value, str)
    labels = name.split(".")
    if not 3 <= len(name) <= 253 or name != name.lower() or not all(_DNS_LABEL.match(label) for label in labels):
        raise ConfigError(key, f"{name!r} is not a valid lowercase DNS name")
    return name


# ----------------------------------------------------------------------------------------------- build


def _build(v: dict[str, Any], *, today: dt.date) -> AppConfig:
    warnings: list[str] = []

    cluster_name = expect_type("clusterName", v["clusterName"], str)
    if not _CLUSTER_NAME.match(cluster_name):
        raise ConfigError(
            "clusterName", f"{cluster_name!r} is not a valid EKS cluster name (letters, digits, '-' and '_', 1-100)"
        )

    version = expect_type("kubernetesVersion", v["kubernetesVersion"], str)
    eks = EKS_VERSIONS.get(version)
    if eks is None:
        raise ConfigError(
            "kubernetesVersion", f"{version!r} is not supported here; choose one of {', '.join(EKS_VERSIONS)}"
        )
    if today > eks.end_of_extended:
        raise ConfigError(
            "kubernetesVersion", f"{version} left EKS extended support on {eks.end_of_extended:%Y-%m-%d}; upgrade"
        )
    if today > eks.end_of_standard:
        extra = (EKS_EXTENDED_HOURLY_USD - EKS_STANDARD_HOURLY_USD) * 730
        warnings.append(
            f"kubernetesVersion {version} is in EKS extended support since {eks.end_of_standard:%Y-%m-%d} "
            f"(until {eks.end_of_extended:%Y-%m-%d}): the control plane costs ${EKS_EXTENDED_HOURLY_USD:.2f}/h "
            f"instead of ${EKS_STANDARD_HOURLY_USD:.2f}/h, about ${extra:.0f} more a month"
        )

    _cidr("clusterVpcCidr", v["clusterVpcCidr"], max_prefix=22)
    _cidr("clientVpcCidr", v["clientVpcCidr"], max_prefix=26)

    node_type = expect_type("nodeInstanceType", v["nodeInstanceType"], str)
    if not _INSTANCE_TYPE.match(node_type):
        raise ConfigError("nodeInstanceType", f"{node_type!r} is not an EC2 instance type (like t3.medium)")
    client_type = expect_type("clientInstanceType", v["clientInstanceType"], str)
    if not _INSTANCE_TYPE.match(client_type):
        raise ConfigError("clientInstanceType", f"{client_type!r} is not an EC2 instance type (like t3.micro)")
    desired = _int("nodeDesiredSize", v["nodeDesiredSize"], 1, 100)
    min_size = _int("nodeMinSize", v["nodeMinSize"], 1, 100)
    max_size = _int("nodeMaxSize", v["nodeMaxSize"], 1, 100)
    if not min_size <= desired <= max_size:
        raise ConfigError(
            "nodeDesiredSize", f"{desired} must lie between nodeMinSize ({min_size}) and nodeMaxSize ({max_size})"
        )

    access = _choice("clusterEndpointAccess", v["clusterEndpointAccess"], ("PUBLIC_AND_PRIVATE", "PRIVATE"))
    public_cidrs = expect_list("clusterEndpointPublicCidrs", v["clusterEndpointPublicCidrs"])
    for i, text in enumerate(public_cidrs):
        key = f"clusterEndpointPublicCidrs[{i}]"
        try:
            ipaddress.IPv4Network(expect_type(key, text, str), strict=True)
        except ValueError as err:
            raise ConfigError(key, f"{text!r} is not an IPv4 CIDR block ({err})") from None
    if access == "PUBLIC_AND_PRIVATE" and not public_cidrs:
        raise ConfigError("clusterEndpointPublicCidrs", "is empty; use clusterEndpointAccess=PRIVATE instead")
    admins = expect_list("clusterAdminRoleArns", v["clusterAdminRoleArns"])
    for i, arn in enumerate(admins):
        if not _ROLE_ARN.match(expect_type(f"clusterAdminRoleArns[{i}]", arn, str)):
            raise ConfigError(f"clusterAdminRoleArns[{i}]", f"{arn!r} is not an IAM role ARN")

    chart = expect_type("controllerChartVersion", v["controllerChartVersion"], str)
    release = CONTROLLER_RELEASES.get(chart)
    if release is None:
        raise ConfigError(
            "controllerChartVersion",
            f"{chart!r} is not supported; known: {', '.join(CONTROLLER_RELEASES)} "
            "(its IAM policy and CRD needs are pinned per release)",
        )
    gw_version = expect_type("gatewayApiVersion", v["gatewayApiVersion"], str)
    if gw_version not in GATEWAY_API_RELEASES:
        raise ConfigError(
            "gatewayApiVersion",
            f"{gw_version!r} has no pinned CRD hashes; known: {', '.join(GATEWAY_API_RELEASES)}",
        )
    gw_minor = tuple(int(p) for p in gw_version.lstrip("v").split(".")[:2])
    if gw_minor < release.min_gateway_api:
        raise ConfigError(
            "gatewayApiVersion",
            f"controller {chart} needs Gateway API >= v{'.'.join(map(str, release.min_gateway_api))}",
        )

    sn_name = expect_type("serviceNetworkName", v["serviceNetworkName"], str)
    if not 3 <= len(sn_name) <= 63 or not _DNS_LABEL.match(sn_name) or "--" in sn_name or sn_name.startswith("sn-"):
        raise ConfigError(
            "serviceNetworkName",
            f"{sn_name!r} is not a valid Lattice service network name (3-63 lowercase letters, digits and "
            "single hyphens; not starting with 'sn-')",
        )
    zone = _hostname("privateZoneName", v["privateZoneName"])
    if "." not in zone:
        raise ConfigError("privateZoneName", f"{zone!r} needs at least two labels (like example.com)")

    apps = _apps(v["apps"])
    routes = _routes(v["routes"], apps=apps, zone=zone)
    sharing = parse_sharing(
        v["consumers"],
        v["shareWithOrganization"],
        app_cidrs={k: v[k] for k in ("clusterVpcCidr", "clientVpcCidr")},
    )

    return AppConfig(
        cluster_name=cluster_name,
        kubernetes_version=version,
        cluster_vpc_cidr=v["clusterVpcCidr"],
        client_vpc_cidr=v["clientVpcCidr"],
        node_instance_type=node_type,
        node_desired_size=desired,
        node_min_size=min_size,
        node_max_size=max_size,
        cluster_endpoint_access=cast(Any, access),
        cluster_endpoint_public_cidrs=tuple(public_cidrs),
        cluster_admin_role_arns=tuple(admins),
        controller_chart_version=chart,
        controller_log_level=cast(Any, _choice("controllerLogLevel", v["controllerLogLevel"], ("info", "debug"))),
        gateway_api_version=gw_version,
        service_network_name=sn_name,
        service_network_auth_type=cast(
            Any, _choice("serviceNetworkAuthType", v["serviceNetworkAuthType"], ("NONE", "AWS_IAM"))
        ),
        lattice_ipv6=expect_type("latticeIpv6", v["latticeIpv6"], bool),
        private_zone_name=zone,
        client_instance_type=client_type,
        log_retention_days=_retention(v["logRetentionDays"]),
        dns_record_timeout_minutes=_int("dnsRecordTimeoutMinutes", v["dnsRecordTimeoutMinutes"], 1, 120),
        dns_resync_minutes=_resync(v["dnsResyncMinutes"]),
        apps=apps,
        routes=routes,
        consumers=sharing.consumers,
        share_with_organization=sharing.share_with_organization,
        warnings=tuple(warnings),
    )


def _retention(value: Any) -> int:
    days = expect_type("logRetentionDays", value, int)
    if days not in _LOG_RETENTION_DAYS:
        raise ConfigError(
            "logRetentionDays",
            f"{days} is not a CloudWatch retention period ({', '.join(map(str, sorted(_LOG_RETENTION_DAYS)))})",
        )
    return days


def _resync(value: Any) -> int:
    minutes = expect_type("dnsResyncMinutes", value, int)
    if minutes != 0 and not 5 <= minutes <= 1440:
        raise ConfigError("dnsResyncMinutes", f"{minutes} must be 0 (off) or 5..1440")
    return minutes


_APP_FIELDS = {
    "name",
    "namespace",
    "image",
    "replicas",
    "containerPort",
    "env",
    "healthPath",
    "healthCheck",
    "resources",
}
_HC_FIELDS = {
    "protocol",
    "protocolVersion",
    "intervalSeconds",
    "timeoutSeconds",
    "healthyThresholdCount",
    "unhealthyThresholdCount",
}
_RES_FIELDS = {"cpuRequest", "memoryRequest", "cpuLimit", "memoryLimit"}
_QUANTITY = re.compile(r"^[0-9]+(\.[0-9]+)?(m|Ki|Mi|Gi|Ti|k|M|G|T)?$")


def _apps(value: Any) -> tuple[App, ...]:
    items = expect_list("apps", value, min_len=1)
    apps: list[App] = []
    for i, item in enumerate(items):
        key = f"apps[{i}]"
        obj = expect_object(key, item, _APP_FIELDS, {"name", "image", "containerPort", "healthPath"})
        name = _k8s_name(f"{key}.name", obj["name"], _DNS_1035)
        port = _int(f"{key}.containerPort", obj["containerPort"], 1, 65535)
        image = expect_type(f"{key}.image", obj["image"], str)
        if not _IMAGE.match(image):
            raise ConfigError(f"{key}.image", f"{image!r} is not a container image reference")
        env_obj = expect_type(f"{key}.env", obj.get("env", {}), dict)
        env: list[tuple[str, str]] = []
        for env_name, env_value in env_obj.items():
            if not _ENV_NAME.match(env_name):
                raise ConfigError(f"{key}.env.{env_name}", "is not a valid environment variable name")
            if env_name in _RESERVED_ENV:
                raise ConfigError(
                    f"{key}.env.{env_name}", "is set by the app (PORT = containerPort, POD = the pod's name)"
                )
            env.append((env_name, expect_type(f"{key}.env.{env_name}", env_value, str)))
        hc = expect_object(f"{key}.healthCheck", obj.get("healthCheck", {}), _HC_FIELDS)
        health_path = _path(f"{key}.healthPath", obj["healthPath"])
        health = HealthCheck(
            path=health_path,
            port=port,
            protocol=cast(Any, _choice(f"{key}.healthCheck.protocol", hc.get("protocol", "HTTP"), ("HTTP", "HTTPS"))),
            protocol_version=cast(
                Any,
                _choice(f"{key}.healthCheck.protocolVersion", hc.get("protocolVersion", "HTTP1"), ("HTTP1", "HTTP2")),
            ),
            interval_seconds=_int(f"{key}.healthCheck.intervalSeconds", hc.get("intervalSeconds", 10), 5, 300),
            timeout_seconds=_int(f"{key}.healthCheck.timeoutSeconds", hc.get("timeoutSeconds", 5), 1, 120),
            healthy_threshold_count=_int(
                f"{key}.healthCheck.healthyThresholdCount", hc.get("healthyThresholdCount", 3), 2, 10
            ),
            unhealthy_threshold_count=_int(
                f"{key}.healthCheck.unhealthyThresholdCount", hc.get("unhealthyThresholdCount", 3), 2, 10
            ),
        )
        if health.timeout_seconds >= health.interval_seconds:
            raise ConfigError(
                f"{key}.healthCheck.timeoutSeconds",
                f"{health.timeout_seconds} must be shorter than intervalSeconds ({health.interval_seconds})",
            )
        res = expect_object(f"{key}.resources", obj.get("resources", {}), _RES_FIELDS)
        quantities: dict[str, str] = {}
        for field_name in sorted(_RES_FIELDS):
            if field_name in res:
                q = expect_type(f"{key}.resources.{field_name}", res[field_name], str)
                if not _QUANTITY.match(q):
                    raise ConfigError(f"{key}.resources.{field_name}", f"{q!r} is not a Kubernetes quantity")
                quantities[re.sub(r"([A-Z])", r"_\1", field_name).lower()] = q
        apps.append(
            App(
                name=name,
                namespace=_k8s_name(f"{key}.namespace", obj.get("namespace", "default")),
                image=image,
                replicas=_int(f"{key}.replicas", obj.get("replicas", 2), 0, 100),
                container_port=port,
                env=tuple(env),
                health_check=health,
                resources=Resources(**quantities),
            )
        )
    _unique("apps", [a.name for a in apps])
    return tuple(apps)


_ROUTE_FIELDS = {"name", "namespace", "hostname", "rules"}
_RULE_FIELDS = {"pathPrefix", "path", "headers", "method", "backends"}
# Gateway API fields Lattice or the controller cannot serve, with the reason shown to the user (SPEC §3).
_UNSUPPORTED_RULE_FIELDS = {
    "matches": "one match per rule only (Lattice); write one rule per match",
    "regex": "RegularExpression paths are not supported by Lattice; use pathPrefix or path (exact)",
    "pathRegex": "RegularExpression paths are not supported by Lattice; use pathPrefix or path (exact)",
    "queryParams": "query parameter matches are not supported by Lattice",
    "filters": "HTTPRoute filters (URLRewrite, RequestRedirect, header modifiers) are ignored by the controller",
}
_HEADER_FIELDS = {"name", "value", "type"}


def _path(key: str, value: Any) -> str:
    path = expect_type(key, value, str)
    if not path.startswith("/") or len(path) > 200 or any(c.isspace() for c in path):
        raise ConfigError(key, f"{path!r} must start with '/', have no spaces and at most 200 characters")
    return path


def _routes(value: Any, *, apps: tuple[App, ...], zone: str) -> tuple[Route, ...]:
    items = expect_list("routes", value, min_len=1)
    by_name = {a.name: a for a in apps}
    routes: list[Route] = []
    for i, item in enumerate(items):
        key = f"routes[{i}]"
        obj = expect_object(key, item, _ROUTE_FIELDS | {"hostnames"}, {"name", "hostname", "rules"})
        if "hostnames" in obj:
            raise ConfigError(
                f"{key}.hostnames",
                "Lattice uses only the first hostname as the custom domain; give one 'hostname' per route",
            )
        name = _k8s_name(f"{key}.name", obj["name"], max_len=63)
        namespace = _k8s_name(f"{key}.namespace", obj.get("namespace", "default"))
        hostname = _hostname(f"{key}.hostname", obj["hostname"])
        if not hostname.endswith("." + zone):
            raise ConfigError(f"{key}.hostname", f"{hostname!r} is outside privateZoneName {zone!r}")
        rule_items = expect_list(f"{key}.rules", obj["rules"], min_len=1)
        if len(rule_items) > MAX_RULES_PER_ROUTE:
            raise ConfigError(
                f"{key}.rules", f"{len(rule_items)} rules; a Lattice listener takes at most {MAX_RULES_PER_ROUTE}"
            )
        rules = tuple(
            _rule(f"{key}.rules[{j}]", r, by_name=by_name, namespace=namespace) for j, r in enumerate(rule_items)
        )
        target_groups = {b.app for r in rules for b in r.backends}
        if len(target_groups) > MAX_TARGET_GROUPS_PER_SERVICE:
            raise ConfigError(
                f"{key}.rules",
                f"{len(target_groups)} distinct backends; a Lattice service takes at most "
                f"{MAX_TARGET_GROUPS_PER_SERVICE} target groups",
            )
        seen_matches: set[tuple[Any, ...]] = set()
        for j, rule in enumerate(rules):
            match = (rule.path_type, rule.path.lower(), rule.headers, rule.method)
            if match in seen_matches:
                raise ConfigError(
                    f"{key}.rules[{j}]", "repeats an earlier rule's match (Lattice matches paths case-insensitively)"
                )
            seen_matches.add(match)
        routes.append(Route(name=name, namespace=namespace, hostname=hostname, rules=rules))
    _unique("routes", [f"{r.namespace}/{r.name}" for r in routes])
    hostnames = [r.hostname for r in routes]
    for j, host in enumerate(hostnames):
        if host in hostnames[:j]:
            raise ConfigError(f"routes[{j}].hostname", f"{host!r} is already used by another route")
    return tuple(routes)


def _rule(key: str, value: Any, *, by_name: dict[str, App], namespace: str) -> RouteRule:
    if isinstance(value, dict):
        for field_name, reason in _UNSUPPORTED_RULE_FIELDS.items():
            if field_name in value:
                raise ConfigError(f"{key}.{field_name}", reason)
    obj = expect_object(key, value, _RULE_FIELDS, {"backends"})
    if ("pathPrefix" in obj) == ("path" in obj):
        raise ConfigError(key, "give exactly one of pathPrefix or path (exact match)")
    path_type = "PathPrefix" if "pathPrefix" in obj else "Exact"
    path = _path(
        f"{key}.{'pathPrefix' if path_type == 'PathPrefix' else 'path'}", obj.get("pathPrefix", obj.get("path"))
    )

    header_items = expect_list(f"{key}.headers", obj.get("headers", []))
    if len(header_items) > MAX_HEADER_MATCHES:
        raise ConfigError(
            f"{key}.headers", f"{len(header_items)} header matches; Lattice takes at most {MAX_HEADER_MATCHES}"
        )
    headers: list[HeaderMatch] = []
    for h, header in enumerate(header_items):
        hkey = f"{key}.headers[{h}]"
        hobj = expect_object(hkey, header, _HEADER_FIELDS, {"name", "value"})
        if hobj.get("type", "Exact") != "Exact":
            raise ConfigError(f"{hkey}.type", f"{hobj['type']!r}: only Exact header matches are supported")
        hname = expect_type(f"{hkey}.name", hobj["name"], str)
        if not _HEADER_NAME.match(hname):
            raise ConfigError(f"{hkey}.name", f"{hname!r} is not a valid HTTP header name")
        hvalue = expect_type(f"{hkey}.value", hobj["value"], str)
        if not 1 <= len(hvalue) <= 4096:
            raise ConfigError(f"{hkey}.value", "must be 1-4096 characters")
        headers.append(HeaderMatch(name=hname, value=hvalue))
    _unique(f"{key}.headers", [h.name.lower() for h in headers])

    method = obj.get("method")
    if method is not None:
        method = _choice(f"{key}.method", method, _HTTP_METHODS)

    backend_items = expect_list(f"{key}.backends", obj["backends"], min_len=1)
    backends: list[Backend] = []
    for b, backend in enumerate(backend_items):
        bkey = f"{key}.backends[{b}]"
        bobj = expect_object(bkey, backend, {"app", "weight"}, {"app"})
        app_name = expect_type(f"{bkey}.app", bobj["app"], str)
        app = by_name.get(app_name)
        if app is None:
            raise ConfigError(f"{bkey}.app", f"{app_name!r} is not one of the configured apps ({', '.join(by_name)})")
        if app.namespace != namespace:
            raise ConfigError(
                f"{bkey}.app",
                f"{app_name!r} is in namespace {app.namespace!r}, the route in {namespace!r}; "
                "cross-namespace backends are not supported",
            )
        weight = bobj.get("weight")
        if weight is not None:
            weight = _int(f"{bkey}.weight", weight, 0, MAX_LATTICE_WEIGHT)
        backends.append(Backend(app=app_name, weight=weight))
    _unique(f"{key}.backends", [b.app for b in backends])
    if all(b.weight == 0 for b in backends):
        raise ConfigError(f"{key}.backends", "every weight is 0; at least one backend must receive traffic")
    return RouteRule(
        path_type=cast(Any, path_type), path=path, headers=tuple(headers), method=method, backends=tuple(backends)
    )
