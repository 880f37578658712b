"""The names a route gets: its Kubernetes object, and the VPC Lattice service the controller makes for it.

Pure functions of the config (no CDK), shared by the constructs, the config check and the tests.

Why the hostname is part of both names: Lattice cannot change a service's custom domain name after the
service exists (only the first hostname becomes it; UpdateService takes no domain), and the controller finds
a route's service by name. Had a route kept its names across a hostname change, the controller would keep
serving the old domain. So a new hostname means a new HTTPRoute object (a new name, hence a new
CloudFormation resource: created first, the old one deleted in the cleanup) and a new Lattice service,
with the new domain, which the DNS record then points at.

Why the cluster name is part of the digest: Lattice service names are unique per account and region, not per
service network, so two copies of this app in one account and region (two clusters, e.g. dev and staging) whose
routes share name, namespace and hostname would otherwise ask for the same service. The second controller would
find the first one's service by name, see another cluster's ManagedBy tag (v2.1.3 service_manager.go
checkAndUpdateTags: TryOwnFromTags says not owned, and without the takeover annotation that is a ConflictError)
and leave it alone: its route would stay Accepted=False, reason Conflicted, with no service of its own. EKS
cluster names are unique per account and region, so (cluster name, hostname) tells every copy's routes apart;
within one config the collision check below refuses what the digest cannot.

The controller's naming (aws-application-networking-k8s v2.1.3, pkg/utils/common.go, `LatticeServiceName` and
`Truncate`): the `application-networking.k8s.aws/service-name-override` annotation if set; otherwise the
route name cut to 20 characters, "-", the namespace cut to 18, each part cut first and then stripped of
leading and trailing "-". A suffix past the 20th character of a route name is therefore lost, so this app
sets the override (which must be set when the route is created and never changed, docs/guides/
service-name-override.md: the hostname digest in the object's name guarantees that) to a name that keeps
the digest. Lattice itself allows service names of 3-40 characters of a-z, 0-9 and "-", not starting with
"svc-", without leading, trailing or doubled "-" (botocore vpc-lattice 2022-11-30 `ServiceName`).
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence

from config.routes import Route

SERVICE_NAME_OVERRIDE_ANNOTATION = "application-networking.k8s.aws/service-name-override"
DIGEST_CHARS = 6
MAX_OBJECT_NAME = 63  # kept a DNS label, like every other object name of this app
MAX_SERVICE_NAME = 40
_SERVICE_NAME = re.compile(r"^(?!svc-)(?!-)(?!.*-$)(?!.*--)[a-z0-9-]{3,40}$")


def truncate(name: str, length: int) -> str:
    """The controller's `Truncate`: the first `length` characters, then leading/trailing '-' stripped."""
    return name[:length].strip("-")


def controller_service_name(route_name: str, namespace: str, override: str | None = None) -> str:
    """The Lattice service name controller v2.1.3 uses for the HTTPRoute `namespace/route_name`."""
    if override:
        return override
    return f"{truncate(route_name, 20)}-{truncate(namespace, 18)}"


def route_digest(cluster_name: str, hostname: str) -> str:
    """The digest both names carry: of the cluster's name and the route's hostname (see the module's doc)."""
    return hashlib.sha256(f"{cluster_name}/{hostname}".encode()).hexdigest()[:DIGEST_CHARS]


def route_object_name(route: Route, cluster_name: str) -> str:
    """The HTTPRoute's metadata.name: the configured name plus the digest."""
    base = route.name[: MAX_OBJECT_NAME - DIGEST_CHARS - 1].rstrip("-")
    return f"{base}-{route_digest(cluster_name, route.hostname)}"


def service_name_override(route: Route, cluster_name: str) -> str:
    """The annotation's value: the controller's own name for the configured route, cut to leave room for the
    digest. E.g. demo-http-route in default with api.example.com -> demo-http-route-default-<digest>."""
    base = controller_service_name(route.name, route.namespace)[: MAX_SERVICE_NAME - DIGEST_CHARS - 1].rstrip("-")
    return f"{base}-{route_digest(cluster_name, route.hostname)}"


def lattice_service_name(route: Route, cluster_name: str) -> str:
    """The Lattice service name the controller will use for this route's object (through its own naming)."""
    return controller_service_name(
        route_object_name(route, cluster_name), route.namespace, service_name_override(route, cluster_name)
    )


def route_name_problem(routes: Sequence[Route], cluster_name: str) -> tuple[int, str] | None:
    """(index into routes, reason) for the first route whose Lattice service name Lattice would refuse or
    another route already uses; None when all are fine. The model reports it on `routes[i].name`."""
    seen: dict[str, int] = {}
    for i, route in enumerate(routes):
        name = lattice_service_name(route, cluster_name)
        if not _SERVICE_NAME.match(name):
            return i, (
                f"gives the Lattice service name {name!r}, which Lattice refuses (3-40 of a-z, 0-9 and '-', not "
                "starting with 'svc-', no leading, trailing or doubled '-'); rename the route or its namespace"
            )
        if name in seen:
            j = seen[name]
            return i, (
                f"gives the Lattice service name {name!r}, the same as routes[{j}] ({routes[j].namespace}/"
                f"{routes[j].name}): the controller keeps only the first 20 characters of the route name and 18 of "
                "the namespace, and the digests of cluster name and hostname collide; make the names differ within "
                "those characters"
            )
        seen[name] = i
    return None
