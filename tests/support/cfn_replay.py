"""Replays what CloudFormation does to the gateway stack's DNS records on a deploy, an update and a destroy,
with the real handler code against moto, a fake Kubernetes API, a fake controller + Lattice, and the IAM
policy each template grants evaluated on every Route 53 call (tests/support/iam_policy.py).

CloudFormation's update order (User Guide, "Update behaviors of stack resources" and "Stack status codes"):
resources are created and updated in dependency order (so a role's policy, which the DNS functions depend
on, is updated before any record); a resource whose physical id changes is *replaced*, and the old one is
deleted, with every removed resource, during UPDATE_COMPLETE_CLEANUP_IN_PROGRESS, in reverse dependency
order, when the new policy is in force.

What each resource type does here:
- AWS::IAM::Policy: its statements come into force for the roles it names (and leave with it).
- AWS::IAM::ManagedPolicy: the same; a changed Description (create-only) replaces it: the new one comes into
  force at once, the old one leaves when the cleanup deletes it.
- Custom::LatticeDnsRecord: the provider framework's onEvent, then isComplete until done (Delete too).
- Custom::PrivateZoneSweep (the platform stack's): the provider framework's onEvent.
- AWS::Route53::HostedZone: a private zone in moto (`route53` client); a new Name (create-only) replaces it.
- Custom::AWSCDK-EKS-KubernetesResource: its HTTPRoutes, as aws-cdk-lib 2.273's kubectl handler applies them:
  Create/Update `kubectl apply` (Update's --prune skips custom resources: kubectl's default prune allowlist
  has no HTTPRoute), Delete `kubectl delete` of the manifest's objects.
Everything else is not modelled.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from botocore.exceptions import ClientError
from lattice_dns import handler
from lattice_dns.routes import ANNOTATION, route_path
from zone_sweep import handler as sweep_handler

from config.lattice_names import SERVICE_NAME_OVERRIDE_ANNOTATION, controller_service_name
from tests.support.fake_kube import FakeKubeApi
from tests.support.iam_policy import PSEUDO, Decision, Request, evaluate, resolve, route53_request, token_key

RECORD = "Custom::LatticeDnsRecord"
SWEEP = "Custom::PrivateZoneSweep"
ZONE = "AWS::Route53::HostedZone"
# Custom resource type -> (handler module, the prefix of its functions' Handler).
HANDLERS: dict[str, tuple[Any, str]] = {
    RECORD: (handler, "lattice_dns.handler."),
    SWEEP: (sweep_handler, "zone_sweep."),
}
MANIFEST = "Custom::AWSCDK-EKS-KubernetesResource"
POLICY = "AWS::IAM::Policy"
MANAGED_POLICY = "AWS::IAM::ManagedPolicy"
STACK_ID = "arn:aws:cloudformation:ap-northeast-2:123456789012:stack/EksLatticeGateway-Gateway/1f2e3d4c"
QUERY_INTERVAL = handler.QUERY_INTERVAL_SECONDS


# -- the dependency graph -------------------------------------------------------------------------------------------


def _references(value: Any, ids: set[str]) -> set[str]:
    if isinstance(value, list):
        return set().union(*(_references(v, ids) for v in value)) if value else set()
    if not isinstance(value, dict):
        return set()
    found: set[str] = set()
    if isinstance(value.get("Ref"), str) and value["Ref"] in ids:
        found.add(value["Ref"])
    get_att = value.get("Fn::GetAtt")
    if isinstance(get_att, list) and get_att and get_att[0] in ids:
        found.add(get_att[0])
    return found | _references(list(value.values()), ids)


def dependency_order(template: Mapping[str, Any]) -> list[str]:
    """Logical ids, each after everything it depends on (DependsOn, Ref, GetAtt); ties in name order."""
    resources = template["Resources"]
    ids = set(resources)
    deps: dict[str, set[str]] = {}
    for lid, res in resources.items():
        depends = res.get("DependsOn", [])
        deps[lid] = ({depends} if isinstance(depends, str) else set(depends)) | _references(res, ids) - {lid}
    order: list[str] = []
    done: set[str] = set()
    while len(order) < len(ids):
        ready = sorted(lid for lid in ids - done if deps[lid] <= done)
        if not ready:
            raise ValueError(f"dependency cycle among {sorted(ids - done)}")
        order += ready
        done |= set(ready)
    return order


# -- the controller and Lattice, as far as DNS is concerned --------------------------------------------------------


@dataclass
class LatticeService:
    route: str  # the route object's API path
    custom_domain: str  # fixed at creation: Lattice cannot change it
    dns_name: str


@dataclass
class FakeController:
    """One Lattice service per route object, named by the controller's rule (config/lattice_names.py); the
    route gets the service's DNS name as its annotation. Lattice's rules that matter here: a service's custom
    domain is fixed at creation, and unique within the service network (Lattice User Guide, "Configure a custom
    domain name": a second service with a domain in use cannot join, so v2.1.3's association fails with a
    Conflict the controller retries); the controller never takes over another route's service."""

    api: FakeKubeApi
    region: str
    services: dict[str, LatticeService] = field(default_factory=dict)
    waiting: dict[str, dict[str, Any]] = field(default_factory=dict)  # route path -> object, retried on deletes

    @staticmethod
    def _service_name(obj: Mapping[str, Any]) -> str:
        meta = obj["metadata"]
        override = (meta.get("annotations") or {}).get(SERVICE_NAME_OVERRIDE_ANNOTATION)
        return controller_service_name(meta["name"], meta["namespace"], override)

    def apply(self, obj: dict[str, Any]) -> None:
        meta = obj["metadata"]
        path = route_path(meta["namespace"], meta["name"])
        name = self._service_name(obj)
        domain = obj["spec"]["hostnames"][0]
        service = self.services.get(name)
        stored = json.loads(json.dumps(obj))
        self.waiting.pop(path, None)
        if service is None and any(s.custom_domain == domain for s in self.services.values()):
            self.waiting[path] = obj  # the domain is another service's: no association, no annotation yet
        else:
            if service is None:
                digest = hashlib.sha256(name.encode()).hexdigest()[:17]
                dns = f"{name}-0{digest}.7d67968.vpc-lattice-svcs.{self.region}.on.aws"
                service = self.services[name] = LatticeService(path, domain, dns)
            if service.route == path:  # another route's service is never taken over: no annotation then
                stored["metadata"].setdefault("annotations", {})[ANNOTATION] = service.dns_name
        self.api.put_object(path, stored)

    def delete(self, obj: Mapping[str, Any]) -> None:
        meta = obj["metadata"]
        path = route_path(meta["namespace"], meta["name"])
        self.waiting.pop(path, None)
        if self.api.get_object(path) is None:
            return
        self.api.delete_object(path)
        name = self._service_name(obj)
        if name in self.services and self.services[name].route == path:
            del self.services[name]
            for waiting in list(self.waiting.values()):  # the controller's requeue
                self.apply(waiting)


# -- IAM on every Route 53 call ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Call:
    role: str
    request: Request
    decision: Decision


class Route53Guard:
    """Evaluates each call of the Route 53 client against the statements in force for the acting role."""

    def __init__(self, client: Any) -> None:
        self.in_force: dict[str, tuple[list[dict[str, Any]], list[dict[str, Any]]]] = {}  # policy id -> (roles, stmts)
        self.role = ""
        self.calls: list[Call] = []
        client.meta.events.register("before-parameter-build.route53", self._check)

    def statements(self, role: str) -> list[dict[str, Any]]:
        return [s for roles, stmts in self.in_force.values() if {"Ref": role} in roles for s in stmts]

    def _check(self, params: dict[str, Any], model: Any, **_: Any) -> None:
        if not self.role:
            return  # the test's own look at the zone, not a handler's call
        request = route53_request(model.name, params)
        decision = evaluate(self.statements(self.role), request)
        self.calls.append(Call(self.role, request, decision))
        if decision is not Decision.ALLOW:
            raise ClientError(
                {
                    "Error": {
                        "Code": "AccessDenied",
                        "Message": f"role {self.role} is not authorized to perform {request.action} on "
                        f"{request.resource} with {dict(request.context)} ({decision.value})",
                    }
                },
                model.name,
            )

    @contextmanager
    def acting_as(self, role: str) -> Iterator[None]:
        self.role = role
        try:
            yield
        finally:
            self.role = ""


# -- the replay --------------------------------------------------------------------------------------------------------


@dataclass
class Stack:
    """One stack's resources as CloudFormation tracks them across operations."""

    guard: Route53Guard
    controller: FakeController
    table: dict[str, str]  # template token -> value (cluster name, zone id...)
    clock: Any  # .now (seconds) advanced per poll
    physical: dict[str, str] = field(default_factory=dict)  # logical id -> physical id (records, managed policies)
    created_with: dict[str, str] = field(default_factory=dict)  # managed policy -> the Description it was made with
    applied: dict[str, Any] = field(default_factory=dict)  # logical id -> the resource as last applied, resolved
    log: list[str] = field(default_factory=list)
    route53: Any = None  # for hosted zones

    # -- resource types --------------------------------------------------------------------------------------------

    def _roles(self, template: Mapping[str, Any], resource_type: str) -> dict[str, str]:
        found = {}
        for res in template["Resources"].values():
            handler_name = (res.get("Properties") or {}).get("Handler", "")
            if res["Type"] == "AWS::Lambda::Function" and handler_name.startswith(HANDLERS[resource_type][1]):
                found[handler_name.rsplit(".", 1)[-1]] = res["Properties"]["Role"]["Fn::GetAtt"][0]
        return found

    def _props(self, resource: Mapping[str, Any]) -> dict[str, str]:
        props = resolve(dict(resource["Properties"]), self.table)
        return {k: v if isinstance(v, str) else json.dumps(v) for k, v in props.items()}

    def _routes(self, resource: Mapping[str, Any]) -> list[dict[str, Any]]:
        manifest = resolve(resource["Properties"]["Manifest"], self.table)
        return [o for o in json.loads(manifest) if o.get("kind") == "HTTPRoute"]

    def _event(self, request: str, lid: str, props: dict[str, str], **extra: Any) -> dict[str, Any]:
        return {
            "RequestType": request,
            "StackId": STACK_ID,
            "RequestId": f"{request}-{lid}-{len(self.log)}",
            "LogicalResourceId": lid,
            "ResourceType": extra.pop("ResourceType", RECORD),
            "ResponseURL": "https://cloudformation-custom-resource-response.example/",
            "ResourceProperties": props,
            **extra,
        }

    def _provide(self, template: Mapping[str, Any], event: dict[str, Any]) -> str:
        module = HANDLERS[event["ResourceType"]][0]
        roles = self._roles(template, event["ResourceType"])
        with self.guard.acting_as(roles["on_event"]):
            out = module.on_event(event, None)
        if "is_complete" not in roles:
            return str(out["PhysicalResourceId"])
        merged = {**event, **out}
        for _ in range(200):
            with self.guard.acting_as(roles["is_complete"]):
                if handler.is_complete(merged, None)["IsComplete"]:
                    return str(out["PhysicalResourceId"])
            self.clock.now += QUERY_INTERVAL
        raise AssertionError(f"{event['LogicalResourceId']}: isComplete never finished")

    def _create_or_update(
        self, template: Mapping[str, Any], lid: str, old: Mapping[str, Any] | None
    ) -> tuple[str, dict[str, str]] | None:
        """Returns (old physical id, old properties) when the resource was replaced."""
        res = template["Resources"][lid]
        kind = "update" if old else "create"
        if res["Type"] == POLICY:
            statements = resolve(res["Properties"]["PolicyDocument"]["Statement"], self.table)
            self.guard.in_force[lid] = (res["Properties"]["Roles"], statements)
        elif res["Type"] == MANAGED_POLICY:
            statements = resolve(res["Properties"]["PolicyDocument"]["Statement"], self.table)
            description = str(resolve(res["Properties"].get("Description", ""), self.table))
            before = self.physical.get(lid)
            replaced = before is not None and self.created_with.get(lid) != description
            if replaced:
                assert before is not None
                self.guard.in_force[f"{before}#replaced"] = self.guard.in_force.pop(before)
            self.physical[lid], self.created_with[lid] = f"{lid}:{description}", description
            self.guard.in_force[self.physical[lid]] = (res["Properties"]["Roles"], statements)
            if replaced:
                self.log.append(f"{kind} {lid} (replaced {before})")
                return f"{before}#replaced", {}
        elif res["Type"] == MANIFEST:
            for obj in self._routes(res):
                self.controller.apply(obj)
        elif res["Type"] == ZONE:
            name = str(resolve(res["Properties"]["Name"], self.table))
            before = self.physical.get(lid)
            if before is not None and self.created_with.get(lid) == name:
                return None
            zone = self.route53.create_hosted_zone(
                Name=name,
                CallerReference=f"{lid}-{len(self.log)}",
                HostedZoneConfig={"PrivateZone": True},
                VPC={"VPCRegion": PSEUDO["AWS::Region"], "VPCId": "vpc-0123456789abcdef0"},
            )["HostedZone"]
            self.physical[lid], self.created_with[lid] = str(zone["Id"]).rsplit("/", 1)[-1], name
            self.table[token_key({"Ref": lid})] = self.physical[lid]
            if before is not None:
                self.log.append(f"{kind} {lid} (replaced {before})")
                return before, {}
        elif res["Type"] in HANDLERS:
            props, rtype = self._props(res), res["Type"]
            if old is None:
                self.physical[lid] = self._provide(template, self._event("Create", lid, props, ResourceType=rtype))
            else:
                before, old_props = self.physical[lid], self._props(old)
                event = self._event(
                    "Update", lid, props, OldResourceProperties=old_props, PhysicalResourceId=before, ResourceType=rtype
                )
                self.physical[lid] = self._provide(template, event)
                if self.physical[lid] != before:
                    self.log.append(f"{kind} {lid} (replaced {before})")
                    return before, old_props
        else:
            return None
        self.log.append(f"{kind} {lid}")
        return None

    def _delete(self, template: Mapping[str, Any], lid: str, physical: str | None = None) -> None:
        res = template["Resources"][lid]
        if res["Type"] == POLICY:
            self.guard.in_force.pop(lid, None)
        elif res["Type"] == MANAGED_POLICY:
            physical = physical or self.physical.pop(lid)
            self.guard.in_force.pop(physical, None)
        elif res["Type"] == MANIFEST:
            for obj in self._routes(res):
                self.controller.delete(obj)  # the kubectl handler swallows delete errors; none happen here
        elif res["Type"] == ZONE:
            physical = physical or self.physical.pop(lid)
            self.route53.delete_hosted_zone(Id=physical)  # HostedZoneNotEmpty while records are left
        elif res["Type"] in HANDLERS:
            physical = physical or self.physical.pop(lid)
            event = self._event("Delete", lid, self._props(res), PhysicalResourceId=physical, ResourceType=res["Type"])
            self._provide(template, event)
        else:
            return
        self.log.append(f"delete {lid} {physical or ''}".rstrip())

    # -- stack operations ------------------------------------------------------------------------------------------

    def deploy(self, template: Mapping[str, Any]) -> None:
        for lid in dependency_order(template):
            self.applied[lid] = resolve(template["Resources"][lid], self.table)
            self._create_or_update(template, lid, None)

    def update(self, old: Mapping[str, Any], new: Mapping[str, Any]) -> None:
        replaced: dict[str, str] = {}  # logical id -> the old physical id
        for lid in dependency_order(new):
            previous = old["Resources"].get(lid)
            # Unchanged unless its text or a cross-stack value it reads (Fn::GetStackOutput, resolved each deploy)
            # changed since it was applied.
            current = resolve(new["Resources"][lid], self.table)
            if previous is not None and self.applied.get(lid) == current:
                continue
            self.applied[lid] = current
            outcome = self._create_or_update(new, lid, previous)
            if outcome is not None:
                replaced[lid] = outcome[0]
        # UPDATE_COMPLETE_CLEANUP_IN_PROGRESS: the replaced physical resources and the removed ones, in reverse
        # dependency order of the old template, with the new template's policies (and any old ones not yet
        # deleted) in force.
        for lid in reversed(dependency_order(old)):
            if lid in replaced:
                self._delete(old, lid, replaced[lid])
            elif lid not in new["Resources"]:
                self._delete(old, lid)

    def destroy(self, template: Mapping[str, Any]) -> None:
        for lid in reversed(dependency_order(template)):
            self._delete(template, lid)


def token_table(template: Mapping[str, Any], *, cluster: str, zone_id: str) -> dict[str, str]:
    """Values for the cross-stack tokens the DNS records and their policies use."""
    table: dict[str, str] = {}
    for res in template["Resources"].values():
        if res["Type"] == RECORD:
            props = res["Properties"]
            table[token_key(props["ClusterName"])] = cluster
            table[token_key(props["HostedZoneId"])] = zone_id
    for pseudo, value in PSEUDO.items():
        table[token_key({"Ref": pseudo})] = value
    return table
