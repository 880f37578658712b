"""The typed, immutable configuration of one deployment (SPEC §6).

Values come from cdk.json context and `-c key=value` overrides; `config.loader` parses and validates them
once, at the edge, and everything else receives these frozen objects.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from config.consumers import Consumer

AuthType = Literal["NONE", "AWS_IAM"]
EndpointAccess = Literal["PUBLIC_AND_PRIVATE", "PRIVATE"]
PathType = Literal["PathPrefix", "Exact"]
HealthProtocol = Literal["HTTP", "HTTPS"]
HealthProtocolVersion = Literal["HTTP1", "HTTP2"]


@dataclass(frozen=True, slots=True, kw_only=True)
class HealthCheck:
    """Lattice target-group health check, emitted as a TargetGroupPolicy (ranges: SPEC §3)."""

    path: str
    port: int
    protocol: HealthProtocol = "HTTP"
    protocol_version: HealthProtocolVersion = "HTTP1"
    interval_seconds: int = 10
    timeout_seconds: int = 5
    healthy_threshold_count: int = 3
    unhealthy_threshold_count: int = 3


@dataclass(frozen=True, slots=True, kw_only=True)
class Resources:
    cpu_request: str = "50m"
    memory_request: str = "64Mi"
    cpu_limit: str = "250m"
    memory_limit: str = "128Mi"


@dataclass(frozen=True, slots=True, kw_only=True)
class App:
    """One demo workload: a Deployment, a ClusterIP Service (port 80) and a TargetGroupPolicy."""

    name: str
    namespace: str
    image: str
    replicas: int
    container_port: int
    env: tuple[tuple[str, str], ...]
    health_check: HealthCheck
    resources: Resources


@dataclass(frozen=True, slots=True, kw_only=True)
class HeaderMatch:
    name: str
    value: str


@dataclass(frozen=True, slots=True, kw_only=True)
class Backend:
    app: str
    weight: int | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class RouteRule:
    path_type: PathType
    path: str
    headers: tuple[HeaderMatch, ...] = ()
    method: str | None = None
    backends: tuple[Backend, ...] = ()


@dataclass(frozen=True, slots=True, kw_only=True)
class Route:
    """One HTTPRoute; becomes one Lattice service with `hostname` as its custom domain name."""

    name: str
    namespace: str
    hostname: str
    rules: tuple[RouteRule, ...]


@dataclass(frozen=True, slots=True, kw_only=True)
class AppConfig:
    cluster_name: str = "eks-demo"
    kubernetes_version: str = "1.35"
    cluster_vpc_cidr: str = "10.1.0.0/16"
    client_vpc_cidr: str = "10.2.0.0/16"
    node_instance_type: str = "t3.medium"
    node_desired_size: int = 2
    node_min_size: int = 1
    node_max_size: int = 3
    cluster_endpoint_access: EndpointAccess = "PUBLIC_AND_PRIVATE"
    cluster_endpoint_public_cidrs: tuple[str, ...] = ("0.0.0.0/0",)
    cluster_admin_role_arns: tuple[str, ...] = ()
    controller_chart_version: str = "v2.1.3"
    controller_log_level: Literal["info", "debug"] = "info"
    gateway_api_version: str = "v1.5.1"
    service_network_name: str = "demo-sn"
    service_network_auth_type: AuthType = "AWS_IAM"
    lattice_ipv6: bool = False
    private_zone_name: str = "example.com"
    client_instance_type: str = "t3.micro"
    log_retention_days: int = 30
    dns_record_timeout_minutes: int = 20
    dns_resync_minutes: int = 0
    apps: tuple[App, ...] = ()
    routes: tuple[Route, ...] = ()
    # Accounts the service network is shared with (issue 13), and the organization that bounds the shares.
    consumers: tuple[Consumer, ...] = ()
    share_with_organization: str | None = None
    # Readable notes for the synth output (e.g. "1.33 is in extended support"); never errors.
    warnings: tuple[str, ...] = field(default=(), compare=False)

    def app(self, name: str) -> App:
        return next(a for a in self.apps if a.name == name)

    @property
    def namespaces(self) -> tuple[str, ...]:
        """Every namespace the workload uses, in first-seen order."""
        seen: dict[str, None] = {}
        items: tuple[App | Route, ...] = (*self.apps, *self.routes)
        for item in items:
            seen.setdefault(item.namespace, None)
        return tuple(seen)


def is_graviton(instance_type: str) -> bool:
    """t4g.micro, m7g.large, c7gn.xlarge: a 'g' in the family after the generation digit means ARM64."""
    family = instance_type.split(".", maxsplit=1)[0]
    digits = [i for i, c in enumerate(family) if c.isdigit()]
    return bool(digits) and "g" in family[digits[0] + 1 :]
