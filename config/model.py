"""The typed, immutable configuration of one deployment (SPEC §6), as pydantic models.

The models are the input format: their camelCase aliases are cdk.json's keys, field constraints carry the
ranges, patterns and enums (and from them config/schema.json and docs/configuration.md's tables are generated), and
validators hold only domain logic: Lattice's route limits, hostnames inside the zone, backends naming known
apps, the EKS version calendar, CIDR overlap. `config.loader` validates once, at the edge, and turns
pydantic's errors into one line per problem; everything else receives these frozen objects.

This module is the top model, AppConfig: cdk.json's keys and the checks across them. The areas' models live
beside it and are composed here: config.apps, config.routes and config.access, config.consumers, config.alarms,
config.network; config.workload holds the cross-references of apps and routes; config.fields the building
blocks and config.errors the errors. Names that lived here before the split are still importable from here.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import re
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, ConfigDict, Field, Strict, ValidationInfo, field_validator, model_validator
from pydantic.json_schema import SkipJsonSchema

from config.access import DEFAULT_ACCESS, TLS_ACCESS_WHY, Access, AuthType, Caller
from config.access_policy import oversized_network_policy, oversized_policy
from config.alarms import (
    ALARM_PERIODS,
    LONG_WINDOW_MAX,
    MAX_TARGET_HEALTH_MINUTES,
    SHORT_PERIOD_BELOW,
    SHORT_WINDOW_MAX,
    Alarms,
    alarm_window_max,
)
from config.apps import (
    IMAGE_REFERENCE,
    RESERVED_ENV,
    SIGNING_SIDECAR_PORT,
    App,
    EnvVars,
    HealthCheck,
    HealthProtocol,
    HealthProtocolVersion,
    Quantity,
    Resources,
)
from config.consumers import ORG_ARN_PATTERN, Consumer, consumer_problems
from config.errors import Problem, config_error, fail
from config.errors import config_error as _error
from config.fields import (
    MAX_PATH_LENGTH,
    PARTITIONS,
    URL_PATH,
    URL_PATH_REFUSED,
    AccountId,
    Between,
    DnsName,
    K8sName,
    Matches,
    Model,
    OneOf,
    RoleArn,
    UrlPath,
    cidr,
    duplicates,
    says,
)
from config.fields import cidr as _cidr
from config.lattice_names import route_name_problem
from config.limits import (
    MAX_ADMIN_ROLES,
    MAX_APPS,
    MAX_CIDR,
    MAX_CONSUMERS,
    MAX_LATTICE_PORTS,
    MAX_LATTICE_PORTS_IPV6,
    MAX_ORG_ARN,
    MAX_PUBLIC_CIDRS,
    MAX_ROUTES,
)
from config.network import (
    AZ_ID,
    AZ_NAME,
    INSTANCE_TYPES_FILE,
    EndpointAccess,
    InstanceType,
    Zone,
    az_id_prefix,
    ec2_instance_types,
    is_graviton,
    public_cidr,
    zone_list,
    zones_outside,
)
from config.routes import (
    CA_BUNDLE_PATH,
    CERTIFICATE_ARN,
    GRPC_METHOD,
    GRPC_SERVICE,
    HTTPS_PORT,
    MAX_GATEWAY_LISTENERS,
    MAX_HEADER_MATCHES,
    MAX_HEADER_NAME,
    MAX_HEADER_VALUE,
    MAX_LATTICE_WEIGHT,
    MAX_RULES_PER_ROUTE,
    MAX_TARGET_GROUPS_PER_SERVICE,
    PEM_CERTIFICATE,
    PROJECT_DIR,
    ROUTE_KINDS,
    SERVICE_PORT_HTTP,
    TLS_DEFAULT_PORT,
    Backend,
    CertificateArn,
    HeaderMatch,
    HttpMethod,
    PathType,
    Route,
    RouteProtocol,
    RouteRule,
    certificate_arns,
    certificate_environment_problems,
    hostname_taken,
)
from config.versions import CONTROLLER_RELEASES, EKS_VERSIONS, GATEWAY_API_RELEASES
from config.workload import Workload

# Every model and helper lived in this module before config/ was split by area: its public names (and the two
# private ones tests use) stay importable from here. tests/test_import_cycles.py keeps the split free of cycles.
__all__ = ["ALARM_PERIODS", "AZ_NAME", "CA_BUNDLE_PATH", "CERTIFICATE_ARN", "DEFAULT_ACCESS", "GRPC_METHOD",
           "GRPC_SERVICE", "HTTPS_PORT", "IMAGE_REFERENCE", "INSTANCE_TYPES_FILE", "LONG_WINDOW_MAX",
           "MAX_GATEWAY_LISTENERS", "MAX_HEADER_MATCHES", "MAX_HEADER_NAME", "MAX_HEADER_VALUE",
           "MAX_LATTICE_WEIGHT", "MAX_PATH_LENGTH", "MAX_RULES_PER_ROUTE", "MAX_TARGET_GROUPS_PER_SERVICE",
           "MAX_TARGET_HEALTH_MINUTES", "PARTITIONS", "PEM_CERTIFICATE", "PROJECT_DIR", "RESERVED_ENV",
           "ROUTE_KINDS", "SERVICE_PORT_HTTP", "SHORT_PERIOD_BELOW", "SHORT_WINDOW_MAX", "SIGNING_SIDECAR_PORT",
           "TLS_ACCESS_WHY", "TLS_DEFAULT_PORT", "URL_PATH", "URL_PATH_REFUSED", "Access", "Alarms", "App",
           "AppConfig", "Backend", "Between", "Caller", "CertificateArn", "EnvVars", "HeaderMatch", "HealthCheck",
           "HealthProtocol", "HealthProtocolVersion", "HttpMethod", "K8sName", "Matches", "OneOf", "PathType",
           "Problem", "Quantity", "Resources", "Route", "RouteProtocol", "RouteRule", "UrlPath", "_cidr", "_error",
           "alarm_window_max", "az_id_prefix", "certificate_arns", "certificate_environment_problems",
           "ec2_instance_types", "fail", "is_graviton", "says", "zones_outside"]  # fmt: skip

# CloudWatch Logs accepts only these retention periods.
LOG_RETENTION_DAYS = (1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922,
                      3288, 3653)  # fmt: skip


def _sn_name(name: str) -> str:
    if "--" in name or name.startswith("sn-"):
        raise config_error(f"{name!r} is not a valid Lattice service network name ('sn-' and '--' are reserved)")
    return name


def _resync(minutes: int) -> int:
    if 0 < minutes < 5:
        raise config_error(_RESYNC.format(input=minutes))
    return minutes


_SN_NAME = (
    "{input!r} is not a valid Lattice service network name "
    "(3-63 lowercase letters, digits and single hyphens; not starting with 'sn-')"
)
_RESYNC = "{input} must be 0 (off) or 5..1440"

_PINNED = "(its IAM policy and CRD needs are pinned per release)"

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


class AppConfig(Workload, Model):
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
    cluster_vpc_cidr: Annotated[str, Strict(), Field(max_length=MAX_CIDR), cidr(22)] = "10.1.0.0/16"
    """private range, /16 to /22"""
    client_vpc_cidr: Annotated[str, Strict(), Field(max_length=MAX_CIDR), cidr(26)] = "10.2.0.0/16"
    """private range, /16 to /26; must not overlap clusterVpcCidr"""
    availability_zones: Annotated[
        tuple[Zone, ...],
        Field(max_length=3, json_schema_extra={"not": {"minItems": 1, "maxItems": 1}}),
        AfterValidator(zone_list),
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
        tuple[Annotated[str, Strict(), Field(max_length=MAX_CIDR), cidr(None), AfterValidator(public_cidr)], ...],
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
    """other accounts (at most 50) that get the service network through RAM, each with a stack of its own
    (docs/sharing.md: Share with another account)"""
    gone_consumer_accounts: Annotated[tuple[AccountId, ...], Field(max_length=MAX_CONSUMERS)] = ()
    """consumer accounts acknowledged as gone (closed, suspended, or no longer trusting yours): the stranded-consumer
    check before each deploy (make deploy and each pipeline provider stage) skips them instead of refusing
    (docs/sharing.md: Removing one consumer)"""
    share_with_organization: Annotated[str, Field(max_length=MAX_ORG_ARN)] | None = None
    """an organization ARN: RAM shares then stay inside it (allowExternalPrincipals false)"""
    alarms: Annotated[Alarms, Field(validate_default=True)] = {  # type: ignore[assignment]  # noqa: RUF012 - a field
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
        problems += duplicates([a.name for a in self.apps], ("apps",))
        # One cluster security group rule per distinct port and Lattice prefix list, with room for one port's
        # replacement during an update (config/limits.py).
        ports: list[int] = []
        ipv6 = self.lattice_ipv6
        most, lists = (MAX_LATTICE_PORTS_IPV6, "prefix lists") if ipv6 else (MAX_LATTICE_PORTS, "prefix list")
        for i, app in enumerate(self.apps):
            if app.container_port not in ports:
                ports.append(app.container_port)
                if len(ports) == most + 1:
                    why = (
                        f"at most {most} distinct ports across apps{' with latticeIpv6' if ipv6 else ''}: "
                        f"each is a rule from Lattice's {lists} (weight 10, counted for IPv4 and IPv6) in the cluster "
                        f"security group's 60 inbound rules, which must also hold a changed port's old and new rule "
                        f"during an update; give apps the same port"
                    )
                    problems.append((("apps", i, "containerPort"), why))
        problems += duplicates([f"{r.namespace}/{r.name}" for r in self.routes], ("routes",))
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
                problems.append((("routes", i, "hostname"), hostname_taken(route, same[0])))
            problems += self._backends(i, route)
            problems += self._access(i, route)
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

    def _policy_sizes(self) -> list[Problem]:
        """Each route's auth policy fits Lattice's 10 KB (checked once the callers are known to be valid)."""
        if self.service_network_auth_type == "NONE":
            return []
        problems: list[Problem] = [
            (("routes", i, "access"), why) for i, r in enumerate(self.routes) if (why := oversized_policy(self, r))
        ]
        if why := oversized_network_policy(self):
            problems.append((("routes",), why))
        return problems

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
    def uses_az_ids(self) -> bool:
        """availabilityZones holds AZ IDs (use1-az1), which subnets take as AvailabilityZoneId."""
        return any(re.fullmatch(AZ_ID, z) for z in self.availability_zones)
