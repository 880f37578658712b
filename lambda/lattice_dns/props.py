"""The resource's properties, validated once (Props.parse), and the identity of the record it manages: its
PhysicalResourceId and the owner written into its ownership marker."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from .records import validate_hostname
from .routes import ROUTE_RESOURCES, route_path

PHYSICAL_ID_PREFIX = "lattice-dns"


DEFAULT_TIMEOUT_SECONDS = 1200


MIN_TIMEOUT_SECONDS = 120  # the lowest TimeoutSeconds Props.parse accepts (a test keeps them equal)


DEFAULT_TTL = 60


_NAMESPACE = re.compile(r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$")


_OBJECT_NAME = re.compile(r"^(?=.{1,253}$)[a-z0-9]([-a-z0-9.]*[a-z0-9])?$")


_CLUSTER_NAME = re.compile(r"^[0-9A-Za-z][A-Za-z0-9_-]{0,99}$")


_ZONE_ID = re.compile(r"^(/hostedzone/)?[A-Z0-9]{1,32}$")


@dataclass(frozen=True)
class Props:
    cluster_name: str
    namespace: str
    route_name: str
    hostname: str
    zone_id: str
    timeout_seconds: int
    ttl: int
    route_resource: str = "httproutes"  # RouteResource: grpcroutes or tlsroutes for those kinds

    @property
    def route_id(self) -> str:
        return f"{self.cluster_name}/{self.namespace}/{self.route_name}"

    @property
    def route_path(self) -> str:
        return route_path(self.namespace, self.route_name, self.route_resource)

    @classmethod
    def parse(cls, raw: Mapping[str, Any]) -> Props:
        """Validate ResourceProperties (or a RECORDS entry); ValueError names the key and the problem."""

        def text(key: str, pattern: re.Pattern[str], expected: str) -> str:
            value = str(raw.get(key) or "").strip()
            if not value:
                raise ValueError(f"{key} is required")
            if not pattern.match(value):
                raise ValueError(f"{key} {value!r} is not {expected}")
            return value

        def number(key: str, default: int, low: int, high: int) -> int:
            value = raw.get(key)
            if value is None or str(value).strip() == "":
                return default
            try:
                parsed = int(str(value).strip())
            except ValueError:
                raise ValueError(f"{key} {value!r} is not a whole number") from None
            if not low <= parsed <= high:
                raise ValueError(f"{key} {parsed} is outside {low}..{high}")
            return parsed

        resource = str(raw.get("RouteResource") or "httproutes").strip()
        if resource not in ROUTE_RESOURCES:
            raise ValueError(f"RouteResource {resource!r} is not one of {', '.join(ROUTE_RESOURCES)}")
        try:
            hostname = validate_hostname(str(raw.get("Hostname") or ""))
        except ValueError as err:
            raise ValueError(f"Hostname: {err}") from None
        return cls(
            cluster_name=text("ClusterName", _CLUSTER_NAME, "an EKS cluster name"),
            namespace=text("Namespace", _NAMESPACE, "a Kubernetes namespace name"),
            route_name=text("RouteName", _OBJECT_NAME, "a Kubernetes object name"),
            hostname=hostname,
            zone_id=text("HostedZoneId", _ZONE_ID, "a Route 53 hosted zone id").rsplit("/", 1)[-1],
            timeout_seconds=number("TimeoutSeconds", DEFAULT_TIMEOUT_SECONDS, 120, 7200),
            ttl=number("Ttl", DEFAULT_TTL, 0, 2_147_483_647),
            route_resource=resource,
        )


def physical_id(props: Props) -> str:
    # Zone and hostname identify the record; a change of either is a replacement, so CloudFormation deletes the
    # old record (via _delete, ownership checked) only after the new one exists, and keeps it on rollback.
    return f"{PHYSICAL_ID_PREFIX}:{props.zone_id}:{props.hostname}"


def parse_physical_id(value: str | None) -> tuple[str, str] | None:
    """(zone id, hostname) from one of our PhysicalResourceIds; None for anything else."""
    parts = (value or "").split(":")  # pragma: no mutate -- equivalent: any text without two ":" is refused alike
    if len(parts) != 3 or parts[0] != PHYSICAL_ID_PREFIX or not _ZONE_ID.match(parts[1]):
        return None
    try:
        return parts[1], validate_hostname(parts[2])
    except ValueError:
        return None


def owner_of(event: Mapping[str, Any]) -> str:
    """Owner written into the marker: stack name and logical id.

    The stack *name* (not the full StackId with its UUID) lets a rebuilt stack of the same name adopt a record that
    an earlier incarnation left behind, while any other stack or resource is refused.
    """
    stack_id = str(event.get("StackId") or "")
    # pragma: a StackId holds ":stack/" once, so how this split counts or where it starts changes nothing
    parts = stack_id.split(":stack/", 1)  # pragma: no mutate -- equivalent: see above
    stack = parts[1].split("/", 1)[0] if len(parts) == 2 else stack_id
    return f"{stack or 'unknown-stack'}/{event.get('LogicalResourceId') or 'unknown-resource'}"
