"""`routes[]`: one HTTPRoute, GRPCRoute or TLSRoute each, its rules, protocol and certificate, within the limits of
Lattice, the controller and the Gateway API CRDs (sources beside each limit)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    SerializerFunctionWrapHandler,
    Strict,
    model_serializer,
    model_validator,
)

from config.access import Access
from config.errors import Problem, config_error, fail
from config.fields import (
    DNS_LABEL,
    MAX_PATH_LENGTH,
    PARTITION,
    Between,
    K8sName,
    Matches,
    Model,
    UrlPath,
    describe_fields,
    drop_unset_new_keys,
    duplicates,
    says,
)
from config.limits import DNS_MARKER_PREFIX, MAX_APPS, MAX_DNS_NAME, MAX_K8S_NAME, MAX_ROUTE_HOSTNAME

PathType = Literal["PathPrefix", "Exact"]

RouteProtocol = Literal["HTTP", "HTTPS", "GRPC", "TLS"]
# The Gateway API kind each protocol's route is emitted as (constructs/workload/routes.py builds them; make impact reads
# it here, without the CDK runtime).
ROUTE_KINDS: dict[str, str] = {"HTTP": "HTTPRoute", "HTTPS": "HTTPRoute", "GRPC": "GRPCRoute", "TLS": "TLSRoute"}
HttpMethod = Literal["GET", "HEAD", "POST", "PUT", "DELETE", "CONNECT", "OPTIONS", "TRACE", "PATCH"]

# Lattice and controller limits (SPEC §3), read 2026-12-05: "Rules per listener: 10" (VPC Lattice User Guide,
# Quotas, https://docs.aws.amazon.com/vpc-lattice/latest/ug/quotas.html; the controller makes one listener rule
# per HTTPRoute rule); botocore 1.44.8 vpc-lattice 2022-11-30 service-2.json: HeaderMatchList max 5,
# WeightedTargetGroupList max 10 (a rule's forward action), TargetGroupWeight 0..999.
MAX_RULES_PER_ROUTE = 10
MAX_HEADER_MATCHES = 5
MAX_TARGET_GROUPS_PER_SERVICE = 10
MAX_LATTICE_WEIGHT = 999

# A Gateway holds at most 64 listeners: spec.listeners maxItems in the Gateway API v1.5.1 Gateway CRD
# (gateway.networking.k8s.io_gateways.yaml, v1 and v1beta1; read 2026-12-05; tests/test_protocols.py reads it from
# ../shared/reference). The listeners follow from the routes (constructs/workload/routes.listeners).
MAX_GATEWAY_LISTENERS = 64
# Lattice header matches (botocore vpc-lattice HeaderMatchName max 100, HeaderMatchExact max 200; the CRD
# allows 256 and 4096). Read 2026-12-05.
MAX_HEADER_NAME = 100
MAX_HEADER_VALUE = 200
# Protocols (issue 26). Sources, read 2026-12-05:
# - controller v2.1.3 docs/guides/https.md: an HTTPS listener is mode Terminate only ("For TLS Passthrough, use a
#   `protocol: TLS` listener with a TLSRoute"); the certificate is the listener option
#   application-networking.k8s.aws/certificate-arn, else discovered from ACM by the route's first hostname.
# - controller v2.1.3 pkg/gateway/model_build_lattice_service.go (getACMCertArn) and pkg/aws/services/
#   cert_discovery.go: discovery lists ISSUED certificates (acm:ListCertificates) and takes the newest exact, then
#   the newest single-label wildcard match of the hostname; none found is an error (ErrCertificateNotFound) and
#   the route's Lattice service is not built.
# - controller v2.1.3 pkg/gateway/model_build_rule.go (updateRuleSpecForGrpcRoute): a gRPC match becomes a POST
#   rule on path /<service>/<method> (exact) or /<service>/ (prefix); a method without a service is refused; a rule
#   without matches matches prefix "/" (POST for gRPC).
# - controller v2.1.3 pkg/gateway/model_build_listener.go (getListenerDefaultAction): a TLS passthrough route has
#   exactly one rule, which becomes the listener's default action.
# - Gateway API v1.5.1 GRPCRoute CRD (gateway.networking.k8s.io_grpcroutes.yaml, spec.rules[].matches[].method
#   CEL): service ^(?i)\.?[a-z_][a-z_0-9]*(\.[a-z_][a-z_0-9]*)*$, method ^[A-Za-z_][A-Za-z_0-9]*$, each at most
#   1024 characters; the Lattice path they become must also fit MAX_PATH_LENGTH.
# - VPC Lattice User Guide, "TLS listeners" (https://docs.aws.amazon.com/vpc-lattice/latest/ug/tls-listeners.html):
#   a custom domain name (the SNI match), only the default rule, a forward to a TCP target group; Lattice cannot
#   read HTTP, so connections last at most 10 minutes and auth policies are limited to anonymous principals.
GRPC_SERVICE = r"[A-Za-z_][A-Za-z_0-9]*(?:\.[A-Za-z_][A-Za-z_0-9]*)*"
GRPC_METHOD = r"[A-Za-z_][A-Za-z_0-9]*"
SERVICE_PORT_HTTP = 80  # the tutorial's HTTP listener
HTTPS_PORT = 443  # the HTTPS listener's port (controller docs/guides/https.md)
TLS_DEFAULT_PORT = 443
# A certificate ARN both APIs take (botocore 1.44.8, read 2026-12-05): acm's Arn
# (arn:[\w+=/,.@-]+:acm:[\w+=/,.@-]*:[0-9]+:[\w+=,.@-]+(/[\w+=,.@-]+)*, 20-2048) and vpc-lattice's CertificateArn
# (...:certificate/[0-9a-z-]+, at most 2048). Lattice takes a certificate of its own region only (ACM certificates
# are regional: https://docs.aws.amazon.com/acm/latest/userguide/acm-regions.html, read 2026-12-05).
CERTIFICATE_ARN = r"arn:%s:acm:[a-z0-9-]+:[0-9]{12}:certificate/[0-9a-z-]+"
# ... and of its own account: ACM has no resource policy or share of a certificate (botocore acm 2015-12-08
# service-2.json: no such operation; read 2026-12-05), so a pipeline stage in another account cannot use it.
_ACM_ARN = re.compile(r"arn:[a-z-]+:acm:(?P<region>[a-z0-9-]+):(?P<account>[0-9]{12}):certificate/.+")


def certificate_arns(config: BaseModel) -> list[tuple[str, str]]:
    """(key, ARN) of every ACM certificate ARN the configuration holds, wherever it is (found by value, so a key
    that comes to hold one later is found too), keys as ConfigError names them (routes[0].certificateArn)."""
    found: list[tuple[str, str]] = []

    def walk(value: Any, key: str) -> None:
        if isinstance(value, dict):
            for k, v in value.items():
                walk(v, f"{key}.{k}" if key else str(k))
        elif isinstance(value, list | tuple):
            for i, v in enumerate(value):
                walk(v, f"{key}[{i}]")
        elif isinstance(value, str) and _ACM_ARN.fullmatch(value):
            found.append((key, value))

    walk(config.model_dump(by_alias=True), "")
    return found


def certificate_environment_problems(config: BaseModel, account: str | None, region: str | None) -> list[Problem]:
    """Each certificate ARN outside the stack's account or region (None: not known at synth, not checked): Lattice
    takes a certificate of its own region (https://docs.aws.amazon.com/vpc-lattice/latest/ug/service-byoc.html,
    read 2026-12-05) and ACM shares none across accounts (above)."""
    problems: list[Problem] = []
    for key, arn in certificate_arns(config):
        where = _ACM_ARN.fullmatch(arn)
        assert where is not None  # certificate_arns matched it
        for what, mine in (("account", account), ("region", region)):
            if mine is not None and where[what] != mine:
                why = f"{arn!r} is in {what} {where[what]}, the stack in {mine}: import or request it there"
                problems.append((_key_path(key), why))
    return problems


def _key_path(key: str) -> tuple[str | int, ...]:
    return tuple(int(p) if p.isdigit() else p for p in re.split(r"[.\[\]]+", key) if p)


_CA_BUNDLE = "{input!r} is not a relative path of a .pem file (letters, digits, '.', '_', '-' and '/')"
_GRPC_SERVICE = "{input!r} is not a gRPC service name (dot-separated identifiers, like helloworld.Greeter)"
_GRPC_METHOD = "{input!r} is not a gRPC method name (an identifier, like SayHello)"

# A CA bundle's path, relative to the project folder (where cdk and make run); no "..": it stays inside.
CA_BUNDLE_PATH = r"[A-Za-z0-9_][A-Za-z0-9_./-]*\.pem"
PEM_CERTIFICATE = "-----BEGIN CERTIFICATE-----"


PROJECT_DIR = Path(__file__).resolve().parent.parent


def _pem_file(path: str) -> str:
    if ".." in path.split("/"):
        raise config_error(f"{path!r} leaves the project folder ('..')")
    file = PROJECT_DIR / path
    if not file.is_file():
        raise config_error(f"{path!r} is not a file (paths are relative to the project folder)")
    if PEM_CERTIFICATE not in file.read_text(errors="replace"):
        raise config_error(f"{path!r} holds no PEM certificate ({PEM_CERTIFICATE})")
    return path


CertificateArn = Annotated[
    str,
    Matches(
        CERTIFICATE_ARN % PARTITION,
        "{input!r} is not an ACM certificate ARN (arn:<partition>:acm:<region>:<account>:certificate/<id>)",
        max_length=2048,
    ),
]


class HeaderMatch(Model):
    name: Annotated[
        str,
        Matches(
            rf"[A-Za-z0-9!#$%&'*+\-.^_`|~]{{1,{MAX_HEADER_NAME}}}",
            f"{{input!r}} is not a valid HTTP header name of at most {MAX_HEADER_NAME} characters (Lattice's limit)",
            max_length=MAX_HEADER_NAME,
        ),
    ]
    """header name"""
    value: Annotated[
        str,
        Strict(),
        Field(min_length=1, max_length=MAX_HEADER_VALUE),
        says(f"must be 1-{MAX_HEADER_VALUE} characters (Lattice's limit)"),
    ]
    """exact value to match"""
    type: Annotated[Literal["Exact"], says("{input!r}: only Exact header matches are supported")] = "Exact"


class Backend(Model):
    app: Annotated[str, Strict(), Field(max_length=MAX_K8S_NAME)]
    """name of a configured app in the route's namespace"""
    weight: Annotated[int, Between(0, MAX_LATTICE_WEIGHT)] | None = None
    """relative share of the rule's traffic (Lattice's default when omitted)"""


# Gateway API fields Lattice or the controller cannot serve, with the reason shown to the user (SPEC §3).
_UNSUPPORTED_RULE_FIELDS = {
    "matches": "one match per rule only (Lattice); write one rule per match",
    "regex": "RegularExpression paths are not supported by Lattice; use pathPrefix or path (exact)",
    "pathRegex": "RegularExpression paths are not supported by Lattice; use pathPrefix or path (exact)",
    "queryParams": "query parameter matches are not supported by Lattice",
    "filters": "HTTPRoute filters (URLRewrite, RequestRedirect, header modifiers) are ignored by the controller",
}


class RouteRule(Model):
    """One Lattice listener rule: one match (a path, optional headers and method) and its backends."""

    @staticmethod
    def _schema(schema: dict[str, Any], cls: type[BaseModel]) -> None:
        describe_fields(schema, cls)
        schema["not"] = {"required": ["pathPrefix", "path"]}
        schema["dependentRequired"] = {"grpcMethod": ["grpcService"]}

    model_config = ConfigDict(json_schema_extra=_schema)

    path_prefix: UrlPath | None = None
    """path-prefix match; give this or `path` (neither: every path; HTTP and HTTPS routes)"""
    exact_path: UrlPath | None = Field(None, alias="path")
    """exact-match path (instead of pathPrefix)"""
    grpc_service: Annotated[str, Matches(GRPC_SERVICE, _GRPC_SERVICE, max_length=1024)] | None = None
    """GRPC routes: the gRPC service matched (like helloworld.Greeter); none: every service"""
    grpc_method: Annotated[str, Matches(GRPC_METHOD, _GRPC_METHOD, max_length=1024)] | None = None
    """GRPC routes: the method of grpcService matched (like SayHello); none: every method"""
    headers: Annotated[
        tuple[HeaderMatch, ...],
        Field(max_length=MAX_HEADER_MATCHES),
        says(f"{{actual_length}} header matches; Lattice takes at most {MAX_HEADER_MATCHES}", "too_long"),
    ] = ()
    method: HttpMethod | None = None
    """HTTP method match (any when omitted)"""
    # Each backend is a target group of the route's Lattice service, and a rule names each configured app once.
    backends: Annotated[
        tuple[Backend, ...], Field(min_length=1, max_length=min(MAX_TARGET_GROUPS_PER_SERVICE, MAX_APPS))
    ]

    @property
    def path_type(self) -> PathType:
        return "Exact" if self.exact_path is not None else "PathPrefix"

    @property
    def path(self) -> str:
        """The path matched: a rule without one matches every path, as the controller's "/" prefix."""
        return self.exact_path if self.exact_path is not None else (self.path_prefix or "/")

    @property
    def has_path(self) -> bool:
        return self.path_prefix is not None or self.exact_path is not None

    @property
    def is_default(self) -> bool:
        """No match at all: the route's default (Gateway API: a rule without matches matches everything)."""
        http = self.has_path or self.headers or self.method is not None
        return not (http or self.grpc_service is not None or self.grpc_method is not None)

    @property
    def grpc_path(self) -> tuple[PathType, str]:
        """The Lattice path a gRPC match becomes (controller v2.1.3 model_build_rule.go)."""
        if self.grpc_service is None:
            return "PathPrefix", "/"
        if self.grpc_method is None:
            return "PathPrefix", f"/{self.grpc_service}/"
        return "Exact", f"/{self.grpc_service}/{self.grpc_method}"

    @model_serializer(mode="wrap")
    def _without_new_defaults(self, handler: SerializerFunctionWrapHandler) -> dict[str, Any]:
        return drop_unset_new_keys(handler(self), ("grpc_service", "grpcService", "grpc_method", "grpcMethod"))

    @model_validator(mode="before")
    @classmethod
    def _served_by_lattice(cls, data: Any) -> Any:
        if isinstance(data, dict):
            fail(*(((name,), why) for name, why in _UNSUPPORTED_RULE_FIELDS.items() if name in data))
        return data

    @model_validator(mode="after")
    def _one_match_and_traffic(self) -> RouteRule:
        problems = duplicates([h.name.lower() for h in self.headers], ("headers",))
        problems += duplicates([b.app for b in self.backends], ("backends",))
        if self.path_prefix is not None and self.exact_path is not None:
            problems.append(((), "give at most one of pathPrefix or path (exact match)"))
        if self.grpc_method is not None and self.grpc_service is None:
            why = "needs grpcService: Lattice has no suffix match, so the controller refuses a method without a service"
            problems.append((("grpcMethod",), why))
        elif self.grpc_service is not None and len(self.grpc_path[1]) > MAX_PATH_LENGTH:
            path = self.grpc_path[1]
            why = f"{path} (the Lattice path it becomes) is longer than Lattice's {MAX_PATH_LENGTH} characters"
            problems.append((("grpcService",), why))
        if all(b.weight == 0 for b in self.backends):
            problems.append((("backends",), "every weight is 0; at least one backend must receive traffic"))
        fail(*problems)
        return self


class Route(Model):
    """One HTTPRoute; becomes one Lattice service with `hostname` as its custom domain name."""

    name: K8sName
    """HTTPRoute name"""
    namespace: K8sName = "default"
    hostname: Annotated[
        str,
        Matches(
            rf"(?:{DNS_LABEL}\.)+{DNS_LABEL}",
            f"{{input!r}} is not a valid lowercase DNS name of at most {MAX_ROUTE_HOSTNAME} characters (the DNS "
            f"record's ownership marker {DNS_MARKER_PREFIX}<hostname> must fit DNS's {MAX_DNS_NAME})",
            max_length=MAX_ROUTE_HOSTNAME,
        ),
    ]
    """the Lattice service's custom domain name; inside privateZoneName"""
    rules: Annotated[
        tuple[RouteRule, ...],
        Field(min_length=1, max_length=MAX_RULES_PER_ROUTE),
        says(f"{{actual_length}} rules; a Lattice listener takes at most {MAX_RULES_PER_ROUTE}", "too_long"),
    ]
    access: Access | None = None
    """who may call it (AWS_IAM only): `allow` entries `{"role": ARN}`, `{"app": name}`, `{"clientHost": true}`,
    `{"account": id}`, and `unsigned`; default: the client host (and always the smoke test)"""
    protocol: RouteProtocol = "HTTP"
    """HTTP (listener HTTP:80), HTTPS (HTTPS:443, TLS terminated by Lattice), GRPC (a GRPCRoute on HTTPS:443) or
    TLS (passthrough on `port`: one rule without matches, TCP target groups); docs/protocols.md: Protocols"""
    certificate_arn: CertificateArn | None = None
    """HTTPS and GRPC: the ACM certificate (in the stack's region) for `hostname`; none: the controller looks for an
    issued ACM certificate of that name (docs/protocols.md: Certificates)"""
    port: Annotated[int, Between(1, 65535)] | None = None
    """TLS only: the listener's port (default 443)"""
    ca_bundle: Annotated[str, Matches(CA_BUNDLE_PATH, _CA_BUNDLE, max_length=255), AfterValidator(_pem_file)] | None = (
        None
    )
    """HTTPS, GRPC, TLS: a PEM file (path from the project folder) of the CA certificates the smoke test trusts for
    this route, for a private CA; none: the Lambda runtime's trust store"""
    expect_subject: Annotated[str, Strict(), Field(min_length=1, max_length=64)] | None = None
    """TLS only: the common name (CN) the pods' certificate must carry (smoke test); none: any"""

    @model_serializer(mode="wrap")
    def _without_new_defaults(self, handler: SerializerFunctionWrapHandler) -> dict[str, Any]:
        new_keys = (
            "certificate_arn",
            "certificateArn",
            "port",
            "ca_bundle",
            "caBundle",
            "expect_subject",
            "expectSubject",
        )
        data = drop_unset_new_keys(handler(self), new_keys)
        if data.get("protocol") == "HTTP":
            del data["protocol"]  # the default: configs written before the key existed digest as they did
        return data

    @property
    def listener_port(self) -> int:
        if self.protocol == "HTTP":
            return SERVICE_PORT_HTTP
        return self.port if self.protocol == "TLS" and self.port is not None else HTTPS_PORT

    @model_validator(mode="before")
    @classmethod
    def _one_hostname(cls, data: Any) -> Any:
        if isinstance(data, dict) and "hostnames" in data:
            why = "Lattice uses only the first hostname as the custom domain; give one 'hostname' per route"
            fail((("hostnames",), why))
        return data

    @model_validator(mode="after")
    def _within_lattice_limits(self) -> Route:
        problems: list[Problem] = []
        groups = {b.app for r in self.rules for b in r.backends}
        if len(groups) > MAX_TARGET_GROUPS_PER_SERVICE:
            limit = f"a Lattice service takes at most {MAX_TARGET_GROUPS_PER_SERVICE} target groups"
            problems.append((("rules",), f"{len(groups)} distinct backends; {limit}"))
        problems += self._protocol_problems()
        seen: set[tuple[Any, ...]] = set()
        for j, rule in enumerate(self.rules):
            match = (rule.path_type, rule.path.lower(), rule.headers, rule.method, rule.grpc_service, rule.grpc_method)
            if match in seen:
                why = "repeats an earlier rule's match (Lattice matches paths case-insensitively)"
                problems.append((("rules", j), why))
            seen.add(match)
        fail(*problems)
        return self

    def _protocol_problems(self) -> list[Problem]:
        """What each protocol's listener and route kind can carry (sources: the protocol facts at the top)."""
        problems: list[Problem] = []
        if self.certificate_arn is not None and self.protocol not in ("HTTPS", "GRPC"):
            why = (f"is for HTTPS and GRPC routes only: an {self.protocol} listener "
                   + ("terminates no TLS" if self.protocol == "HTTP" else
                      "passes TLS through to the pods, whose own certificate the client sees")
                   + " (controller docs/guides/https.md)")  # fmt: skip
            problems.append((("certificateArn",), why))
        if self.ca_bundle is not None and self.protocol == "HTTP":
            problems.append(
                (("caBundle",), "is for HTTPS, GRPC and TLS routes: plain HTTP has no certificate to check")
            )
        if self.expect_subject is not None and self.protocol != "TLS":
            why = "is for TLS routes only (the pods' own certificate); Lattice's certificate is checked by hostname"
            problems.append((("expectSubject",), why))
        if self.port is not None and self.protocol != "TLS":
            why = f"is for TLS routes only: {self.protocol} routes use the listener on {self.listener_port}"
            problems.append((("port",), why))
        for j, rule in enumerate(self.rules):
            at = ("rules", j)
            if self.protocol != "GRPC":
                for key, value in (("grpcService", rule.grpc_service), ("grpcMethod", rule.grpc_method)):
                    if value is not None:
                        why = (
                            f"is a gRPC match (GRPCRoute); this route's protocol is {self.protocol}: set protocol GRPC"
                        )
                        problems.append(((*at, key), why))
            if self.protocol == "GRPC":
                for key, given in (
                    ("pathPrefix", rule.path_prefix),
                    ("path", rule.exact_path),
                    ("method", rule.method),
                ):
                    if given is not None:
                        why = ("a GRPCRoute matches gRPC services and methods (grpcService, grpcMethod) and headers, "
                               "not paths or HTTP methods (Gateway API v1.5.1 GRPCRoute CRD)")  # fmt: skip
                        problems.append(((*at, key), why))
            if self.protocol == "GRPC" and rule.headers and rule.grpc_service is None:
                # A GRPCRoute match without a method: controller v2.1.3 reads the match's method.type without a nil
                # check (aws-application-networking-k8s v2.1.3 pkg/gateway/model_build_rule.go lines 205-210, read
                # 2026-12-05), so its rule builder fails on it; every match this app emits names a service.
                why = ("needs grpcService on a GRPC route: the controller (v2.1.3) cannot build a gRPC match without "
                       "a method service; leave headers out for the route's default rule")  # fmt: skip
                problems.append(((*at, "headers"), why))
            if self.protocol == "TLS" and not rule.is_default:
                matched: tuple[tuple[str, object], ...] = (
                    ("pathPrefix", rule.path_prefix),
                    ("path", rule.exact_path),
                    ("headers", rule.headers or None),
                    ("method", rule.method),
                )
                keys = [k for k, v in matched if v is not None]
                why = ("a TLS listener has only the default rule: Lattice routes it by SNI, never reads paths, headers "
                       "or methods (VPC Lattice User Guide, TLS listeners)")  # fmt: skip
                problems += [((*at, k), why) for k in keys]
        if self.protocol == "TLS" and len(self.rules) != 1:
            why = (f"{len(self.rules)} rules; a TLS route has exactly one, its listener's default action (controller "
                   "v2.1.3 model_build_listener.go; VPC Lattice: only the default rule)")  # fmt: skip
            problems.append((("rules",), why))
        return problems


TARGET_KIND: dict[str, Literal["HTTP", "GRPC", "TCP"]] = {
    "HTTP": "HTTP",
    "HTTPS": "HTTP",
    "GRPC": "GRPC",
    "TLS": "TCP",
}


def hostname_taken(route: Route, first: Route) -> str:
    if route.protocol == first.protocol:
        return f"{route.hostname!r} is already used by another route"
    # Lattice itself could carry HTTP:80 and HTTPS:443 on one service (controller v2.1.3 docs/guides/https.md, read
    # 2026-12-05); this app does not: a route has one protocol and is one Lattice service named after its hostname.
    return (f"{route.hostname!r} is already {first.namespace}/{first.name}'s ({first.protocol}); in this app a "
            "route has one protocol and is one Lattice service whose custom domain name is its hostname, and a "
            "custom domain name is unique within a service network (VPC Lattice User Guide, "
            f"service-custom-domain-name.html): serve {route.protocol} on another hostname")  # fmt: skip
