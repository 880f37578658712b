"""The typed, immutable configuration of one deployment (SPEC §6), as pydantic models.

The models are the input format: their camelCase aliases are cdk.json's keys, field constraints carry the
ranges, patterns and enums (and from them config/schema.json and the README's table are generated), and
validators hold only domain logic: Lattice's route limits, hostnames inside the zone, backends naming known
apps, the EKS version calendar, CIDR overlap. `config.loader` validates once, at the edge, and turns
pydantic's errors into one line per problem; everything else receives these frozen objects.
"""

from __future__ import annotations

import ast
import datetime as dt
import functools
import inspect
import ipaddress
import itertools
import re
import textwrap
from collections.abc import Callable, Iterable, Iterator, Mapping
from pathlib import Path
from typing import Annotated, Any, Literal

from annotated_types import GroupedMetadata
from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    PlainValidator,
    PrivateAttr,
    SerializerFunctionWrapHandler,
    Strict,
    TypeAdapter,
    ValidationError,
    ValidationInfo,
    WithJsonSchema,
    WrapValidator,
    field_validator,
    model_serializer,
    model_validator,
)
from pydantic.alias_generators import to_camel
from pydantic.json_schema import SkipJsonSchema
from pydantic_core import InitErrorDetails, PydanticCustomError

from config.consumers import ORG_ARN_PATTERN, Consumer, consumer_problems
from config.limits import (
    DNS_MARKER_PREFIX,
    MAX_ADMIN_ROLES,
    MAX_APPS,
    MAX_CALLERS,
    MAX_CIDR,
    MAX_CONSUMERS,
    MAX_DNS_NAME,
    MAX_ENV_NAME,
    MAX_ENV_VALUE,
    MAX_ENV_VARS,
    MAX_IMAGE,
    MAX_INSTANCE_TYPE,
    MAX_K8S_NAME,
    MAX_LATTICE_PORTS,
    MAX_ORG_ARN,
    MAX_PUBLIC_CIDRS,
    MAX_QUANTITY,
    MAX_ROLE_ARN,
    MAX_ROUTE_HOSTNAME,
    MAX_ROUTE_REFERENCE,
    MAX_ROUTES,
    MAX_ZONE,
    NON_GLOBAL_IPV4,
)
from config.versions import CONTROLLER_RELEASES, EKS_VERSIONS, GATEWAY_API_RELEASES

AuthType = Literal["NONE", "AWS_IAM"]
EndpointAccess = Literal["PUBLIC_AND_PRIVATE", "PRIVATE"]
PathType = Literal["PathPrefix", "Exact"]
HealthProtocol = Literal["HTTP", "HTTPS"]
HealthProtocolVersion = Literal["HTTP1", "HTTP2"]
RouteProtocol = Literal["HTTP", "HTTPS", "GRPC", "TLS"]
# The Gateway API kind each protocol's route is emitted as (constructs/workload/routes.py builds them; make impact
# reads it here, without the CDK runtime).
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
# CloudWatch Logs accepts only these retention periods.
LOG_RETENTION_DAYS = (1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922,
                      3288, 3653)  # fmt: skip
# Kubernetes env names the manifest builder sets itself (PORT follows containerPort, POD is the pod's name).
RESERVED_ENV = ("PORT", "POD")
# The port the SigV4 signing sidecar of an app that calls routes listens on, on the pod's loopback
# (constructs/workload/apps.py): containers of a pod share its network namespace, so the app cannot have it too.
SIGNING_SIDECAR_PORT = 8080
AZ_NAME = r"[a-z]{2}(-[a-z]+)+-[0-9][a-z]"  # us-east-1a (not Local Zones: EKS needs regular AZs)
AZ_ID = r"[a-z]+[0-9]+-az[0-9]+"  # use1-az1, apne2-az3
# A path match or health-check path that both layers below take. The Gateway API v1.5.1 HTTPRoute CRD
# (config/crd/standard/gateway.networking.k8s.io_httproutes.yaml, x-kubernetes-validations of
# spec.rules[].matches[].path) allows ^(?:[-A-Za-z0-9/._~!$&'()*+,;=:@]|[%][0-9a-fA-F]{2})+$ and refuses '//', '/./',
# '/../', '%2f', '%2F', '#' and a trailing '/.' or '/..'; botocore 1.44.8's vpc-lattice model (PathMatchExact,
# PathMatchPrefix: /[a-zA-Z0-9@:%_+.~#?&/=-]*, 1-200 characters; HealthCheckPath a superset) allows its own
# set. URL_PATH is the two sets' intersection; URL_PATH_REFUSED the CRD's sequences (tests/test_crd_rules.py
# checks both against the CRD and botocore). Read 2026-12-05.
URL_PATH = r"/(?:[-A-Za-z0-9/._~&+=:@]|%[0-9A-Fa-f]{2})*"
URL_PATH_REFUSED = r"//|/\./|/\.\./|%2[fF]|/\.\.?$"
MAX_PATH_LENGTH = 200
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


def certificate_arns(config: AppConfig) -> list[tuple[str, str]]:
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


def certificate_environment_problems(config: AppConfig, account: str | None, region: str | None) -> list[Problem]:
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


TLS_ACCESS_WHY = (
    "a TLS (passthrough) listener cannot read identities: Lattice limits its auth policies to anonymous principals "
    "and its connections to 10 minutes (VPC Lattice User Guide, TLS listeners)"
)

_DNS_LABEL = r"[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?"  # RFC 1123 label
_CONSTRAINTS = {"greater_than_equal", "less_than_equal", "string_pattern_mismatch", "string_too_short",
                "string_too_long", "too_short", "too_long", "literal_error"}  # fmt: skip


Problem = tuple[tuple[str | int, ...], str]  # (location relative to the value validated, reason)


def _error(why: str) -> PydanticCustomError:
    return PydanticCustomError("config", why)  # type "config": config.loader shows the text as it is


def fail(*problems: Problem) -> None:
    """Raise each problem as its own error (none: return)."""
    if problems:
        details = [InitErrorDetails(type=_error(why), loc=at, input=None) for at, why in problems]
        raise ValidationError.from_exception_data("config", details)


def says(template: str, *kinds: str) -> WrapValidator:
    """Our wording for a failed constraint on this value itself (not its type, not its items): `template` is
    formatted with the value as {input} and pydantic's context ({max_length}, {actual_length} ...)."""
    only = set(kinds or _CONSTRAINTS)

    def wrap(value: Any, handler: Callable[[Any], Any]) -> Any:
        try:
            return handler(value)
        except ValidationError as err:
            details: list[InitErrorDetails] = []
            for e in err.errors():
                if not e["loc"] and e["type"] in only:
                    why = template.format(input=value, **(e.get("ctx") or {}))
                    details.append(InitErrorDetails(type=_error(why), input=value))  # loc: the value itself, ()
                elif e["type"] == "config":  # ours, from deeper down: keep the text
                    details.append(InitErrorDetails(type=_error(e["msg"]), loc=e["loc"], input=None))
                else:
                    kind, ctx = e["type"], e.get("ctx", {})
                    details.append(InitErrorDetails(type=kind, loc=e["loc"], input=e["input"], ctx=ctx))
            raise ValidationError.from_exception_data(err.title, details) from None

    return WrapValidator(wrap)


class Between(GroupedMetadata):
    """A strict integer in lo..hi."""

    def __init__(self, lo: int, hi: int, message: str = "{input} is out of range {lo}..{hi}") -> None:
        self.lo, self.hi, self.message = lo, hi, message

    def __iter__(self) -> Iterator[Any]:
        yield Strict()
        yield Field(ge=self.lo, le=self.hi)
        message = self.message.format(input="{input}", lo=self.lo, hi=self.hi)
        yield says(message, "greater_than_equal", "less_than_equal")


class Matches(GroupedMetadata):
    """A strict string matching `pattern` (all of it), else `message` (with {input})."""

    def __init__(self, pattern: str, message: str, max_length: int | None = None) -> None:
        self.pattern, self.message, self.max_length = pattern, message, max_length

    def __iter__(self) -> Iterator[Any]:
        yield from (Strict(), Field(pattern=f"^{self.pattern}$", max_length=self.max_length), says(self.message))


class OneOf(GroupedMetadata):
    """One of `choices` (pinned releases, CloudWatch's periods), else `message` (with {input} and {known})."""

    def __init__(self, choices: Iterable[Any], message: str) -> None:
        # A mapping (the pinned-release tables) is kept as it is: validation reads the table, not a copy of it.
        self.choices: Iterable[Any] = choices if isinstance(choices, Mapping) else tuple(choices)
        self.message = message

    def __iter__(self) -> Iterator[Any]:
        def check(value: Any) -> Any:
            if value not in self.choices:
                raise _error(self.message.format(input=value, known=", ".join(map(str, self.choices))))
            return value

        yield from (Strict(), AfterValidator(check), Field(json_schema_extra={"enum": list(self.choices)}))


def _cidr(max_prefix: int | None) -> AfterValidator:
    """An IPv4 network (no host bits); for a VPC also a private /16../max_prefix."""

    def check(text: str) -> str:
        try:
            net = ipaddress.IPv4Network(text, strict=True)
        except ValueError as err:
            raise _error(f"{text!r} is not an IPv4 CIDR block ({err})") from None
        if max_prefix is not None and not 16 <= net.prefixlen <= max_prefix:
            room = f"VPCs here need a prefix from /16 to /{max_prefix} (room for the subnets)"
            raise _error(f"{text} is a /{net.prefixlen}; {room}")
        if max_prefix is not None and not net.is_private:
            raise _error(f"{text} is not a private address range (RFC 1918)")
        return text

    return AfterValidator(check)


def _global_cidr(text: str) -> str:
    """A range EKS takes for its public endpoint: none of the reserved blocks (config/limits.py), or 0.0.0.0/0."""
    net = ipaddress.IPv4Network(text)
    if net.prefixlen == 0:
        return text
    reserved = next((r for r in map(ipaddress.IPv4Network, NON_GLOBAL_IPV4) if net.overlaps(r)), None)
    if reserved is not None:
        raise _error(f"{text} includes reserved addresses ({reserved}); EKS takes only public ranges here")
    return text


def _env_name(name: str) -> str:
    if name in RESERVED_ENV:
        raise _error("is set by the app (PORT = containerPort, POD = the pod's name)")
    return name


def _path_segments(path: str) -> str:
    if found := re.search(URL_PATH_REFUSED, path):
        why = "the HTTPRoute CRD refuses '//', '/./', '/../', '%2f' and a trailing '/.' or '/..'"
        raise _error(f"{path!r} contains {found.group()!r}: {why}")
    return path


def _sn_name(name: str) -> str:
    if "--" in name or name.startswith("sn-"):
        raise _error(f"{name!r} is not a valid Lattice service network name ('sn-' and '--' are reserved)")
    return name


def _resync(minutes: int) -> int:
    if 0 < minutes < 5:
        raise _error(_RESYNC.format(input=minutes))
    return minutes


def _zones(zones: tuple[str, ...]) -> tuple[str, ...]:
    ids = {bool(re.fullmatch(AZ_ID, z)) for z in zones}
    if len(zones) == 1:
        raise _error("needs 2 or 3 zones (EKS needs subnets in two), or [] for the region's first two")
    if len(ids) > 1:
        raise _error("mixes AZ names and AZ IDs; give only names or only IDs")
    if len(set(zones)) < len(zones):
        raise _error("names a zone twice")
    if ids == {False} and len({z[:-1] for z in zones}) > 1:
        raise _error(f"{', '.join(zones)} are not in one region")
    if ids == {True} and len({_zone_region(z) for z in zones}) > 1:
        raise _error(f"{', '.join(zones)} are not in one region (an AZ ID starts with its region's code)")
    return zones


# A region's AZ IDs start with its code shortened: the area, the initials of its direction (two for northeast and
# the like) and its number: us-east-1 use1, us-west-2 usw2 (https://docs.aws.amazon.com/efs/latest/ug/OneZoneAZs.html,
# read 2026-12-05). tests/test_config_zones.py checks the rule on every region of moto 5.2.5's recorded
# DescribeAvailabilityZones table (moto/ec2/models/availability_zones_and_regions.py).
_COMPASS = {"northeast": "ne", "northwest": "nw", "southeast": "se", "southwest": "sw"}


def az_id_prefix(region: str) -> str:
    """The prefix of `region`'s AZ IDs (us-east-1 -> use1, ap-northeast-2 -> apne2, us-gov-west-1 -> usgw1)."""
    area, *words, number = region.split("-")
    return area + "".join(_COMPASS.get(w, w[:1]) for w in words) + number


def zones_outside(zones: Iterable[str], region: str) -> list[str]:
    """The availabilityZones (names or IDs) that do not lie in `region`."""
    return [z for z in zones if _zone_region(z) != (az_id_prefix(region) if re.fullmatch(AZ_ID, z) else region)]


def _zone_region(zone: str) -> str:
    """us-east-1a -> us-east-1; use1-az1 -> use1."""
    return zone.split("-az", maxsplit=1)[0] if re.fullmatch(AZ_ID, zone) else zone[:-1]


# Messages for values that do not match their field's pattern ({input} is the value).
_K8S_NAME = "{input!r} is not a valid Kubernetes name (lowercase letters, digits and '-', %sat most 63 characters)"
_DNS_NAME = "{input!r} is not a valid lowercase DNS name (at least two labels, like example.com)"
_PATH = (
    "{input!r} must start with '/' and have at most 200 characters, each a letter, digit, one of - . _ ~ & + = : @ "
    "/ or a %XX escape"
)
_ZONE = "{input!r} is neither an AZ name (like us-east-1a) nor an AZ ID (like use1-az1)"
_SN_NAME = (
    "{input!r} is not a valid Lattice service network name "
    "(3-63 lowercase letters, digits and single hyphens; not starting with 'sn-')"
)
_RESYNC = "{input} must be 0 (off) or 5..1440"
_CA_BUNDLE = "{input!r} is not a relative path of a .pem file (letters, digits, '.', '_', '-' and '/')"
_GRPC_SERVICE = "{input!r} is not a gRPC service name (dot-separated identifiers, like helloworld.Greeter)"
_GRPC_METHOD = "{input!r} is not a gRPC method name (an identifier, like SayHello)"
_PINNED = "(its IAM policy and CRD needs are pinned per release)"

# A CA bundle's path, relative to the project folder (where cdk and make run); no "..": it stays inside.
CA_BUNDLE_PATH = r"[A-Za-z0-9_][A-Za-z0-9_./-]*\.pem"
PEM_CERTIFICATE = "-----BEGIN CERTIFICATE-----"


PROJECT_DIR = Path(__file__).resolve().parent.parent


def _pem_file(path: str) -> str:
    if ".." in path.split("/"):
        raise _error(f"{path!r} leaves the project folder ('..')")
    file = PROJECT_DIR / path
    if not file.is_file():
        raise _error(f"{path!r} is not a file (paths are relative to the project folder)")
    if PEM_CERTIFICATE not in file.read_text(errors="replace"):
        raise _error(f"{path!r} holds no PEM certificate ({PEM_CERTIFICATE})")
    return path


K8sName = Annotated[str, Matches(_DNS_LABEL, _K8S_NAME % "", max_length=MAX_K8S_NAME)]
DnsName = Annotated[str, Matches(rf"(?:{_DNS_LABEL}\.)+{_DNS_LABEL}", _DNS_NAME, max_length=253)]
UrlPath = Annotated[
    str,
    Matches(URL_PATH, _PATH, max_length=MAX_PATH_LENGTH),
    AfterValidator(_path_segments),
    Field(json_schema_extra={"not": {"pattern": URL_PATH_REFUSED}}),
]
Quantity = Annotated[
    str,
    Matches(
        r"[0-9]+(\.[0-9]+)?(m|Ki|Mi|Gi|Ti|k|M|G|T)?",
        f"{{input!r}} is not a Kubernetes quantity of at most {MAX_QUANTITY} characters",
        max_length=MAX_QUANTITY,
    ),
]
INSTANCE_TYPES_FILE = Path(__file__).with_name("ec2_instance_types.txt")


@functools.cache
def ec2_instance_types() -> frozenset[str]:
    """EC2's instance types (config/ec2_instance_types.txt, botocore's InstanceType enum)."""
    lines = INSTANCE_TYPES_FILE.read_text().splitlines()
    return frozenset(line for line in lines if line and not line.startswith("#"))


def _instance_type(name: str) -> str:
    # A name of the right shape that EC2 does not have passes CloudFormation's schema and fails at deploy.
    if name not in ec2_instance_types():
        raise _error(f"{name!r} is not an EC2 instance type (EC2's API lists no such type)")
    return name


InstanceType = Annotated[
    str,
    Matches(
        r"[a-z][a-z0-9-]*[0-9][a-z0-9-]*\.[a-z0-9]+",
        "{input!r} is not an EC2 instance type (like t3.medium)",
        max_length=MAX_INSTANCE_TYPE,
    ),
    AfterValidator(_instance_type),
]
Zone = Annotated[str, Matches(f"{AZ_NAME}|{AZ_ID}", _ZONE, max_length=MAX_ZONE)]
# The partitions of botocore 1.44.8's data/partitions.json (read 2026-12-05): an ARN of any other is refused by IAM.
PARTITIONS = ("aws", "aws-cn", "aws-eusc", "aws-iso", "aws-iso-b", "aws-iso-e", "aws-iso-f", "aws-us-gov")
_PARTITION = "(?:" + "|".join(p.replace("-", r"\-") for p in PARTITIONS) + ")"
RoleArn = Annotated[
    str,
    Matches(
        rf"arn:{_PARTITION}:iam::[0-9]{{12}}:role/[A-Za-z0-9_+=,.@/-]{{1,512}}",
        "{input!r} is not an IAM role ARN (arn:<partition>:iam::<account>:role/<name>)",
        max_length=MAX_ROLE_ARN,
    ),
]
CertificateArn = Annotated[
    str,
    Matches(
        CERTIFICATE_ARN % _PARTITION,
        "{input!r} is not an ACM certificate ARN (arn:<partition>:acm:<region>:<account>:certificate/<id>)",
        max_length=2048,
    ),
]
# A container image reference as the distribution grammar has it (distribution/reference, regexp.go): an optional
# registry (a host with a "." or a port, or localhost), lowercase path components joined by ".", "_", "__" or
# dashes, an optional tag of at most 128 characters, an optional digest.
_PATH_PART = r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*"
_HOST_PART = r"(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])"
_REGISTRY = rf"(?:{_HOST_PART}(?:\.{_HOST_PART})+(?::[0-9]+)?|{_HOST_PART}:[0-9]+|localhost)"
IMAGE_REFERENCE = (
    rf"(?:{_REGISTRY}/)?{_PATH_PART}(?:/{_PATH_PART})*(?::[A-Za-z0-9_][A-Za-z0-9_.-]{{0,127}})?"
    r"(?:@[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9a-fA-F]{32,})?"
)
_ENV_NAME = r"[-._a-zA-Z][-._a-zA-Z0-9]*"
_ENV = TypeAdapter(
    Annotated[
        dict[
            Annotated[
                str,
                Matches(_ENV_NAME, f"is not a valid environment variable name of at most {MAX_ENV_NAME} characters"),
                Field(max_length=MAX_ENV_NAME),
                AfterValidator(_env_name),
            ],
            Annotated[
                str, Strict(), Field(max_length=MAX_ENV_VALUE), says(f"is longer than {MAX_ENV_VALUE} characters")
            ],
        ],
        Field(max_length=MAX_ENV_VARS),
    ]
)
# Validated as an object (so errors name the variable), kept as ordered pairs.
EnvVars = Annotated[
    tuple[tuple[str, str], ...],
    PlainValidator(lambda value: tuple(_ENV.validate_python(value).items())),
    WithJsonSchema(
        {
            "type": "object",
            "propertyNames": {
                "pattern": f"^{_ENV_NAME}$",
                "maxLength": MAX_ENV_NAME,
                "not": {"enum": list(RESERVED_ENV)},
            },
            "additionalProperties": {"type": "string", "maxLength": MAX_ENV_VALUE},
            "maxProperties": MAX_ENV_VARS,
        }
    ),
]


def _describe(schema: dict[str, Any], cls: type[BaseModel]) -> None:
    """The fields' docstrings as the schema's descriptions. Read from the source only when a schema is generated
    (make schema): pydantic's use_attribute_docstrings would parse it on every import, ~0.1 s of every synth."""
    (class_def,) = ast.parse(textwrap.dedent(inspect.getsource(cls))).body
    assert isinstance(class_def, ast.ClassDef)
    for node, doc in itertools.pairwise(class_def.body):
        if not (isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name)):
            continue
        name = node.target.id
        text = doc.value.value if isinstance(doc, ast.Expr) and isinstance(doc.value, ast.Constant) else None
        if isinstance(text, str) and (field := cls.model_fields.get(name)):
            schema["properties"][field.alias or name]["description"] = inspect.cleandoc(text)


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, alias_generator=to_camel, json_schema_extra=_describe)


class HealthCheck(_Model):
    """Lattice target-group health check, emitted as a TargetGroupPolicy (ranges: SPEC §3). `path` and `port`
    are the app's healthPath and containerPort."""

    protocol: HealthProtocol = "HTTP"
    protocol_version: HealthProtocolVersion = "HTTP1"
    interval_seconds: Annotated[int, Between(5, 300)] = 10
    timeout_seconds: Annotated[int, Between(1, 120)] = 5
    """shorter than intervalSeconds"""
    healthy_threshold_count: Annotated[int, Between(2, 10)] = 3
    unhealthy_threshold_count: Annotated[int, Between(2, 10)] = 3
    _path: str = PrivateAttr("")
    _port: int = PrivateAttr(0)

    @property
    def path(self) -> str:
        return self._path

    @property
    def port(self) -> int:
        return self._port

    @model_validator(mode="after")
    def _timeout_within_interval(self) -> HealthCheck:
        if self.timeout_seconds >= self.interval_seconds:
            why = f"{self.timeout_seconds} must be shorter than intervalSeconds ({self.interval_seconds})"
            fail((("timeoutSeconds",), why))
        return self


class Resources(_Model):
    """Container requests and limits (Kubernetes quantities)."""

    cpu_request: Quantity = "50m"
    memory_request: Quantity = "64Mi"
    cpu_limit: Quantity = "250m"
    memory_limit: Quantity = "128Mi"


class App(_Model):
    """One workload: a Deployment, a ClusterIP Service (port 80) and a TargetGroupPolicy."""

    name: Annotated[
        str,
        Matches(r"[a-z]([-a-z0-9]{0,61}[a-z0-9])?", _K8S_NAME % "start with a letter, ", max_length=MAX_K8S_NAME),
    ]
    """Deployment and Service name (DNS-1035)"""
    namespace: K8sName = "default"
    """created unless `default`"""
    image: Annotated[
        str,
        Matches(
            IMAGE_REFERENCE,
            f"{{input!r}} is not a container image reference of at most {MAX_IMAGE} characters",
            max_length=MAX_IMAGE,
        ),
    ]
    """container image reference, `[registry/]path[:tag][@digest]` (lowercase path; tag up to 128 characters)"""
    replicas: Annotated[int, Between(0, 100)] = 2
    container_port: Annotated[int, Between(1, 65535)]
    """the port the app listens on; not 8080 when the app calls routes (its signing sidecar's); at most
    5 distinct ports across apps (the cluster security group's rule quota)"""
    env: EnvVars = Field((), json_schema_extra={"default": {}})
    """environment variables (strings); PORT and POD are set by the app"""
    health_path: UrlPath
    """HTTP path of the pod's probes and Lattice's health check"""
    health_check: HealthCheck = Field(default_factory=HealthCheck, json_schema_extra={"default": {}})
    """Lattice's health check of the app's targets"""
    resources: Resources = Field(default_factory=Resources, json_schema_extra={"default": {}})
    """requests and limits of each container"""
    calls: Annotated[
        tuple[Annotated[str, Strict(), Field(max_length=MAX_ROUTE_REFERENCE)], ...], Field(max_length=MAX_ROUTES)
    ] = ()
    """route names (or namespace/name) its pods call: they get a ServiceAccount, a Pod Identity role and a SigV4
    signing sidecar, and a place in each route's allow list"""
    args: Annotated[tuple[Annotated[str, Strict(), Field(max_length=1024)], ...], Field(max_length=32)] = ()
    """arguments to the image's entrypoint (Kubernetes `args`), like ["grpc-health-checking"]; none: the image's"""

    @model_serializer(mode="wrap")
    def _without_new_defaults(self, handler: SerializerFunctionWrapHandler) -> dict[str, Any]:
        data = handler(self)
        if isinstance(data, dict) and data.get("args") in ((), []):
            del data["args"]  # added by issue 26: configs without it digest as they did
        return data

    def model_post_init(self, context: Any) -> None:
        # Private attributes: not input keys, and settable on a frozen model.
        self.health_check._path, self.health_check._port = self.health_path, self.container_port


_ACCOUNT = "{input!r} is not an AWS account id (12 digits, as a string)"
AccountId = Annotated[str, Matches(r"[0-9]{12}", _ACCOUNT, max_length=12)]


class Caller(_Model):
    """One caller a route admits: exactly one of `role`, `app`, `clientHost`, `account` (README: Access control)."""

    role: RoleArn | None = None
    """an IAM role (its sessions sign with SigV4)"""
    app: Annotated[str, Strict(), Field(max_length=MAX_K8S_NAME)] | None = None
    """a configured app's pods, through EKS Pod Identity (the app gets a signing sidecar, as with `calls`)"""
    client_host: Annotated[Literal[True], says("must be true (leave it out otherwise)")] | None = None
    """the client VPC's test host (its instance role)"""
    account: AccountId | None = None
    """any authenticated principal of a consumer account (one of `consumers`)"""

    @model_validator(mode="after")
    def _exactly_one(self) -> Caller:
        given = [k for k in ("role", "app", "client_host", "account") if getattr(self, k) is not None]
        if len(given) != 1:
            fail(((), "give exactly one of role, app, clientHost or account"))
        return self


class Access(_Model):
    """Who may call a route (serviceNetworkAuthType AWS_IAM only); the smoke test always may."""

    allow: Annotated[tuple[Caller, ...], Field(max_length=MAX_CALLERS)] = ()
    """the callers admitted (signed with SigV4); apps whose `calls` name the route are added"""
    unsigned: Annotated[bool, Strict()] = False
    """also admit any request, signed or not, from this app's two VPCs (the tutorial's behaviour)"""

    @model_validator(mode="after")
    def _someone(self) -> Access:
        if not self.allow and not self.unsigned:
            fail(
                (
                    ("allow",),
                    "is empty and unsigned is false: no caller could reach the route (the smoke test "
                    "aside); name a caller, or leave `access` out for the default (the client host)",
                )
            )
        return self


# A route without `access` admits the client host (and, like every route, the smoke test).
DEFAULT_ACCESS = Access.model_validate({"allow": [{"clientHost": True}]})


class HeaderMatch(_Model):
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


class Backend(_Model):
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


def _unique(names: list[str], at: tuple[str | int, ...]) -> list[Problem]:
    return [(at, f"duplicate name {n!r}") for i, n in enumerate(names) if n in names[:i]][:1]


class RouteRule(_Model):
    """One Lattice listener rule: one match (a path, optional headers and method) and its backends."""

    @staticmethod
    def _schema(schema: dict[str, Any], cls: type[BaseModel]) -> None:
        _describe(schema, cls)
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
        return _drop_unset_new_keys(handler(self), ("grpc_service", "grpcService", "grpc_method", "grpcMethod"))

    @model_validator(mode="before")
    @classmethod
    def _served_by_lattice(cls, data: Any) -> Any:
        if isinstance(data, dict):
            fail(*(((name,), why) for name, why in _UNSUPPORTED_RULE_FIELDS.items() if name in data))
        return data

    @model_validator(mode="after")
    def _one_match_and_traffic(self) -> RouteRule:
        problems = _unique([h.name.lower() for h in self.headers], ("headers",))
        problems += _unique([b.app for b in self.backends], ("backends",))
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


class Route(_Model):
    """One HTTPRoute; becomes one Lattice service with `hostname` as its custom domain name."""

    name: K8sName
    """HTTPRoute name"""
    namespace: K8sName = "default"
    hostname: Annotated[
        str,
        Matches(
            rf"(?:{_DNS_LABEL}\.)+{_DNS_LABEL}",
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
    TLS (passthrough on `port`: one rule without matches, TCP target groups); README: Protocols"""
    certificate_arn: CertificateArn | None = None
    """HTTPS and GRPC: the ACM certificate (in the stack's region) for `hostname`; none: the controller looks for an
    issued ACM certificate of that name (README: Certificates)"""
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
        data = _drop_unset_new_keys(handler(self), new_keys)
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


_TARGET_KIND: dict[str, Literal["HTTP", "GRPC", "TCP"]] = {
    "HTTP": "HTTP",
    "HTTPS": "HTTP",
    "GRPC": "GRPC",
    "TLS": "TCP",
}


def _hostname_taken(route: Route, first: Route) -> str:
    if route.protocol == first.protocol:
        return f"{route.hostname!r} is already used by another route"
    # Lattice itself could carry HTTP:80 and HTTPS:443 on one service (controller v2.1.3 docs/guides/https.md, read
    # 2026-12-05); this app does not: a route has one protocol and is one Lattice service named after its hostname.
    return (f"{route.hostname!r} is already {first.namespace}/{first.name}'s ({first.protocol}); in this app a "
            "route has one protocol and is one Lattice service whose custom domain name is its hostname, and a "
            "custom domain name is unique within a service network (VPC Lattice User Guide, "
            f"service-custom-domain-name.html): serve {route.protocol} on another hostname")  # fmt: skip


def _drop_unset_new_keys(data: Any, keys: tuple[str, ...]) -> Any:
    """Keys added by issue 26 leave the dump when unset, so digests of configs without them stay as they were."""
    if isinstance(data, dict):
        for key in keys:
            if key in data and data[key] is None:
                del data[key]
    return data


# An email address as SNS accepts it for the email protocol: one @, a dotted domain, no spaces or quotes.
_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
_EMAIL = rf"[A-Za-z0-9.!#$%&'*+/=?^_`{{|}}~-]+@{_LABEL}(?:\.{_LABEL})+"
ALARM_PERIODS = (60, 300, 900, 3600)  # CloudWatch periods for a standard-resolution alarm, up to an hour
# The target-health publisher's schedule: EventBridge's rate() takes whole minutes (1 at least); at most an hour,
# so the health alarms' period (the longer of this and periodSeconds) stays within ALARM_PERIODS' largest.
MAX_TARGET_HEALTH_MINUTES = 60
# How long an alarm may look back, Period x EvaluationPeriods (botocore 1.44.8 cloudwatch PutMetricAlarm `Period`,
# read 2026-12-05): at most a day for a period under an hour, at most seven days otherwise.
SHORT_PERIOD_BELOW, SHORT_WINDOW_MAX, LONG_WINDOW_MAX = 3600, 86_400, 604_800


def alarm_window_max(period_seconds: int) -> int:
    """The longest Period x EvaluationPeriods CloudWatch accepts for an alarm of this period."""
    return SHORT_WINDOW_MAX if period_seconds < SHORT_PERIOD_BELOW else LONG_WINDOW_MAX


class Alarms(_Model):
    """CloudWatch alarms per route (5XX rate, p99 latency) and per app (no healthy targets), and who is told."""

    email: Annotated[str, Matches(_EMAIL, "{input!r} is not an email address (like ops@example.com)", 254)] | None = (
        None
    )
    """an encrypted SNS topic mails this address (confirm the subscription); none: alarms show on the dashboard"""
    error_rate_percent: Annotated[
        float,
        Strict(),
        Field(gt=0, le=100),
        says("{input} must be above 0 and at most 100", "greater_than", "less_than_equal"),
    ] = 5
    """5XX responses as a share of a route's requests; above it the route's error alarm fires"""
    latency_p99_ms: Annotated[int, Between(1, 600_000)] = 1000
    """p99 of Lattice's RequestTime per route; above it the latency alarm fires"""
    evaluation_periods: Annotated[int, Between(1, 60)] = 3
    """consecutive periods over a threshold before an alarm fires; times the longest alarm period (the health
    alarms': the longer of periodSeconds and targetHealthMinutes) at most a day for a period under an hour,
    at most seven days otherwise"""
    period_seconds: Annotated[int, OneOf(ALARM_PERIODS, "{input} is not one of {known}")] = 60
    """length of one evaluation period"""
    target_health_minutes: Annotated[int, Between(1, MAX_TARGET_HEALTH_MINUTES)] = 1
    """how often a function counts each app's healthy Lattice targets (ListTargets) for the no-healthy-targets
    alarms; their period is this or periodSeconds, whichever is longer (and evaluationPeriods of them must fit in
    CloudWatch's look-back: see evaluationPeriods)"""

    @property
    def health_period_seconds(self) -> int:
        """The no-healthy-targets and publisher alarms' period: never shorter than the publisher's interval, so a
        period without a run never breaches."""
        return max(self.period_seconds, 60 * self.target_health_minutes)

    @model_validator(mode="after")
    def _window_fits(self) -> Alarms:
        """CloudWatch refuses an alarm whose Period x EvaluationPeriods is too long (alarm_window_max)."""
        for period, keys in (
            (self.period_seconds, "periodSeconds"),
            (self.health_period_seconds, "targetHealthMinutes (or periodSeconds, the longer)"),
        ):
            window = period * self.evaluation_periods
            if window > alarm_window_max(period):
                why = (
                    f"{self.evaluation_periods} periods of {period} s (from {keys}) look back {window} s; CloudWatch "
                    f"allows at most {alarm_window_max(period)} s for a {period} s period: lower evaluationPeriods "
                    "or the period"
                )
                fail((("evaluationPeriods",), why))
        return self


_DEMO_APPS = [
    {
        "name": f"demo-app-{x}",
        "image": "rlawnsdud/demo:latest",
        "replicas": 2,
        "containerPort": 3000,
        "env": {"HOST": "0.0.0.0", "ROUTE": f"v{n}", "GLOBAL_PREFIX": f"/v{n}"},  # noqa: S104 (the pod listens on all)
        "healthPath": f"/v{n}/health",
    }
    for n, x in ((1, "a"), (2, "b"))
]
_DEMO_ROUTES = [
    {
        "name": "demo-http-route",
        "hostname": "api.example.com",
        "rules": [{"pathPrefix": f"/v{n}", "backends": [{"app": f"demo-app-{x}"}]} for n, x in ((1, "a"), (2, "b"))],
    }
]


class AppConfig(_Model):
    """cdk.json's `context` keys of this app (CDK feature flags and `pipeline` are checked elsewhere).

    Rules across fields, which this schema cannot express and the app checks when it loads the configuration:
    nodeDesiredSize within nodeMinSize..nodeMaxSize; clientVpcCidr and consumers' vpcCidr apart from the other
    ranges; clusterEndpointPublicCidrs not empty with PUBLIC_AND_PRIVATE; gatewayApiVersion new enough for
    controllerChartVersion; apps' names, routes' namespace/name, route hostnames and consumers' names and
    accounts unique; each hostname inside privateZoneName; each backend a configured app in the route's
    namespace; at most 10 distinct backends per route and no rule repeating another's match; access, app
    callers and `calls` only with AWS_IAM and naming configured apps and routes; each route's auth policy, and
    the service network's (every role the routes name), within Lattice's 10 KB; availabilityZones in one region
    (the stack's, when the synth knows it); instance types that EC2 lists (config/ec2_instance_types.txt), not
    only names of their shape."""

    model_config = ConfigDict(title="eks-lattice-gateway configuration")

    cluster_name: Annotated[
        str,
        Matches(
            r"[0-9A-Za-z][A-Za-z0-9\-_]{0,99}",
            "{input!r} is not a valid EKS cluster name (letters, digits, '-' and '_', 1-100)",
            max_length=100,
        ),
    ] = "eks-demo"
    """EKS cluster name"""
    # A stack name: "only alphanumeric characters (case sensitive) and hyphens. It must start with an alphabetical
    # character and can't be longer than 128 characters" (botocore 1.44.8 cloudformation service-2 CreateStackInput
    # StackName, read 2026-12-05); 40
    # leaves room for the longest derived name (<stackPrefix>-Consumer-<consumer name>-SmokeAccess, 128 at most).
    stack_prefix: Annotated[
        str,
        Matches(
            r"[A-Za-z][A-Za-z0-9-]{0,39}",
            "{input!r} is not a valid stack name prefix (a letter, then letters, digits and '-', 1-40)",
            max_length=40,
        ),
    ] = "EksLatticeGateway"
    """stack names `<stackPrefix>-Platform|Gateway|Consumer-<name>`, and the roles, functions, alarms and dashboard
    named after them; `make deploy` only (a pipeline names its stages' stacks); make e2e sets one per run"""
    kubernetes_version: Annotated[
        str, OneOf(EKS_VERSIONS, "{input!r} is not supported here; choose one of {known}")
    ] = "1.35"
    """warns (with the extra cost) in EKS extended support, refuses past it; picks the matching kubectl layer"""
    cluster_vpc_cidr: Annotated[str, Strict(), Field(max_length=MAX_CIDR), _cidr(22)] = "10.1.0.0/16"
    """private range, /16 to /22"""
    client_vpc_cidr: Annotated[str, Strict(), Field(max_length=MAX_CIDR), _cidr(26)] = "10.2.0.0/16"
    """private range, /16 to /26; must not overlap clusterVpcCidr"""
    availability_zones: Annotated[
        tuple[Zone, ...],
        Field(max_length=3, json_schema_extra={"not": {"minItems": 1, "maxItems": 1}}),
        AfterValidator(_zones),
    ] = ()
    """2 or 3 AZ names (us-east-1a) or IDs (use1-az1) for both VPCs; `[]`: the region's first two (Troubleshooting)"""
    node_instance_type: InstanceType = "t3.medium"
    """Graviton types (t4g, m7g ...) get the ARM64 AMI; set in the node launch template, so a change is a rolling
    update, except between x86 and Graviton (see make impact)"""
    # EKS node group names (read 2026-12-05). What a source states: cfn-lint's AWS::EKS::Nodegroup schema gives
    # NodegroupName minLength 1 and create-only; botocore's eks CreateNodegroup (API 2017-11-01) leaves
    # nodegroupName an unconstrained string. EKS labels each node eks.amazonaws.com/nodegroup=<name> (the kubelet
    # --node-labels of EKS-launched nodes, as public node bootstrap arguments show), so the name must be a
    # Kubernetes label value: at most 63 characters, alphanumerics, '-', '_' and '.', beginning AND ending with an
    # alphanumeric (kubernetes/apimachinery pkg/util/validation/validation.go, IsValidLabelValue). Leaving out '.'
    # (the EKS console's own rule) is this app's design choice.
    node_group_name: Annotated[
        str,
        Matches(
            r"[0-9A-Za-z]([A-Za-z0-9\-_]{0,61}[0-9A-Za-z])?",
            "{input!r} is not a valid EKS node group name (letters, digits, '-' and '_', 1-63, alphanumeric first"
            " and last: it is the node label eks.amazonaws.com/nodegroup's value)",
            max_length=63,
        ),
    ] = "ng-1"
    """the managed node group's name; a new name replaces the node group: `make deploy ALLOW_REPLACEMENT=1` (make
    impact marks it [STATEFUL]); the new group is created first, then EKS drains every node of the old one at once
    (no PodDisruptionBudget here). Set one with a change that replaces it, such as x86 to Graviton (see make
    impact)"""
    node_desired_size: Annotated[int, Between(1, 100)] = 2
    """the managed node group's size; within nodeMinSize..nodeMaxSize"""
    node_min_size: Annotated[int, Between(1, 100)] = 1
    node_max_size: Annotated[int, Between(1, 100)] = 3
    cluster_endpoint_access: EndpointAccess = "PUBLIC_AND_PRIVATE"
    """PRIVATE removes the public endpoint (see Troubleshooting)"""
    cluster_endpoint_public_cidrs: Annotated[
        tuple[Annotated[str, Strict(), Field(max_length=MAX_CIDR), _cidr(None), AfterValidator(_global_cidr)], ...],
        Field(max_length=MAX_PUBLIC_CIDRS),
    ] = ("0.0.0.0/0",)
    """who may reach the public endpoint; narrow it to your office/VPN; public ranges only (no private or
    other reserved addresses)"""
    cluster_admin_role_arns: Annotated[tuple[RoleArn, ...], Field(max_length=MAX_ADMIN_ROLES)] = ()
    """IAM roles given cluster-admin access entries (for your kubectl)"""
    controller_chart_version: Annotated[
        str,
        OneOf(CONTROLLER_RELEASES, "{input!r} is not supported; known: {known} " + _PINNED),
    ] = "v2.1.3"
    """only versions whose IAM policy is pinned"""
    controller_log_level: Literal["info", "debug"] = "info"
    """the AWS Gateway API Controller's log level"""
    gateway_api_version: Annotated[
        str, OneOf(GATEWAY_API_RELEASES, "{input!r} has no pinned CRD hashes; known: {known}")
    ] = "v1.5.1"
    """standard channel; files and sha256 pinned in config/versions.py"""
    service_network_name: Annotated[
        str,
        Matches(r"[a-z0-9]([-a-z0-9]{1,61}[a-z0-9])", _SN_NAME, max_length=63),
        AfterValidator(_sn_name),
        Field(json_schema_extra={"not": {"pattern": "^sn-|--"}}),
    ] = "demo-sn"
    """also the Gateway's name"""
    service_network_auth_type: AuthType = "AWS_IAM"
    """AWS_IAM: only signed callers, each route admitting whom its `access` names; NONE: anyone in the VPCs"""
    lattice_ipv6: Annotated[bool, Strict()] = False
    """also admit Lattice's IPv6 prefix list"""
    private_zone_name: DnsName = "example.com"
    """route hostnames must lie inside it"""
    client_instance_type: InstanceType = "t3.micro"
    """the client VPC's test host; its AL2023 AMI (ARM64 for Graviton) is resolved at launch, not each deploy"""
    log_retention_days: Annotated[
        int, OneOf(LOG_RETENTION_DAYS, "{input} is not a CloudWatch retention period ({known})")
    ] = 30
    """flow logs, Lattice access logs (/aws/vendedlogs/vpclattice/<serviceNetworkName>), Lambda logs"""
    # 2..60: the DNS handler refuses a TimeoutSeconds under 120 (lambda/lattice_dns/handler.py, Props.parse), and
    # CloudFormation waits for a custom resource at most its ServiceTimeout, 3,600 s at most and by default
    # (AWS::CloudFormation::CustomResource, ServiceTimeout: "an integer from 1 to 3600. The default value is 3600",
    # https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-resource-cloudformation-customresource.html,
    # read 2026-12-05): a longer wait would end in CloudFormation's bare timeout. tests/test_config_bounds.py checks
    # every bound of every numeric key against its consumers.
    dns_record_timeout_minutes: Annotated[int, Between(2, 60)] = 20
    """how long a DNS record waits for the route's Lattice name (2-60: a custom resource waits an hour at most)"""
    dns_resync_minutes: Annotated[
        int,
        Between(0, 1440, _RESYNC),
        AfterValidator(_resync),
        Field(json_schema_extra={"not": {"minimum": 1, "maximum": 4}}),
    ] = 0
    """> 0 enables a scheduled repair of the CNAMEs every so many minutes (5-1440)"""
    apps: Annotated[tuple[App, ...], Field(min_length=1, max_length=MAX_APPS, validate_default=True)] = _DEMO_APPS  # type: ignore[assignment]
    """the workloads (two demo apps by default)"""
    routes: Annotated[tuple[Route, ...], Field(min_length=1, max_length=MAX_ROUTES, validate_default=True)] = (
        _DEMO_ROUTES  # type: ignore[assignment]
    )
    """the HTTPRoutes, one Lattice service each"""
    consumers: Annotated[tuple[Consumer, ...], Field(max_length=MAX_CONSUMERS)] = ()
    """other accounts (at most 50) that get the service network through RAM, each with a stack of its own (README:
    Share with another account)"""
    gone_consumer_accounts: Annotated[tuple[AccountId, ...], Field(max_length=MAX_CONSUMERS)] = ()
    """consumer accounts acknowledged as gone (closed, suspended, or no longer trusting yours): the stranded-consumer
    check before each deploy (make deploy and each pipeline provider stage) skips them instead of refusing (README:
    Removing one consumer)"""
    share_with_organization: Annotated[str, Field(max_length=MAX_ORG_ARN)] | None = None
    """an organization ARN: RAM shares then stay inside it (allowExternalPrincipals false)"""
    alarms: Annotated[Alarms, Field(validate_default=True)] = {  # type: ignore[assignment]
        "errorRatePercent": 5,
        "latencyP99Ms": 1000,
        "evaluationPeriods": 3,
        "periodSeconds": 60,
    }
    """the dashboard's alarms: thresholds and an optional email"""
    # Readable notes for the synth output (e.g. "1.33 is in extended support"); set by the loader, never errors.
    warnings: SkipJsonSchema[tuple[str, ...]] = Field((), exclude=True)

    @field_validator("kubernetes_version")
    @classmethod
    def _still_supported(cls, version: str, info: ValidationInfo) -> str:
        today: dt.date = (info.context or {})["today"]
        end = EKS_VERSIONS[version].end_of_extended
        if today > end:
            fail(((), f"{version} left EKS extended support on {end:%Y-%m-%d}; upgrade"))
        return version

    @field_validator("share_with_organization", mode="before")
    @classmethod
    def _organization(cls, value: Any) -> Any:
        if value == "":
            return None  # cdk.json's "not set"
        if value is not None and not (isinstance(value, str) and ORG_ARN_PATTERN.fullmatch(value)):
            fail(((), f"{value!r} is not an organization ARN (arn:aws:organizations::<account>:organization/o-...)"))
        return value

    @model_validator(mode="after")
    def _consistent(self, info: ValidationInfo) -> AppConfig:
        if not (info.context or {}).get("crossField", True):
            return self  # config.loader: its keys' own checks only, the cross-field ones run on the valid keys
        problems: list[Problem] = []
        if not self.node_min_size <= self.node_desired_size <= self.node_max_size:
            why = f"must lie between nodeMinSize ({self.node_min_size}) and nodeMaxSize ({self.node_max_size})"
            problems.append((("nodeDesiredSize",), f"{self.node_desired_size} {why}"))
        cluster_net, client_net = (ipaddress.IPv4Network(c) for c in (self.cluster_vpc_cidr, self.client_vpc_cidr))
        if cluster_net.overlaps(client_net):
            why = f"{client_net} overlaps clusterVpcCidr ({cluster_net}); the two VPCs need separate ranges"
            problems.append((("clientVpcCidr",), why))
        if self.cluster_endpoint_access == "PUBLIC_AND_PRIVATE" and not self.cluster_endpoint_public_cidrs:
            problems.append((("clusterEndpointPublicCidrs",), "is empty; use clusterEndpointAccess=PRIVATE instead"))
        need = CONTROLLER_RELEASES[self.controller_chart_version].min_gateway_api
        if tuple(int(p) for p in self.gateway_api_version.lstrip("v").split(".")[:2]) < need:
            why = f"controller {self.controller_chart_version} needs Gateway API >= v{'.'.join(map(str, need))}"
            problems.append((("gatewayApiVersion",), why))
        problems += _unique([a.name for a in self.apps], ("apps",))
        # One cluster security group rule per distinct port and Lattice prefix list (config/limits.py).
        ports: list[int] = []
        for i, app in enumerate(self.apps):
            if app.container_port not in ports:
                ports.append(app.container_port)
                if len(ports) == MAX_LATTICE_PORTS + 1:
                    why = (
                        f"at most {MAX_LATTICE_PORTS} distinct ports across apps: each is a rule from Lattice's prefix "
                        f"list (weight 10) in the cluster security group's 60 inbound rules; give apps the same port"
                    )
                    problems.append((("apps", i, "containerPort"), why))
        problems += _unique([f"{r.namespace}/{r.name}" for r in self.routes], ("routes",))
        # One EKS access entry per role: a repeated ARN is two entries with one primary identifier (make fuzz).
        admins = self.cluster_admin_role_arns
        problems += [
            (("clusterAdminRoleArns", i), f"{arn!r} is listed twice (EKS takes one access entry per principal)")
            for i, arn in enumerate(admins)
            if arn in admins[:i]
        ][:1]
        for i, route in enumerate(self.routes):
            if not route.hostname.endswith("." + self.private_zone_name):
                why = f"{route.hostname!r} is outside privateZoneName {self.private_zone_name!r}"
                problems.append((("routes", i, "hostname"), why))
            elif same := [r for r in self.routes[:i] if r.hostname == route.hostname]:
                problems.append((("routes", i, "hostname"), _hostname_taken(route, same[0])))
            problems += self._backends(i, route)
            problems += self._access(i, route)
        from config.lattice_names import route_name_problem  # noqa: PLC0415 - it imports this module

        if clash := route_name_problem(self.routes, self.cluster_name):
            problems.append((("routes", clash[0], "name"), clash[1]))
        problems += self._private_ca_callers()
        for i, app in enumerate(self.apps):
            problems += self._calls(i, app)
            problems += self._one_target_kind(i, app)
        problems += self._sidecar_ports()
        problems += self._listener_count()
        if not problems:
            problems += self._policy_sizes()
        app_cidrs = {"clusterVpcCidr": cluster_net, "clientVpcCidr": client_net}
        problems += [(("consumers", i, key), why) for i, key, why in consumer_problems(self.consumers, app_cidrs)]
        configured = {c.account for c in self.consumers}
        for i, gone in enumerate(self.gone_consumer_accounts):
            if gone in configured:
                why = f"{gone!r} is a configured consumer's account; remove it from consumers first"
                problems.append((("goneConsumerAccounts", i), why))
            elif gone in self.gone_consumer_accounts[:i]:
                problems.append((("goneConsumerAccounts", i), f"{gone!r} is listed twice"))
        fail(*problems)
        return self

    def _backends(self, i: int, route: Route) -> list[Problem]:
        """Each backend names a configured app in the route's namespace."""
        apps = {a.name: a for a in self.apps}
        problems: list[Problem] = []
        for j, rule in enumerate(route.rules):
            for b, backend in enumerate(rule.backends):
                app, at = apps.get(backend.app), ("routes", i, "rules", j, "backends", b, "app")
                if app is None:
                    problems.append((at, f"{backend.app!r} is not one of the configured apps ({', '.join(apps)})"))
                elif app.namespace != route.namespace:
                    why = f"{backend.app!r} is in namespace {app.namespace!r}, the route in {route.namespace!r}"
                    problems.append((at, f"{why}; cross-namespace backends are not supported"))
        return problems

    def _access(self, i: int, route: Route) -> list[Problem]:
        """Access control needs AWS_IAM, and its app callers must exist."""
        if route.protocol == "TLS":
            return self._tls_access(i, route)
        if route.access is None:
            return []
        if self.service_network_auth_type == "NONE":
            why = ("needs serviceNetworkAuthType AWS_IAM: with NONE, Lattice checks no caller, so an allow list "
                   "would protect nothing")  # fmt: skip
            return [(("routes", i, "access"), why)]
        apps = [a.name for a in self.apps]
        consumers = [c.account for c in self.consumers]
        problems: list[Problem] = []
        for k, c in enumerate(route.access.allow):
            if c.app is not None and c.app not in apps:
                why = f"{c.app!r} is not one of the configured apps ({', '.join(apps)})"
                problems.append((("routes", i, "access", "allow", k, "app"), why))
            if c.account is not None and c.account not in consumers:
                # The network admits only this account's and the consumers' principals: another account could
                # never pass; this account's whole would admit the smoke test's second identity too.
                why = (f"{c.account} is not a consumer account ({', '.join(consumers) or 'none configured'}); "
                       "name this account's callers by role, app or clientHost")  # fmt: skip
                problems.append((("routes", i, "access", "allow", k, "account"), why))
        return problems

    def _tls_access(self, i: int, route: Route) -> list[Problem]:
        """A TLS route admits anonymous callers only: `unsigned` (from this app's VPCs), never named callers."""
        if route.access is not None and route.access.allow:
            return [(("routes", i, "access", "allow"), f"names callers on a TLS route; {TLS_ACCESS_WHY}: use "
                     '{"unsigned": true} (any caller in this app\'s VPCs)')]  # fmt: skip
        if self.service_network_auth_type == "AWS_IAM" and (route.access is None or not route.access.unsigned):
            why = (f'must be {{"unsigned": true}} on a TLS route under AWS_IAM (the default admits the client host by '
                   f"its identity); {TLS_ACCESS_WHY}")  # fmt: skip
            return [(("routes", i, "access"), why)]
        if self.service_network_auth_type == "NONE" and route.access is not None:
            return [
                (("routes", i, "access"), "needs serviceNetworkAuthType AWS_IAM (with NONE, Lattice checks no caller)")
            ]
        return []

    def _one_target_kind(self, i: int, app: App) -> list[Problem]:
        """An app's Service has one TargetGroupPolicy, so the routes it backs agree on the target group's protocol."""
        kinds = {_TARGET_KIND[r.protocol]: r for r in self.routes for rule in r.rules for b in rule.backends
                 if b.app == app.name}  # fmt: skip
        if len(kinds) < 2:
            return []
        named = ", ".join(f"{r.namespace}/{r.name} ({r.protocol})" for r in kinds.values())
        why = (f"backs routes whose target groups differ ({named}): its one TargetGroupPolicy sets HTTP, gRPC or "
               "TCP (controller v2.1.3 TargetGroupPolicy CRD); give each protocol an app of its own")  # fmt: skip
        return [(("apps", i, "name"), why)]

    def target_kind(self, app: App) -> Literal["HTTP", "GRPC", "TCP"]:
        """The target group protocol of the routes `app` backs (HTTP when none)."""
        for r in self.routes:
            if any(b.app == app.name for rule in r.rules for b in rule.backends):
                return _TARGET_KIND[r.protocol]
        return "HTTP"

    def _policy_sizes(self) -> list[Problem]:
        """Each route's auth policy fits Lattice's 10 KB (checked once the callers are known to be valid)."""
        if self.service_network_auth_type == "NONE":
            return []
        from config.access_policy import oversized_network_policy, oversized_policy  # noqa: PLC0415 - imports this

        problems: list[Problem] = [
            (("routes", i, "access"), why) for i, r in enumerate(self.routes) if (why := oversized_policy(self, r))
        ]
        if why := oversized_network_policy(self):
            problems.append((("routes",), why))
        return problems

    def _calls(self, i: int, app: App) -> list[Problem]:
        """Each called route exists, once; calling needs AWS_IAM (a signature means nothing with NONE)."""
        if app.calls and self.service_network_auth_type == "NONE":
            why = "needs serviceNetworkAuthType AWS_IAM: with NONE, Lattice checks no signature (nothing to sign for)"
            return [(("apps", i, "calls"), why)]
        problems: list[Problem] = []
        for k, name in enumerate(app.calls):
            found = self._called(name)
            if len(found) != 1:
                known = ", ".join(f"{r.namespace}/{r.name}" for r in self.routes)
                why = "names more than one route; write namespace/name" if found else "is not a configured route"
                problems.append((("apps", i, "calls", k), f"{name!r} {why} ({known})"))
        problems += _unique(list(app.calls), ("apps", i, "calls"))
        if not problems:
            protocols = {r.protocol for r in self.routes if app in self.callers(r)}
            if protocols - {"HTTP", "HTTPS"} or len(protocols) > 1:
                why = (f"calls routes of protocol {', '.join(sorted(protocols))}: its signing sidecar "
                       "(aws-sigv4-proxy) forwards HTTP/1.1 with one scheme (--upstream-url-scheme), so an app "
                       "calls only HTTP or only HTTPS routes")  # fmt: skip
                problems.append((("apps", i, "calls"), why))
        return problems

    def _private_ca_callers(self) -> list[Problem]:
        """A route's caBundle (a private CA) reaches only the smoke test: an app that calls the route goes through
        its signing sidecar, the aws-sigv4-proxy image, built FROM scratch with only the build image's public CA
        bundle (awslabs/aws-sigv4-proxy Dockerfile at 4165dc7, read 2026-12-05), which cannot verify the route's
        certificate. Refused at the app's calls entry, or at the route's access.allow entry that names the app."""
        problems: list[Problem] = []
        if self.service_network_auth_type == "NONE":  # no sidecar: the app calls with its own trust store
            return problems
        for j, route in enumerate(self.routes):
            if route.ca_bundle is None or route.protocol != "HTTPS":
                continue
            for app in self.callers(route):
                i = self.apps.index(app)
                named = [k for k, name in enumerate(app.calls) if route in self._called(name)]
                allowed = [m for m, c in enumerate(self.access(route).allow) if c.app == app.name]
                key: tuple[str | int, ...] = (
                    ("apps", i, "calls", named[0]) if named else ("routes", j, "access", "allow", allowed[0])
                )
                why = (f"{app.name} would call {route.namespace}/{route.name}, whose certificate is from a private CA "
                       f"({route.ca_bundle}): the app's signing sidecar (aws-sigv4-proxy, public roots only) cannot "
                       "verify it; call a route with a publicly trusted certificate, or drop caBundle")  # fmt: skip
                problems.append((key, why))
        return problems

    def _sidecar_ports(self) -> list[Problem]:
        """An app that calls routes shares its pod with the signing sidecar: their ports must differ."""
        callers = self.calling_apps
        why = (f"{SIGNING_SIDECAR_PORT} is the port of the SigV4 signing sidecar this app gets because it calls "
               "routes (calls or a route's access.allow); choose another containerPort")  # fmt: skip
        return [
            (("apps", i, "containerPort"), why)
            for i, app in enumerate(self.apps)
            if app in callers and app.container_port == SIGNING_SIDECAR_PORT
        ]

    def _called(self, name: str) -> list[Route]:
        return [r for r in self.routes if name in (r.name, f"{r.namespace}/{r.name}")]

    def access(self, route: Route) -> Access:
        """The route's access with the default filled in (AWS_IAM; with NONE Lattice admits everyone anyway)."""
        return route.access or DEFAULT_ACCESS

    def callers(self, route: Route) -> tuple[App, ...]:
        """The apps admitted to `route`: named in its allow list, or calling it (`calls`), in config order."""
        named = {c.app for c in self.access(route).allow if c.app is not None}
        return tuple(a for a in self.apps if a.name in named or any(route in self._called(n) for n in a.calls))

    def called_hostnames(self, app: App) -> tuple[str, ...]:
        """The hostnames of the routes `app` may call (`calls` or a route's allow list), sorted, each once."""
        return tuple(sorted({str(r.hostname) for r in self.routes if app in self.callers(r)}))

    @property
    def calling_apps(self) -> tuple[App, ...]:
        """Apps that call some route: each gets a ServiceAccount, a Pod Identity role and a signing sidecar."""
        if self.service_network_auth_type == "NONE":
            return ()
        return tuple(a for a in self.apps if any(a in self.callers(r) for r in self.routes))

    def _listener_count(self) -> list[Problem]:
        """The Gateway's listeners within its CRD's limit: one for HTTP, one shared by HTTPS and gRPC routes without
        a certificate, one per hostname with certificateArn, one per TLS port
        (constructs/workload/routes.listener_name); the route that adds the listener past the limit is named."""
        seen: set[tuple[str, object]] = set()
        for i, route in enumerate(self.routes):
            if route.protocol == "TLS":
                seen.add(("TLS", route.listener_port))
            elif route.protocol == "HTTP" or route.certificate_arn is None:
                seen.add((route.protocol if route.protocol == "HTTP" else "HTTPS", None))
            else:
                seen.add(("HTTPS", route.hostname))
            if len(seen) > MAX_GATEWAY_LISTENERS:
                key = "port" if route.protocol == "TLS" else "certificateArn"
                why = (f"needs listener {len(seen)} of the Gateway; the Gateway API CRD allows at most "
                       f"{MAX_GATEWAY_LISTENERS} (one per TLS port, one per HTTPS/GRPC hostname with a "
                       "certificate)")  # fmt: skip
                return [(("routes", i, key), why)]
        return []

    @property
    def association_ports(self) -> tuple[int, ...]:
        """The ports a VPC association's security group admits from its VPC: every Gateway listener's (a client
        reaches a Lattice service only through what its VPC association's security groups admit:
        https://docs.aws.amazon.com/vpc-lattice/latest/ug/security-groups.html, read 2026-12-05), with HTTP's 80
        and HTTPS's 443 always, as before TLS ports existed."""
        return tuple(sorted({SERVICE_PORT_HTTP, HTTPS_PORT} | {r.listener_port for r in self.routes}))

    @property
    def admits_unsigned(self) -> bool:
        """Some route opts in to unsigned callers: only then does the service network's policy admit them."""
        return self.service_network_auth_type == "AWS_IAM" and any(self.access(r).unsigned for r in self.routes)

    def app(self, name: str) -> App:
        return next(a for a in self.apps if a.name == name)

    @property
    def namespaces(self) -> tuple[str, ...]:
        """Every namespace the workload uses, in first-seen order."""
        return tuple(dict.fromkeys([*(a.namespace for a in self.apps), *(r.namespace for r in self.routes)]))

    @property
    def uses_az_ids(self) -> bool:
        """availabilityZones holds AZ IDs (use1-az1), which subnets take as AvailabilityZoneId."""
        return any(re.fullmatch(AZ_ID, z) for z in self.availability_zones)


def is_graviton(instance_type: str) -> bool:
    """t4g.micro, m7g.large, c7gn.xlarge: a 'g' in the family after the generation digit means ARM64."""
    family = instance_type.split(".", maxsplit=1)[0]
    digits = [i for i, c in enumerate(family) if c.isdigit()]
    return bool(digits) and "g" in family[digits[0] + 1 :]
