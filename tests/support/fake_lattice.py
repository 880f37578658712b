"""A fake VPC Lattice control plane over HTTP on 127.0.0.1, for the real boto3 client (endpoint_url).

moto 5.2.5 has no DeleteServiceNetworkServiceAssociation, DeleteService, DeleteTargetGroup, ListTargets or
DeregisterTargets, and keeps everything ACTIVE. This fake serves the REST-JSON operations the drain waiter
uses, with the behaviour the Lattice API reference documents for them:

- deletes are asynchronous: a delete moves the resource to DELETE_IN_PROGRESS and `tick()` (Lattice's
  background work, driven by the test) removes it; deleting a resource already DELETE_IN_PROGRESS changes
  nothing; a missing resource answers 404 ResourceNotFoundException;
- an association can't be deleted while CREATE_IN_PROGRESS, a service can't be deleted while any
  association (in any state) references it, a target group can't be deleted while a service's listener
  rule uses it: each answers 409 ConflictException;
- DeregisterTargets moves targets to DRAINING; `tick()` removes them. A target group with targets (even
  DRAINING ones) refuses deletion with 409: stricter than the API reference says, as the controller assumes
  (v2.1.3 target_group_manager.go deregisters, and waits for DRAINING targets, before deleting);
- every List* pages `page_size` items at a time (nextToken), so callers must follow the token (ListServiceNetworks
  lists every network by id, name and ARN);
- ListTagsForResource answers 403 AccessDeniedException for ARNs in `unreadable` (another account's);
- ListServiceNetworkServiceAssociations filters by serviceNetworkIdentifier or serviceIdentifier;
- a service network is named by its ID or its ARN, as the API's ServiceNetworkIdentifier pattern allows
  (botocore's vpc-lattice model), and listed associations carry the network's ID;
- ListServiceNetworkResourceAssociations and ListServiceNetworkVpcEndpointAssociations list what other accounts
  associated (`resource_associations`, `endpoint_associations`); neither can be deleted here (this app never
  creates them, and only an endpoint's owner can remove it).

Every request is recorded in `calls` as (operation, resource id or ARN) in arrival order.
"""

from __future__ import annotations

import itertools
import json
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from .background import BackgroundServer

ACCOUNT = "111122223333"
REGION = "us-east-1"


@dataclass
class Association:
    id: str
    network: str
    service: str
    tags: dict[str, str]
    status: str = "ACTIVE"

    @property
    def arn(self) -> str:
        return f"arn:aws:vpc-lattice:{REGION}:{ACCOUNT}:servicenetworkserviceassociation/{self.id}"


@dataclass
class Service:
    id: str
    name: str
    tags: dict[str, str]
    status: str = "ACTIVE"
    account: str = ACCOUNT  # another account's: shared with this one (RAM), listed by ListServices too

    @property
    def arn(self) -> str:
        return f"arn:aws:vpc-lattice:{REGION}:{self.account}:service/{self.id}"


@dataclass
class TargetGroup:
    id: str
    name: str
    vpc: str
    tags: dict[str, str]
    services: list[str] = field(default_factory=list)  # services whose rules route to it
    targets: list[dict[str, Any]] = field(default_factory=list)
    status: str = "ACTIVE"
    created_at: str = ""
    account: str = ACCOUNT  # another account's: shared with this one

    @property
    def arn(self) -> str:
        return f"arn:aws:vpc-lattice:{REGION}:{self.account}:targetgroup/{self.id}"


class LatticeError(Exception):
    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status, self.code = status, code


class FakeLattice(BackgroundServer):
    thread_name = "fake-lattice"

    def __init__(self, *, page_size: int = 2) -> None:
        super().__init__()
        self.page_size = page_size
        self.networks: dict[str, str] = {}  # id -> name
        self.associations: dict[str, Association] = {}
        self.services: dict[str, Service] = {}
        self.target_groups: dict[str, TargetGroup] = {}
        self.vpc_associations: dict[str, dict[str, Any]] = {}
        self.resource_associations: list[dict[str, Any]] = []  # each with its serviceNetworkId
        self.endpoint_associations: list[dict[str, Any]] = []  # each with its serviceNetworkArn
        self.unreadable: set[str] = set()
        self.calls: list[tuple[str, str]] = []
        self._ids = itertools.count(1)
        self._lock = threading.Lock()

    # -- state --------------------------------------------------------------------------------------------

    def _id(self, prefix: str) -> str:
        return f"{prefix}-{next(self._ids):017x}"

    def add_network(self, name: str = "demo-sn") -> str:
        network = self._id("sn")
        self.networks[network] = name
        return network

    @staticmethod
    def network_arn(network: str) -> str:
        return f"arn:aws:vpc-lattice:{REGION}:{ACCOUNT}:servicenetwork/{network}"

    def _network(self, identifier: str) -> str:
        """The network's ID from an ID or this account's ARN (the API accepts either)."""
        if identifier.startswith(self.network_arn("")):
            return identifier.rsplit("/", 1)[-1]
        return identifier

    def add_service(self, name: str, *, tags: dict[str, str]) -> Service:
        service = Service(self._id("svc"), name, dict(tags))
        self.services[service.id] = service
        return service

    def associate(self, service: Service, network: str, *, tags: dict[str, str] | None = None) -> Association:
        """A service-network service association, tagged like its service unless `tags` says otherwise."""
        assoc = Association(self._id("snsa"), network, service.id, dict(service.tags if tags is None else tags))
        self.associations[assoc.id] = assoc
        return assoc

    def add_associated_service(self, name: str, *, tags: dict[str, str], network: str) -> tuple[Service, Association]:
        service = self.add_service(name, tags=tags)
        return service, self.associate(service, network)

    def add_target_group(
        self, name: str, *, vpc: str, tags: dict[str, str], services: tuple[Service, ...] = (), targets: int = 0
    ) -> TargetGroup:
        group = TargetGroup(self._id("tg"), name, vpc, dict(tags), [s.id for s in services])
        group.created_at = f"2026-12-05T00:00:{len(self.target_groups):02d}Z"  # later groups are newer
        group.targets = [{"id": f"10.1.0.{i + 10}", "port": 8080, "status": "HEALTHY"} for i in range(targets)]
        self.target_groups[group.id] = group
        return group

    def tick(self) -> None:
        """Lattice finishes every asynchronous delete that has been started."""
        with self._lock:
            for table in (self.associations, self.services, self.target_groups):
                for key in [k for k, v in table.items() if v.status == "DELETE_IN_PROGRESS"]:
                    del table[key]
            for group in self.target_groups.values():
                group.services = [s for s in group.services if s in self.services]
                group.targets = [t for t in group.targets if t["status"] != "DRAINING"]

    def ops(self, operation: str) -> list[str]:
        return [target for op, target in self.calls if op == operation]

    # -- HTTP ---------------------------------------------------------------------------------------------

    def _make_server(self) -> ThreadingHTTPServer:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *_: Any) -> None:
                pass

            def _serve(self) -> None:
                url = urlsplit(self.path)
                query = {k: v[0] for k, v in parse_qs(url.query).items()}
                length = int(self.headers.get("Content-Length") or 0)
                body = json.loads(self.rfile.read(length) or b"{}") if length else {}
                parts = [unquote(p) for p in url.path.strip("/").split("/")]
                try:
                    with fake._lock:
                        status, reply = fake._route(self.command, parts, query, body)
                except LatticeError as err:
                    status, reply = err.status, {"message": str(err)}
                    self.send_response(status)
                    self.send_header("x-amzn-ErrorType", err.code)
                else:
                    self.send_response(status)
                payload = json.dumps(reply).encode()
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            do_GET = do_POST = do_DELETE = _serve  # noqa: N815 - BaseHTTPRequestHandler's naming

        return ThreadingHTTPServer(("127.0.0.1", 0), Handler)

    def _page(self, items: list[dict[str, Any]], query: dict[str, str]) -> dict[str, Any]:
        start = int(query.get("nextToken") or 0)
        size = min(int(query.get("maxResults") or self.page_size), self.page_size)
        page: dict[str, Any] = {"items": items[start : start + size]}
        if start + size < len(items):
            page["nextToken"] = str(start + size)
        return page

    def _route(
        self, method: str, parts: list[str], query: dict[str, str], body: dict[str, Any]
    ) -> tuple[int, dict[str, Any]]:
        match (method, parts):
            case ("GET", ["servicenetworks"]):
                self.calls.append(("ListServiceNetworks", ""))
                networks = [{"id": n, "name": name, "arn": self.network_arn(n)} for n, name in self.networks.items()]
                return 200, self._page(list(networks), query)
            case ("GET", ["servicenetworks", identifier]):
                self.calls.append(("GetServiceNetwork", identifier))
                network = self._network(identifier)
                if network not in self.networks:
                    raise LatticeError(404, "ResourceNotFoundException", f"{network} not found")
                return 200, {"id": network, "name": self.networks[network], "arn": self.network_arn(network)}
            case ("GET", ["servicenetworkvpcassociations"]):
                self.calls.append(("ListServiceNetworkVpcAssociations", query["serviceNetworkIdentifier"]))
                network = self._network(query["serviceNetworkIdentifier"])
                items = [a for a in self.vpc_associations.values() if a["serviceNetworkId"] == network]
                return 200, self._page(items, query)
            case ("GET", ["servicenetworkserviceassociations"]):
                # By network or by service (the API takes either).
                in_network, service_id = query.get("serviceNetworkIdentifier"), query.get("serviceIdentifier")
                self.calls.append(("ListServiceNetworkServiceAssociations", in_network or service_id or ""))
                in_network = self._network(in_network) if in_network else None
                items = [
                    {
                        "id": a.id,
                        "arn": a.arn,
                        "status": a.status,
                        "serviceId": a.service,
                        "serviceName": self.services[a.service].name,
                        "serviceNetworkId": a.network,
                    }
                    for a in self.associations.values()
                    if in_network in (None, a.network) and service_id in (None, a.service)
                ]
                return 200, self._page(items, query)
            case ("GET", ["servicenetworkresourceassociations"]):
                self.calls.append(("ListServiceNetworkResourceAssociations", query.get("serviceNetworkIdentifier", "")))
                by = query.get("serviceNetworkIdentifier")
                network_id = self._network(by) if by else None
                items = [a for a in self.resource_associations if network_id in (None, a["serviceNetworkId"])]
                return 200, self._page(items, query)
            case ("GET", ["servicenetworkvpcendpointassociations"]):
                self.calls.append(("ListServiceNetworkVpcEndpointAssociations", query["serviceNetworkIdentifier"]))
                arn = self.network_arn(self._network(query["serviceNetworkIdentifier"]))
                items = [a for a in self.endpoint_associations if a["serviceNetworkArn"] == arn]
                return 200, self._page(items, query)
            case ("DELETE", ["servicenetworkserviceassociations", assoc_id]):
                self.calls.append(("DeleteServiceNetworkServiceAssociation", assoc_id))
                assoc = self._get(self.associations, assoc_id)
                if assoc.status == "CREATE_IN_PROGRESS":
                    raise LatticeError(409, "ConflictException", f"{assoc_id} is CREATE_IN_PROGRESS")
                assoc.status = "DELETE_IN_PROGRESS"
                return 200, {"id": assoc.id, "arn": assoc.arn, "status": assoc.status}
            case ("GET", ["services"]):
                self.calls.append(("ListServices", ""))
                items = [{"id": s.id, "arn": s.arn, "name": s.name, "status": s.status} for s in self.services.values()]
                return 200, self._page(items, query)
            case ("DELETE", ["services", service_id]):
                self.calls.append(("DeleteService", service_id))
                service = self._get(self.services, service_id)
                if any(a.service == service_id for a in self.associations.values()):
                    raise LatticeError(409, "ConflictException", f"{service_id} is associated with a service network")
                service.status = "DELETE_IN_PROGRESS"
                return 200, {"id": service.id, "arn": service.arn, "status": service.status}
            case ("GET", ["targetgroups"]):
                self.calls.append(("ListTargetGroups", query.get("vpcIdentifier", "")))
                items = [
                    {
                        "id": g.id,
                        "arn": g.arn,
                        "name": g.name,
                        "status": g.status,
                        "vpcIdentifier": g.vpc,
                        "serviceArns": [self.services[s].arn for s in g.services],
                        "createdAt": g.created_at,
                    }
                    for g in self.target_groups.values()
                    if query.get("vpcIdentifier") in (None, g.vpc)
                ]
                return 200, self._page(items, query)
            case ("POST", ["targetgroups", group_id, "listtargets"]):
                self.calls.append(("ListTargets", group_id))
                return 200, self._page([dict(t) for t in self._get(self.target_groups, group_id).targets], query)
            case ("POST", ["targetgroups", group_id, "deregistertargets"]):
                self.calls.append(("DeregisterTargets", group_id))
                group = self._get(self.target_groups, group_id)
                wanted = {(t["id"], t.get("port")) for t in body["targets"]}
                for target in group.targets:
                    if (target["id"], target["port"]) in wanted:
                        target["status"] = "DRAINING"
                return 200, {"successful": body["targets"], "unsuccessful": []}
            case ("DELETE", ["targetgroups", group_id]):
                self.calls.append(("DeleteTargetGroup", group_id))
                group = self._get(self.target_groups, group_id)
                if any(s in self.services for s in group.services):
                    raise LatticeError(409, "ConflictException", f"{group_id} is used by a listener rule")
                if group.targets:
                    raise LatticeError(409, "ConflictException", f"{group_id} still has registered targets")
                group.status = "DELETE_IN_PROGRESS"
                return 200, {"id": group.id, "arn": group.arn, "status": group.status}
            case ("GET", ["tags", *arn_parts]):
                arn = "/".join(arn_parts)
                self.calls.append(("ListTagsForResource", arn))
                if arn in self.unreadable:
                    raise LatticeError(403, "AccessDeniedException", f"not authorized to read the tags of {arn}")
                for table in (self.associations, self.services, self.target_groups):
                    for item in table.values():
                        if item.arn == arn:
                            return 200, {"tags": item.tags}
                raise LatticeError(404, "ResourceNotFoundException", f"{arn} not found")
        raise LatticeError(400, "ValidationException", f"unsupported request {method} /{'/'.join(parts)}")

    @staticmethod
    def _get(table: dict[str, Any], key: str) -> Any:
        if key not in table:
            raise LatticeError(404, "ResourceNotFoundException", f"{key} not found")
        return table[key]
